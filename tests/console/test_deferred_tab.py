"""The underline placed again after a deferred tab is made must not end the console.

In CI on a busy machine, a tab list met by that second placing, a refresh after
its section was made, had no underline (not composed yet, or being taken away):
Textual's NoMatches escaped the callback and ended the console, and every later
screenshot scene failed with it.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.widgets import TabbedContent, TabPane, Tabs

from console.widgets.deferred_tab import DeferredTab, _underline_again, content_of


class _Tabs(Tabs):
    """Tabs that can be made to answer as Textual's do while they have no underline."""

    underline_gone = False

    def _highlight_active(self, animate: bool = True) -> None:
        if self.underline_gone:
            raise NoMatches("No nodes match 'Underline' on _Tabs()")
        super()._highlight_active(animate)


class _Sections(App[None]):
    def compose(self) -> ComposeResult:
        with TabbedContent(id="sections"):
            with TabPane("first", id="first"):
                yield Vertical()
            yield DeferredTab(
                "second", lambda: Vertical(_Tabs("one", "two"), id="made"), id="second"
            )


async def test_a_tab_list_without_its_underline_is_left_to_place_its_own():
    app = _Sections()
    async with app.run_test() as pilot:
        app.query_one("#sections", TabbedContent).active = "second"
        made = await content_of(app.query_one("#second", TabPane))
        assert made is not None
        assert made.id == "made"
        await pilot.pause()
        tabs = made.query_one(_Tabs)

        # No await between: Textual's own handlers do not meet the pretended state.
        tabs.underline_gone = True
        try:
            _underline_again(made)  # raised NoMatches before
        finally:
            tabs.underline_gone = False
        await pilot.pause()
        assert app.is_running
        assert tabs.active == "tab-1"
