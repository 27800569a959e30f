"""C4: the mobile case page, served by the worker's HTTP server under /c/.

A customer contact opens the signed link of a case text (core.cases.links) on
a phone: the notes they sent or received, and forms to write a note, choose
its recipients and give an email address. Plain HTML and one stylesheet: no
JavaScript, no build step. Every rule (who sees what, who may be written to,
what a note may hold) is core.cases.page's; this package only shows and asks.
"""

from __future__ import annotations

from aiohttp import web

from core.db import Database
from providers.case_page.routes import CasePage

PREFIX = "/c"


def mount(app: web.Application, db: Database) -> CasePage:
    """Serve the page under ``/c/`` of ``app`` (before ``app`` starts)."""
    page = CasePage(db)
    app.add_subapp(PREFIX, page.app)
    return page


class PageServer:
    """The page alone on ``host:port`` (the demo's, where no webhook server runs)."""

    def __init__(self, db: Database, host: str, port: int) -> None:
        self.app = web.Application()
        self.page = mount(self.app, db)
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen; OSError when the port is taken (another worker or demo serves it)."""
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]

    @property
    def url(self) -> str:
        """Where it listens, e.g. ``http://127.0.0.1:8780`` (after ``start``)."""
        return f"http://{self.host}:{self.port}"

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
