"""The change feed: every committed change is an event another process can follow."""

from __future__ import annotations

import asyncio
from pathlib import Path

from core import events, settings
from core.authz import SYSTEM
from core.clock import FakeClock
from core.db import open_database


async def test_events_after_an_id_come_in_order(db):
    start = await events.last_id(db)
    await settings.update(db, SYSTEM, public_minutes=5)
    await settings.update(db, SYSTEM, public_minutes=6)
    found = await events.after(db, start)
    assert [e.kind for e in found] == ["settings.changed", "settings.changed"]
    assert [e.data["changes"]["public_minutes"] for e in found] == [5, 6]
    assert found[0].id < found[1].id
    assert await events.after(db, found[-1].id) == []


async def test_a_follower_in_another_connection_sees_a_commit(db_path: Path):
    writer = await open_database(db_path, FakeClock())
    follower = await open_database(db_path, FakeClock())
    try:
        feed = events.follow(follower, await events.last_id(follower), poll_seconds=0.01)
        next_event = asyncio.ensure_future(anext(feed))
        await settings.update(writer, SYSTEM, public_minutes=9)
        event = await asyncio.wait_for(next_event, timeout=5)
        assert event.kind == "settings.changed"
        assert event.data["changes"] == {"public_minutes": 9}
        await feed.aclose()
    finally:
        await writer.close()
        await follower.close()
