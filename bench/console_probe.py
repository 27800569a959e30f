"""One console start, in its own process, for bench.console to time and weigh.

Prints one line, "painted SECONDS MAXRSS_KIB", once the first screen with
data has been drawn, then exits. ``bare`` starts a minimal Textual app for
comparison, so the figure separates Textual's own start from ours.
"""

from __future__ import annotations

import asyncio
import resource
import sys
import time

STARTED = time.perf_counter()


def peak_rss_kib() -> int:
    """This process's peak resident memory.

    VmHWM, not getrusage: Linux keeps ru_maxrss across exec, so a child
    started by a big parent would report the parent's peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def report() -> None:
    print(f"painted {time.perf_counter() - STARTED:.4f} {peak_rss_kib()}", flush=True)


def bare() -> None:
    from textual.app import App, ComposeResult
    from textual.widgets import Footer, Header, Static

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield Header()
            yield Static("hello")
            yield Footer()

        def on_mount(self) -> None:
            self.call_after_refresh(self.done)

        def done(self) -> None:
            report()
            self.exit()

    Bare().run(headless=True, size=(100, 30))


def switchboard(db_path: str, username: str) -> None:
    from console.app import make_app
    from console.context import ConsoleContext
    from core.clock import SystemClock
    from core.db import open_database
    from core.people import agents
    from providers.sandbox import SandboxGateway

    async def main() -> None:
        db = await open_database(db_path, SystemClock())
        try:
            actor = (await agents.by_username(db, username)).as_actor()
            app = make_app(ConsoleContext(db, actor, SandboxGateway(db)))

            def check() -> None:
                # The list may not be mounted yet on the first ticks.
                tables = app.query("#conversation-list")
                if tables and tables.first().row_count and timer is not None:
                    timer.stop()
                    app.call_after_refresh(finish)

            def finish() -> None:
                report()
                app.exit()

            def start() -> None:
                nonlocal timer
                timer = app.set_interval(0.005, check)

            timer = None
            app.call_later(start)  # timers need the running app
            await app.run_async(headless=True, size=(100, 30))
        finally:
            await db.close()

    asyncio.run(main())


if __name__ == "__main__":
    if sys.argv[1] == "bare":
        bare()
    else:
        switchboard(sys.argv[2], sys.argv[3])
