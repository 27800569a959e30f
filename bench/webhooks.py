"""Webhook throughput: signed callbacks/s and latency through WebhookServer, next to bare aiohttp.

What is measured: COUNT signed callbacks posted at concurrency 50 (aiohttp
client, keep-alive) to a ``WebhookServer`` running in its own process on a
fresh SQLite file, with the webhook secret set, so every post is verified
(SDK signature check, timestamp window, nonce) and stored before it is
answered:

* delivery reports: per-recipient reports (Dispatched, then Delivered) for
  COUNT/2 sent messages; concurrent reports share one transaction (group
  commit), and each Delivered one marks its message delivered;
* MO messages: COUNT distinct inbound SMS from 100 senders: each is one
  ``receiving.receive`` transaction (contact, conversation, message, feed
  event).

The baseline is a bare aiohttp server on the same kind of process that only
reads the body and answers 200, posted the same bodies the same way. The
client runs in this process and the server in another, so on a 2-core
machine each has a core; against the bare server the client may be the limit,
so its figure is a floor for what aiohttp itself can do.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench.common import count_from_argv, print_table, scratch_dir
from core.clock import SystemClock
from core.db import open_database
from core.delivery import outbox
from core.delivery.outbox import Sent
from core.people.authz import SYSTEM
from core.sms import numbers
from providers.config import EVENTS_PATH, WebhookConfig
from providers.webhooks import WebhookServer
from tests.fakes.sinch_signing import signed_headers

DEFAULT, SMALL = 5_000, 300
CONCURRENCY = 50
SECRET = "bench-webhook-secret"
OUR_NUMBER = "+14155550100"
RECIPIENT = "+12125550199"
SENDERS = [f"+1212555{n:04d}" for n in range(100, 200)]  # 555-01XX: reserved for fiction


@dataclass(frozen=True, slots=True)
class Run:
    name: str
    posts: int
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]

    @property
    def rate(self) -> float:
        return self.posts / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


# --- the servers, each in its own process ----------------------------------------


def _serve(kind: str, db_path: str, ready: Any, stop: Any) -> None:
    asyncio.run(_serve_async(kind, db_path, ready, stop))


async def _serve_async(kind: str, db_path: str, ready: Any, stop: Any) -> None:
    loop = asyncio.get_running_loop()
    if kind == "bare":

        async def handler(request: web.Request) -> web.Response:
            await request.read()
            return web.Response(text="ok")

        app = web.Application(client_max_size=1_048_576)
        app.router.add_post(EVENTS_PATH, handler)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        ready.put(runner.addresses[0][1])
        await loop.run_in_executor(None, stop.wait)
        await runner.cleanup()
        return
    db = await open_database(Path(db_path), SystemClock())
    try:
        server = WebhookServer(db, WebhookConfig(port=0), secret=SECRET)
        await server.start()
        ready.put(server.port)
        await loop.run_in_executor(None, stop.wait)
        await server.stop()
    finally:
        await db.close()


class ServerProcess:
    def __init__(self, kind: str, db_path: Path | None = None) -> None:
        ctx = mp.get_context("spawn")
        self._ready = ctx.Queue()
        self._stop = ctx.Event()
        self._process = ctx.Process(
            target=_serve, args=(kind, str(db_path or ""), self._ready, self._stop), daemon=True
        )

    def __enter__(self) -> str:
        self._process.start()
        port = self._ready.get(timeout=60)
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._process.join(timeout=30)
        if self._process.exitcode != 0:
            raise RuntimeError(f"the server process ended with {self._process.exitcode}")


# --- the data -----------------------------------------------------------------------


async def seed(path: Path, messages: int) -> list[int]:
    """A database with our number and ``messages`` sent messages (batch IDs BATCH-<id>)."""
    db = await open_database(path, SystemClock())
    try:
        number = await numbers.add(db, SYSTEM, OUR_NUMBER, default=True)
        async with db.transaction() as tx:
            conversation = await tx.insert(
                "INSERT INTO conversations (number_id, phone, created_at) VALUES (?, ?, ?)",
                (number.id, RECIPIENT, tx.now_ms),
            )
            ids = [await outbox.queue_in(tx, conversation, f"hello {n}") for n in range(messages)]
        claimed = await outbox.claim(db, messages, 600)
        await outbox.record(db, [Sent(c.message_id, f"BATCH-{c.message_id}") for c in claimed])
        return ids
    finally:
        await db.close()


def report_bodies(message_ids: Sequence[int]) -> list[bytes]:
    return [
        json.dumps(
            {
                "type": "recipient_delivery_report_sms",
                "batch_id": f"BATCH-{mid}",
                "recipient": RECIPIENT.lstrip("+"),
                "code": 0,
                "status": status,
                "at": "2026-01-05T09:00:01.000Z",
                "client_reference": str(mid),
            }
        ).encode()
        for status in ("Dispatched", "Delivered")
        for mid in message_ids
    ]


def mo_bodies(count: int) -> list[bytes]:
    return [
        json.dumps(
            {
                "type": "mo_text",
                "id": f"MO-{n:07d}",
                "from": SENDERS[n % len(SENDERS)].lstrip("+"),
                "to": OUR_NUMBER.lstrip("+"),
                "body": f"Hello, this is reply number {n}, can you call me back?",
                "received_at": "2026-01-05T09:00:00.000Z",
                "operator_id": "310260",
            }
        ).encode()
        for n in range(count)
    ]


# --- the client ---------------------------------------------------------------------


async def post_all(name: str, url: str, bodies: Sequence[bytes]) -> Run:
    stamp = int(time.time())
    signed = [(b, signed_headers(SECRET, b, timestamp=stamp)) for b in bodies]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    gate = asyncio.Semaphore(CONCURRENCY)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(url, connector=connector) as session:

        async def one(body: bytes, headers: dict[str, str]) -> None:
            async with gate:
                started = time.perf_counter()
                async with session.post(EVENTS_PATH, data=body, headers=headers) as response:
                    await response.read()
                latencies.append(time.perf_counter() - started)
                statuses[response.status] = statuses.get(response.status, 0) + 1

        # Warm the connections so the figure is the steady state.
        warm = mo_bodies(1)[0]
        await asyncio.gather(
            *(session.post("/nowhere", data=warm) for _ in range(CONCURRENCY)),
            return_exceptions=True,
        )
        started = time.perf_counter()
        await asyncio.gather(*(one(b, h) for b, h in signed))
        seconds = time.perf_counter() - started
    return Run(name, len(bodies), seconds, latencies, statuses)


async def main() -> None:
    count = count_from_argv(__doc__.splitlines()[0], DEFAULT, SMALL)
    messages = max(count // 2, 1)
    with scratch_dir() as tmp:
        path = tmp / "webhooks.db"
        message_ids = await seed(path, messages)
        reports, mos = report_bodies(message_ids), mo_bodies(count)
        mixed = [b for pair in zip(reports, mos, strict=False) for b in pair][:count]

        with ServerProcess("bare") as url:
            bare = await post_all("bare aiohttp (read body, 200)", url, mixed)
        with ServerProcess("switchboard", path) as url:
            dr = await post_all("WebhookServer: delivery reports", url, reports)
            mo = await post_all("WebhookServer: MO messages", url, mos)

        db = await open_database(path, SystemClock())
        try:
            stored_reports = await db.scalar("SELECT count(*) FROM delivery_reports")
            stored_mos = await db.scalar("SELECT count(*) FROM messages WHERE direction = 'in'")
            delivered = await db.scalar("SELECT count(*) FROM messages WHERE status = 'delivered'")
        finally:
            await db.close()

    for run in (bare, dr, mo):
        if run.statuses != {200: run.posts}:
            raise SystemExit(f"{run.name}: expected {run.posts} answers 200, got {run.statuses}")
    if (stored_reports, stored_mos, delivered) != (len(reports), count, messages):
        raise SystemExit(
            f"stored {stored_reports} reports (expected {len(reports)}), {stored_mos} MOs"
            f" (expected {count}), {delivered} delivered (expected {messages})"
        )
    print_table(
        f"webhooks: signed callbacks at concurrency {CONCURRENCY}, server in its own process",
        ["server", "posts", "seconds", "posts/s", "p50 ms", "p99 ms", "bare/this"],
        [
            [
                run.name,
                f"{run.posts:,}",
                f"{run.seconds:.2f}",
                f"{run.rate:,.0f}",
                f"{run.percentile(50) * 1000:.1f}",
                f"{run.percentile(99) * 1000:.1f}",
                f"{bare.rate / run.rate:.1f}x",
            ]
            for run in (bare, dr, mo)
        ],
    )
    mean = statistics.fmean(dr.latencies + mo.latencies) * 1000
    print(
        f"stored: {stored_reports:,} delivery reports ({delivered:,} messages delivered),"
        f" {stored_mos:,} MO messages; mean latency through WebhookServer {mean:.1f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
