"""W1: one worker acts at a time, across processes, through a lease row.

The holder renews the lease well before it expires; a worker that dies stops
renewing, and another takes over once the lease lapses. Because outbox rows
carry their own sending lease, even two workers briefly believing they lead
could not claim the same message. ``try_acquire`` names the holder a lapsed
lease was taken from, so the new holder can tell (``is_gone``) whether that
worker surely died and its messages in flight can be sent again at once.
"""

from __future__ import annotations

import math
import os
import socket
import sqlite3
from datetime import datetime

from core.clock import from_ms
from core.db import Database
from core.errors import InvalidInput
from core.records import record
from core.scheduling import WORKER_LEASE

WORKER = WORKER_LEASE

MIN_SECONDS = 2.0
"""The shortest lease a worker may take. It is renewed every third of its
length; much shorter, and a renewal held up for a moment by a busy database
lets the lease lapse while its holder still acts, so a second worker takes it
and both act at once."""
MAX_SECONDS = 3600.0
"""The longest: a worker that dies holding the lease blocks every other for this long."""


@record
class LeaseHolder:
    holder: str
    pid: int
    host: str
    acquired_at: datetime
    expires_at: datetime


def new_holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"


@record
class Acquired:
    held: bool
    """True when the caller holds the lease afterwards."""
    taken_from: LeaseHolder | None = None
    """Set when the lease was just taken over from another holder whose lease lapsed."""


def check_seconds(seconds: float, *, name: str = "--lease-seconds") -> float:
    """``seconds`` if it is a usable lease length, else InvalidInput naming the bound."""
    bounds = f"{name} must be between {MIN_SECONDS:g} and {MAX_SECONDS:g} seconds"
    if not math.isfinite(seconds):
        raise InvalidInput(f"{bounds}, not {seconds:g}")
    if seconds < MIN_SECONDS:
        raise InvalidInput(
            f"{bounds}, not {seconds:g}: a shorter lease can lapse while its worker still"
            " acts, and a second worker would act at the same time"
        )
    if seconds > MAX_SECONDS:
        raise InvalidInput(
            f"{bounds}, not {seconds:g}: with a longer one, a worker that dies keeps every"
            " other from sending that long"
        )
    return seconds


async def acquire(db: Database, holder: str, ttl_seconds: float, name: str = WORKER) -> bool:
    """Take or renew the lease; True when ``holder`` holds it afterwards."""
    return (await try_acquire(db, holder, ttl_seconds, name)).held


async def try_acquire(
    db: Database, holder: str, ttl_seconds: float, name: str = WORKER
) -> Acquired:
    """Take or renew the lease, and say from whom it was taken over, if anyone."""
    async with db.transaction() as tx:
        now = tx.now_ms
        row = await tx.fetchone("SELECT * FROM leases WHERE name = ?", (name,))
        if row is not None and row["holder"] != holder and row["expires_at"] >= now:
            return Acquired(False)
        expires = now + int(ttl_seconds * 1000)
        if row is not None and row["holder"] == holder:
            await tx.execute("UPDATE leases SET expires_at = ? WHERE name = ?", (expires, name))
            return Acquired(True)
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
    return Acquired(True, None if row is None else _holder(row))


def is_gone(previous: LeaseHolder) -> bool:
    """True only when ``previous`` surely stopped: it ran on this host and its process is gone.

    A holder on another host, or whose pid is alive (perhaps stalled, perhaps
    a reused pid), may still be acting, so it is never presumed gone.
    """
    if previous.host != socket.gethostname() or previous.pid == os.getpid():
        return False
    try:
        os.kill(previous.pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: alive, another user's
        return False
    return False


async def release(db: Database, holder: str, name: str = WORKER) -> None:
    """Give the lease up so another worker can act at once."""
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))


async def current(db: Database, name: str = WORKER) -> LeaseHolder | None:
    """Who holds the lease now, or None when nobody does (or it lapsed)."""
    row = await db.fetchone("SELECT * FROM leases WHERE name = ?", (name,))
    if row is None or from_ms(row["expires_at"]) < db.clock.now():
        return None
    return _holder(row)


def _holder(row: sqlite3.Row) -> LeaseHolder:
    return LeaseHolder(
        row["holder"],
        row["pid"],
        row["host"],
        from_ms(row["acquired_at"]),
        from_ms(row["expires_at"]),
    )
