"""The footer shows the keys that work now, and is rebuilt only when they change."""

from __future__ import annotations

from textual.widgets._footer import FooterKey

from console.panes.conversations import ConversationList
from console.panes.thread import ThreadPane
from console.widgets.steady import SteadyFooter
from core.db import Database
from tests.console.conftest import PATIENCE, SIZE, until
from tests.console.test_thread import ALICE_ANSWERED, open_thread, type_in_composer


def footer_text(footer: SteadyFooter) -> str:
    return " ".join(str(key.render()) for key in footer.query(FooterKey))


async def settled_keys(pilot, footer: SteadyFooter) -> list[FooterKey]:  # type: ignore[no-untyped-def]
    """The footer's key widgets once the rebuild a focus change starts has finished: the
    same widgets twice in a row (on a busy machine one pause can land mid-rebuild)."""
    before: list[FooterKey] = []
    for _ in range(PATIENCE):
        keys = list(footer.query(FooterKey))
        if keys and keys == before:
            return keys
        before = keys
        await pilot.pause(0.05)
    raise AssertionError(f"the footer did not settle: {footer_text(footer)!r}")


async def test_moving_along_the_list_keeps_the_footer_as_it_is(app_as, demo_db: Database):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(ConversationList)
        pane = app.query_one("#agent-thread", ThreadPane)
        footer = app.query_one(SteadyFooter)
        assert await until(pilot, lambda: len(table.shown) > 3 and pane.conversation_id)
        table.focus()
        keys = await settled_keys(pilot, footer)
        for row in (1, 2, 3):
            table.move_cursor(row=row)
            assert await until(pilot, lambda row=row: pane.conversation_id == table.shown[row].id)
            await pilot.pause()
        # The same key widgets: opening three conversations did not rebuild it.
        assert list(footer.query(FooterKey)) == keys
        assert all(a is b for a, b in zip(footer.query(FooterKey), keys, strict=True))


async def test_a_key_that_comes_and_goes_is_shown_and_hidden(app_as, demo_db: Database):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        footer = app.query_one(SteadyFooter)
        pane = await open_thread(app, pilot, demo_db, ALICE_ANSWERED)
        await type_in_composer(pilot, pane, "Hi ")
        await pilot.pause()
        assert "Use GSM-7" not in footer_text(footer)
        pane.composer.text_area.insert("“ok” " * 25)
        assert await until(pilot, lambda: "Use GSM-7" in footer_text(footer))
        await pilot.press("ctrl+e")
        assert await until(pilot, lambda: "Use GSM-7" not in footer_text(footer))
