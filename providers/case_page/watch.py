"""The change feed's last id, read by one task at most every ``INTERVAL_S`` while requests come.

A kept link check (``LinkChecks``) is right while the feed has not moved since
it was made: every write that can spoil one (a revocation, a contact taken off
the case, the settings, a case closed or reopened) emits an event in its own
transaction. Reading the feed's position once per interval, instead of once per
request, is what lets a kept page be answered without a trip to the database
thread. The price is that a revocation takes effect up to one interval (and the
read) late. When no request has come for an interval the task ends and forgets
the position, so the next request after a pause checks its link in full.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Final

from core import events
from core.db import Database

log = logging.getLogger("switchboard.case_page")

INTERVAL_S: Final = 0.1


class FeedWatch:
    def __init__(self, db: Database, *, interval_s: float = INTERVAL_S) -> None:
        self.db = db
        self.interval_s = interval_s
        self._last: int | None = None
        self._wanted = False
        self._task: asyncio.Task[None] | None = None

    def position(self) -> int | None:
        """The feed's last id as last read, at most an interval old; None when not
        known (the watch was idle): the caller must then read for itself."""
        self._wanted = True
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())
        return self._last

    async def tick(self) -> None:
        """One read of the feed's position (the task's step; tests call it to move
        one interval on)."""
        self._last = await events.last_id(self.db)

    async def _run(self) -> None:
        try:
            while self._wanted:
                self._wanted = False
                await self.tick()
                await asyncio.sleep(self.interval_s)
        except Exception:
            log.exception("the case page's feed watch stopped")
        finally:
            self._last, self._task = None, None

    async def stop(self) -> None:
        task, self._task = self._task, None
        self._last = None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
