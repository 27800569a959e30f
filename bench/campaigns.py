"""SMS campaigns: a 100,000-target campaign sent to the fake Sinch server.

Dispatch. A fresh SQLite file holds one running campaign from one number
with the throttle off (its rate and the number's at 1e9 segments/s), and
COUNT targets with personal text ("Hi {first name}, your code is {code}.").
Timed: their outbox rows queued with ``outbox.queue_many`` (campaign_id and
the provider-batch columns: template and values), CHUNK a transaction as a
dispatcher takes its due targets, then a real ``Worker`` with
``SinchGateway`` pumping until nothing is queued or sending, over HTTP to
FakeSinch (tests/fakes/sinch_server.py) in a child process. The campaign
dispatcher (core/campaigns/dispatch.py) is being written alongside this:
until it lands the bench queues the rows directly through queue_many, the
call the dispatcher makes; it will be switched to the dispatcher then.

Baseline: the same rows (same columns, rendered bodies, templates and values)
written with plain ``sqlite3`` into a fresh file of the same schema, CHUNK a
transaction. Goal: targets/s >= 0.3 of the raw rows/s.

Provider calls: the fake's batch POSTs. Every target shares the template,
so the goal is at most one call per 1,000 targets.

Memory: ``tracemalloc``'s peak over the same dispatch (queue and drain) at
COUNT targets, at 10,000 and at 1,000 (in separate runs, apart from the
timed one: tracing slows Python down). Goal: at most 1.5 times. At 1,000 the
targets are one chunk, queued before the first claim; from a few chunks on,
a chunk is queued while a claim is sent, so the peak holds both. The fake runs in its
own process so its memory of what it was sent is not counted.

Throttle: the same campaign paced at RATE segments/s (the number at 1e9),
a real Worker left running on the system clock for SECONDS; the rate of
what the fake accepted after the bucket's first second. Goal: within 5 %.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import time
import tracemalloc
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench.common import count_from_argv, print_table, raw_connect, scratch_dir
from core import settings
from core.clock import SystemClock
from core.db import Database, open_database
from core.delivery import outbox, placeholders
from core.people.authz import SYSTEM
from core.scheduling.options import WorkerOptions
from core.scheduling.worker import Worker
from core.sms import numbers, segments
from providers.config import WebhookConfig
from providers.sinch_sms import SinchGateway

DEFAULT, SMALL = 100_000, 2_000
SMALL_RUN = os.environ.get("BENCH_SMALL") == "1"
MEMORY_BASE = 1_000
MEMORY_MIDDLE = 10_000
"""Past a few chunks the peak is what one claim, one queued chunk and one call hold at
once, whatever the count: this size shows whether it still grows."""
CHUNK = 1_000
BATCH = 1_000
"""Rows a claim takes: one Sinch batch of 1,000."""
GOAL_RATIO = 0.3
GOAL_MEMORY = 1.5
RATE = 50.0
SECONDS = 4.0 if SMALL_RUN else 10.0
SENDER = "+14155550100"
TEMPLATE = "Hi ${first_name}, your code is ${code}. Reply STOP to opt out."
# +1 202 2xx xxxx: valid-looking, none ends in the fake's failing 0199.
PHONE = "+1202{:07d}"


def _target(n: int) -> tuple[str, dict[str, str]]:
    return PHONE.format(2_000_000 + n), {"first_name": f"Name{n % 997}", "code": f"{n:06d}"}


# --- the fake, in its own process --------------------------------------------


def _serve(conn: Connection) -> None:
    from tests.fakes.sinch_server import FakeSinch

    async def main() -> None:
        async with FakeSinch(callbacks=False) as fake:
            conn.send((fake.origin, fake.service_plan_id, fake.api_token))
            loop = asyncio.get_running_loop()
            while True:
                asked = await loop.run_in_executor(None, conn.recv)
                posts = fake.calls_to("POST")
                conn.send(
                    {
                        "calls": len(posts),
                        "recipients": sum(len(b["to"]) for b in fake.batches),
                        "created": [b["created_at"] for b in fake.batches],
                        "sizes": [len(b["to"]) for b in fake.batches],
                    }
                )
                if asked == "stop":
                    return
                fake.calls.clear()
                fake.batches.clear()

    asyncio.run(main())


class Fake:
    """FakeSinch in a child process: its origin, credentials and what it was sent."""

    def __enter__(self) -> Fake:
        self._conn, child = multiprocessing.Pipe()
        self._process = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(child,), daemon=True
        )
        self._process.start()
        self.origin, self.plan, self.token = self._conn.recv()
        return self

    def take(self) -> dict[str, Any]:
        """What it was sent since the last take (and forget it)."""
        self._conn.send("take")
        found: dict[str, Any] = self._conn.recv()
        return found

    def __exit__(self, *exc: object) -> None:
        self._conn.send("stop")
        self._conn.recv()
        self._process.join(5)

    def gateway(self) -> SinchGateway:
        from providers.config import SinchConfig

        config = SinchConfig(
            service_plan_id=self.plan, api_token=self.token, origin=self.origin, timeout_seconds=30
        )
        return SinchGateway(config, WebhookConfig())


# --- the campaign ------------------------------------------------------------


async def build(path: Path, rate: float) -> tuple[Database, int]:
    db = await open_database(path, SystemClock())
    await settings.update(db, SYSTEM, rate_segments_per_second=1e9)
    await numbers.add(db, SYSTEM, SENDER, default=True)
    async with db.transaction() as tx:
        campaign = await tx.insert(
            "INSERT INTO campaigns (name, sender, template, status, rate_segments_per_second,"
            " created_at, updated_at) VALUES ('Bench', ?, ?, 'running', ?, ?, ?)",
            (SENDER, TEMPLATE, rate, tx.now_ms, tx.now_ms),
        )
    return db, campaign


async def queue_targets(
    db: Database, campaign: int, count: int, queued: asyncio.Event | None = None
) -> None:
    for first in range(0, count, CHUNK):
        targets = [_target(n) for n in range(first, min(first + CHUNK, count))]
        values = [v for _, v in targets]
        items = [(to, placeholders.substitute(TEMPLATE, v)) for to, v in targets]
        async with db.transaction() as tx:
            await outbox.queue_many(
                tx,
                outbox.CAMPAIGN,
                SENDER,
                items,
                announce=False,
                campaign_id=campaign,
                batch=(TEMPLATE, values),
            )
        if queued is not None:
            queued.set()
            await asyncio.sleep(0)  # the worker's turn, as in one process


async def send_all(db: Database, gateway: SinchGateway, campaign: int, count: int) -> None:
    """Queue the targets and, side by side as in the worker's process, send them."""
    queued = asyncio.Event()
    queueing = asyncio.create_task(queue_targets(db, campaign, count, queued))
    worker = Worker(db, gateway, WorkerOptions(batch_size=BATCH, batches_per_tick=50))
    if not await worker.tick_lease():
        raise RuntimeError("the benchmark worker did not get the lease")
    while True:
        if await worker.pump():
            continue
        if queueing.done():
            await queueing  # its error, if any
            left = await outbox.depths(db)
            if left.queued == left.sending == 0:
                return
            raise RuntimeError(f"the outbox stalled with {left} left")
        await queued.wait()
        queued.clear()


async def dispatch(path: Path, fake: Fake, count: int) -> tuple[float, dict[str, int]]:
    """(seconds to queue and send ``count`` targets, messages by status)."""
    db, campaign = await build(path, 1e9)
    gateway = fake.gateway()
    try:
        started = time.perf_counter()
        await send_all(db, gateway, campaign, count)
        took = time.perf_counter() - started
        rows = await db.fetchall("SELECT status, count(*) FROM messages GROUP BY status")
        return took, {r[0]: r[1] for r in rows}
    finally:
        gateway.close()
        await db.close()


async def peak_memory(path: Path, fake: Fake, count: int) -> int:
    """tracemalloc's peak, in bytes, over queueing and sending ``count`` targets."""
    db, campaign = await build(path, 1e9)
    gateway = fake.gateway()
    try:
        tracemalloc.start()
        await send_all(db, gateway, campaign, count)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        fake.take()
        return peak
    finally:
        gateway.close()
        await db.close()


async def raw_insert(path: Path, count: int) -> float:
    """Seconds to write the same rows with plain sqlite3, CHUNK a transaction."""
    db, campaign = await build(path, 1e9)
    await db.close()
    line = settings.Settings().optout_notice
    now = int(time.time() * 1000)
    rows = []
    for n in range(count):  # made before the clock starts: only the writing is timed
        to, values = _target(n)
        body = f"{placeholders.substitute(TEMPLATE, values)}\n{line}"
        rows.append(
            (SENDER, to, body, segments.count(body).segments, now, now, now, campaign,
             f"{TEMPLATE}\n{line}", json.dumps(values))
        )  # fmt: skip
    conn = raw_connect(path)
    started = time.perf_counter()
    for first in range(0, count, CHUNK):
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO messages (direction, purpose, kind, sender, recipient, body, encoding,"
            " segments, status, next_attempt_at, created_at, updated_at, campaign_id,"
            " batch_template, batch_values)"
            " VALUES ('out', 'campaign', 'chat', ?, ?, ?, 'GSM-7', ?, 'queued', ?, ?, ?, ?, ?, ?)",
            rows[first : first + CHUNK],
        )
        conn.execute("COMMIT")
    took = time.perf_counter() - started
    conn.close()
    return took


async def throttle(path: Path, fake: Fake) -> tuple[float, int]:
    """(segments/s after the first second, messages sent) at RATE, on the system clock."""
    db, campaign = await build(path, RATE)
    gateway = fake.gateway()
    try:
        await queue_targets(db, campaign, int(RATE * (SECONDS + 5)))
        fake.take()
        worker = Worker(db, gateway)
        worker.start()
        await asyncio.sleep(SECONDS)
        await worker.stop()
        sent = fake.take()
    finally:
        gateway.close()
        await db.close()
    # One call a claim, stamped when the fake took it; the first second is the burst.
    stamps = sorted(
        (time.mktime(time.strptime(c[:19], "%Y-%m-%dT%H:%M:%S")) + float(c[19:23]), size)
        for c, size in zip(sent["created"], sent["sizes"], strict=True)
    )
    start = stamps[0][0] + 1.0
    steady = [(t, n) for t, n in stamps if t >= start]
    if len(steady) < 2:
        return 0.0, sent["recipients"]
    # What went after the first steady call, over the time it took.
    segments_after = sum(n for _, n in steady[1:])
    return segments_after / (steady[-1][0] - steady[0][0]), sent["recipients"]


async def main(count: int) -> None:
    with scratch_dir() as folder, Fake() as fake:
        raw = await raw_insert(folder / "raw.sqlite3", count)
        took, statuses = await dispatch(folder / "dispatch.sqlite3", fake, count)
        calls = fake.take()
        small = await peak_memory(folder / "small.sqlite3", fake, MEMORY_BASE)
        middle = await peak_memory(folder / "middle.sqlite3", fake, MEMORY_MIDDLE)
        large = await peak_memory(folder / "large.sqlite3", fake, count)
        rate, paced = await throttle(folder / "throttle.sqlite3", fake)

    per_s, raw_per_s = count / took, count / raw
    sent = statuses.get("sent", 0)
    print_table(
        f"{count:,} campaign targets, one template, to FakeSinch over HTTP",
        ["figure", "measured", "baseline", "ratio", "goal"],
        [
            [
                "targets/s (queue + send)",
                f"{per_s:,.0f}",
                f"{raw_per_s:,.0f} raw rows/s",
                f"{per_s / raw_per_s:.2f}",
                f"≥ {GOAL_RATIO}",
            ],
            ["targets sent", f"{sent:,}", "", "", f"{count:,}"],
            [
                "provider calls per 1,000 targets",
                f"{calls['calls'] / count * 1000:.2f}",
                f"{calls['calls']} calls",
                "",
                "≤ 1",
            ],
            [
                "tracemalloc peak",
                f"{large / 1e6:.1f} MB at {count:,}",
                f"{small / 1e6:.1f} MB at {MEMORY_BASE:,}",
                f"{large / small:.2f}",
                f"≤ {GOAL_MEMORY}",
            ],
            [
                "tracemalloc peak, middle size",
                f"{middle / 1e6:.1f} MB at {MEMORY_MIDDLE:,}",
                "",
                f"{large / middle:.2f}",
                "",
            ],
            [
                f"throttle at {RATE:g} segments/s",
                f"{rate:.2f}/s",
                f"{paced} sent in {SECONDS:g} s",
                f"{rate / RATE:.3f}",
                "0.95–1.05",
            ],
        ],
    )


if __name__ == "__main__":
    asyncio.run(main(count_from_argv(__doc__.splitlines()[0], DEFAULT, SMALL)))
