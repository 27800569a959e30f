"""The mobile case page under load: GET /c/{token} at concurrency 50, next to a bare handler.

What is measured: COUNT page views by 50 concurrent clients (aiohttp client,
keep-alive, in this process) of one contact's case page (link verified: the
signature, the row, its expiry and revocation, the contact still on the case;
then the case, its 20 notes the contact sees, rendered through Jinja2), served
by the worker's ``WebhookServer`` in its own process on a fresh SQLite file.
The baseline is a bare aiohttp handler mounted on that same server answering
the same page from memory, fetched by the same client. A contact's rendered
page and its link's check are kept until the change feed moves
(providers.case_page.cache, .checks and .watch: a kept view makes no read),
so the same page checked with a read and rendered on every view is measured
too ("nothing kept"), on a server of its own in the same process. The load runs
in ROUNDS rounds, each fetching both (the order alternating): "page/bare" is
the median of the rounds' request-rate ratios, so a machine that gets busier
part way weighs on both sides alike; p99 is over every round's requests.

Goals: page/bare >= 0.5 and page p99 <= 3x the bare p99.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench.common import count_from_argv, print_table, scratch_dir
from console import server_loop
from core.cases import notes
from core.clock import SystemClock
from core.db import open_database
from providers.case_page.cache import PageCache
from providers.case_page.checks import LinkChecks
from providers.case_page.routes import CasePage
from providers.config import WebhookConfig
from providers.webhooks import WebhookServer
from tests.web.conftest import make_scene

DEFAULT, SMALL = 5_000, 300
ROUNDS, SMALL_ROUNDS = 5, 3
CONCURRENCY = 50
NOTES = 20
BARE_PATH = "/bench/bare"


@dataclass(frozen=True, slots=True)
class Run:
    seconds: float
    latencies: list[float]
    failures: int

    def rate(self, count: int) -> float:
        return count / self.seconds


def _serve(db_path: str, ready: Any, stop: Any) -> None:
    # On the loop `switchboard worker` serves on (uvloop where installed).
    server_loop.run(_serve_async(db_path, ready, stop))


async def _serve_async(db_path: str, ready: Any, stop: Any) -> None:
    db = await open_database(Path(db_path), SystemClock())
    try:
        scene = await make_scene(db)
        for n in range(NOTES - 1):
            await notes.add(
                db,
                scene.alice,
                scene.code,
                f"Update {n}: parts ordered, see you soon.",
                [scene.carl, scene.dora],
            )
        server = WebhookServer(db, WebhookConfig(port=0))
        page_html: list[str] = []

        async def bare(request: web.Request) -> web.Response:
            return web.Response(text=page_html[0], content_type="text/html")

        server.app.router.add_get(BARE_PATH, bare)
        await server.start()
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{server.url}/c/{scene.token}") as answer:
                assert answer.status == 200, answer.status
                page_html.append(await answer.text())
        # The same page with nothing kept (every view read and rendered), on a
        # server of its own in this process.
        app = web.Application()
        app.add_subapp(
            "/c", CasePage(db, cache=PageCache(max_pages=0), checks=LinkChecks(max_checks=0)).app
        )
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        html = page_html[0]
        ready.put((server.port, runner.addresses[0][1], scene.token, len(html)))
        await asyncio.get_running_loop().run_in_executor(None, stop.wait)
        await runner.cleanup()
        await server.stop()
    finally:
        await db.close()


async def _load(url: str, count: int) -> Run:
    latencies: list[float] = []
    failures = 0
    left = count
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def client() -> None:
            nonlocal left, failures
            while left > 0:
                left -= 1
                began = time.perf_counter()
                async with http.get(url) as answer:
                    await answer.read()
                    failures += answer.status != 200
                latencies.append(time.perf_counter() - began)

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
        return Run(time.perf_counter() - began, latencies, failures)


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


async def _bench(count: int, rounds: int) -> None:
    ctx = mp.get_context("spawn")
    ready, stop = ctx.Queue(), ctx.Event()
    with scratch_dir() as scratch:
        process = ctx.Process(
            target=_serve, args=(str(scratch / "cases.sqlite3"), ready, stop), daemon=True
        )
        process.start()
        try:
            page_port, cold_port, token, size = await asyncio.to_thread(ready.get, True, 120)
            page_url = f"http://127.0.0.1:{page_port}/c/{token}"
            bare_url = f"http://127.0.0.1:{page_port}{BARE_PATH}"
            cold_url = f"http://127.0.0.1:{cold_port}/c/{token}"
            page_runs: list[Run] = []
            bare_runs: list[Run] = []
            cold_runs: list[Run] = []
            order = [(page_url, page_runs), (bare_url, bare_runs), (cold_url, cold_runs)]
            for url, _ in order:
                await _load(url, CONCURRENCY)  # warm: connections, templates, the kept page
            for n in range(rounds):
                for url, runs in order if n % 2 == 0 else reversed(order):
                    runs.append(await _load(url, count))
        finally:
            stop.set()
            process.join(30)
    failures = sum(r.failures for r in page_runs + bare_runs + cold_runs)
    ratio = statistics.median(
        p.rate(count) / b.rate(count) for p, b in zip(page_runs, bare_runs, strict=True)
    )
    page_p99 = _p99([x for r in page_runs for x in r.latencies])
    bare_p99 = _p99([x for r in bare_runs for x in r.latencies])
    print_table(
        f"Mobile case page: {count:,} GETs x {rounds} rounds at concurrency {CONCURRENCY}"
        f" ({NOTES} notes, {size:,} bytes of HTML; server on {server_loop.name()})",
        ["server", "requests/s (median)", "p50 ms", "p99 ms"],
        [
            [
                name,
                f"{statistics.median(r.rate(count) for r in runs):,.0f}",
                f"{statistics.median(x for r in runs for x in r.latencies) * 1000:.1f}",
                f"{_p99([x for r in runs for x in r.latencies]) * 1000:.1f}",
            ]
            for name, runs in (
                ("bare aiohttp handler", bare_runs),
                ("case page", page_runs),
                ("case page, nothing kept", cold_runs),
            )
        ],
    )
    cold = statistics.median(
        c.rate(count) / b.rate(count) for c, b in zip(cold_runs, bare_runs, strict=True)
    )
    print(
        f"page/bare requests/s: {ratio:.2f} (goal >= 0.5; nothing kept: {cold:.2f}); p99 page/bare:"
        f" {page_p99 / bare_p99:.1f}x (goal <= 3x); non-200 answers: {failures}"
    )


def main() -> None:
    count = count_from_argv(
        "Mobile case page throughput and p99 next to bare aiohttp.", DEFAULT, SMALL
    )
    small = count == SMALL
    asyncio.run(_bench(count, SMALL_ROUNDS if small else ROUNDS))


if __name__ == "__main__":
    main()
