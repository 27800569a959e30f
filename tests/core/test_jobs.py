"""Due-time jobs (#9): the worker runs the list it is given, and wakes a job at its due time."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from core.clock import FakeClock, to_ms
from core.errors import InvalidInput
from core.people import agents
from core.people.authz import SYSTEM
from core.scheduling.jobs import Job
from core.scheduling.options import WorkerOptions
from core.scheduling.worker import Worker, default_jobs
from core.sms import numbers
from providers.sandbox import SandboxGateway


async def _until(predicate, *, bound: float = 10.0) -> bool:
    """Poll an outcome, with a generous bound (the machine may be loaded)."""
    for _ in range(int(bound / 0.01)):
        if predicate():
            return True
        await asyncio.sleep(0.01)
    return predicate()


class Counting:
    """A job body that counts its runs and can say when it is next due."""

    def __init__(self) -> None:
        self.runs = 0
        self.due = None

    async def run(self) -> int:
        self.runs += 1
        return 1

    async def next_due(self):
        due, self.due = self.due, None  # due once, then nothing waiting
        return due


async def test_a_job_added_without_touching_the_worker_runs_only_for_the_lease_holder(db):
    extra = Counting()

    def with_extra(worker: Worker) -> list[Job]:
        return [*default_jobs(worker), Job("extra", 60, extra.run)]

    holder = Worker(db, SandboxGateway(db), holder="holder", jobs=with_extra)
    other = Worker(db, SandboxGateway(db), holder="other", jobs=with_extra)
    assert [job.name for job in holder.jobs] == [
        "lease",
        "public_minutes",
        "staff_alerts",
        "campaigns",
        "outbox",
        "reports",
        "event_retention",
        "routing",
        "notification_holds",
        "email_outbox",
        "extra",
    ]
    await holder.run_once()
    await other.run_once()
    assert extra.runs == 1, "only the lease holder runs the jobs other than the lease"

    holder.start()  # the ticker runs it too, at once and then every 60 s
    try:
        assert await _until(lambda: extra.runs == 2)
    finally:
        await holder.stop()


async def test_a_job_is_woken_at_its_next_due_time_before_its_tick(db, clock: FakeClock):
    job = Counting()
    job.due = clock.now() + timedelta(seconds=0.1)
    worker = Worker(
        db,
        SandboxGateway(db),
        holder="w",
        jobs=lambda w: [*default_jobs(w), Job("soon", 3600, job.run, next_due=job.next_due)],
    )
    worker.start()
    try:
        # The tick runs it once at start and not again for an hour: a second
        # run can only be the wake at the due time.
        assert await _until(lambda: job.runs >= 2)
        assert job.runs == 2
    finally:
        await worker.stop()


async def test_without_waking_a_job_waits_for_its_tick(db, clock: FakeClock):
    job = Counting()
    job.due = clock.now() + timedelta(seconds=0.05)
    worker = Worker(
        db,
        SandboxGateway(db),
        WorkerOptions(wake_at_next_due=False),
        holder="w",
        jobs=lambda w: [*default_jobs(w), Job("soon", 3600, job.run, next_due=job.next_due)],
    )
    worker.start()
    try:
        assert await _until(lambda: job.runs >= 1)
        await asyncio.sleep(0.3)  # well past the due time
        assert job.runs == 1
    finally:
        await worker.stop()


async def test_stop_cancels_a_wake_that_is_armed(db, clock: FakeClock):
    job = Counting()
    job.due = clock.now() + timedelta(seconds=0.2)
    worker = Worker(
        db,
        SandboxGateway(db),
        holder="w",
        jobs=lambda w: [*default_jobs(w), Job("soon", 3600, job.run, next_due=job.next_due)],
    )
    worker.start()
    assert await _until(lambda: job.runs >= 1)
    await worker.stop()
    await asyncio.sleep(0.4)
    assert job.runs == 1, "a stopped worker runs nothing, not even a wake armed before"


async def test_a_conversation_goes_public_at_its_due_time_not_at_the_next_sweep(
    db, clock: FakeClock
):
    await numbers.add(db, SYSTEM, "+14155550100", default=True)
    alice = await agents.add(db, SYSTEM, "alice", "Alice", "Agent")
    now = to_ms(clock.now())
    due = now + 200
    async with db.transaction() as tx:
        conversation_id = await tx.insert(
            "INSERT INTO conversations (number_id, phone, owner_id, is_public, waiting_since,"
            " public_due_at, last_message_at, last_inbound_at, created_at)"
            " SELECT id, '+12125550105', ?, 0, ?, ?, ?, ?, ? FROM numbers",
            (alice.id, now, due, now, now, now),
        )
    # The sweep ticks once an hour: only the wake at the due time can act.
    worker = Worker(db, SandboxGateway(db), WorkerOptions(sweep_every=3600), holder="w")
    public = {"value": 0}

    async def watch() -> None:
        public["value"] = await db.scalar(
            "SELECT is_public FROM conversations WHERE id = ?", (conversation_id,)
        )

    worker.start()
    try:
        assert await _until(lambda: worker.active)
        clock.advance(seconds=0.2)  # the due time, on the database's clock
        for _ in range(1000):
            await watch()
            if public["value"]:
                break
            await asyncio.sleep(0.01)
    finally:
        await worker.stop()
    assert public["value"] == 1


@pytest.mark.parametrize(
    ("jobs", "rule"),
    [
        (lambda w: [*default_jobs(w), Job("outbox", 1, w.pump)], "unique"),
        (lambda w: default_jobs(w)[1:], "exactly one that runs without the lease"),
        (
            lambda w: [*default_jobs(w), Job("lease2", 1, w.tick_lease, needs_lease=False)],
            "exactly one that runs without the lease",
        ),
    ],
)
async def test_a_job_list_that_breaks_a_rule_is_refused(db, jobs, rule):
    with pytest.raises(InvalidInput, match=rule):
        Worker(db, SandboxGateway(db), jobs=jobs)


@pytest.mark.parametrize("every", [0, -1, float("nan"), float("inf")])
def test_a_job_runs_every_finite_positive_interval(every):
    async def run() -> int:
        return 0

    with pytest.raises(InvalidInput, match="finite, positive"):
        Job("bad", every, run)


async def test_a_tick_that_meets_its_job_still_running_is_skipped_without_a_warning(
    db, caplog: pytest.LogCaptureFixture
) -> None:
    """The skip is the design (one run at a time covers the ticks it meets); APScheduler
    warned of each one, so a pump busy with a campaign logged a warning every 0.2 s."""
    from apscheduler.events import EVENT_JOB_MAX_INSTANCES

    release = asyncio.Event()
    skipped: list[object] = []
    calls = 0

    async def busy() -> int:
        nonlocal calls
        calls += 1
        if calls > 1:  # the first run is the lease's wake; the next ones are ticks
            await release.wait()
        return 1

    worker = Worker(
        db,
        SandboxGateway(db),
        holder="w",
        jobs=lambda w: [*default_jobs(w), Job("busy", 0.01, busy)],
    )
    worker.start()
    try:
        assert worker._scheduler is not None
        worker._scheduler.add_listener(skipped.append, EVENT_JOB_MAX_INSTANCES)
        assert await _until(lambda: bool(skipped))  # a tick met the run under way
    finally:
        release.set()
        await worker.stop()
    assert not [r for r in caplog.records if "running instances" in r.getMessage()]
