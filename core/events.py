"""The change feed: every committed change appended as an event row.

Consoles in other processes follow it to stay live. Events are written by
``Tx.emit`` inside the change's own transaction.

An event names what changed and who did it, by kind and id: never a phone
number, a message body, a name or free text (which may quote either). A
reader fetches what it shows by id, so the feed holds no PHI and can be
pruned without losing anything: ``core.retention`` deletes events older than
the setting ``event_retention_days``. The audit trail of opt-outs, consent and
Ready lives in its own tables, never only here.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from core.clock import from_ms
from core.db import Database
from core.records import record


@record
class Event:
    id: int
    at: datetime
    kind: str
    entity: str
    entity_id: int | None
    actor_id: int | None
    data: dict[str, Any]


async def after(db: Database, last_id: int, limit: int = 500) -> list[Event]:
    """Events committed after ``last_id``, oldest first."""
    rows = await db.fetchall(
        "SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?", (last_id, limit)
    )
    return [
        Event(
            r["id"],
            from_ms(r["at"]),
            r["kind"],
            r["entity"],
            r["entity_id"],
            r["actor_id"],
            json.loads(r["data"]),
        )
        for r in rows
    ]


@record
class Batch:
    events: list[Event]
    missed: bool
    """Events after the cursor were pruned before they were read: what a
    follower shows may be stale in ways no event will tell, so it reloads."""


async def since(db: Database, cursor: int, limit: int = 500) -> Batch:
    """The events after ``cursor``, and whether some were pruned unread.

    Ids are handed out in commit order without gaps (AUTOINCREMENT; a rolled
    back insert returns its id), and pruning deletes the oldest and always
    keeps the newest: a first id past ``cursor + 1`` is the only sign.
    """
    found = await after(db, cursor, limit)
    missed = bool(found) and found[0].id > cursor + 1
    if missed:
        oldest = await db.scalar("SELECT min(id) FROM events")
        missed = oldest is not None and int(oldest) > cursor + 1
    return Batch(found, missed)


async def last_id(db: Database) -> int:
    return int(await db.scalar("SELECT coalesce(max(id), 0) FROM events"))


async def follow(
    db: Database, after_id: int, *, poll_seconds: float = 0.25
) -> AsyncIterator[Event]:
    """Yield every event after ``after_id``, forever, as other processes commit them."""
    cursor = after_id
    while True:
        batch = await after(db, cursor)
        for event in batch:
            cursor = event.id
            yield event
        if not batch:
            await asyncio.sleep(poll_seconds)
