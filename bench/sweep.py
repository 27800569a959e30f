"""Due-time sweep: making 100,000 due conversations public, next to one raw UPDATE.

What is measured: ``conversations.make_due_public`` on a fresh SQLite file
holding N owned, waiting conversations whose public time has passed. It is
one write transaction: one INSERT ... SELECT writes a change-feed event per
conversation, then one UPDATE makes them public. A second sweep, when nothing
is due any more, is timed too: it should take well under a millisecond,
which shows the due time is found through the partial index
``conversations_public_due`` rather than by a scan.

The baseline is the one statement no sweep can do without: ``UPDATE
conversations SET is_public = 1, public_due_at = NULL WHERE public_due_at <=
?`` with plain ``sqlite3``, in one transaction, on a second database built
exactly like the first (same schema and indexes, same rows, same PRAGMAs:
WAL, synchronous=NORMAL). The ratio is what the feed events and the async
driver add on top of it.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bench.common import agent_and_number, count_from_argv, print_table, raw_connect, scratch_dir
from core.clock import FakeClock, to_ms
from core.db import open_database
from core.sms import conversations

DEFAULT, SMALL = 100_000, 5_000
SWEEP = "UPDATE conversations SET is_public = 1, public_due_at = NULL WHERE public_due_at <= ?"


async def build(path: Path, count: int, clock: FakeClock) -> None:
    """A database with one agent, one number and ``count`` due conversations."""
    now = to_ms(clock.now())
    async with await open_database(path, clock) as db, db.transaction() as tx:
        agent_id, number_id = await agent_and_number(tx, now)
        # Waiting for 30 minutes, due to go public 10 minutes ago (give or take a minute).
        await tx.executemany(
            "INSERT INTO conversations (number_id, phone, owner_id, is_public, waiting_since,"
            " public_due_at, last_message_at, last_inbound_at, created_at)"
            " VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?)",
            (
                (number_id, f"+1{2_000_000_000 + i}", agent_id, now - 1_800_000,
                 now - 600_000 - i % 60_000, now - 1_800_000, now - 1_800_000, now - 3_600_000)
                for i in range(count)
            ),
        )  # fmt: skip


async def switchboard_sweep(path: Path, count: int, clock: FakeClock) -> tuple[float, float]:
    """(seconds for the sweep, seconds for a second sweep with nothing due)."""
    async with await open_database(path, clock) as db:
        started = time.perf_counter()
        made_public = await conversations.make_due_public(db)
        first = time.perf_counter() - started
        if made_public != count:
            raise RuntimeError(f"made {made_public:,} public, expected {count:,}")
        row = await db.fetchone(
            "SELECT sum(is_public), count(public_due_at), (SELECT count(*) FROM events"
            " WHERE kind = 'conversation.public') FROM conversations"
        )
        if row is None or tuple(row) != (count, 0, count):
            found = tuple(row or ())
            raise RuntimeError(f"(public, still due, events) = {found}, expected all {count:,}")

        started = time.perf_counter()
        again = await conversations.make_due_public(db)
        second = time.perf_counter() - started
        if again:
            raise RuntimeError(f"the second sweep made {again:,} public")
    return first, second


def raw_sweep(path: Path, count: int, now: int) -> float:
    """Seconds for the one raw UPDATE, in its own transaction, with plain sqlite3."""
    conn = raw_connect(path)
    try:
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        changed = conn.execute(SWEEP, (now,)).rowcount
        conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        if changed != count:
            raise RuntimeError(f"the raw UPDATE changed {changed:,} rows, expected {count:,}")
        return elapsed
    finally:
        conn.close()


def query_plan(path: Path, now: int) -> str:
    conn = raw_connect(path)
    try:
        return "; ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {SWEEP}", (now,)))
    finally:
        conn.close()


async def main() -> None:
    count = count_from_argv(__doc__.splitlines()[0], DEFAULT, SMALL)
    clock = FakeClock()
    now = to_ms(clock.now())
    with scratch_dir() as tmp:
        await build(tmp / "sweep.db", count, clock)
        await build(tmp / "raw.db", count, clock)
        sweep, empty = await switchboard_sweep(tmp / "sweep.db", count, clock)
        raw = raw_sweep(tmp / "raw.db", count, now)
        plan = query_plan(tmp / "raw.db", now)

    steps = [
        ("make_due_public (UPDATE + feed events)", sweep, count),
        ("raw UPDATE (sqlite3)", raw, count),
        ("second sweep, nothing due", empty, 0),
    ]
    print_table(
        f"sweep: {count:,} due conversations made public",
        ["step", "ms", "rows/s"],
        [
            [name, f"{secs * 1000:,.1f}", f"{rows / secs:,.0f}" if rows else "-"]
            for name, secs, rows in steps
        ],
    )
    print(f"ratio raw/sweep: {sweep / raw:.1f}x (make_due_public vs. the bare UPDATE)")
    print(f"query plan: {plan}")


if __name__ == "__main__":
    asyncio.run(main())
