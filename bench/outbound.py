"""Outbound throughput: messages/s through the outbox to the sandbox, next to a raw insert.

What is measured, on a fresh SQLite file in a temporary directory:

* enqueue: ``outbox.queue_in`` for COUNT messages spread over 1,000
  conversations, BATCH messages per transaction (segment count, message row,
  change-feed event);
* drain: a real ``Worker`` with the ``SandboxGateway`` pumping and polling
  delivery reports until nothing is queued or sending: every message is
  claimed, "sent" (the sandbox writes its own row), recorded as sent and then
  delivered, each step with its feed event. Sandbox delivery is immediate and
  the rate limit is set out of the way, so this is the outbox's own cost.

The baseline is the least any outbox could do: a plain ``sqlite3`` loop
inserting the same number of rows, with as many columns as a message row, in
one transaction per BATCH rows, on its own fresh file with the same PRAGMAs
(WAL, synchronous=NORMAL). The ratio raw/drain says how many times slower the
full, crash-safe life cycle is than writing each message once.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bench.common import count_from_argv, print_table, raw_connect, scratch_dir
from core import settings
from core.clock import SystemClock
from core.db import open_database
from core.delivery import outbox
from core.people.authz import SYSTEM
from core.scheduling.options import WorkerOptions
from core.scheduling.worker import Worker
from core.sms import numbers
from providers.sandbox import SandboxGateway

DEFAULT, SMALL = 20_000, 1_000
BATCH = 500
CONVERSATIONS = 1_000
BODY = "Hello, this is a reminder of your appointment tomorrow at {n}. Reply to reschedule."
# +1415555xxxx with the last four digits 1000-1999: none ends in the sandbox's
# always-failing suffix 0199.
PHONE = "+1415555{:04d}"


async def outbox_path(path: Path, count: int) -> tuple[float, float, dict[str, int]]:
    """(enqueue seconds, drain seconds, messages by final status)."""
    db = await open_database(path, SystemClock())
    try:
        await settings.update(db, SYSTEM, sandbox_delivery_seconds=0, rate_segments_per_second=1e9)
        number = await numbers.add(db, SYSTEM, "+14155550100", default=True)
        async with db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO conversations (number_id, phone, created_at) VALUES (?, ?, ?)",
                [(number.id, PHONE.format(1000 + i), tx.now_ms) for i in range(CONVERSATIONS)],
            )
        conversation_ids = [r[0] for r in await db.fetchall("SELECT id FROM conversations")]

        started = time.perf_counter()
        for first in range(0, count, BATCH):
            async with db.transaction() as tx:
                for n in range(first, min(first + BATCH, count)):
                    await outbox.queue_in(
                        tx, conversation_ids[n % len(conversation_ids)], BODY.format(n=n)
                    )
        enqueue = time.perf_counter() - started

        worker = Worker(
            db, SandboxGateway(db), WorkerOptions(batch_size=BATCH, batches_per_tick=20)
        )
        started = time.perf_counter()
        if not await worker.tick_lease():
            raise RuntimeError("the benchmark worker did not get the lease")
        while True:
            handled = await worker.pump()
            reported = await worker.poll_reports()
            left = await outbox.depths(db)
            if left.queued == left.sending == 0:
                break
            if not handled and not reported:
                raise RuntimeError(f"the outbox stalled with {left} left")
        drain = time.perf_counter() - started

        rows = await db.fetchall(
            "SELECT status, count(*) FROM messages WHERE direction = 'out' GROUP BY status"
        )
        return enqueue, drain, {r[0]: r[1] for r in rows}
    finally:
        await db.close()


def raw_inserts(path: Path, count: int) -> float:
    """Seconds to insert ``count`` message-shaped rows with plain sqlite3."""
    conn = raw_connect(path)
    try:
        # 20 columns, as many as the messages table: id plus 19 values.
        names = [f"c{i}" for i in range(1, 20)]
        conn.execute(f"CREATE TABLE scratch (id INTEGER PRIMARY KEY, {', '.join(names)})")
        sql = f"INSERT INTO scratch ({', '.join(names)}) VALUES ({', '.join('?' * 19)})"
        now = int(time.time() * 1000)
        started = time.perf_counter()
        for first in range(0, count, BATCH):
            conn.execute("BEGIN IMMEDIATE")
            for n in range(first, min(first + BATCH, count)):
                head = (1 + n % CONVERSATIONS, "out", "chat", None, BODY.format(n=n), "gsm7")
                tail = (1, "queued", 0, now, *[None] * 5, now, None, None, now)
                conn.execute(sql, head + tail)
            conn.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        conn.close()


async def main() -> None:
    count = count_from_argv(__doc__.splitlines()[0], DEFAULT, SMALL)
    with scratch_dir() as tmp:
        enqueue, drain, statuses = await outbox_path(tmp / "outbox.db", count)
        raw = raw_inserts(tmp / "raw.db", count)

    done = statuses.get("sent", 0) + statuses.get("delivered", 0)
    if done != count:
        raise SystemExit(f"expected {count:,} messages sent or delivered, got {statuses}")
    steps = [
        ("enqueue (outbox.queue_in)", enqueue),
        ("drain (worker -> sandbox -> delivered)", drain),
        ("raw insert (sqlite3)", raw),
    ]
    print_table(
        f"outbound: {count:,} messages over {min(count, CONVERSATIONS):,} conversations,"
        f" batches of {BATCH}",
        ["step", "seconds", "msgs/s"],
        [[name, f"{secs:.3f}", f"{count / secs:,.0f}"] for name, secs in steps],
    )
    print("final status: " + ", ".join(f"{k} {v:,}" for k, v in sorted(statuses.items())))
    print(f"ratio raw/drain: {drain / raw:.0f}x (the full outbox path vs. one bare insert)")


if __name__ == "__main__":
    asyncio.run(main())
