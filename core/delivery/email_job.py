"""The worker's email job: delivers the email outbox (core/delivery/emails.py).

Each round claims a batch and sends it over a few connections at once, each
kept open for several emails (``KeepsConnections``): the greeting, TLS and
login are paid once per connection, not once per email. The number of
connections is small (``WorkerOptions.email_connections``) because mail
servers limit how many one client may hold (hosted ones to a handful, and
they slow down or refuse a client that opens more); a few are enough to
overlap the round trips of one with the others'.

Each outcome is recorded as soon as the server has answered, in a small
transaction shared with whatever other connections finished meanwhile (a
group commit), before that connection sends its next email. A worker killed
mid-batch therefore leaves 'sending' only the emails in flight, at most one
per connection: when their lease lapses they go again, and one the server
had already accepted (its "250" came, our commit did not) arrives twice,
with the same Message-ID.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from core.db import Database
from core.delivery import emails
from core.delivery.gateway import (
    EmailConnection,
    EmailGateway,
    KeepsConnections,
    OutboundEmail,
    PermanentFailure,
    ServerUnavailable,
    TemporaryFailure,
)
from core.records import record
from core.scheduling.jobs import Job

log = logging.getLogger("switchboard.email")

NAME = "email_outbox"

EVERY_SECONDS = 0.5
"""The tick, for emails queued by another process (a close from the CLI); an idle
tick is one read. Retries are woken at their due time (``next_due``)."""


@record
class EmailOptions:
    connections: int = 4
    batch_size: int = 100
    lease_seconds: float = 120.0
    """How long an email may stay 'sending' before it is presumed lost and queued again."""


class EmailPump:
    """Sends what the email outbox has due; ``run`` is the job."""

    def __init__(
        self,
        db: Database,
        gateway: EmailGateway | None,
        options: EmailOptions | None = None,
        *,
        holder: str | None = None,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.db = db
        self.gateway = gateway
        self.options = options or EmailOptions()
        self.holder = holder
        self.stopping = stopping
        self.sent = 0
        self.failed = 0
        self.retried = 0

    async def run(self) -> int:
        """Claim and send batch after batch while there is something due; how many handled."""
        if self.gateway is None:
            # [smtp] is not configured: the emails wait (``switchboard status`` says why).
            return 0
        if not await emails.has_due(self.db):
            return 0
        handled = 0
        while not self.stopping():
            claimed = await emails.claim(
                self.db, self.options.batch_size, self.options.lease_seconds, worker=self.holder
            )
            if not claimed:
                break
            carry_on = await self._send(claimed)
            handled += len(claimed)
            if not carry_on or len(claimed) < self.options.batch_size:
                break
        return handled

    async def _send(self, claimed: list[emails.Claimed]) -> bool:
        """Send ``claimed``; False when the server was unavailable (stop for this round)."""
        gateway = self.gateway
        assert gateway is not None
        waiting = deque(claimed)
        recorder = _GroupCommit(self.db)
        halted: list[str] = []

        async def lane() -> None:
            async with _connection(gateway) as connection:
                while waiting and not halted and not self.stopping():
                    item = waiting.popleft()
                    outcome = await self._one(connection, item)
                    if isinstance(outcome, _Halt):
                        halted.append(outcome.reason)
                        outcome = emails.Retry(item.email_id, outcome.reason)
                    await recorder.record(outcome)
                    self._count(outcome, item)

        # A TaskGroup, not gather: if one connection's recording fails, the others
        # are stopped too, not left sending after the job has returned.
        async with asyncio.TaskGroup() as group:
            for _ in range(min(self.options.connections, len(claimed))):
                group.create_task(lane())
        if waiting:
            # Never handed over: queued again without spending an attempt.
            reason = halted[0] if halted else "the worker stopped before sending it"
            await emails.record(
                self.db,
                [emails.Retry(item.email_id, reason, counts_as_attempt=False) for item in waiting],
            )
        if halted:
            log.warning(
                "the mail server is unavailable: %s; %d email(s) wait for the next try",
                halted[0],
                len(waiting) + len(halted),
                extra={"event": "email.server_unavailable"},
            )
        return not halted

    async def _one(
        self, connection: EmailConnection, item: emails.Claimed
    ) -> emails.Outcome | _Halt:
        try:
            await connection.send(item.email)
        except ServerUnavailable as exc:
            return _Halt(exc.reason)
        except TemporaryFailure as exc:
            return emails.Retry(item.email_id, exc.reason, exc.retry_after)
        except PermanentFailure as exc:
            return emails.Failed(item.email_id, exc.reason)
        except Exception as exc:  # a gateway bug must not stop the outbox
            log.exception("sending email %s failed unexpectedly", item.email_id)
            return emails.Retry(item.email_id, f"unexpected error: {exc}")
        return emails.Sent(item.email_id)

    def _count(self, outcome: emails.Outcome, item: emails.Claimed) -> None:
        if isinstance(outcome, emails.Sent):
            self.sent += 1
        elif isinstance(outcome, emails.Failed):
            self.failed += 1
            log.warning(
                "email %s failed: %s",
                item.email_id,
                outcome.reason,
                extra={"event": "email.failed", "email_id": item.email_id},
            )
        else:
            self.retried += 1
            log.info(
                "email %s will be tried again: %s",
                item.email_id,
                outcome.reason,
                extra={"event": "email.retrying", "email_id": item.email_id},
            )


@record
class _Halt:
    reason: str


class _GroupCommit:
    """Records outcomes as they come; those that come while a write is under way
    go together in the next one. ``record`` returns once its outcome is committed."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._pending: list[emails.Outcome] = []
        self._lock = asyncio.Lock()

    async def record(self, outcome: emails.Outcome) -> None:
        self._pending.append(outcome)
        async with self._lock:
            # Empty: whoever held the lock before took ours with theirs, and committed.
            batch, self._pending = self._pending, []
            await emails.record(self.db, batch)


class _OneByOne:
    """A connection for a gateway that keeps none: each send is its own."""

    def __init__(self, gateway: EmailGateway) -> None:
        self.gateway = gateway

    async def send(self, email: OutboundEmail) -> None:
        await self.gateway.send(email)


@asynccontextmanager
async def _connection(gateway: EmailGateway) -> AsyncIterator[EmailConnection]:
    if isinstance(gateway, KeepsConnections):
        async with gateway.connection() as connection:
            yield connection
    else:
        yield _OneByOne(gateway)


def job(pump: EmailPump) -> Job:
    return Job(NAME, EVERY_SECONDS, pump.run, next_due=lambda: emails.next_due(pump.db))
