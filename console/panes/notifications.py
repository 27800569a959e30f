"""The Manager tab's Notifications section (P1-P7): notification profiles, groups,
outcomes, collected fields and on-call schedules, each in a sub-tab.

The section exists only while the principal may manage notifications
(``ManagerPane`` asks). ``<`` and ``>`` move between the sub-tabs. Each
sub-tab is a widget of its own module; ``SUBTABS`` is the one list of them.

A link opened elsewhere (``notify_places.OpenPlace``: a group, an outcome,
an on-call schedule) shows the sub-tab that manages it (``PLACE_TABS``),
which selects the place if it has ``select_place(place_id)``.
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
from console.panes.notify_fields import NotifyFields
from console.panes.notify_groups import NotificationGroupsTab
from console.panes.notify_outcomes import NotifyOutcomes
from console.panes.notify_places import OpenPlace
from console.panes.notify_profiles import NotificationProfilesTab
from console.panes.oncall import OnCallSection

SubTab = tuple[str, str, Callable[[ConsoleContext], Widget]]
"""(TabPane id, label, the widget made for a context)."""

SUBTABS: tuple[SubTab, ...] = (
    ("notify-profiles", "Profiles", NotificationProfilesTab),
    ("notify-groups", "Groups", NotificationGroupsTab),
    ("notify-outcomes", "Outcomes", NotifyOutcomes),
    ("notify-fields", "Fields", NotifyFields),
    ("notify-oncall", "On-call", OnCallSection),
)


class NotificationsPane(Vertical):
    DEFAULT_CSS = """
    NotificationsPane { height: 1fr; }
    NotificationsPane > TabbedContent { height: 1fr; }
    """
    BINDINGS = [
        Binding(
            "less_than_sign",
            "subtab(-1)",
            "Previous",
            id="notifications.previous",
            tooltip="The previous sub-tab of Notifications",
            show=False,
        ),
        Binding(
            "greater_than_sign",
            "subtab(1)",
            "Next",
            id="notifications.next",
            tooltip="The next sub-tab of Notifications",
            show=False,
        ),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__(id="notifications-section")
        self.context = context

    def compose(self) -> ComposeResult:
        with TabbedContent(id="notify-tabs"):
            for tab_id, label, make in SUBTABS:
                with TabPane(label, id=tab_id):
                    yield make(self.context)

    def focus_default(self) -> None:
        active = self.query_one("#notify-tabs", TabbedContent).active
        if not active:
            return
        widget = self.query_one(f"#{active}", TabPane).query_children().first()
        focus = getattr(widget, "focus_default", widget.focus)
        focus()

    def action_subtab(self, step: int) -> None:
        ids = [tab_id for tab_id, _, _ in SUBTABS]
        if not ids:
            return
        tabs = self.query_one("#notify-tabs", TabbedContent)
        at = ids.index(tabs.active) if tabs.active in ids else 0
        tabs.active = ids[(at + step) % len(ids)]
        self.focus_default()

    @on(TabbedContent.TabActivated, "#notify-tabs")
    def _subtab_shown(self, event: TabbedContent.TabActivated) -> None:
        # Not the app's tabs: its handler would focus the sub-tab, and focus
        # inside a hidden section pulls the Manager tab to it (the first
        # sub-tab is activated when the section mounts, behind section 1).
        event.stop()
        if self.region.area:
            self.focus_default()

    @on(OpenPlace)
    def _open_place(self, event: OpenPlace) -> None:
        event.stop()
        tabs = self.query_one("#notify-tabs", TabbedContent)
        if not tabs.query(f"#{event.tab}"):
            self.notify(f"{event.link.text}: this place has no sub-tab here", markup=False)
            return
        tabs.active = event.tab
        widget = self.query_one(f"#{event.tab}", TabPane).query_children().first()
        select = getattr(widget, "select_place", None)
        if select is not None:
            select(event.place_id)
        self.focus_default()
