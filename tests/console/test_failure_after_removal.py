"""A failure in a pane's background work is never lost, even when the pane is going.

Textual drops a message posted to a widget that is closing, and a failed
worker tells its failure by such a message. A pane's parts go first and its
workers are cancelled only after, so a write that fails in between (the disk
full, the database locked) used to vanish: no dialog, no log line. A
``NoMatches`` there is the pane's own parts gone, not a failure: quiet.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from textual import work
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.widgets import Static

from console.app import SwitchboardApp
from console.failures import ReportsFailures
from console.screens.error import ErrorScreen
from core.db import Database
from tests.console.conftest import SIZE, until
from tests.console.test_removed_mid_mount import let_go_once_parts_go


class Saving(ReportsFailures, Vertical):
    """A pane whose save fails with ``error`` once let go."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error
        self.saving = asyncio.Event()
        self.let_go = asyncio.Event()

    def compose(self) -> Any:
        yield Static("one")
        yield Static("two")

    def on_mount(self) -> None:
        self.save()

    @work(exit_on_error=False, description="save the thing")
    async def save(self) -> None:
        self.saving.set()
        await self.let_go.wait()
        raise self.error


async def _fails_while_going(app: SwitchboardApp, pilot: Any, error: Exception) -> None:
    pane = Saving(error)
    await app.screen.mount(pane)
    await asyncio.wait_for(pane.saving.wait(), timeout=30)
    letting_go = asyncio.create_task(let_go_once_parts_go(pane, pane.let_go))
    try:
        await pane.remove()
        assert await until(pilot, lambda: not pane.is_attached)
        assert pane.let_go.is_set()
        await app.workers.wait_for_complete()
        await pilot.pause()
    finally:
        letting_go.cancel()


async def test_a_failure_while_the_pane_goes_is_logged_and_shown(
    app_as: Any, demo_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    app: SwitchboardApp = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await _fails_while_going(app, pilot, RuntimeError("the disk is full"))
        assert await until(pilot, lambda: isinstance(app.screen, ErrorScreen))
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in logged] == ["failed to save the thing"]
    assert logged[0].exc_info is not None
    assert "the disk is full" in str(logged[0].exc_info[1])


async def test_its_own_parts_gone_is_not_a_failure(
    app_as: Any, demo_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    app: SwitchboardApp = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await _fails_while_going(app, pilot, NoMatches("No nodes match '#part'"))
        await pilot.pause()
        assert not isinstance(app.screen, ErrorScreen)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
