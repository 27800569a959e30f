"""W1, W2: the worker. It only schedules; the rules live in the services.

The worker runs the jobs it is given (core/scheduling/jobs.py); ``default_jobs``
composes today's list: the lease, the public-minutes sweep, staff alerts, campaign
dispatch, the outbox pump, delivery-report polling, retention, routing and the email outbox.
APScheduler's AsyncIOScheduler, in the running event loop, is used as a
ticker: one interval job per worker job. A job with ``next_due`` is also
woken at its due time when that comes before its next tick
(``loop.call_at``), so a due time is acted on when it falls. Due times
live in indexed columns and each tick takes what is due in one query, so
nothing is lost when a process stops and 100,000 due rows are one query, not
100,000 jobs. ``misfire_grace_time=None`` and
``coalesce=True`` because APScheduler's default silently drops a tick that
runs more than a second late, and a busy tick should be followed by one more,
not by a burst.

Only the lease holder acts; the others keep trying for the lease and take
over when it lapses.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from core import retention
from core.alerts import sweep as staff_alerts
from core.campaigns import dispatch as campaign_dispatch
from core.db import Database
from core.delivery import batching, email_job, emails, outbox
from core.delivery.gateway import (
    EmailGateway,
    OutboundBatch,
    OutboundSms,
    PermanentFailure,
    ReportsInDatabase,
    SendsBatches,
    SmsGateway,
    TemporaryFailure,
)
from core.notify import profiles as notification_profiles
from core.routing import jobs as routing_jobs
from core.scheduling import lease
from core.scheduling.jobs import Job, check_list
from core.scheduling.options import WorkerOptions
from core.sms import conversations

log = logging.getLogger("switchboard.worker")


class _SkippedTicks(logging.Filter):
    """Drops APScheduler's warning for a tick that met its job still running. That skip
    is the design (max_instances=1, coalesce: the run under way covers the tick), and
    a pump busy with a campaign logged it every 0.2 s."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "skipped: maximum number of running instances" not in str(record.msg)


logging.getLogger("apscheduler.scheduler").addFilter(_SkippedTicks())


@dataclass(slots=True)
class WorkerStats:
    """Counters since this process started, for metrics (the database holds the truth)."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    reports_applied: int = 0
    job_errors: int = 0


JobsFor = Callable[["Worker"], Sequence[Job]]
"""Composes a worker's job list; jobs usually need the worker (its lease, its stats)."""


def default_jobs(worker: Worker) -> list[Job]:
    """The one place today's jobs are listed. A capability composes its own list
    around this one (``lambda w: [*default_jobs(w), its_job]``) and passes it as
    ``Worker(..., jobs=...)``: the worker itself does not change."""
    options = worker.options
    return [
        Job("lease", options.lease_seconds / 3, worker.tick_lease, needs_lease=False),
        Job(
            "public_minutes",
            options.sweep_every,
            worker.sweep,
            next_due=lambda: conversations.next_public_due(worker.db),
        ),
        # A3: new-chat alerts, reminders and escalations, woken when a step falls due;
        # before the pump, so in run_once an alert goes out in the tick that queued it.
        staff_alerts.job(worker.db),
        # S1: due campaign targets into the outbox, also before the pump.
        campaign_dispatch.job(worker.db),
        # Woken when a sender's budget has refilled enough for its next row,
        # so the rate is held by the budget, not rounded to ticks.
        Job(
            "outbox",
            options.pump_every,
            worker.pump,
            next_due=lambda: outbox.next_sendable(worker.db),
        ),
        # After the pump in run_once: a report a provider has ready at once
        # (the sandbox with no delay) settles the message in the same tick.
        Job("reports", options.pump_every, worker.poll_reports),
        retention.job(worker.db),
        routing_jobs.job(worker.db),
        # P7: a hold whose time has passed shows "Hold expired" when it falls.
        notification_profiles.hold_job(worker.db),
        email_job.job(worker.email_pump),
    ]


class Worker:
    def __init__(
        self,
        db: Database,
        gateway: SmsGateway,
        options: WorkerOptions | None = None,
        *,
        holder: str | None = None,
        on_lease_change: Callable[[bool], None] | None = None,
        jobs: JobsFor = default_jobs,
        email_gateway: EmailGateway | None = None,
    ) -> None:
        self.db = db
        self.gateway = gateway
        self.options = options or WorkerOptions()
        lease.check_seconds(self.options.lease_seconds, name="the worker lease")
        self.holder = holder or lease.new_holder_id()
        self.email_pump = email_job.EmailPump(
            db,
            email_gateway,
            email_job.EmailOptions(
                connections=self.options.email_connections,
                lease_seconds=self.options.send_lease_seconds,
            ),
            holder=self.holder,
            stopping=lambda: self._stopping,
        )
        """Delivers the email outbox; with no email gateway ([smtp] not set) it sends nothing."""
        self.active = False
        self.stats = WorkerStats()
        self._on_lease_change = on_lease_change
        self._scheduler: AsyncIOScheduler | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._busy: set[str] = set()
        """Jobs running now: a tick and a wake of one job never overlap."""
        self._again: set[str] = set()
        """Jobs whose wake fell while they ran: run once more when they finish."""
        self._wakes: dict[str, asyncio.TimerHandle] = {}
        self._woken: set[asyncio.Task[None]] = set()
        self.jobs: tuple[Job, ...] = tuple(jobs(self))
        check_list(list(self.jobs))

    # --- the jobs -----------------------------------------------------------

    async def tick_lease(self) -> int:
        acquired = await lease.try_acquire(self.db, self.holder, self.options.lease_seconds)
        held = acquired.held
        if acquired.taken_from is not None and lease.is_gone(acquired.taken_from):
            await self._reclaim_from(acquired.taken_from)
        if held != self.active:
            self.active = held
            log.info("worker %s %s the lease", self.holder, "took" if held else "lost")
            if self._on_lease_change is not None:
                self._on_lease_change(held)
            if held and self._scheduler is not None:
                # The other jobs skipped their ticks while another held the
                # lease (and at start, they ticked alongside this one): run
                # them now rather than up to an interval later.
                for job in self.jobs:
                    if job.needs_lease:
                        self._wake(job)
        return int(held)

    async def _reclaim_from(self, dead: lease.LeaseHolder) -> None:
        """Send again, now, what a worker that died had in flight.

        Its rows stay 'sending' until their sending lease lapses (minutes, so
        that a stalled but living worker is not raced). When the process is
        known to be gone there is nothing to race: expire those leases, and
        the next claim queues the rows again (and records why).
        """
        released = await outbox.release_in_flight(self.db, claimed_since=dead.acquired_at)
        if released:
            log.warning(
                "worker %s (pid %d) stopped with %d message(s) in flight; sending them again",
                dead.holder,
                dead.pid,
                released,
            )
        emailed = await emails.release_in_flight(self.db, claimed_since=dead.acquired_at)
        if emailed:
            log.warning(
                "worker %s (pid %d) stopped with %d email(s) in flight; sending them again",
                dead.holder,
                dead.pid,
                emailed,
            )

    async def pump(self) -> int:
        """Send what is due, claim by claim; returns how many messages were handled."""
        if not self.active:
            return 0
        handled = 0
        for _ in range(self.options.batches_per_tick):
            if self._stopping:  # the batch in flight is recorded; no new one starts
                break
            claimed = await outbox.claim(
                self.db,
                self.options.batch_size,
                self.options.send_lease_seconds,
                worker=self.holder,
            )
            if not claimed:
                break
            await self._send_batch(claimed)
            # A campaign's batch row is one row of many messages, and the claim's
            # limit counts messages: short of it, nothing more may go now.
            messages = sum(len(m.recipients) or 1 for m in claimed)
            handled += messages
            if messages < self.options.batch_size:
                break
        return handled

    async def _send_batch(self, batch: list[OutboundSms]) -> None:
        # The claim took only what the senders' budgets allow: all of it goes,
        # as provider batches where rows share their text (core.delivery.batching).
        items: Sequence[OutboundSms | OutboundBatch] = batch
        if isinstance(self.gateway, SendsBatches):
            items = batching.plan(batch, self.gateway.max_batch_recipients)
        gate = asyncio.Semaphore(self.options.send_concurrency)

        async def send(item: OutboundSms | OutboundBatch) -> list[outbox.Outcome]:
            ids = item.message_ids if isinstance(item, OutboundBatch) else (item.message_id,)
            async with gate:
                if self._stopping:
                    # Stopping waits only for the sends already under way.
                    reason = "the worker stopped before sending it"
                    return [outbox.Retry(i, reason, 0, counts_as_attempt=False) for i in ids]
                if isinstance(item, OutboundSms) and item.recipients:
                    # A campaign's batch row; both real gateways take batches.
                    reason = "this SMS gateway cannot send a campaign's batch"
                    return [outbox.Failed(item.message_id, reason)]
                try:
                    if isinstance(item, OutboundBatch):
                        assert isinstance(self.gateway, SendsBatches)
                        accepted = await self.gateway.send_batch(item)
                    else:
                        accepted = await self.gateway.send(item)
                except TemporaryFailure as exc:
                    return [outbox.Retry(i, exc.reason, exc.retry_after) for i in ids]
                except PermanentFailure as exc:
                    return [outbox.Failed(i, exc.reason) for i in ids]
                except Exception as exc:  # a provider bug must not stop the outbox
                    log.exception("sending message(s) %s failed unexpectedly", list(ids))
                    return [outbox.Retry(i, f"unexpected error: {exc}") for i in ids]
                return [outbox.Sent(i, accepted.provider_id) for i in ids]

        outcomes = [o for sent in await asyncio.gather(*map(send, items)) for o in sent]
        await outbox.record(self.db, outcomes)
        self._count(outcomes)

    def _count(self, outcomes: list[outbox.Outcome]) -> None:
        sent = retried = failed = 0
        for outcome in outcomes:
            if isinstance(outcome, outbox.Sent):
                sent += 1
            elif isinstance(outcome, outbox.Failed):
                failed += 1
                log.warning(
                    "message %s failed: %s",
                    outcome.message_id,
                    outcome.reason,
                    extra={"event": "message.failed", "message_id": outcome.message_id},
                )
            elif outcome.counts_as_attempt:
                retried += 1
                log.info(
                    "message %s will be tried again: %s",
                    outcome.message_id,
                    outcome.reason,
                    extra={"event": "message.retrying", "message_id": outcome.message_id},
                )
        self.stats.sent += sent
        self.stats.retried += retried
        self.stats.failed += failed
        log.info(
            "batch of %d: %d sent, %d to retry, %d failed",
            len(outcomes),
            sent,
            retried,
            failed,
            extra={"event": "outbox.batch", "sent": sent, "retried": retried, "failed": failed},
        )

    async def sweep(self) -> int:
        """Act on due times: conversations whose public minutes ran out."""
        if not self.active:
            return 0
        made_public = await conversations.make_due_public(self.db)
        if made_public:
            log.info("%d conversation(s) became public", made_public)
        return made_public

    async def poll_reports(self) -> int:
        if not self.active:
            return 0
        if isinstance(self.gateway, ReportsInDatabase):
            # Taken and applied in one transaction: a crash between the two
            # would leave the provider's side marked reported and ours 'sent'.
            async with self.db.transaction() as tx:
                reports = await self.gateway.take_due_reports(tx)
                applied = await outbox.apply_reports_in(tx, reports)
        else:
            applied = await outbox.apply_reports(self.db, await self.gateway.due_reports())
        self.stats.reports_applied += applied
        return applied

    async def run_once(self) -> None:
        """One run of every job, in list order, the lease first (tests drive the worker
        with this; it arms no wake, so a FakeClock moved between calls is all there is)."""
        lease_job = next(job for job in self.jobs if not job.needs_lease)
        await lease_job.run()
        if not self.active:
            return
        for job in self.jobs:
            if job.needs_lease:
                await job.run()

    # --- the ticker ---------------------------------------------------------

    def start(self) -> None:
        """Start ticking in the running event loop."""
        self._stopping = False
        scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone=UTC)
        now = datetime.now(UTC)
        for job in self.jobs:
            scheduler.add_job(
                self._guarded(job),
                "interval",
                id=job.name,
                seconds=job.every,
                next_run_time=now,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=None,
            )
        scheduler.start()
        self._scheduler = scheduler

    def _guarded(self, job: Job) -> Callable[[], Coroutine[Any, Any, None]]:
        async def run() -> None:
            if self._stopping:
                return  # stopping starts nothing new (a tick or wake that was already due)
            if job.name in self._busy:
                # A tick met a wake (or the other way round): the run under
                # way covers both, and arms the next wake when it ends.
                return
            if job.needs_lease and not self.active:
                return
            self._busy.add(job.name)
            # The task running this is the one APScheduler's executor created
            # (or a wake's): stop() waits for exactly these.
            task = asyncio.current_task()
            if task is not None:
                self._running.add(task)
            try:
                started = self.db.clock.now()
                handled = await job.run()
                if job.next_due is not None:
                    await self._arm_wake(job, started, handled)
            except Exception:
                self.stats.job_errors += 1
                # Logged and retried on the next tick: the database is the
                # truth, so a failed tick loses nothing.
                log.exception("worker job %s failed", job.name)
            finally:
                self._busy.discard(job.name)
                if task is not None:
                    self._running.discard(task)
                if job.name in self._again:
                    self._again.discard(job.name)
                    self._wake(job)

        run.__name__ = job.name
        return run

    async def _arm_wake(self, job: Job, started: datetime, handled: int) -> None:
        """Wake ``job`` at its next due time when that comes before its next tick."""
        if (
            not self.options.wake_at_next_due
            or self._stopping
            or self._scheduler is None
            or job.next_due is None
            or (job.needs_lease and not self.active)
        ):
            return
        due = await job.next_due()
        if due is None:
            return
        if due <= started and not handled:
            # Due before this run began, yet the run took nothing: waking again
            # at once would spin. The next tick tries again.
            return
        # The due time is on the database's clock; the loop has its own. Only
        # the distance between them is carried over.
        delay = max(self.options.wake_gap, (due - self.db.clock.now()).total_seconds())
        if delay >= job.every:
            return  # the tick comes first
        loop = asyncio.get_running_loop()
        when = loop.time() + delay
        armed = self._wakes.get(job.name)
        if armed is not None:
            if armed.when() <= when:
                return
            armed.cancel()
        self._wakes[job.name] = loop.call_at(when, self._wake, job)

    def _wake(self, job: Job) -> None:
        self._wakes.pop(job.name, None)
        if self._stopping or self._scheduler is None:
            return
        if job.name in self._busy:
            self._again.add(job.name)
            return
        # The loop holds tasks weakly: keep this one until it is done.
        task = asyncio.get_running_loop().create_task(self._guarded(job)())
        self._woken.add(task)
        task.add_done_callback(self._woken.discard)

    async def stop(self) -> None:
        """Stop ticking, let the jobs running finish and record, then give the lease up.

        APScheduler's shutdown cancels the jobs still running (its asyncio
        executor cancels their tasks), which would leave messages 'sending'
        until their sending lease lapses. So: pause (no job starts), wait for
        the running ones, and only then shut down, with nothing left to cancel.
        """
        self._stopping = True
        for handle in self._wakes.values():
            handle.cancel()
        self._wakes.clear()
        self._again.clear()
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            scheduler.pause()
            # A job the scheduler submitted just now has its task created but
            # not yet started (so not yet in _running): let it start.
            await asyncio.sleep(0)
            while self._running:
                await asyncio.wait(set(self._running))
            scheduler.shutdown(wait=False)
        if self.active:
            await lease.release(self.db, self.holder)
            self.active = False
