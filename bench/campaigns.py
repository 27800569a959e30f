"""SMS campaigns: a 100,000-target campaign sent to the fake Sinch server.

Dispatch, through the real path. A fresh SQLite file (made once per size and
copied for each run) holds COUNT Ready contacts, each with one mobile, and a
draft campaign from one number with the throttle off (its rate and the
number's at 1e9 segments/s), the default 08:00-21:00 window, the live filter
``ready=true`` and personal text ("Hi {{first_name}}, your code is
{{code}}.", ``code`` a custom field). The clock is a FakeClock at 11:00 in the
recipients' zone. Timed: ``lifecycle.start`` (the filter's matches become
targets, the estimate, every target programmed), then a real ``Worker`` with
``SinchGateway`` driven by ``run_once`` (every job in list order: the
campaign dispatcher, core/campaigns/dispatch.py, moves due targets into the
outbox, the outbox pump sends them) until the campaign is finished, over
HTTP to FakeSinch (tests/fakes/sinch_server.py) in a child process.

Baseline: the same outbox rows (same columns, rendered bodies, templates and
values) written with plain ``sqlite3`` into a fresh file of the same schema,
CHUNK a transaction. Goal: targets/s >= 0.3 of the raw rows/s. The two are
timed in ROUNDS rounds (3; 1 with BENCH_SMALL=1), the order alternating, and
the ratio is the median of the rounds' ratios: the raw insert alone ranged
from 53,000 to 91,000 rows/s over one day on the same machine, so a figure
from one run of each said as much about the disk that minute as about the
dispatch. Start-up's heap is frozen before the clock starts, as a worker
freezes it once when it starts (console/heap.py), not per campaign.

Floor: what one outbox row per target costs in SQL alone, with nothing else (no
Python between the statements, no HTTP): the same targets written as
programmed, then per CHUNK the outbox rows inserted and the targets pointed at
them (one transaction), claimed (an UPDATE to sending, RETURNING what is sent)
and marked sent, with plain ``sqlite3`` and parameters made before the clock
starts. Its ratio to the raw insert is the most any per-row design of this
path could reach; the goal needs fewer writes per target than these five.

Floor, one outbox row per batch: the same, for the design built since (schema
14): per CHUNK one outbox row for the batch inserted and its targets pointed
at it, the row claimed and marked sent; the targets are the per-recipient
ledger that delivery reports update.

Ticking: the same campaign again, the worker left to run as ``switchboard worker``
runs it (``Worker.start``: the jobs side by side, each woken at its due time or on
its tick), timed from the start to the last target sent. It shows what the job
after job figure cannot: a job waiting for its wake or its tick.

Provider calls: the fake's batch POSTs. Every target shares the template,
so the goal is at most one call per 1,000 targets.

Memory: ``tracemalloc`` started just before the start and stopped when the
campaign is finished, so its peak is what the dispatch itself held above the
same floor (the built file, the open database, the gateway: all made before),
at COUNT targets, at 10,000 and at 1,000 (separate runs, apart from the timed
one: tracing slows Python down). Goal: at most 1.5 times. At 1,000 the
campaign is one dispatch chunk and one claim; past that each step holds one
chunk or one claim at a time, whatever the count. The fake runs in its own
process so its memory of what it was sent is not counted.

Throttle: the same campaign paced at RATE segments/s (window the whole day),
started, then a real Worker left running on the system clock for SECONDS
(its job loop: the dispatcher and the pump as in production); the rate of
what the fake accepted after the bucket's first second. Goal: within 5 %.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import shutil
import sqlite3
import statistics
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench.common import count_from_argv, print_table, raw_connect, scratch_dir
from console import heap
from core import settings
from core.campaigns import campaigns, lifecycle
from core.clock import FakeClock, SystemClock
from core.db import Database, open_database
from core.delivery import outbox, placeholders
from core.people import contacts
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
"""Past a few chunks the peak is what one chunk or one claim holds, whatever the
count: this size shows whether it still grows."""
CHUNK = 1_000
BATCH = 1_000
"""Rows a claim takes: one Sinch batch of 1,000."""
GOAL_RATIO = 0.3
ROUNDS = 1 if SMALL_RUN else 3
"""Raw insert and campaign, alternated: the ratio is the median of the rounds' ratios."""
GOAL_MEMORY = 1.5
RATE = 50.0
SECONDS = 4.0 if SMALL_RUN else 10.0
SENDER = "+14155550100"
NAME = "Bench"
TEMPLATE = "Hi {{first_name}}, your code is {{code}}. Reply STOP to opt out."
SINCH_TEMPLATE = "Hi ${first_name}, your code is ${code}. Reply STOP to opt out."
"""What dispatch hands the outbox for provider batches (the baseline writes it too)."""
# +1 202 2xx xxxx (Washington, one zone): none ends in the fake's failing 0199.
PHONE = "+1202{:07d}"
AT = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
"""A Monday, 11:00 in Washington: inside the default window."""


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


async def build(path: Path, count: int, rate: float, window: str) -> None:
    """``count`` Ready contacts with a mobile and a draft campaign targeting them."""
    db = await open_database(path, FakeClock(AT))
    try:
        await settings.update(db, SYSTEM, rate_segments_per_second=1e9)
        await numbers.add(db, SYSTEM, SENDER, default=True)
        for first in range(0, count, 10_000):
            batch = []
            for n in range(first, min(first + 10_000, count)):
                to, values = _target(n)
                batch.append(
                    contacts.NewContact(
                        f"{values['first_name']} Bench", "", "", True,
                        (contacts.Phone(to, "mobile"),), {"code": values["code"]},
                    )
                )  # fmt: skip
            async with db.transaction() as tx:
                await contacts.create_many_in(tx, batch)
        await campaigns.create(
            db, SYSTEM, NAME, SENDER, TEMPLATE, rate=rate, window=window, filter="ready=true"
        )
    finally:
        await db.close()


async def built(folder: Path, count: int, rate: float = 1e9, window: str = "08:00-21:00") -> Path:
    """A fresh copy of the file for ``count`` targets (built the first time)."""
    made = folder / f"built-{count}-{rate:g}-{window.replace(':', '')}.sqlite3"
    if not made.exists():
        await build(made, count, rate, window)
    copy = folder / f"run-{time.monotonic_ns()}.sqlite3"
    shutil.copyfile(made, copy)
    return copy


@contextmanager
def settled() -> Iterator[None]:
    """Start-up's heap frozen, as the headless worker and the console freeze theirs once
    started (console/heap.py): before the clock starts, since a worker does it once at
    start-up, not per campaign (its full collection alone was 0.25 s)."""
    heap.settle()
    try:
        yield
    finally:
        heap.release()


async def send_all(db: Database, gateway: SinchGateway) -> float:
    """Start the campaign and run the worker's jobs until it is finished; the seconds
    the start took (its filter made into targets, the estimate, every target programmed)."""
    worker = Worker(db, gateway, WorkerOptions(batch_size=BATCH, batches_per_tick=50))
    began = time.perf_counter()
    await lifecycle.start(db, SYSTEM, NAME, confirm=True)
    starting = time.perf_counter() - began
    if not await worker.tick_lease():
        raise RuntimeError("the benchmark worker did not get the lease")
    idle = 0
    while True:
        sent = worker.stats.sent
        await worker.run_once()
        status = await db.scalar("SELECT status FROM campaigns WHERE name = ?", (NAME,))
        if status == "finished":
            return starting
        idle = idle + 1 if worker.stats.sent == sent else 0
        if idle > 3:
            left = await outbox.depths(db)
            raise RuntimeError(f"the campaign stalled ({status}) with {left} in the outbox")


async def dispatch(path: Path, fake: Fake) -> tuple[float, float, dict[str, int]]:
    """(seconds to start and send the campaign, of which the start, messages by status)."""
    db = await open_database(path, FakeClock(AT))
    gateway = fake.gateway()
    try:
        with settled():
            started = time.perf_counter()
            starting = await send_all(db, gateway)
            took = time.perf_counter() - started
        # A campaign's batch row (schema 14) stands for each of its recipients.
        rows = await db.fetchall(
            "SELECT status, sum(coalesce(recipients, 1)) FROM messages GROUP BY status"
        )
        return took, starting, {r[0]: r[1] for r in rows}
    finally:
        gateway.close()
        await db.close()


async def ticking(path: Path, fake: Fake) -> float:
    """Seconds from the start to the last target sent, the worker ticking on its own as
    `switchboard worker` runs it (``Worker.start``: its jobs run side by side, each woken
    at its due time or on its next tick), not driven job after job."""
    db = await open_database(path, FakeClock(AT))
    gateway = fake.gateway()
    worker = Worker(db, gateway, WorkerOptions(batch_size=BATCH, batches_per_tick=50))
    try:
        with settled():
            began = time.perf_counter()
            await lifecycle.start(db, SYSTEM, NAME, confirm=True)
            worker.start()
            # Polled, not waited for: "finished" comes with the dispatcher's next tick (up to
            # a second after the last send), and the figure is the sending.
            while True:
                if not await db.scalar(_LEFT, (NAME,)):
                    break
                await asyncio.sleep(0.02)
            took = time.perf_counter() - began
            await worker.stop()
            fake.take()
            return took
    finally:
        gateway.close()
        await db.close()


_LEFT = (
    "SELECT EXISTS (SELECT 1 FROM campaign_targets t JOIN campaigns c ON c.id = t.campaign_id"
    "   WHERE c.name = ?1 AND t.state IN ('waiting', 'programmed'))"
    " OR EXISTS (SELECT 1 FROM messages m JOIN campaigns c ON c.id = m.campaign_id"
    "   WHERE c.name = ?1 AND m.status IN ('queued', 'sending'))"
)


async def peak_memory(path: Path, fake: Fake) -> int:
    """tracemalloc's peak, in bytes, over starting and sending the campaign."""
    db = await open_database(path, FakeClock(AT))
    gateway = fake.gateway()
    try:
        with settled():
            tracemalloc.start()
            await send_all(db, gateway)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        fake.take()
        return peak
    finally:
        gateway.close()
        await db.close()


async def raw_insert(path: Path, count: int) -> float:
    """Seconds to write the same outbox rows with plain sqlite3, CHUNK a transaction."""
    db = await open_database(path, SystemClock())
    await db.close()
    line = settings.Settings().optout_notice
    now = int(time.time() * 1000)
    rows = []
    for n in range(count):  # made before the clock starts: only the writing is timed
        to, values = _target(n)
        body = f"{placeholders.substitute(SINCH_TEMPLATE, values)}\n{line}"
        rows.append(
            (SENDER, to, body, segments.count(body).segments, now, now, now, 1,
             f"{SINCH_TEMPLATE}\n{line}", json.dumps(values))
        )  # fmt: skip
    conn = raw_connect(path)
    conn.execute("PRAGMA foreign_keys = OFF")  # no campaign row: the insert alone is timed
    started = time.perf_counter()
    for first in range(0, count, CHUNK):
        conn.execute("BEGIN")
        conn.executemany(_RAW_INSERT, rows[first : first + CHUNK])
        conn.execute("COMMIT")
    took = time.perf_counter() - started
    conn.close()
    return took


async def sql_floor(path: Path, count: int) -> float:
    """Seconds for the statements one outbox row per target needs (see the module's doc)."""
    db = await open_database(path, SystemClock())
    await db.close()
    now = int(time.time() * 1000)
    line = settings.Settings().optout_notice
    targets, messages, moves, sent = [], [], [], []
    for n in range(count):  # made before the clock starts: only the writing is timed
        to, values = _target(n)
        body = f"{placeholders.substitute(SINCH_TEMPLATE, values)}\n{line}"
        targets.append((n + 1, to, json.dumps(values), now, now, now))
        messages.append(
            (SENDER, to, body, segments.count(body).segments, now, now, now, 1,
             f"{SINCH_TEMPLATE}\n{line}", json.dumps(values))
        )  # fmt: skip
    for first in range(0, count, CHUNK):  # a fresh file: row ids are 1, 2, ...
        ids = range(first + 1, min(first + CHUNK, count) + 1)
        moves.append(json.dumps([[i, "queued", None, None, i] for i in ids]))
        sent.append(json.dumps([[i, f"BATCH-{first}"] for i in ids]))
    conn = raw_connect(path)
    conn.execute("PRAGMA foreign_keys = OFF")  # no campaign or contact rows
    started = time.perf_counter()
    _program(conn, targets)
    for index, first in enumerate(range(0, count, CHUNK)):
        conn.execute("BEGIN")
        conn.executemany(_RAW_INSERT, messages[first : first + CHUNK])
        conn.execute(_MOVE_TARGETS, {"rows": moves[index], "now": now})
        conn.execute("COMMIT")
        conn.execute("BEGIN")
        conn.execute(_RAW_CLAIM, (now + 60_000, CHUNK)).fetchall()
        conn.execute("COMMIT")
        conn.execute("BEGIN")
        conn.execute(_RAW_SENT, (now, sent[index]))
        conn.execute("COMMIT")
    took = time.perf_counter() - started
    conn.close()
    return took


async def ledger_floor(path: Path, count: int) -> float:
    """Seconds for the statements of one outbox row per provider batch, with the
    targets as the per-recipient ledger (see the module's doc)."""
    db = await open_database(path, SystemClock())
    await db.close()
    now = int(time.time() * 1000)
    line = settings.Settings().optout_notice
    targets, batches, moves = [], [], []
    for n in range(count):  # made before the clock starts: only the writing is timed
        to, values = _target(n)
        targets.append((n + 1, to, json.dumps(values), now, now, now))
    for first in range(0, count, CHUNK):  # a fresh file: row ids are 1, 2, ...
        ids = range(first + 1, min(first + CHUNK, count) + 1)
        given = dict(_target(i - 1) for i in ids)
        body = f"{placeholders.substitute(SINCH_TEMPLATE, next(iter(given.values())))}\n{line}"
        batches.append(
            (SENDER, "", f"{SINCH_TEMPLATE}\n{line}", segments.count(body).segments * len(ids),
             now, now, now, 1, f"{SINCH_TEMPLATE}\n{line}", json.dumps(given))
        )  # fmt: skip
        moves.append(json.dumps(list(ids)))
    conn = raw_connect(path)
    conn.execute("PRAGMA foreign_keys = OFF")  # no campaign or contact rows
    started = time.perf_counter()
    _program(conn, targets)
    for index in range(len(batches)):
        conn.execute("BEGIN")
        batch_id = conn.execute(_RAW_INSERT, batches[index]).lastrowid
        conn.execute(
            "UPDATE campaign_targets SET state = 'queued', message_id = ?, updated_at = ?"
            " WHERE id IN (SELECT value FROM json_each(?)) AND state = 'programmed'",
            (batch_id, now, moves[index]),
        )
        conn.execute("COMMIT")
        conn.execute("BEGIN")
        conn.execute(_RAW_CLAIM, (now + 60_000, 1)).fetchall()
        conn.execute("COMMIT")
        conn.execute("BEGIN")
        conn.execute(_RAW_SENT, (now, json.dumps([[batch_id, f"BATCH-{index}"]])))
        conn.execute("COMMIT")
    took = time.perf_counter() - started
    conn.close()
    return took


def _program(conn: sqlite3.Connection, targets: list[tuple[object, ...]]) -> None:
    """The floors' first step: the targets written as programmed, CHUNK a transaction."""
    for first in range(0, len(targets), CHUNK):
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO campaign_targets (campaign_id, contact_id, phone, merge_values, state,"
            " due_at, created_at, updated_at) VALUES (1, ?, ?, ?, 'programmed', ?, ?, ?)",
            targets[first : first + CHUNK],
        )
        conn.execute("COMMIT")


_RAW_INSERT = (
    "INSERT INTO messages (direction, purpose, kind, sender, recipient, body, encoding,"
    " segments, status, next_attempt_at, created_at, updated_at, campaign_id,"
    " batch_template, batch_values)"
    " VALUES ('out', 'campaign', 'chat', ?, ?, ?, 'GSM-7', ?, 'queued', ?, ?, ?, ?, ?, ?)"
)
_MOVE_TARGETS = (  # as core/campaigns/dispatch.py moves a chunk's targets
    "UPDATE campaign_targets SET state = j.value ->> 1, due_at = j.value ->> 2,"
    " reason = j.value ->> 3, message_id = j.value ->> 4, updated_at = :now"
    " FROM json_each(:rows) AS j"
    " WHERE campaign_targets.id = j.value ->> 0 AND campaign_targets.state = 'programmed'"
)
_RAW_CLAIM = (
    "UPDATE messages SET status = 'sending', attempts = attempts + 1, lease_until = ?"
    " WHERE id IN (SELECT id FROM messages WHERE campaign_id = 1 AND status = 'queued'"
    " ORDER BY next_attempt_at, id LIMIT ?)"
    " RETURNING id, sender, recipient, body, segments, batch_template, batch_values"
)
_RAW_SENT = (
    "UPDATE messages SET status = 'sent', provider_id = j.value ->> 1, sent_at = ?,"
    " lease_until = NULL FROM json_each(?) AS j WHERE messages.id = j.value ->> 0"
)


async def throttle(folder: Path, fake: Fake) -> tuple[float, int]:
    """(segments/s after the first second, messages sent) at RATE, on the system clock."""
    path = await built(folder, int(RATE * (SECONDS + 5)), RATE, "00:00-24:00")
    db = await open_database(path, SystemClock())
    gateway = fake.gateway()
    try:
        await lifecycle.start(db, SYSTEM, NAME, confirm=True)
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


@dataclass(frozen=True, slots=True)
class Round:
    """One round: the raw insert and the campaign, each timed once."""

    raw: float
    took: float
    starting: float
    statuses: dict[str, int]
    calls: int


async def main(count: int) -> None:
    with scratch_dir() as folder, Fake() as fake:
        rounds: list[Round] = []
        for index in range(ROUNDS):
            # Alternated, so a machine that gets busier (or a disk that gets slower) part
            # way weighs on both sides alike.
            raw_file = folder / f"raw-{index}.sqlite3"
            raw_first = index % 2 == 0
            raw = await raw_insert(raw_file, count) if raw_first else 0.0
            took, starting, statuses = await dispatch(await built(folder, count), fake)
            if not raw_first:
                raw = await raw_insert(raw_file, count)
            rounds.append(Round(raw, took, starting, statuses, fake.take()["calls"]))
        floor = await sql_floor(folder / "floor.sqlite3", count)
        ledger = await ledger_floor(folder / "ledger.sqlite3", count)
        ticked = await ticking(await built(folder, count), fake)
        middle_count = min(MEMORY_MIDDLE, count)
        small = await peak_memory(await built(folder, MEMORY_BASE), fake)
        middle = await peak_memory(await built(folder, middle_count), fake)
        large = await peak_memory(await built(folder, count), fake)
        rate, paced = await throttle(folder, fake)

    per_s = statistics.median(count / r.took for r in rounds)
    raw_per_s = statistics.median(count / r.raw for r in rounds)
    raw = count / raw_per_s
    ratio = statistics.median(r.raw / r.took for r in rounds)  # targets/s ÷ raw rows/s
    middle_round = sorted(rounds, key=lambda r: r.raw / r.took)[len(rounds) // 2]
    took, starting = middle_round.took, middle_round.starting
    sent = min(r.statuses.get("sent", 0) for r in rounds)
    calls = max(r.calls for r in rounds)
    print_table(
        f"{count:,} campaign targets, one template, to FakeSinch over HTTP",
        ["figure", "measured", "baseline", "ratio", "goal"],
        [
            [
                "targets/s (start, dispatch, send)",
                f"{per_s:,.0f}",
                f"{raw_per_s:,.0f} raw rows/s",
                f"{ratio:.2f}",
                f"≥ {GOAL_RATIO}",
            ],
            [
                "targets/s, the worker ticking",
                f"{count / ticked:,.0f}",
                f"{raw_per_s:,.0f} raw rows/s",
                f"{count / ticked / raw_per_s:.2f}",
                "",
            ],
            [
                "SQL floor, one outbox row per target",
                f"{count / floor:,.0f}",
                f"{raw_per_s:,.0f} raw rows/s",
                f"{raw / floor:.2f}",
                "",
            ],
            [
                "SQL floor, one outbox row per batch",
                f"{count / ledger:,.0f}",
                f"{raw_per_s:,.0f} raw rows/s",
                f"{raw / ledger:.2f}",
                "",
            ],
            [
                "of which the start",
                f"{starting:.2f} s of {took:.2f} s",
                f"{raw:.2f} s raw",
                "",
                "",
            ],
            ["targets sent", f"{sent:,}", "", "", f"{count:,}"],
            [
                "provider calls per 1,000 targets",
                f"{calls / count * 1000:.2f}",
                f"{calls} calls",
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
                f"{middle / 1e6:.1f} MB at {middle_count:,}",
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
