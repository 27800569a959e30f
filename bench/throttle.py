"""Throttling: a queue far over one sender's rate, with the real worker running.

What is measured, on a fresh SQLite file with the system clock: COUNT
campaign messages queued from one number, setting rate_segments_per_second
at RATE, a real ``Worker`` (default options and jobs, the sandbox gateway)
started and left to run for SECONDS. Halfway, an agent replies to a contact
from another number through a second connection (as the console would).
Printed: rows claimed per row sent (issue #9: at most 1.1), the sender's
rate once its first second's burst is spent (within 5 % of RATE), the
longest write transaction the worker held (at most 50 ms; core.db's
``on_transaction`` observer), and the agent's reply: queue to sent (at most
1 s), and how long its own write took.

The baseline is the shape before issue #9, reproduced in the same run: the
claim takes every due row (the budget made unlimited), then an in-memory
token bucket per sender, the old core/ratelimit.py copied below, turns the
rows over the rate into retries written back to the database.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import print_table, scratch_dir
from core import settings
from core.clock import SystemClock
from core.db import open_database
from core.delivery import outbox
from core.delivery.gateway import OutboundSms
from core.people import agents
from core.people.authz import SYSTEM
from core.scheduling.worker import Worker
from core.sms import numbers, sending
from providers.sandbox import SandboxGateway

SMALL = os.environ.get("BENCH_SMALL") == "1"
COUNT = 300 if SMALL else 3_000
SECONDS = 3.0 if SMALL else 10.0
RATE = 10.0
SENDER = "+14155550100"
AGENT_NUMBER = "+14155550101"
CONTACT = "+12125550120"


@dataclass
class Figures:
    claimed: int = 0
    sent: int = 0
    rate: float = 0.0
    longest_tx: float = 0.0
    reply_sent_after: float | None = None
    reply_write: float = 0.0
    transactions: list[float] = field(default_factory=list)


class _OldSenderRateLimit:
    """core/ratelimit.py before issue #9: a bucket per sender, in this process only."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._buckets: dict[str, list[float]] = {}

    def take(self, sender: str, segments: int, now: float) -> float:
        capacity = max(self.rate, 1.0)
        bucket = self._buckets.setdefault(sender, [capacity, now])
        bucket[0] = min(capacity, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        needed = min(float(segments), capacity)
        if bucket[0] >= needed:
            bucket[0] -= segments
            return 0.0
        return (needed - bucket[0]) / self.rate


class _ThrottleAfterClaim(Worker):
    """The worker before issue #9: claim everything due, then throttle."""

    limit = _OldSenderRateLimit(RATE)

    async def _send_batch(self, batch: list[OutboundSms]) -> None:
        now = self.db.clock.now().timestamp()
        go, wait = [], []
        for sms in batch:
            delay = self.limit.take(sms.sender, sms.segments, now)
            (wait if delay else go).append((sms, delay))
        await outbox.record(
            self.db,
            [
                outbox.Retry(
                    s.message_id, outbox.RATE_WAIT_REASON, retry_after=d, counts_as_attempt=False
                )
                for s, d in wait
            ],
        )
        await super()._send_batch([s for s, _ in go])


async def build(path: Path, claim_rate: float) -> None:
    async with await open_database(path, SystemClock()) as db:
        await settings.update(
            db, SYSTEM, rate_segments_per_second=claim_rate, sandbox_delivery_seconds=0
        )
        await numbers.add(db, SYSTEM, SENDER, default=True)
        agent = await agents.add(db, SYSTEM, "agent", "Agent", "Agent")
        await numbers.add(db, SYSTEM, AGENT_NUMBER, agent_id=agent.id)
        async with db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO messages (direction, purpose, sender, recipient, body, encoding,"
                " segments, status, next_attempt_at, created_at, updated_at)"
                " VALUES ('out', 'campaign', ?, ?, ?, 'GSM-7', 1, 'queued', ?, ?, ?)",
                [
                    (
                        SENDER,
                        f"+1{3_000_000_000 + i}",
                        f"Offer {i}",
                        tx.now_ms,
                        tx.now_ms,
                        tx.now_ms,
                    )
                    for i in range(COUNT)
                ],
            )


async def run(path: Path, worker_class: type[Worker]) -> Figures:
    figures = Figures()
    db = await open_database(path, SystemClock())
    agent_db = await open_database(path, SystemClock())
    real_claim = outbox.claim

    async def counting_claim(*args: object, **kwargs: object) -> list[OutboundSms]:
        claimed = await real_claim(*args, **kwargs)  # type: ignore[arg-type]
        figures.claimed += len(claimed)
        return claimed

    db.on_transaction = figures.transactions.append
    outbox.claim = counting_claim  # type: ignore[assignment]
    worker = worker_class(db, SandboxGateway(db))
    try:
        worker.start()
        await asyncio.sleep(SECONDS / 2)
        actor = (await agents.by_username(agent_db, "agent")).as_actor()
        started = time.perf_counter()
        reply = await sending.send(agent_db, actor, CONTACT, "On my way")
        figures.reply_write = time.perf_counter() - started
        await asyncio.sleep(SECONDS / 2)
        await worker.stop()
    finally:
        outbox.claim = real_claim  # type: ignore[assignment]
    row = await db.fetchone(
        "SELECT sent_at - created_at AS took FROM messages WHERE id = ? AND sent_at IS NOT NULL",
        (reply.message_id,),
    )
    figures.reply_sent_after = None if row is None else row["took"] / 1000
    figures.sent = await db.scalar("SELECT count(*) FROM sandbox_messages")
    accepted = [
        r["accepted_at"] / 1000
        for r in await db.fetchall(
            "SELECT accepted_at FROM sandbox_messages WHERE sender = ? ORDER BY accepted_at",
            (SENDER,),
        )
    ]
    # The first second is the bucket's burst; the rate is what follows it.
    steady = [t for t in accepted if t >= accepted[0] + 1.0] if accepted else []
    if len(steady) > 1:
        figures.rate = (len(steady) - 1) / (steady[-1] - steady[0])
    figures.longest_tx = max(figures.transactions, default=0.0)
    await agent_db.close()
    await db.close()
    return figures


async def main() -> None:
    with scratch_dir() as folder:
        old_path, new_path = folder / "old.sqlite3", folder / "new.sqlite3"
        await build(old_path, 1e9)  # the old claim: no budget, everything due is taken
        await build(new_path, RATE)
        old = await run(old_path, _ThrottleAfterClaim)
        new = await run(new_path, Worker)

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}×" if b else "n/a"

    def reply(f: Figures) -> str:
        return "not sent" if f.reply_sent_after is None else f"{f.reply_sent_after * 1000:.0f} ms"

    print_table(
        f"{COUNT:,} queued from one number at {RATE:g} segments/s, worker run for {SECONDS:g} s"
        f" (new vs old in the same run; ratio = new / old)",
        ["figure", "old: throttle after claim", "new: budget in the claim", "ratio", "goal"],
        [
            [
                "rows sent (both numbers)",
                str(old.sent),
                str(new.sent),
                ratio(new.sent, old.sent),
                "",
            ],
            [
                "rows claimed",
                f"{old.claimed:,}",
                f"{new.claimed:,}",
                ratio(new.claimed, old.claimed),
                "",
            ],
            [
                "claimed per sent",
                f"{old.claimed / max(old.sent, 1):.2f}",
                f"{new.claimed / max(new.sent, 1):.2f}",
                ratio(new.claimed / max(new.sent, 1), old.claimed / max(old.sent, 1)),
                "≤ 1.10",
            ],
            [
                "rate after the burst, per s",
                f"{old.rate:.2f}",
                f"{new.rate:.2f}",
                ratio(new.rate, old.rate),
                f"{RATE * 0.95:g}–{RATE * 1.05:g}",
            ],
            [
                "longest worker write tx",
                f"{old.longest_tx * 1000:.1f} ms",
                f"{new.longest_tx * 1000:.1f} ms",
                ratio(new.longest_tx, old.longest_tx),
                "≤ 50 ms",
            ],
            [
                "worker write txs",
                str(len(old.transactions)),
                str(len(new.transactions)),
                ratio(len(new.transactions), len(old.transactions)),
                "",
            ],
            ["agent reply: queued → sent", reply(old), reply(new), "", "≤ 1000 ms"],
            [
                "agent reply: its own write",
                f"{old.reply_write * 1000:.0f} ms",
                f"{new.reply_write * 1000:.0f} ms",
                ratio(new.reply_write, old.reply_write),
                "",
            ],
        ],
    )


if __name__ == "__main__":
    asyncio.run(main())
