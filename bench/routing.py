"""Routing: 10,000 new conversations offered over 200 agents, and inbound -> offer latency.

Throughput. A fresh SQLite file holds 200 agents, Available, whose permission
profile takes the Sales queue with room for 50 conversations each, and N new
conversations on it due for routing now. ``offers.sweep`` (one write
transaction: the due rows, who already missed them, the candidates, the
assignment in memory, the offer rows, the conversations' due times and one
feed event per offer) is timed until every conversation has its offer. The
baseline is the one statement no routing can do without: the same N offer
rows written with plain ``sqlite3`` ``executemany`` in one transaction, on
a second database built the same way (same schema, indexes and PRAGMAs).
Goal: offers per second >= 0.3 of the raw INSERT's rows per second.

Latency. The same 200 agents and a real ``Worker`` (``default_jobs``,
system clock) running; new contacts text the Sales number at 50 per second,
each through ``receiving.receive_many`` as the webhook server calls it.
Latency is, per message, the offer row's ``offered_at`` minus the instant
``receive_many`` was called. Goal: p99 <= 1 s. The worker's routing job is
woken at the new conversation's due time (``next_due``), at most one run
per 50 ms (``wake_gap``).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from bench.common import print_table, raw_connect, scratch_dir
from core.clock import Clock, FakeClock, SystemClock, to_ms
from core.db import Database, open_database
from core.routing import offers
from core.scheduling.worker import Worker
from core.sms import receiving
from providers.sandbox import SandboxGateway

SMALL = os.environ.get("BENCH_SMALL") == "1"
CONVERSATIONS = 2_000 if SMALL else 10_000
AGENTS = 200
ROOM = 50
RATE = 50
"""Inbound messages per second in the latency run."""
SECONDS = 2 if SMALL else 10
GOAL_RATIO, GOAL_P99 = 0.3, 1.0
SALES_NUMBER = "+14155550150"


async def build(path: Path, clock: Clock, conversations: int) -> None:
    """200 Available agents on the Sales queue, and ``conversations`` due for routing."""
    async with await open_database(path, clock) as db, db.transaction() as tx:
        now = tx.now_ms
        queue = await tx.insert("INSERT INTO queues (name, created_at) VALUES ('Sales', ?)", (now,))
        number = await tx.insert(
            "INSERT INTO numbers (e164, queue_id, created_at) VALUES (?, ?, ?)",
            (SALES_NUMBER, queue, now),
        )
        profile = await tx.insert(
            "INSERT INTO permission_profiles (name, max_simultaneous, created_at, updated_at)"
            " VALUES ('Bench', ?, ?, ?)",
            (ROOM, now, now),
        )
        await tx.execute(
            "INSERT INTO permission_profile_queues (profile_id, queue_id, score) VALUES (?, ?, 50)",
            (profile, queue),
        )
        await tx.executemany(
            "INSERT INTO agents (username, name, created_at, active_profile_id,"
            " activity_id, activity_since, idle_since)"
            " VALUES (?, ?, ?, ?, (SELECT id FROM activities WHERE name = 'Available'), ?, ?)",
            [(f"agent{i}", f"Agent {i}", now, profile, now, now - i) for i in range(AGENTS)],
        )
        await tx.execute(
            "INSERT INTO permission_profile_users (profile_id, agent_id, distribution_score)"
            " SELECT ?, id, id % 101 FROM agents",
            (profile,),
        )
        await tx.executemany(
            "INSERT INTO conversations (number_id, phone, is_public, queue_id, route_due_at,"
            " waiting_since, created_at) VALUES (?, ?, 0, ?, ?, ?, ?)",
            [
                (number, f"+1{2_000_000_000 + i}", queue, now, now, now)
                for i in range(conversations)
            ],
        )


async def switchboard_offers(path: Path, clock: FakeClock, count: int) -> float:
    async with await open_database(path, clock) as db:
        started = time.perf_counter()
        made = await offers.sweep(db)
        elapsed = time.perf_counter() - started
        pending = await db.scalar("SELECT count(*) FROM offers WHERE status = 'pending'")
        if made != count or pending != count:
            raise RuntimeError(f"{made:,} offers made ({pending:,} pending), expected {count:,}")
    return elapsed


def raw_offers(path: Path, now: int, count: int) -> float:
    """The same offer rows, one per conversation round the agents, with plain sqlite3."""
    conn = raw_connect(path)
    try:
        conversations = [r[0] for r in conn.execute("SELECT id FROM conversations ORDER BY id")]
        agents = [r[0] for r in conn.execute("SELECT id FROM agents ORDER BY id")]
        queue = conn.execute("SELECT id FROM queues").fetchone()[0]
        rows = [
            (cid, agents[i % len(agents)], queue, now, now + 30_000)
            for i, cid in enumerate(conversations)
        ]
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO offers (conversation_id, agent_id, queue_id, status, offered_at,"
            " expires_at) VALUES (?, ?, ?, 'pending', ?, ?)",
            rows,
        )
        conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        if len(rows) != count:
            raise RuntimeError(f"{len(rows):,} raw rows, expected {count:,}")
        return elapsed
    finally:
        conn.close()


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of sorted values."""
    return values[max(0, min(len(values) - 1, round(p / 100 * len(values)) - 1))]


async def latency(path: Path) -> list[float]:
    """Seconds from each inbound message to its offer row, at RATE messages a second."""
    await build(path, SystemClock(), 0)
    db: Database
    async with await open_database(path, SystemClock()) as db:
        worker = Worker(db, SandboxGateway(db))
        worker.start()
        try:
            for _ in range(1000):  # the lease first: it is the worker's first tick
                if worker.active:
                    break
                await asyncio.sleep(0.01)
            sent: dict[int, float] = {}
            begin = time.monotonic()
            for i in range(RATE * SECONDS):
                await asyncio.sleep(max(0.0, begin + i / RATE - time.monotonic()))
                at = to_ms(SystemClock().now())
                [result] = await receiving.receive_many(
                    db, [receiving.Incoming(f"+1212{5_550_000 + i}", SALES_NUMBER, "Hi")]
                )
                if not isinstance(result, receiving.ReceiveResult):
                    raise RuntimeError(f"inbound refused: {result}")
                sent[result.conversation_id] = at
            bound = time.monotonic() + 30
            while await db.scalar("SELECT count(*) FROM offers") < len(sent):
                if time.monotonic() > bound:
                    raise RuntimeError("messages still without an offer 30 s after the last")
                await asyncio.sleep(0.02)
        finally:
            await worker.stop()
        rows = await db.fetchall("SELECT conversation_id, min(offered_at) FROM offers GROUP BY 1")
    return sorted((r[1] - sent[r[0]]) / 1000 for r in rows)


async def main() -> None:
    clock = FakeClock()
    now = to_ms(clock.now())
    with scratch_dir() as tmp:
        await build(tmp / "offers.db", clock, CONVERSATIONS)
        await build(tmp / "raw.db", clock, CONVERSATIONS)
        ours = await switchboard_offers(tmp / "offers.db", clock, CONVERSATIONS)
        raw = raw_offers(tmp / "raw.db", now, CONVERSATIONS)
        late = await latency(tmp / "latency.db")

    print_table(
        f"routing: {CONVERSATIONS:,} new conversations offered over {AGENTS} agents",
        ["step", "ms", "rows/s"],
        [
            ["offers.sweep (select, assign, offer rows, events)", f"{ours * 1000:,.1f}",
             f"{CONVERSATIONS / ours:,.0f}"],
            ["raw INSERT of the offer rows (sqlite3)", f"{raw * 1000:,.1f}",
             f"{CONVERSATIONS / raw:,.0f}"],
        ],
    )  # fmt: skip
    ratio = raw / ours
    print(
        f"offers/s vs raw rows/s: {ratio:.2f} (goal >= {GOAL_RATIO}):"
        f" {'met' if ratio >= GOAL_RATIO else 'NOT met'}"
    )
    p50, p99 = percentile(late, 50), percentile(late, 99)
    print(
        f"inbound -> offer at {RATE}/s for {SECONDS} s ({len(late):,} messages):"
        f" p50 {p50 * 1000:,.0f} ms, p99 {p99 * 1000:,.0f} ms, max {late[-1] * 1000:,.0f} ms"
        f" (goal p99 <= {GOAL_P99 * 1000:,.0f} ms): {'met' if p99 <= GOAL_P99 else 'NOT met'}"
    )


if __name__ == "__main__":
    asyncio.run(main())
