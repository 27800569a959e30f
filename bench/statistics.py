"""Statistics: the report over 100,000 messages and 10,000 offers, next to a plain count(*).

What is measured: ``core.statistics.report`` by agent and by queue over a
30-day period, on a fresh SQLite file holding N messages (half inbound, half
agent replies, in N/10 conversations over 20 agents, 4 queues) and N/10
offers, all inside the period. The report runs its four statements
(offers, handled, first responses with median and p90, sent) through the
async driver.

The baseline, on the same file in the same run: ``SELECT count(*)`` over the
messages and over the offers in the period (the same rows the report reads,
with no grouping, no look-ups and no percentiles), through the same
driver. The ratio is report time / count time: what grouping, the
first-response look-ups and the percentiles cost on top of touching the rows.
The same for one day in the middle of the 30: the period indexes of schema 8
(``messages_agent_replies``, ``messages_agent_sent``, ``offers_offered``)
make a short period's report read that period's rows, not every row.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

from bench.common import count_from_argv, print_table, scratch_dir
from core import statistics
from core.clock import FakeClock, to_ms
from core.db import open_database
from core.people.authz import SYSTEM
from core.statistics import By

DEFAULT, SMALL = 100_000, 5_000
AGENTS, QUEUES = 20, 4
RUNS = 3
COUNT_SQL = (
    "SELECT (SELECT count(*) FROM messages WHERE created_at >= :start AND created_at < :end),"
    " (SELECT count(*) FROM offers WHERE offered_at >= :start AND offered_at < :end)"
)


async def build(path: Path, count: int, clock: FakeClock) -> None:
    now = to_ms(clock.now())
    conversations = max(1, count // 10)
    async with await open_database(path, clock) as db, db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO queues (id, name, created_at) VALUES (?, ?, ?)",
            ((q, f"Queue {q}", now) for q in range(1, QUEUES + 1)),
        )
        await tx.executemany(
            "INSERT INTO agents (id, username, name, created_at) VALUES (?, ?, ?, ?)",
            ((a, f"agent{a}", f"Agent {a}", now) for a in range(1, AGENTS + 1)),
        )
        await tx.executemany(
            "INSERT INTO numbers (id, e164, queue_id, created_at) VALUES (?, ?, ?, ?)",
            ((q, f"+1415555{q:04d}", q, now) for q in range(1, QUEUES + 1)),
        )
        await tx.executemany(
            "INSERT INTO conversations (id, number_id, phone, owner_id, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                (c, c % QUEUES + 1, f"+1{2_000_000_000 + c}", c % AGENTS + 1, now)
                for c in range(1, conversations + 1)
            ),
        )
        # Message i: conversation i % conversations; inbound then the agent's reply,
        # 15..75 s later; spread over the last 29 days.
        day = 86_400_000
        await tx.executemany(
            "INSERT INTO messages (conversation_id, direction, author_id, body, encoding,"
            " segments, status, created_at, sent_at, updated_at)"
            " VALUES (?, ?, ?, 'x', 'GSM-7', 1, ?, ?, ?, ?)",
            (
                (
                    (i // 2) % conversations + 1,
                    "in" if i % 2 == 0 else "out",
                    None if i % 2 == 0 else ((i // 2) % conversations) % AGENTS + 1,
                    "received" if i % 2 == 0 else "delivered",
                    at,
                    None if i % 2 == 0 else at,
                    at,
                )
                for i in range(count)
                for at in [now - 29 * day + (i // 2) * (29 * day // max(1, count // 2))
                           + (0 if i % 2 == 0 else 15_000 + (i * 7919) % 60_000)]
            ),
        )  # fmt: skip
        await tx.executemany(
            "INSERT INTO offers (conversation_id, agent_id, queue_id, status, offered_at,"
            " expires_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                (o % conversations + 1, o % AGENTS + 1, o % QUEUES + 1,
                 ("accepted", "refused", "expired", "withdrawn")[o % 4],
                 now - 29 * day + o * 1000, now - 29 * day + o * 1000 + 30_000)
                for o in range(max(1, count // 10))
            ),
        )  # fmt: skip


async def measure(path: Path, clock: FakeClock) -> dict[str, float]:
    end = clock.now()
    start = end - timedelta(days=30)
    period = {"start": to_ms(start), "end": to_ms(end)}
    # One day in the middle of the data: what the period indexes are for.
    day_start = end - timedelta(days=15)
    day_end = day_start + timedelta(days=1)
    day = {"start": to_ms(day_start), "end": to_ms(day_end)}
    best: dict[str, float] = {}
    async with await open_database(path, clock) as db:
        for _ in range(RUNS):  # the best of a few: the machine is shared
            for name, call in (
                ("count(*) messages + offers", lambda: db.fetchone(COUNT_SQL, period)),
                ("report by agent", lambda: statistics.report(db, SYSTEM, start, end, By.AGENT)),
                ("report by queue", lambda: statistics.report(db, SYSTEM, start, end, By.QUEUE)),
                ("count(*), one day", lambda: db.fetchone(COUNT_SQL, day)),
                (
                    "report by agent, one day",
                    lambda: statistics.report(db, SYSTEM, day_start, day_end, By.AGENT),
                ),
            ):
                started = time.perf_counter()
                await call()
                best[name] = min(best.get(name, 1e9), time.perf_counter() - started)
        report = await statistics.report(db, SYSTEM, start, end, By.AGENT)
        if sum(r.responses for r in report.rows) == 0:
            raise RuntimeError("the report found no first response: the bench data is wrong")
    return best


async def main() -> None:
    count = count_from_argv(__doc__.splitlines()[0], DEFAULT, SMALL)
    clock = FakeClock()
    with scratch_dir() as tmp:
        await build(tmp / "stats.db", count, clock)
        best = await measure(tmp / "stats.db", clock)

    def base(name: str) -> float:
        return best["count(*), one day" if "day" in name else "count(*) messages + offers"]

    print_table(
        f"statistics: {count:,} messages, {count // 10:,} offers, 30 days (best of {RUNS});"
        " a one-day report is compared with the one-day count",
        ["query", "ms", "x count(*)"],
        [[name, f"{secs * 1000:,.1f}", f"{secs / base(name):,.1f}"] for name, secs in best.items()],
    )


if __name__ == "__main__":
    asyncio.run(main())
