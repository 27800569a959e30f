"""A tab whose content is made the first time it is chosen.

Each pane reads its data when it is mounted: a manager's console made every
tab and Manager section at start, and took twice as long as an agent's to
show its first screen (1.5 s against 0.7 s on the 2-core development
machine). The console opens on the first tab and the first section; the
others are made when first chosen, and kept (a section's sub-tabs with it).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress

from textual.css.query import NoMatches
from textual.widget import Widget
from textual.widgets import TabPane, Tabs


class DeferredTab(TabPane):
    def __init__(self, title: str, make: Callable[[], Widget], *, id: str) -> None:
        super().__init__(title, id=id)
        self._make: Callable[[], Widget] | None = make


async def content_of(tab: TabPane) -> Widget | None:
    """The tab's widget, a deferred tab's made and mounted now if it is not yet; None
    while the tab is being taken away."""
    if isinstance(tab, DeferredTab) and tab._make is not None and tab.is_attached:
        make, tab._make = tab._make, None  # once, however often the tab is chosen
        made = make()
        await tab.mount(made)
        # Textual's tab lists place their underline once they are refreshed, and one
        # made in a pane already shown was at times placed before its tabs were laid
        # out (no underline under the active tab). Placed again a refresh later.
        made.call_after_refresh(_underline_again, made)
    return next(iter(tab.query_children()), None)


def _underline_again(made: Widget) -> None:
    for tabs in made.query(Tabs):
        place = getattr(tabs, "_highlight_active", None)  # Textual's own, if still there
        if place is None or not tabs.is_attached:
            continue
        # A tab list not composed yet (it has no underline to place; it places its
        # own when it mounts) or being taken away. Letting NoMatches escape ended the
        # console: it happened in CI on a busy machine.
        with suppress(NoMatches):
            place(animate=False)
