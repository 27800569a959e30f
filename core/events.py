"""The change feed: every committed change appended as an event row.

Consoles in other processes follow it to stay live; it is also the audit trail.
Events are written by ``Tx.emit`` inside the change's own transaction.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.clock import from_ms
from core.db import Database


@dataclass(frozen=True, slots=True)
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
