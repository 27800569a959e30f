"""Outbound through Sinch: messages/s through the worker and SinchGateway, next to a raw SDK loop.

Both run against FakeSinch (tests/fakes/sinch_server.py) on 127.0.0.1, with
its callbacks off and no faults, so what is measured is our side of the
HTTP call:

* worker: COUNT messages queued with ``outbox.queue_in`` over 1,000
  conversations (not timed), then a real ``Worker`` with ``SinchGateway``
  pumping until nothing is queued or sending: each message is claimed, sent
  as one batch through the SDK (in the gateway's threads, 8 at a time, the
  worker's default send concurrency) and recorded as sent, in SQLite;
* raw SDK: the same number of ``client.sms.batches.send_sms`` calls, same
  fields, from 8 threads on one SDK client, and nothing else.

The ratio raw/worker says what the outbox (claiming, recording, the change
feed, the event loop hop to the threads) costs on top of the SDK itself.

Then batching, at the gateway (not through the outbox): the same COUNT
messages with one text, to COUNT different numbers, as single sends
(``SinchGateway.send``, 8 at a time) next to the batches ``core.delivery.batching``
makes of them (``SinchGateway.send_batch``, up to 1,000 recipients each).

The fake server runs in the same process and event loop as the worker (and
as the raw loop's waiting), so it shares the CPU (and the GIL) with what is
measured: both figures are lower than against a remote Sinch would be
CPU-wise, and have no network latency in them. The SDK's per-call CPU cost
(requests, pydantic) is most of both.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sinch import SinchClient
from sinch.core.clients.retry_configuration import RetryConfiguration
from sinch.core.enums import RetryPolicy

from bench.common import count_from_argv, print_table, scratch_dir
from core import settings
from core.clock import SystemClock
from core.db import open_database
from core.delivery import batching, outbox
from core.delivery.gateway import OutboundBatch, OutboundSms
from core.people.authz import SYSTEM
from core.scheduling.options import WorkerOptions
from core.scheduling.worker import Worker
from core.sms import numbers
from providers.config import WebhookConfig
from providers.sinch_sms import SinchGateway
from tests.fakes.sinch_server import FakeSinch

DEFAULT, SMALL = 5_000, 200
CONCURRENCY = 8
BATCH = 100
CONVERSATIONS = 1_000
MAX_PARTS = 10
SENDER = "+14155550100"
BODY = "Hello, this is a reminder of your appointment tomorrow at {n}. Reply to reschedule."
# +1415555xxxx with the last four digits 1000-1999: none ends in the fake's failing 0199.
PHONE = "+1415555{:04d}"
WARM_UP = 20


async def worker_path(path: Path, count: int, fake: FakeSinch) -> tuple[float, dict[str, int]]:
    """(drain seconds, messages by final status)."""
    db = await open_database(path, SystemClock())
    gateway = SinchGateway(fake.sinch_config(timeout_seconds=10), WebhookConfig())
    try:
        await settings.update(db, SYSTEM, rate_segments_per_second=1e9, max_message_parts=MAX_PARTS)
        number = await numbers.add(db, SYSTEM, SENDER, default=True)
        async with db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO conversations (number_id, phone, created_at) VALUES (?, ?, ?)",
                [(number.id, PHONE.format(1000 + i), tx.now_ms) for i in range(CONVERSATIONS)],
            )
        conversation_ids = [r[0] for r in await db.fetchall("SELECT id FROM conversations")]
        for first in range(0, count, 500):
            async with db.transaction() as tx:
                for n in range(first, min(first + 500, count)):
                    await outbox.queue_in(
                        tx, conversation_ids[n % len(conversation_ids)], BODY.format(n=n)
                    )

        worker = Worker(
            db,
            gateway,
            WorkerOptions(batch_size=BATCH, batches_per_tick=20, send_concurrency=CONCURRENCY),
        )
        if not await worker.tick_lease():
            raise RuntimeError("the benchmark worker did not get the lease")
        started = time.perf_counter()
        while True:
            handled = await worker.pump()
            left = await outbox.depths(db)
            if left.queued == left.sending == 0:
                break
            if not handled:
                raise RuntimeError(f"the outbox stalled with {left} left")
        drain = time.perf_counter() - started
        rows = await db.fetchall(
            "SELECT status, count(*) FROM messages WHERE direction = 'out' GROUP BY status"
        )
        return drain, {r[0]: r[1] for r in rows}
    finally:
        gateway.close()
        await db.close()


async def raw_sdk(count: int, fake: FakeSinch) -> float:
    """Seconds for ``count`` send_sms calls from CONCURRENCY threads on one SDK client."""
    client = SinchClient(
        service_plan_id=fake.service_plan_id,
        sms_api_token=fake.api_token,
        sms_region="us",
        retry_configuration=RetryConfiguration(retry_policy=RetryPolicy.NONE),
    )
    client.configuration.sms_origin_with_service_plan_id = fake.origin
    client.configuration.connection_timeout = 10

    def send(n: int) -> str:
        batch = client.sms.batches.send_sms(
            to=[PHONE.format(1000 + n % CONVERSATIONS).removeprefix("+")],
            from_=SENDER.removeprefix("+"),
            body=BODY.format(n=n),
            delivery_report="per_recipient",
            client_reference=f"raw-{n}",
            max_number_of_message_parts=MAX_PARTS,
        )
        return batch.id

    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        # The fake answers in this event loop, so the threads are awaited, not joined.
        await asyncio.gather(*(loop.run_in_executor(pool, send, n) for n in range(WARM_UP)))
        started = time.perf_counter()
        await asyncio.gather(*(loop.run_in_executor(pool, send, n) for n in range(count)))
        return time.perf_counter() - started


async def singles_and_batches(count: int, fake: FakeSinch) -> tuple[float, float, int]:
    """(seconds as single sends, seconds as batches, batches) for one text to ``count`` numbers."""
    gateway = SinchGateway(fake.sinch_config(timeout_seconds=30), WebhookConfig())
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(item: OutboundSms | OutboundBatch) -> None:
        async with gate:
            if isinstance(item, OutboundBatch):
                await gateway.send_batch(item)
            else:
                await gateway.send(item)

    def rows(first_id: int) -> list[OutboundSms]:
        # +1212xxxxxxx: distinct numbers, none ending in the fake's failing 0199.
        return [
            OutboundSms(
                first_id + n, SENDER, f"+1212{2_000_000 + n:07d}", BODY, 1, max_parts=MAX_PARTS
            )
            for n in range(count)
        ]

    try:
        singles = rows(1)
        started = time.perf_counter()
        await asyncio.gather(*(one(sms) for sms in singles))
        single_seconds = time.perf_counter() - started

        planned = batching.plan(rows(count + 1), gateway.max_batch_recipients)
        started = time.perf_counter()
        await asyncio.gather(*(one(item) for item in planned))
        batch_seconds = time.perf_counter() - started
    finally:
        gateway.close()
    return single_seconds, batch_seconds, len(planned)


async def main() -> None:
    count = count_from_argv(__doc__.splitlines()[0], DEFAULT, SMALL)
    async with FakeSinch(callbacks=False) as fake:
        raw = await raw_sdk(count, fake)  # first: it also warms the SDK's models up
        with scratch_dir() as tmp:
            drain, statuses = await worker_path(tmp / "sinch.db", count, fake)
        received = len(fake.batches)
        single, batched, batches = await singles_and_batches(count, fake)
        recipients = sum(len(b["to"]) for b in fake.batches[received:])

    if statuses.get("sent", 0) != count:
        raise SystemExit(f"expected {count:,} messages sent, got {statuses}")
    if received != count * 2 + WARM_UP:
        raise SystemExit(f"the fake received {received:,} batches, not {count * 2 + WARM_UP:,}")
    if recipients != count * 2:
        raise SystemExit(f"the fake received {recipients:,} recipients, not {count * 2:,}")
    rows = [
        ("worker -> SinchGateway -> fake Sinch", drain),
        (f"raw SDK send_sms, {CONCURRENCY} threads", raw),
    ]
    print_table(
        f"sinch outbound: {count:,} messages, {CONCURRENCY} at a time, fake Sinch on 127.0.0.1"
        " (same process)",
        ["path", "seconds", "msgs/s"],
        [[name, f"{secs:.3f}", f"{count / secs:,.0f}"] for name, secs in rows],
    )
    print("final status: " + ", ".join(f"{k} {v:,}" for k, v in sorted(statuses.items())))
    print(
        f"ratio worker/raw time: {drain / raw:.2f}x (the outbox's cost on top of the SDK's own;"
        " the fake shares the CPU with both)"
    )
    print()
    print_table(
        f"one text to {count:,} numbers through SinchGateway, {CONCURRENCY} calls at a time",
        ["path", "calls", "seconds", "msgs/s"],
        [
            ["single sends (send)", f"{count:,}", f"{single:.3f}", f"{count / single:,.0f}"],
            [
                "batches of up to 1,000 (send_batch)",
                f"{batches:,}",
                f"{batched:.3f}",
                f"{count / batched:,.0f}",
            ],
        ],
    )
    print(f"ratio single/batch time: {single / batched:.1f}x")


if __name__ == "__main__":
    asyncio.run(main())
