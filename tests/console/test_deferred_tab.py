"""The underline placed again after a deferred tab is made must not end the console.

In CI on a busy machine, the tab list of a section made when first chosen had
no underline yet when the underline was placed again a refresh later: Textual's
NoMatches escaped the callback and ended the console (every later screenshot
scene failed with it).
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.widgets import TabbedContent, TabPane, Tabs
from textual.widgets._tabs import Underline

from console.widgets.deferred_tab import DeferredTab, _underline_again, content_of


def _section() -> Vertical:
    return Vertical(Tabs("one", "two"), id="made")


class _Sections(App[None]):
    def compose(self) -> ComposeResult:
        with TabbedContent(id="sections"):
            with TabPane("first", id="first"):
                yield Vertical()
            yield DeferredTab("second", _section, id="second")


async def test_a_tab_list_without_its_underline_yet_is_left_to_place_its_own():
    app = _Sections()
    async with app.run_test() as pilot:
        app.query_one("#sections", TabbedContent).active = "second"
        made = await content_of(app.query_one("#second", TabPane))
        assert made is not None
        assert made.id == "made"
        await pilot.pause()
        tabs = made.query_one(Tabs)
        assert tabs.query_one(Underline).show_highlight  # placed under the active tab

        # The state met in CI: the tab list is there, its underline not (yet).
        await tabs.query_one(Underline).remove()
        _underline_again(made)  # raised NoMatches before
        await pilot.pause()
        assert app.is_running
        assert app.query_one("#second", TabPane).query_children().first() is made
