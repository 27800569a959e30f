"""W1: one worker acts at a time, across processes, through a lease row.

The holder renews the lease well before it expires; a worker that dies stops
renewing, and another takes over once the lease lapses. Because outbox rows
carry their own sending lease, even two workers briefly believing they lead
could not claim the same message.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime

from core.clock import from_ms
from core.db import Database

WORKER = "worker"


@dataclass(frozen=True, slots=True)
class LeaseHolder:
    holder: str
    pid: int
    host: str
    acquired_at: datetime
    expires_at: datetime


def new_holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"


async def acquire(db: Database, holder: str, ttl_seconds: float, name: str = WORKER) -> bool:
    """Take or renew the lease; True when ``holder`` holds it afterwards."""
    async with db.transaction() as tx:
        now = tx.now_ms
        row = await tx.fetchone("SELECT holder, expires_at FROM leases WHERE name = ?", (name,))
        if row is not None and row["holder"] != holder and row["expires_at"] >= now:
            return False
        expires = now + int(ttl_seconds * 1000)
        if row is not None and row["holder"] == holder:
            await tx.execute("UPDATE leases SET expires_at = ? WHERE name = ?", (expires, name))
            return True
        await tx.execute(
            "INSERT OR REPLACE INTO leases (name, holder, pid, host, acquired_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (name, holder, os.getpid(), socket.gethostname(), now, expires),
        )
        await tx.emit(
            "lease.taken",
            "lease",
            None,
            name=name,
            holder=holder,
            previous=row["holder"] if row is not None else None,
        )
    return True


async def release(db: Database, holder: str, name: str = WORKER) -> None:
    """Give the lease up so another worker can act at once."""
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))


async def current(db: Database, name: str = WORKER) -> LeaseHolder | None:
    """Who holds the lease now, or None when nobody does (or it lapsed)."""
    row = await db.fetchone("SELECT * FROM leases WHERE name = ?", (name,))
    if row is None or from_ms(row["expires_at"]) < db.clock.now():  # type: ignore[operator]
        return None
    return LeaseHolder(
        row["holder"],
        row["pid"],
        row["host"],
        from_ms(row["acquired_at"]),
        from_ms(row["expires_at"]),
    )  # type: ignore[arg-type]
