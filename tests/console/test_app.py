"""The console's frame: start-up, tabs, help, palette, live updates, hostile text."""

from __future__ import annotations

from core import messaging
from core.db import Database
from tests.console.conftest import SIZE


async def test_agent_sees_their_conversations_oldest_waiting_first(app_as, demo_db: Database):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.query_one("#conversation-list")
        assert table.row_count > 0
        waits = [c.waiting_since for c in table.shown if c.waiting_since is not None]
        assert waits == sorted(waits)


async def test_a_message_from_another_process_appears_without_a_key(app_as, demo_db: Database):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await messaging.receive(demo_db, "+12125550177", "+14155550100", "brand new contact")
        for _ in range(100):
            await pilot.pause(0.05)
            if any(c.phone == "+12125550177" for c in app.query_one("#conversation-list").shown):
                break
        assert any(c.phone == "+12125550177" for c in app.query_one("#conversation-list").shown)


async def test_help_lists_switchboard_keys_with_their_ids(app_as):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        help_screen = app.screen
        ids = [row[2] for row in help_screen.rows]
        assert "app.help" in ids
        assert "conversations.take" in ids
        assert all(ids), "only Switchboard's own bindings, each with an id"
        await pilot.press("escape")
        assert app.screen is not help_screen


async def test_every_binding_is_also_a_palette_command(app_as):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert {"Take", "Public", "Unanswered", "Help", "Contacts"} <= titles


async def test_the_filter_keys_change_what_is_listed(app_as, demo_db: Database):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.query_one("#conversation-list")
        await pilot.press("p")
        await pilot.pause()
        assert table.shown
        assert all(c.is_public for c in table.shown)
        await pilot.press("u")
        await pilot.pause()
        assert all(c.waiting_since is not None for c in table.shown)


async def test_taking_a_public_conversation_makes_it_mine(app_as, demo_db: Database):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        await pilot.pause()
        table = app.query_one("#conversation-list")
        target = table.selected_id()
        await pilot.press("t")
        for _ in range(100):
            await pilot.pause(0.05)
            owner = await demo_db.scalar(
                "SELECT a.username FROM conversations c JOIN agents a ON a.id = c.owner_id"
                " WHERE c.id = ?",
                (target,),
            )
            if owner == "alice":
                break
        assert owner == "alice"
        assert not await demo_db.scalar(
            "SELECT is_public FROM conversations WHERE id = ?", (target,)
        )


async def test_hostile_text_in_the_list_is_shown_literally(app_as, demo_db: Database):
    hostile = "[@click=app.quit]win[/] [b \x1b]0;pwned\x07\x1b[31m"
    await messaging.receive(demo_db, "+12125550178", "+14155550100", hostile)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.query_one("#conversation-list")
        [row] = [c for c in table.shown if c.phone == "+12125550178"]
        cell = table.get_cell(str(row.id), "last")
        assert "[@click=app.quit]win[/] [b" in cell.plain
        assert "\\x1b]0;pwned\\x07" in cell.plain, "escape sequences are shown, not sent"
        assert not any(getattr(span.style, "meta", None) for span in cell.spans)
        assert "\x1b" not in app.export_screenshot()
        await pilot.click("#conversation-list")
        assert app.is_running


async def test_the_status_bar_says_when_another_process_holds_the_lease(app_as, demo_db):
    from core import lease

    assert await lease.acquire(demo_db, "headless-worker", ttl_seconds=60)
    app = await app_as("alice")
    app.context.embedded_worker = True
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "another process holds the lease" in app.worker_state


async def test_owner_and_subscribers_are_alerted_of_a_new_message(app_as, demo_db: Database):
    app = await app_as("bob")  # bob follows alice's conversation with +12125550101
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await messaging.receive(demo_db, "+12125550101", "+14155550101", "[b]are you there?")
        for _ in range(100):
            await pilot.pause(0.05)
            if app._notifications:
                break
        [note] = list(app._notifications)
        assert note.message.startswith("New SMS from ")
        assert note.markup is False


async def test_every_notification_shows_outside_text_literally(app_as):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one("#conversation-list")
        pane.notify("New SMS from [b]Eve\x1b]0;pwned\x07")  # a widget's notify, default markup
        await pilot.pause()
        [note] = list(app._notifications)
        assert note.markup is False
        assert note.message == "New SMS from [b]Eve\\x1b]0;pwned\\x07"
