"""Webhook throughput: signed callbacks/s and latency through WebhookServer, next to bare aiohttp.

What is measured: COUNT signed callbacks posted at concurrency 50 (aiohttp
client, keep-alive) to a ``WebhookServer`` running in its own process on a
fresh SQLite file, with the webhook secret set, so every post is verified
(SDK signature check, timestamp window, nonce) and stored before it is
answered:

* delivery reports: per-recipient reports (Dispatched, then Delivered) for
  COUNT/2 sent messages; concurrent reports share one transaction (group
  commit), and each Delivered one marks its message delivered;
* MO messages: COUNT distinct inbound SMS from 100 senders, grouped as they
  arrive into ``receiving.receive_many`` transactions (message, inbound
  hooks, feed event); the senders' contacts and conversations exist already
  (a warm-up round made them), as they do for most traffic.

The baseline is a bare aiohttp server on the same kind of process (both on
the event loop `switchboard worker` serves on, console.server_loop) that only
reads the body and answers 200, posted the very same bodies with the same
headers by the same client. Both servers run for the whole bench, and the
load is posted in ROUNDS rounds, each round to the bare server and to
WebhookServer one after the other (the order alternating), with fresh IDs
each round: "this/bare" is the median of the rounds' ratios, so a machine
that gets busier or quieter part way weighs on both sides alike. The server's
CPU time per post (its process, all threads, from /proc) is printed too: it
does not depend on the client, which runs in this process and may be the
limit against the bare server.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench.common import count_from_argv, print_table, scratch_dir
from console import heap, server_loop
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
ROUNDS, SMALL_ROUNDS = 5, 3
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
    cpu_seconds: float | None = None
    """The server process's CPU time while it answered this run."""

    @property
    def rate(self) -> float:
        return self.posts / self.seconds


# --- the servers, each in its own process ----------------------------------------


def _serve(kind: str, db_path: str, ready: Any, stop: Any) -> None:
    # On the loop `switchboard worker` serves on (uvloop where installed).
    server_loop.run(_serve_async(kind, db_path, ready, stop))


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
        heap.settle()  # both servers as `switchboard worker` runs its own
        ready.put(runner.addresses[0][1])
        await loop.run_in_executor(None, stop.wait)
        await runner.cleanup()
        return
    db = await open_database(Path(db_path), SystemClock())
    try:
        server = WebhookServer(db, WebhookConfig(port=0), secret=SECRET)
        await server.start()
        heap.settle()
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

    def __enter__(self) -> ServerProcess:
        self._process.start()
        port = self._ready.get(timeout=60)
        self.url = f"http://127.0.0.1:{port}"
        return self

    def cpu_seconds(self) -> float | None:
        """CPU time the server process has used so far (all its threads); None without /proc."""
        try:
            fields = Path(f"/proc/{self._process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        # utime and stime, the 14th and 15th fields of stat(5), in clock ticks.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

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


def mo_bodies(count: int, tag: str = "") -> list[bytes]:
    """``count`` distinct inbound SMS; ``tag`` keeps one round's IDs apart from another's."""
    return [
        json.dumps(
            {
                "type": "mo_text",
                "id": f"MO-{tag}{n:07d}",
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


async def post_all(
    name: str, server: ServerProcess, bodies: Sequence[bytes], headers: Sequence[dict[str, str]]
) -> Run:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    gate = asyncio.Semaphore(CONCURRENCY)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(server.url, connector=connector) as session:

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
        cpu = server.cpu_seconds()
        started = time.perf_counter()
        await asyncio.gather(*(one(b, h) for b, h in zip(bodies, headers, strict=True)))
        seconds = time.perf_counter() - started
        after = server.cpu_seconds()
    used = None if cpu is None or after is None else after - cpu
    return Run(name, len(bodies), seconds, latencies, statuses, used)


def signed(bodies: Sequence[bytes]) -> list[dict[str, str]]:
    """Each body's headers, signed once: both servers are posted the very same requests."""
    stamp = int(time.time())
    return [signed_headers(SECRET, b, timestamp=stamp) for b in bodies]


@dataclass(frozen=True, slots=True)
class Series:
    """One load's rounds against the bare server and against WebhookServer."""

    name: str
    bare: list[Run]
    this: list[Run]

    @property
    def ratio(self) -> float:
        """this/bare: the median of the rounds' ratios of posts/s."""
        return statistics.median(t.rate / b.rate for b, t in zip(self.bare, self.this, strict=True))


async def run_series(
    name: str, bare: ServerProcess, this: ServerProcess, rounds: list[list[bytes]]
) -> Series:
    series = Series(name, [], [])
    for index, bodies in enumerate(rounds):
        headers = signed(bodies)
        order = [(bare, series.bare), (this, series.this)]
        for server, runs in order if index % 2 == 0 else order[::-1]:
            runs.append(await post_all(name, server, bodies, headers))
    return series


def _row(label: str, runs: list[Run], ratio: str) -> list[str]:
    latencies = sorted(x for run in runs for x in run.latencies)
    cpu = [run.cpu_seconds / run.posts for run in runs if run.cpu_seconds is not None]

    def percentile(p: float) -> str:
        return f"{latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000:.1f}"

    return [
        label,
        f"{runs[0].posts:,} x {len(runs)}",
        f"{statistics.median(run.rate for run in runs):,.0f}",
        percentile(50),
        percentile(99),
        f"{statistics.median(cpu) * 1000:.2f}" if cpu else "-",
        ratio,
    ]


async def main() -> None:
    count = count_from_argv(__doc__.splitlines()[0], DEFAULT, SMALL)
    rounds = SMALL_ROUNDS if count <= SMALL else ROUNDS
    messages = max(count // 2, 1)
    with scratch_dir() as tmp:
        path = tmp / "webhooks.db"
        message_ids = await seed(path, messages * rounds)
        report_rounds = [
            report_bodies(message_ids[r * messages : (r + 1) * messages]) for r in range(rounds)
        ]
        mo_rounds = [mo_bodies(count, f"{r}-") for r in range(rounds)]
        warm_up = mo_bodies(len(SENDERS), "W-")

        with ServerProcess("bare") as bare, ServerProcess("switchboard", path) as this:
            for server in (bare, this):
                await post_all("warm-up", server, warm_up, signed(warm_up))
            dr = await run_series("delivery reports", bare, this, report_rounds)
            mo = await run_series("MO messages", bare, this, mo_rounds)

        db = await open_database(path, SystemClock())
        try:
            stored_reports = await db.scalar("SELECT count(*) FROM delivery_reports")
            stored_mos = await db.scalar("SELECT count(*) FROM messages WHERE direction = 'in'")
            delivered = await db.scalar("SELECT count(*) FROM messages WHERE status = 'delivered'")
        finally:
            await db.close()

    for run in [*dr.bare, *dr.this, *mo.bare, *mo.this]:
        if run.statuses != {200: run.posts}:
            raise SystemExit(f"{run.name}: expected {run.posts} answers 200, got {run.statuses}")
    expected = (2 * messages * rounds, count * rounds + len(warm_up), messages * rounds)
    if (stored_reports, stored_mos, delivered) != expected:
        raise SystemExit(
            f"stored {stored_reports} reports, {stored_mos} MOs, {delivered} delivered;"
            f" expected {expected[0]}, {expected[1]}, {expected[2]}"
        )
    print_table(
        f"webhooks: signed callbacks at concurrency {CONCURRENCY}, server in its own process"
        f" on {server_loop.name()}, {rounds} rounds (medians)",
        ["server: load", "posts", "posts/s", "p50 ms", "p99 ms", "server CPU ms/post", "this/bare"],
        [
            _row("bare aiohttp: delivery reports", dr.bare, "1.00"),
            _row("WebhookServer: delivery reports", dr.this, f"{dr.ratio:.2f}"),
            _row("bare aiohttp: MO messages", mo.bare, "1.00"),
            _row("WebhookServer: MO messages", mo.this, f"{mo.ratio:.2f}"),
        ],
    )
    print(
        f"stored: {stored_reports:,} delivery reports ({delivered:,} messages delivered),"
        f" {stored_mos:,} MO messages; goal for MO messages: this/bare >= 0.50"
    )


if __name__ == "__main__":
    asyncio.run(main())
