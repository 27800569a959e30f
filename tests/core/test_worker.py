"""W1, W2: the worker ticks with APScheduler in the running loop, and only the lease holder acts."""

from __future__ import annotations

import asyncio
import logging
import sqlite3

import pytest

from core import settings
from core.clock import FakeClock
from core.delivery import outbox
from core.errors import InvalidInput
from core.people import agents
from core.people.authz import SYSTEM
from core.scheduling.options import WorkerOptions
from core.scheduling.worker import Worker
from core.sms import numbers
from core.sms.sending import send
from providers.sandbox import SandboxGateway


async def _setup(db):
    await numbers.add(db, SYSTEM, "+14155550100", default=True)
    alice = (await agents.add(db, SYSTEM, "alice", "Alice", "Agent")).as_actor()
    await settings.update(db, SYSTEM, sandbox_delivery_seconds=0)
    return alice


async def _status(db, message_id: int) -> str:
    return await db.scalar("SELECT status FROM messages WHERE id = ?", (message_id,))


async def test_the_scheduler_delivers_a_due_message_without_being_driven(db):
    alice = await _setup(db)
    result = await send(db, alice, "+12125550105", "hello")
    worker = Worker(db, SandboxGateway(db), WorkerOptions(pump_every=0.05, sweep_every=0.05))
    worker.start()
    try:
        for _ in range(200):  # the message is due now; wait for the ticker, not for a due time
            if await _status(db, result.message_id) == "delivered":
                break
            await asyncio.sleep(0.02)
    finally:
        await worker.stop()
    assert await _status(db, result.message_id) == "delivered"
    assert await db.scalar("SELECT count(*) FROM leases") == 0, (
        "a stopped worker gives the lease up"
    )


async def test_a_worker_without_the_lease_does_nothing(db, clock: FakeClock):
    alice = await _setup(db)
    leader = Worker(db, SandboxGateway(db), WorkerOptions(lease_seconds=10), holder="leader")
    follower = Worker(db, SandboxGateway(db), WorkerOptions(lease_seconds=10), holder="follower")
    assert await leader.tick_lease()
    result = await send(db, alice, "+12125550105", "hello")
    await follower.run_once()
    assert not follower.active
    assert await _status(db, result.message_id) == "queued"
    clock.advance(seconds=11)  # the leader died: its lease lapses
    await follower.run_once()
    assert follower.active
    assert await _status(db, result.message_id) == "delivered"


async def test_a_provider_crash_is_retried_not_lost(db, clock: FakeClock):
    alice = await _setup(db)

    class Flaky(SandboxGateway):
        calls = 0

        async def send(self, sms):
            Flaky.calls += 1
            if Flaky.calls == 1:
                raise RuntimeError("connection reset")
            return await super().send(sms)

    worker = Worker(db, Flaky(db), holder="w")
    result = await send(db, alice, "+12125550105", "hello")
    await worker.run_once()
    row = await db.fetchone(
        "SELECT status, attempts, error FROM messages WHERE id = ?", (result.message_id,)
    )
    assert (row["status"], row["attempts"]) == ("queued", 1)
    assert "connection reset" in row["error"]
    clock.advance(seconds=outbox.backoff_seconds(1, 5.0, 600.0))
    await worker.run_once()
    assert await _status(db, result.message_id) == "delivered"


class Held(SandboxGateway):
    """The sandbox, but each send waits until the test lets it go."""

    def __init__(self, db) -> None:
        super().__init__(db)
        self.in_flight = asyncio.Event()
        self.release = asyncio.Event()
        self.started: list[int] = []

    async def send(self, sms):
        self.started.append(sms.message_id)
        self.in_flight.set()
        await self.release.wait()
        return await super().send(sms)


async def test_stop_lets_the_send_in_flight_finish_and_record_then_gives_the_lease_up(
    db, caplog: pytest.LogCaptureFixture
):
    alice = await _setup(db)
    await settings.update(db, SYSTEM, sandbox_delivery_seconds=60)  # stays 'sent' here
    first = await send(db, alice, "+12125550105", "in flight when stopped")
    second = await send(db, alice, "+12125550106", "claimed, not yet sent")
    gateway = Held(db)
    worker = Worker(
        db, gateway, WorkerOptions(pump_every=0.05, send_concurrency=1), holder="stopping"
    )
    worker.start()
    try:
        await asyncio.wait_for(gateway.in_flight.wait(), timeout=30)
    except BaseException:
        gateway.release.set()
        await worker.stop()
        raise
    stopping = asyncio.create_task(worker.stop())
    await asyncio.sleep(0)  # stop() begins while the send is still held
    gateway.release.set()
    await asyncio.wait_for(stopping, timeout=30)

    assert gateway.started == [first.message_id], "no send starts once stopping"
    assert await _status(db, first.message_id) == "sent"
    row = await db.fetchone(
        "SELECT status, attempts FROM messages WHERE id = ?", (second.message_id,)
    )
    assert (row["status"], row["attempts"]) == ("queued", 0), "back in the queue, not tried"
    assert await db.scalar("SELECT count(*) FROM messages WHERE status = 'sending'") == 0
    assert await db.scalar("SELECT count(*) FROM leases") == 0
    problems = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not problems, [r.getMessage() for r in problems]


async def test_a_stopped_worker_can_be_stopped_again_and_started_again(db):
    alice = await _setup(db)
    worker = Worker(db, SandboxGateway(db), WorkerOptions(pump_every=0.05), holder="again")
    await worker.stop()  # never started: nothing to do
    worker.start()
    await worker.stop()
    await worker.stop()
    result = await send(db, alice, "+12125550105", "after a restart")
    worker.start()
    try:
        for _ in range(1500):  # due now: wait for the ticker, with a generous bound
            if await _status(db, result.message_id) == "delivered":
                break
            await asyncio.sleep(0.02)
    finally:
        await worker.stop()
    assert await _status(db, result.message_id) == "delivered"


async def test_sandbox_reports_are_taken_and_applied_in_one_transaction(db, clock: FakeClock):
    alice = await _setup(db)
    worker = Worker(db, SandboxGateway(db), holder="w")
    result = await send(db, alice, "+12125550105", "hello")
    await worker.tick_lease()
    await worker.pump()
    assert await _status(db, result.message_id) == "sent"
    # A crash while the report is applied: the statement that stores it fails.
    await db.write(
        "CREATE TRIGGER crash BEFORE INSERT ON delivery_reports"
        " BEGIN SELECT RAISE(ABORT, 'the process died here'); END"
    )
    with pytest.raises(sqlite3.IntegrityError, match="the process died here"):
        await worker.poll_reports()
    assert await db.scalar("SELECT delivered FROM sandbox_messages") == 0, "nothing marked"
    await db.write("DROP TRIGGER crash")
    assert await worker.poll_reports() == 1
    assert await _status(db, result.message_id) == "delivered"
    assert await db.scalar("SELECT delivered FROM sandbox_messages") == 1


@pytest.mark.parametrize("seconds", [float("nan"), float("inf"), -1.0, 0.0, 0.5, 1e9])
def test_a_worker_lease_out_of_bounds_is_refused(db, seconds: float):
    with pytest.raises(InvalidInput, match="between 2 and 3600 seconds"):
        Worker(db, SandboxGateway(db), WorkerOptions(lease_seconds=seconds))


async def test_a_worker_whose_lease_was_taken_over_sends_nothing_before_it_notices(
    db, clock: FakeClock
):
    alice = await _setup(db)
    stalled = Worker(db, SandboxGateway(db), WorkerOptions(lease_seconds=10), holder="stalled")
    heir = Worker(db, SandboxGateway(db), WorkerOptions(lease_seconds=10), holder="heir")
    assert await stalled.tick_lease()
    clock.advance(seconds=11)  # the stalled worker missed its renewals
    assert await heir.tick_lease()
    result = await send(db, alice, "+12125550105", "hello")
    assert stalled.active, "it has not ticked since: it still believes it leads"
    assert await stalled.pump() == 0
    assert await _status(db, result.message_id) == "queued"
    assert await heir.pump() == 1
    assert await _status(db, result.message_id) == "sent"
