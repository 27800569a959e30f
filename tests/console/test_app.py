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
        for _ in range(40):
            await pilot.pause(0.05)
            if any(c.phone == "+12125550177" for c in app.query_one("#conversation-list").shown):
                break
        assert any(c.phone == "+12125550177" for c in app.query_one("#conversation-list").shown)
