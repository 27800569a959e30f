"""W1, W2: the worker ticks with APScheduler in the running loop, and only the lease holder acts."""

from __future__ import annotations

import asyncio

from core import agents, numbers, outbox, settings
from core.authz import SYSTEM, Role
from core.clock import FakeClock
from core.messaging import send
from core.worker import Worker, WorkerOptions
from providers.sandbox import SandboxGateway


async def _setup(db):
    await numbers.add(db, SYSTEM, "+14155550100", default=True)
    alice = (await agents.add(db, SYSTEM, "alice", "Alice", Role.AGENT)).as_actor()
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
