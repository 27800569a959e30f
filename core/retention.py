"""How long the change feed keeps its events, and the job that prunes them.

The feed is for following, not for keeping: consoles read what is new, and the
audit of opt-outs, consent and Ready lives in its own tables (consent_changes,
ready_changes), which are never pruned. Events older than the setting
``event_retention_days`` are deleted oldest first, in small chunks, each its
own short transaction, so an agent's write never waits behind the pruning.
"""

from __future__ import annotations

import asyncio

from core import settings
from core.db import Database
from core.scheduling.jobs import Job

CHUNK = 500
"""Events deleted per transaction: a few milliseconds of write lock."""
EVERY_SECONDS = 600.0
"""A day's events go in one run; more often would only find nothing to do."""


async def prune_events(db: Database, *, chunk: int = CHUNK) -> int:
    """Delete the events older than the retention setting; returns how many.

    The newest event always stays, so a follower whose cursor is past every
    remaining event knows it missed nothing (``core.events.since``).
    """
    days = (await settings.load(db)).event_retention_days
    pruned = 0
    while True:
        async with db.transaction() as tx:
            cutoff = tx.now_ms - days * 86_400_000
            # Events are appended in time order: read the oldest few by id (the
            # primary key, no scan) and stop at the first one still young.
            oldest = await tx.fetchall(
                "SELECT id, at FROM events WHERE id < (SELECT max(id) FROM events)"
                " ORDER BY id LIMIT ?",
                (chunk,),
            )
            stale = 0
            for row in oldest:
                if row["at"] >= cutoff:
                    break
                stale = row["id"]
            if stale:
                cur = await tx.execute("DELETE FROM events WHERE id <= ?", (stale,))
                pruned += cur.rowcount
        if not oldest or stale != oldest[-1]["id"]:
            return pruned  # stopped at a young event, or at the newest
        await asyncio.sleep(0)  # let a waiting writer in between chunks


def job(db: Database) -> Job:
    return Job("event_retention", EVERY_SECONDS, lambda: prune_events(db))
