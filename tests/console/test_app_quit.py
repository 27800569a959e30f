"""W1: quitting the console (ctrl+q) stops its worker cleanly."""

from __future__ import annotations

import asyncio
import logging

import pytest

from console.app import SwitchboardApp
from core import settings
from core.db import Database
from core.people import agents
from core.people.authz import SYSTEM
from core.scheduling.options import WorkerOptions
from core.scheduling.worker import Worker
from core.sms import sending
from providers.sandbox import SandboxGateway
from tests.console.conftest import SIZE

RECIPIENT = "+12125550177"


class Held(SandboxGateway):
    """The sandbox, but each send waits until the test lets it go."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.in_flight = asyncio.Event()
        self.release = asyncio.Event()

    async def send(self, sms):  # type: ignore[no-untyped-def]
        self.in_flight.set()
        await self.release.wait()
        return await super().send(sms)


async def test_ctrl_q_lets_the_send_in_flight_finish_then_gives_the_lease_up(
    app_as, demo_db: Database, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
):
    await settings.update(demo_db, SYSTEM, sandbox_delivery_seconds=3600)
    await demo_db.write("UPDATE messages SET status = 'sent' WHERE status IN ('queued', 'sending')")
    alice = (await agents.by_username(demo_db, "alice")).as_actor()
    message_id = (await sending.send(demo_db, alice, RECIPIENT, "in flight at ctrl+q")).message_id
    app: SwitchboardApp = await app_as("alice")  # type: ignore[assignment]
    gateway = Held(demo_db)
    app.context.gateway = gateway
    app.context.embedded_worker = True
    app.context.worker_options = WorkerOptions(pump_every=0.05)
    stopping = asyncio.Event()
    stop = Worker.stop

    async def watched_stop(worker: Worker) -> None:
        stopping.set()  # only observed: the send is let go once the quit reached the worker
        await stop(worker)

    monkeypatch.setattr(Worker, "stop", watched_stop)

    async def release_once_stopping() -> None:
        await stopping.wait()
        gateway.release.set()

    releasing = asyncio.create_task(release_once_stopping())
    try:
        async with app.run_test(size=SIZE) as pilot:
            await asyncio.wait_for(gateway.in_flight.wait(), timeout=30)
            await pilot.press("ctrl+q")
        # Leaving the block shut the app down as a real quit does, which
        # stopped its worker; the send was let go only once that began.
        assert releasing.done()
    finally:
        releasing.cancel()

    status = await demo_db.scalar("SELECT status FROM messages WHERE id = ?", (message_id,))
    assert status == "sent"
    assert await demo_db.scalar("SELECT count(*) FROM messages WHERE status = 'sending'") == 0
    assert await demo_db.scalar("SELECT count(*) FROM leases") == 0
    problems = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not problems, [r.getMessage() for r in problems]
