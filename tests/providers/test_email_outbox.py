"""The email outbox end to end: rows queued in SQLite, delivered by the worker's job
through the SMTP gateway to a real aiosmtpd on 127.0.0.1.

Every assertion about delivery is on what the server received, counted by
Message-ID; the clock is the fake one (backoff is moved through, not waited).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest

from core.delivery import email_job, emails
from core.delivery.gateway import OutboundEmail
from core.scheduling.options import WorkerOptions
from core.scheduling.worker import Worker
from providers.config import SmtpConfig
from providers.sandbox import SandboxGateway
from providers.smtp import SmtpGateway
from tests.fakes.smtp_server import Mailbox, serving

SENDER = "Switchboard <switchboard@example.org>"
ANN, BEN, CAT = "ann@example.com", "ben@example.com", "cat@example.com"
BODY = "Grüße — a message was taken for you.\nCall back Mrs Example.\n"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with serving(Mailbox()) as box:
        yield box


def gateway_for(box: Mailbox) -> SmtpGateway:
    port: int = box.port
    return SmtpGateway(SmtpConfig(host="127.0.0.1", port=port, security="none", sender=SENDER))


def pump(db, box: Mailbox, *, connections: int = 1) -> email_job.EmailPump:
    options = email_job.EmailOptions(connections=connections)
    return email_job.EmailPump(db, gateway_for(box), options)


async def queue(db, *recipients: str) -> list[int]:
    async with db.transaction() as tx:
        return [
            await emails.queue_in(tx, "notice", to, f"Message for {to}", BODY) for to in recipients
        ]


async def status_of(db, email_id: int) -> tuple[str, int, str | None]:
    row = await db.fetchone("SELECT status, attempts, error FROM emails WHERE id = ?", (email_id,))
    return row["status"], row["attempts"], row["error"]


async def key_of(db, email_id: int) -> str:
    return await db.scalar("SELECT message_key FROM emails WHERE id = ?", (email_id,))


async def test_queued_emails_arrive_with_their_headers_body_and_fixed_message_id(db, mailbox):
    ids = await queue(db, ANN, BEN)
    assert await pump(db, mailbox).run() == 2

    assert [r.rcpt_tos for r in mailbox.received] == [[ANN], [BEN]]
    first = mailbox.received[0]
    assert first.mail_from == "switchboard@example.org"
    message = first.message
    assert (message["From"], message["To"]) == (SENDER, ANN)
    assert message["Subject"] == f"Message for {ANN}"
    assert message["Date"]
    assert message["Message-ID"] == f"<{await key_of(db, ids[0])}@example.org>"
    assert message.get_content_charset() == "utf-8"
    assert message.get_content() == BODY
    assert [await status_of(db, i) for i in ids] == [("sent", 1, None)] * 2
    assert mailbox.sessions == 1, "one connection carried both"


async def test_several_connections_share_a_batch_and_each_is_reused(db, mailbox):
    await queue(db, *(f"p{i}@example.com" for i in range(12)))
    assert await pump(db, mailbox, connections=3).run() == 12
    assert len(mailbox.by_message_id()) == 12
    assert mailbox.sessions == 3


async def test_a_temporary_failure_is_retried_after_its_backoff(db, clock, mailbox):
    mailbox.data_replies.append("451 4.3.0 mailbox locked, try again later")
    [email_id] = await queue(db, ANN)
    await pump(db, mailbox).run()
    state, attempts, error = await status_of(db, email_id)
    assert (state, attempts) == ("queued", 1)
    assert error == (
        f"the mail server 127.0.0.1:{mailbox.port} refused the message:"
        " 451 4.3.0 mailbox locked, try again later"
    )
    assert mailbox.received == []

    # retry_base_seconds is 5: not before, then once.
    clock.advance(timedelta(seconds=4.9))
    assert await pump(db, mailbox).run() == 0
    clock.advance(timedelta(seconds=0.1))
    assert await pump(db, mailbox).run() == 1
    assert await status_of(db, email_id) == ("sent", 2, None)
    assert list(mailbox.by_message_id().values()) == [1]


async def test_a_permanent_failure_is_recorded_with_the_servers_reason(db, mailbox):
    mailbox.rcpt_replies[ANN] = "550 5.1.1 no such user here"
    [email_id] = await queue(db, ANN)
    await pump(db, mailbox).run()
    state, attempts, error = await status_of(db, email_id)
    assert (state, attempts) == ("failed", 1)
    assert error is not None
    assert error.endswith(f"refused the recipient {ANN}: 550 5.1.1 no such user here")
    assert mailbox.received == []


async def test_one_rejected_recipient_fails_alone_and_the_others_arrive(db, mailbox):
    mailbox.rcpt_replies[BEN] = "553 5.1.3 mailbox name not allowed"
    ann, ben, cat = await queue(db, ANN, BEN, CAT)
    await pump(db, mailbox).run()
    assert [r.rcpt_tos for r in mailbox.received] == [[ANN], [CAT]]
    assert (await status_of(db, ann))[0] == (await status_of(db, cat))[0] == "sent"
    state, _, error = await status_of(db, ben)
    assert state == "failed"
    assert "553 5.1.3 mailbox name not allowed" in str(error)
    assert mailbox.sessions == 1, "the refusal did not cost the connection"


async def test_nothing_listening_waits_without_spending_every_emails_attempt(db):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        gateway = SmtpGateway(
            SmtpConfig(host="127.0.0.1", port=port, security="none", sender=SENDER)
        )
        ids = await queue(db, ANN, BEN, CAT)
        # One connection: one attempt spent (with N, at most N: each tries once).
        await email_job.EmailPump(db, gateway, email_job.EmailOptions(connections=1)).run()
    states = [await status_of(db, i) for i in ids]
    assert [s[:2] for s in states] == [("queued", 1), ("queued", 0), ("queued", 0)]
    assert "refused the connection" in str(states[0][2])


class Killing:
    """The SMTP gateway, but the worker is killed right after the server's 250 for the
    ``after``-th email: the worst moment (sent, not recorded)."""

    name = "smtp"

    def __init__(self, inner: SmtpGateway, after: int) -> None:
        self.inner = inner
        self.after = after
        self.sent = 0
        self.task: asyncio.Task[int] | None = None

    @asynccontextmanager
    async def connection(self):
        async with self.inner.connection() as inner:
            yield _KillingConnection(self, inner)

    async def send(self, email: OutboundEmail) -> None:
        raise AssertionError("the outbox keeps connections")


class _KillingConnection:
    def __init__(self, owner: Killing, inner) -> None:
        self.owner = owner
        self.inner = inner

    async def send(self, email: OutboundEmail) -> None:
        await self.inner.send(email)
        self.owner.sent += 1
        if self.owner.sent == self.owner.after and self.owner.task is not None:
            self.owner.task.cancel()


async def test_a_worker_killed_mid_batch_loses_no_email_and_resends_only_the_one_in_flight(
    db, clock, mailbox
):
    ids = await queue(db, *(f"p{i}@example.com" for i in range(20)))
    keys = {f"<{await key_of(db, i)}@example.org>" for i in ids}
    killing = Killing(gateway_for(mailbox), after=7)
    dying = email_job.EmailPump(db, killing, email_job.EmailOptions(connections=1))
    killing.task = asyncio.ensure_future(dying.run())
    with pytest.raises(asyncio.CancelledError):
        await killing.task
    assert len(mailbox.by_message_id()) == 7
    left = await db.fetchall("SELECT id, status FROM emails WHERE status != 'sent'")
    in_flight = [r["id"] for r in left if r["status"] == "sending"]
    assert await db.scalar("SELECT count(*) FROM emails WHERE status = 'sent'") == 6
    assert len(in_flight) == 14, "the rest of the batch stays leased until the lease lapses"

    # Another worker, once the sending lease (120 s) has lapsed.
    clock.advance(timedelta(seconds=121))
    assert await pump(db, mailbox, connections=3).run() == 14
    received = mailbox.by_message_id()
    assert set(received) == keys, "no email lost"
    twice = [key for key, count in received.items() if count > 1]
    assert received.most_common(1)[0][1] <= 2
    assert twice == [f"<{await key_of(db, ids[6])}@example.org>"], (
        "only the email the server took just before the kill came twice, same Message-ID"
    )
    assert await db.scalar("SELECT count(*) FROM emails WHERE status != 'sent'") == 0


async def test_the_worker_runs_the_email_job_when_a_mail_server_is_given(db, mailbox):
    [email_id] = await queue(db, ANN)
    idle = Worker(db, SandboxGateway(db), WorkerOptions(), holder="no-mail")
    assert "email_outbox" in [job.name for job in idle.jobs]
    await idle.run_once()
    assert (await status_of(db, email_id))[0] == "queued", "no [smtp]: the email waits"
    await idle.stop()

    worker = Worker(
        db, SandboxGateway(db), WorkerOptions(), holder="mail", email_gateway=gateway_for(mailbox)
    )
    await worker.run_once()
    assert (await status_of(db, email_id))[0] == "sent"
    assert [r.rcpt_tos for r in mailbox.received] == [[ANN]]


async def test_a_server_that_closes_the_session_gets_a_fresh_connection_for_the_next(db, mailbox):
    mailbox.data_replies.append("421 4.3.2 service shutting down, closing channel")
    ann, *_ = await queue(db, ANN, BEN, CAT)
    await pump(db, mailbox).run()
    state, attempts, error = await status_of(db, ann)
    assert (state, attempts) == ("queued", 1)
    assert "421 4.3.2 service shutting down" in str(error)
    assert [r.rcpt_tos for r in mailbox.received] == [[BEN], [CAT]]
    assert mailbox.sessions == 2
