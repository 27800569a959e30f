"""The conversation list follows the feed row by row, and loads in pages."""

from __future__ import annotations

from datetime import timedelta

from console.panes.conversations import ConversationList
from core import events, retention, settings
from core.clock import FakeClock
from core.db import Database
from core.people.authz import SYSTEM
from core.sms import conversations, receiving
from tests.console.conftest import SIZE, until


def _counting_list_for(monkeypatch) -> list[dict]:  # type: ignore[no-untyped-def]
    """Record how the console asks for conversations: a page, or named rows."""
    calls: list[dict] = []
    real = conversations.list_for

    async def counted(db, actor, view=conversations.Filter.ALL, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs)
        return await real(db, actor, view, **kwargs)

    monkeypatch.setattr(conversations, "list_for", counted)
    return calls


async def test_an_inbound_message_updates_its_row_in_place(app_as, demo_db: Database, monkeypatch):
    calls = _counting_list_for(monkeypatch)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one("#conversation-list", ConversationList)
        assert await until(pilot, lambda: len(table.shown) > 2)
        table.move_cursor(row=1)
        await pilot.pause()
        selected = table.selected_id()
        target = next(c for c in table.shown if c.id != selected and c.waiting_since is not None)
        others = {c.id: table.get_cell(str(c.id), "last") for c in table.shown if c.id != target.id}
        order = [c.id for c in table.shown]
        calls.clear()

        await receiving.receive(demo_db, target.phone, target.number, "moved to 3pm?")

        assert await until(
            pilot, lambda: table.get_cell(str(target.id), "last").plain == "moved to 3pm?"
        )
        # Only named rows are read: the target's, and the selected one's when its thread,
        # opening after the cursor rested on it, marks it read (late on a busy machine).
        assert {target.id} in [call.get("ids") for call in calls], calls
        assert all(call.get("ids") in ({target.id}, {selected}) for call in calls), calls
        # Every other row is the very cell it was, in the same order; the cursor stayed.
        assert all(table.get_cell(str(i), "last") is cell for i, cell in others.items())
        assert [c.id for c in table.shown] == order
        assert table.selected_id() == selected


async def test_a_row_that_moves_keeps_the_cursor_on_its_conversation(app_as, demo_db: Database):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one("#conversation-list", ConversationList)
        assert await until(pilot, lambda: len(table.shown) > 2)
        table.move_cursor(row=len(table.shown) - 1)
        await pilot.pause()
        selected = table.selected_id()
        # A new number writes in: a new row, waiting the least, lands among the waiting ones.
        await receiving.receive(demo_db, "+12125550179", "+14155550100", "hello?")
        assert await until(pilot, lambda: any(c.phone == "+12125550179" for c in table.shown))
        assert table.selected_id() == selected
        assert [c.id for c in table.shown] == [
            c.id for c in sorted(table.shown, key=conversations.order_key)
        ]
        rows = [table.coordinate_to_cell_key((r, 0)).row_key.value for r in range(table.row_count)]
        assert rows == [str(c.id) for c in table.shown]  # what is drawn is what is held


async def test_moving_to_the_end_loads_the_next_page(app_as, demo_db: Database, monkeypatch):
    monkeypatch.setattr(conversations, "PAGE", 5)
    for n in range(12):
        await receiving.receive(demo_db, f"+1212555{180 + n:04d}", "+14155550100", f"hi {n}")
    app = await app_as("alice")
    every = await conversations.list_for(demo_db, app.context.actor, limit=1000)
    assert len(every) > 10
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one("#conversation-list", ConversationList)
        assert await until(pilot, lambda: len(table.shown) == 5)
        assert not table.complete
        await pilot.press("end")
        assert await until(pilot, lambda: len(table.shown) == 10)
        while not table.complete:
            loaded = len(table.shown)
            await pilot.press("pagedown")
            assert await until(pilot, lambda n=loaded: len(table.shown) > n or table.complete)
        assert [c.id for c in table.shown] == [c.id for c in every]
        assert table.row_count == len(every)


async def test_a_console_behind_pruned_events_reloads_what_it_shows(
    app_as, demo_db: Database, console_clock: FakeClock, monkeypatch
):
    reading = {"on": True}
    real_since = events.since

    async def gated(db, cursor, limit=500):  # type: ignore[no-untyped-def]
        return await real_since(db, cursor, limit) if reading["on"] else events.Batch([], False)

    monkeypatch.setattr(events, "since", gated)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one("#conversation-list", ConversationList)
        assert await until(pilot, lambda: len(table.shown) > 1)
        target = table.shown[-1]
        reading["on"] = False  # the console looks away…
        await receiving.receive(demo_db, target.phone, target.number, "still there?")
        console_clock.advance(timedelta(days=8))
        await settings.update(demo_db, SYSTEM, public_minutes=30)
        assert await retention.prune_events(demo_db) > 0  # …and what it did not read is gone
        reading["on"] = True
        assert await until(
            pilot, lambda: table.get_cell(str(target.id), "last").plain == "still there?"
        )


async def test_a_changed_row_is_drawn_anew_while_the_others_keep_their_renders(
    app_as, demo_db: Database
):
    # The list forgets only the changed row's cached renders (not DataTable's
    # update_cell, which makes every row render again): the screen must still
    # show the new text, and every other row exactly as it was.
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one("#conversation-list", ConversationList)
        assert await until(pilot, lambda: len(table.shown) > 2)
        await pilot.pause()

        def drawn() -> dict[int, str]:
            header = 1
            return {
                c.id: table.render_line(index + header).text
                for index, c in enumerate(table.shown[: table.size.height - header])
            }

        before = drawn()
        # A read row: the new message marks it unread (the list is too narrow here
        # for the last message's column).
        target = next(c for c in table.shown if not c.unread)
        assert "●" not in before[target.id]

        await receiving.receive(demo_db, target.phone, target.number, "moved to 3pm?")
        assert await until(pilot, lambda: "●" in drawn()[target.id])

        after = drawn()
        assert {i: line for i, line in after.items() if i != target.id} == {
            i: line for i, line in before.items() if i != target.id
        }


def _drawn(table: ConversationList) -> list[list[tuple[str, object]]]:
    """The visible lines as the table draws them: text and style of every segment."""
    height = table.size.height
    return [
        [(segment.text, segment.style) for segment in table.render_line(y)] for y in range(height)
    ]


async def test_rows_kept_drawn_across_moves_and_new_rows_match_a_fresh_drawing(
    app_as, demo_db: Database
):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one("#conversation-list", ConversationList)
        assert await until(pilot, lambda: len(table.shown) > 4)
        table.focus()
        for row in (1, 2, 3):  # renders kept for a cursor in several places
            table.move_cursor(row=row)
            await pilot.pause()
        _drawn(table)
        before = len(table.shown)
        # New numbers (rows added among the waiting ones: others move), and a message
        # on a row already shown.
        await receiving.receive(demo_db, "+12125550177", "+14155550100", "hello?")
        await receiving.receive(
            demo_db, "+12125550178", "+14155550100", "a much longer message " * 10
        )
        known = table.shown[2]
        await receiving.receive(demo_db, known.phone, known.number, "moved to 3pm?")
        await app.poll_feed()  # type: ignore[attr-defined]
        table.move_cursor(row=0)
        assert await until(pilot, lambda: len(table.shown) == before + 2)
        await pilot.pause()
        kept = _drawn(table)
        # Forget every render: what DataTable itself would draw.
        table._update_count += 1
        table._line_cache.clear()
        assert _drawn(table) == kept
