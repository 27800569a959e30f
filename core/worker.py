"""W1, W2: the worker. It only schedules; the rules live in the services.

APScheduler's AsyncIOScheduler, in the running event loop, is used as a
ticker: a few interval jobs (lease, outbox pump, due-time sweep, delivery
reports). Due times live in indexed columns and each tick takes what is due
in one query, so nothing is lost when a process stops and 100,000 due rows
are one query, not 100,000 jobs. ``misfire_grace_time=None`` and
``coalesce=True`` because APScheduler's default silently drops a tick that
runs more than a second late, and a busy tick should be followed by one more,
not by a burst.

Only the lease holder acts; the others keep trying for the lease and take
over when it lapses.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from core import conversations, lease, outbox, settings
from core.db import Database
from core.gateway import (
    OutboundSms,
    PermanentFailure,
    ReportsInDatabase,
    SmsGateway,
    TemporaryFailure,
)
from core.ratelimit import SenderRateLimit

log = logging.getLogger("switchboard.worker")


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    lease_seconds: float = 10.0
    """A stopped worker's lease lapses after this long; another then takes over."""
    pump_every: float = 0.2
    sweep_every: float = 1.0
    batch_size: int = 100
    batches_per_tick: int = 20
    send_concurrency: int = 8
    send_lease_seconds: float = 120.0
    """How long a message may stay 'sending' before it is presumed lost and queued again."""


@dataclass(slots=True)
class WorkerStats:
    """Counters since this process started, for metrics (the database holds the truth)."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    reports_applied: int = 0
    job_errors: int = 0


class Worker:
    def __init__(
        self,
        db: Database,
        gateway: SmsGateway,
        options: WorkerOptions | None = None,
        *,
        holder: str | None = None,
        on_lease_change: Callable[[bool], None] | None = None,
    ) -> None:
        self.db = db
        self.gateway = gateway
        self.options = options or WorkerOptions()
        lease.check_seconds(self.options.lease_seconds, name="the worker lease")
        self.holder = holder or lease.new_holder_id()
        self.active = False
        self.stats = WorkerStats()
        self._on_lease_change = on_lease_change
        self._limit: SenderRateLimit | None = None
        self._scheduler: AsyncIOScheduler | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._stopping = False

    # --- the jobs -----------------------------------------------------------

    async def tick_lease(self) -> bool:
        acquired = await lease.try_acquire(self.db, self.holder, self.options.lease_seconds)
        held = acquired.held
        if acquired.taken_from is not None and lease.is_gone(acquired.taken_from):
            await self._reclaim_from(acquired.taken_from)
        if held != self.active:
            self.active = held
            log.info("worker %s %s the lease", self.holder, "took" if held else "lost")
            if self._on_lease_change is not None:
                self._on_lease_change(held)
        return held

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

    async def pump(self) -> int:
        """Send what is due, batch by batch; returns how many were handled."""
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
            handled += len(claimed)
            if len(claimed) < self.options.batch_size:
                break
        return handled

    async def _send_batch(self, batch: list[OutboundSms]) -> None:
        config = await settings.load(self.db)
        if self._limit is None or self._limit.rate != config.rate_segments_per_second:
            self._limit = SenderRateLimit(config.rate_segments_per_second)
        now = self.db.clock.now().timestamp()
        outcomes: list[outbox.Outcome] = []
        to_send: list[OutboundSms] = []
        for sms in batch:
            wait = self._limit.take(sms.sender, sms.segments, now)
            if wait:
                outcomes.append(
                    outbox.Retry(
                        sms.message_id,
                        "waiting for the sender's rate limit",
                        retry_after=wait,
                        counts_as_attempt=False,
                    )
                )
            else:
                to_send.append(sms)
        gate = asyncio.Semaphore(self.options.send_concurrency)

        async def send_one(sms: OutboundSms) -> outbox.Outcome:
            async with gate:
                if self._stopping:
                    # Stopping waits only for the sends already under way.
                    return outbox.Retry(
                        sms.message_id,
                        "the worker stopped before sending it",
                        retry_after=0,
                        counts_as_attempt=False,
                    )
                try:
                    accepted = await self.gateway.send(sms)
                except TemporaryFailure as exc:
                    return outbox.Retry(sms.message_id, exc.reason, exc.retry_after)
                except PermanentFailure as exc:
                    return outbox.Failed(sms.message_id, exc.reason)
                except Exception as exc:  # a provider bug must not stop the outbox
                    log.exception("sending message %s failed unexpectedly", sms.message_id)
                    return outbox.Retry(sms.message_id, f"unexpected error: {exc}")
                return outbox.Sent(sms.message_id, accepted.provider_id)

        outcomes += await asyncio.gather(*(send_one(sms) for sms in to_send))
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
        """One tick of every job, in order (tests drive the worker with this)."""
        if await self.tick_lease():
            await self.sweep()
            await self.poll_reports()
            await self.pump()
            await self.poll_reports()

    # --- the ticker ---------------------------------------------------------

    def start(self) -> None:
        """Start ticking in the running event loop."""
        self._stopping = False
        scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone=UTC)
        now = datetime.now(UTC)
        for job, every in (
            (self._guarded(self.tick_lease), self.options.lease_seconds / 3),
            (self._guarded(self.pump), self.options.pump_every),
            (self._guarded(self.poll_reports), self.options.pump_every),
            (self._guarded(self.sweep), self.options.sweep_every),
        ):
            scheduler.add_job(
                job,
                "interval",
                seconds=every,
                next_run_time=now,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=None,
            )
        scheduler.start()
        self._scheduler = scheduler

    def _guarded(self, job: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            # The task running this is the one APScheduler's executor created
            # and would cancel on shutdown: stop() waits for exactly these.
            task = asyncio.current_task()
            if task is not None:
                self._running.add(task)
            try:
                await job()
            except Exception:
                self.stats.job_errors += 1
                # Logged and retried on the next tick: the database is the
                # truth, so a failed tick loses nothing.
                log.exception("worker job %s failed", getattr(job, "__name__", job))
            finally:
                if task is not None:
                    self._running.discard(task)

        run.__name__ = getattr(job, "__name__", "job")
        return run

    async def stop(self) -> None:
        """Stop ticking, let the jobs running finish and record, then give the lease up.

        APScheduler's shutdown cancels the jobs still running (its asyncio
        executor cancels their tasks), which would leave messages 'sending'
        until their sending lease lapses. So: pause (no job starts), wait for
        the running ones, and only then shut down, with nothing left to cancel.
        """
        self._stopping = True
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
