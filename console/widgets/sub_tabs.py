"""A Manager section made of sub-tabs, ``<`` and ``>`` moving between them.

The Notifications section (P1-P7) and the Alerts section (A1-A6) are each a
list of sub-tabs: (TabPane id, label, the widget made for a context). This
is the one place that shows such a list, moves between its tabs and focuses
the shown one.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import TabbedContent, TabPane

from console.context import ConsoleContext

SubTab = tuple[str, str, Callable[[ConsoleContext], Widget]]
"""(TabPane id, label, the widget made for a context)."""


class SubTabs(Vertical):
    DEFAULT_CSS = """
    SubTabs { height: 1fr; }
    SubTabs > TabbedContent { height: 1fr; }
    """
    BINDINGS = [
        Binding(
            "less_than_sign",
            "subtab(-1)",
            "Previous",
            id="subtabs.previous",
            tooltip="The previous sub-tab",
            show=False,
        ),
        Binding(
            "greater_than_sign",
            "subtab(1)",
            "Next",
            id="subtabs.next",
            tooltip="The next sub-tab",
            show=False,
        ),
    ]

    def __init__(
        self, context: ConsoleContext, subtabs: tuple[SubTab, ...], *, id: str, tabs_id: str
    ) -> None:
        super().__init__(id=id)
        self.context = context
        self.subtabs = subtabs
        self.tabs_id = tabs_id

    def compose(self) -> ComposeResult:
        with TabbedContent(id=self.tabs_id):
            for tab_id, label, make in self.subtabs:
                with TabPane(label, id=tab_id):
                    yield make(self.context)

    @property
    def tabs(self) -> TabbedContent:
        return self.query_one(f"#{self.tabs_id}", TabbedContent)

    def tab_widget(self, tab_id: str) -> Widget:
        return self.query_one(f"#{tab_id}", TabPane).query_children().first()

    def focus_default(self) -> None:
        active = self.tabs.active
        if not active:
            return
        widget = self.tab_widget(active)
        focus = getattr(widget, "focus_default", widget.focus)
        focus()

    def show(self, tab_id: str) -> None:
        """Show sub-tab ``tab_id`` and focus it.

        Focus leaves first: a focused widget in a tab being hidden hands focus to the
        next widget of that same tab (Textual's reset on hide), and focus inside a tab
        shows it again, so on a busy machine the two tabs took turns and either could
        end up shown.
        """
        self.screen.set_focus(None)
        self.tabs.active = tab_id
        self.focus_default()

    def action_subtab(self, step: int) -> None:
        ids = [tab_id for tab_id, _, _ in self.subtabs]
        if not ids:
            return
        tabs = self.tabs
        at = ids.index(tabs.active) if tabs.active in ids else 0
        self.show(ids[(at + step) % len(ids)])

    @on(TabbedContent.TabActivated)
    def _subtab_shown(self, event: TabbedContent.TabActivated) -> None:
        if event.tabbed_content.id != self.tabs_id:
            return
        # Not the app's tabs: its handler would focus the sub-tab, and focus
        # inside a hidden section pulls the Manager tab to it (the first
        # sub-tab is activated when the section mounts, behind section 1).
        event.stop()
        if self.region.area:
            self.focus_default()
