"""What the console draws between keys: updates that change no size lay nothing out,
and start-up's objects are kept out of the collector's full passes."""

from __future__ import annotations

import gc

from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from console.panes.conversations import ConversationList
from console.widgets import steady
from core.db import Database
from tests.console.conftest import SIZE, until


class Two(App[None]):
    CSS = "Static { height: auto; }"

    def compose(self) -> ComposeResult:
        yield Static("one line", id="shown")
        with Vertical(id="hidden"):
            yield Static("one line", id="inside")


async def test_an_update_of_the_same_height_is_drawn_without_a_layout() -> None:
    app = Two()
    async with app.run_test(size=(40, 10)) as pilot:
        shown = app.query_one("#shown", Static)
        await pilot.pause()
        steady.update(shown, Text("another line"))
        assert not shown._layout_required  # a layout reflows and redraws the whole screen
        await pilot.pause()
        assert str(shown.render()) == "another line"
        assert shown.size.height == 1


async def test_an_update_that_changes_the_height_is_laid_out() -> None:
    app = Two()
    async with app.run_test(size=(40, 10)) as pilot:
        shown = app.query_one("#shown", Static)
        await pilot.pause()
        steady.update(shown, Text("first\nsecond\nthird"))
        assert await until(pilot, lambda: shown.size.height == 3)


async def test_a_hidden_static_is_measured_when_shown() -> None:
    app = Two()
    async with app.run_test(size=(40, 10)) as pilot:
        hidden = app.query_one("#hidden", Vertical)
        inside = app.query_one("#inside", Static)
        hidden.display = False
        await pilot.pause()
        steady.update(inside, Text("first\nsecond"))
        assert not inside._layout_required
        hidden.display = True
        assert await until(pilot, lambda: inside.size.height == 2)


async def test_start_up_objects_are_frozen_while_the_console_runs(app_as, demo_db: Database):
    app = await app_as("alice", settle_heap=True)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(ConversationList)
        assert await until(pilot, lambda: table.shown and gc.get_freeze_count() > 0)
    # Handed back on close: the next app (the next test) starts from a collectable heap.
    assert gc.get_freeze_count() == 0
