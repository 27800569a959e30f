"""A pane taken away while it mounts or waits on the database stops quietly.

A principal reload adds and removes tabs and sections while their panes
mount; a pane's read may still be pending then. What it read has nowhere to
go: no error may reach the app (a dialog, a failed worker), and the app goes
on (or closes) cleanly. Each read is held with an event patched into the read
function, and let go at the moment that used to fail: once the pane's parts
have started to go.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.containers import Vertical
from textual.widget import Widget
from textual.worker import WorkerCancelled, WorkerState

from console.app import SwitchboardApp
from console.context import ConsoleContext
from console.panes.alert_settings import AlertSettingsTab
from console.panes.alert_staff import StaffAlertsTab
from console.panes.campaigns import CampaignsPane
from console.panes.cases import CasesPane
from console.panes.conversations import ConversationsPane
from console.panes.manager import ManagerAgents, ManagerConversations, ManagerPane
from console.panes.notify_fields import NotifyFields
from console.panes.notify_groups import NotificationGroupsTab
from console.panes.notify_outcomes import NotifyOutcomes
from console.panes.notify_profiles import NotificationProfilesTab
from console.panes.oncall import OnCallSection
from console.panes.permission_profiles import PermissionProfiles
from console.panes.settings_form import SettingsForm
from console.panes.shifts import ShiftsTab
from console.panes.statistics import StatisticsPane
from console.panes.thread import ThreadPane
from console.screens.error import ErrorScreen
from console.widgets.composer import Composer
from core import statistics
from core.campaigns import campaigns
from core.db import Database
from core.people.authz import SYSTEM
from core.permissions import profiles
from tests.console.conftest import SIZE, until
from tests.console.test_campaigns_pane import spring

PANES: dict[str, Callable[[ConsoleContext], Widget]] = {
    "conversations": ConversationsPane,
    "thread": ThreadPane,
    "composer": lambda context: Composer(),
    "manager": ManagerPane,
    "manager conversations": ManagerConversations,
    "manager agents": ManagerAgents,
    "settings": SettingsForm,
    "permission profiles": PermissionProfiles,
    "notification profiles": NotificationProfilesTab,
    "notification groups": NotificationGroupsTab,
    "outcomes": NotifyOutcomes,
    "collected fields": NotifyFields,
    "on call": OnCallSection,
    "alert settings": AlertSettingsTab,
    "alert staff": StaffAlertsTab,
    "shifts": ShiftsTab,
    "statistics": StatisticsPane,
    "cases": CasesPane,
    "campaigns": CampaignsPane,
}


def assert_nothing_reported(app: SwitchboardApp, caplog: pytest.LogCaptureFixture) -> None:
    assert not isinstance(app.screen, ErrorScreen)
    assert not [n.message for n in app._notifications if n.severity == "error"]
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("name", list(PANES))
async def test_a_pane_taken_away_before_it_composed_does_nothing(
    name: str, app_as: Any, caplog: pytest.LogCaptureFixture
):
    # A principal reload mounts a tab and another (or the app closing) removes it
    # before its panes composed: they never get their parts, yet mount.
    app: SwitchboardApp = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        box = Vertical()
        await app.screen.mount(box)
        pane = PANES[name](app.context)
        box.mount(pane)
        await box.remove()
        assert not pane.children
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.is_running
        assert_nothing_reported(app, caplog)
    assert not app.return_code  # 1 when the app stopped on an error


def held_after_reading(
    monkeypatch: pytest.MonkeyPatch, owner: object, name: str
) -> tuple[asyncio.Event, asyncio.Event]:
    """``owner.name`` reads as before, then waits until let go: (read, let_go)."""
    read, let_go = asyncio.Event(), asyncio.Event()
    original: Callable[..., Awaitable[object]] = getattr(owner, name)

    async def held(*args: object, **kwargs: object) -> object:
        result = await original(*args, **kwargs)
        read.set()
        await let_go.wait()
        return result

    monkeypatch.setattr(owner, name, held)
    return read, let_go


async def let_go_once_parts_go(pane: Widget, let_go: asyncio.Event) -> None:
    """The moment that failed: the pane's parts are being removed, its workers not yet
    cancelled (Textual cancels them only once every part is gone)."""
    parts = len(pane.children)
    # Textual removes the parts in its own tasks, which signal nothing to await.
    while len(pane.children) == parts:  # noqa: ASYNC110
        await asyncio.sleep(0)  # a turn of the event loop, not time
    let_go.set()


async def take_away_while_held(
    app: SwitchboardApp,
    pilot: Any,
    pane: Widget,
    read: asyncio.Event,
    let_go: asyncio.Event,
    take_away: Callable[[], Awaitable[object]],
) -> None:
    await asyncio.wait_for(read.wait(), timeout=30)
    workers = [w for w in app.workers if w.node is pane]
    assert workers, "the read is a worker's"
    letting_go = asyncio.create_task(let_go_once_parts_go(pane, let_go))
    try:
        await take_away()
        assert await until(pilot, lambda: not pane.is_attached)
        assert let_go.is_set()
        # The pane's work may be cancelled as it goes (stopping quietly is the point):
        # Textual's wait then says so, which is no failure.
        with contextlib.suppress(WorkerCancelled):
            await app.workers.wait_for_complete()
        await pilot.pause()
    finally:
        letting_go.cancel()
    assert [w.error for w in workers if w.state is WorkerState.ERROR] == []


async def test_statistics_taken_away_while_loading_stop_quietly(
    app_as: Any,
    demo_db: Database,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    app: SwitchboardApp = await app_as("dana")
    read, let_go = held_after_reading(monkeypatch, statistics, "report")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")  # the tab is made when chosen; it loads as it mounts: held
        assert await until(pilot, lambda: app.query(StatisticsPane))
        pane = app.query_one(StatisticsPane)

        async def demoted() -> None:  # dana's statistics right goes: the tab goes
            await profiles.assign(demo_db, SYSTEM, "Agent", "dana", activate=True)

        await take_away_while_held(app, pilot, pane, read, let_go, demoted)
        assert not app.query(StatisticsPane)
        assert_nothing_reported(app, caplog)
    assert not app.return_code  # 1 when the app stopped on an error


async def test_campaigns_taken_away_while_refreshing_stop_quietly(
    app_as: Any,
    demo_db: Database,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    app: SwitchboardApp = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f12")
        assert await until(pilot, lambda: app.query(CampaignsPane))
        pane = app.query_one(CampaignsPane)
        await app.workers.wait_for_complete()
        # A new campaign (the feed says so) makes the pane refresh at its next tick.
        read, let_go = held_after_reading(monkeypatch, campaigns, "list_campaigns")
        await spring(demo_db)

        async def demoted() -> None:  # dana's campaign rights go: the tab goes
            await profiles.assign(demo_db, SYSTEM, "Agent", "dana", activate=True)

        await take_away_while_held(app, pilot, pane, read, let_go, demoted)
        assert not app.query(CampaignsPane)
        assert_nothing_reported(app, caplog)
    assert not app.return_code  # 1 when the app stopped on an error
