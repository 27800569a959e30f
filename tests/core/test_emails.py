"""The email outbox's mechanics in core: claim with a lease, outcomes, backoff, a crash.

Real SQLite file, fake clock. The SMTP side (a real aiosmtpd) is in
tests/providers/test_email_outbox.py; here the gateway is a script of answers.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from core import settings
from core.clock import to_ms
from core.delivery import email_job, emails
from core.delivery.gateway import (
    OutboundEmail,
    PermanentFailure,
    ServerUnavailable,
    TemporaryFailure,
)
from core.errors import InvalidInput
from core.people.authz import SYSTEM
from core.scheduling import lease

ANN, BEN, CAT = "ann@example.com", "ben@example.com", "cat@example.com"


async def queue(db, *recipients: str, purpose: str = "notice") -> list[int]:
    async with db.transaction() as tx:
        return [
            await emails.queue_in(tx, purpose, to, f"Message for {to}", f"Body for {to}\n")
            for to in recipients
        ]


async def rows(db) -> dict[int, dict]:
    found = await db.fetchall(
        "SELECT id, status, attempts, error, next_attempt_at, lease_until, sent_at FROM emails"
    )
    return {r["id"]: dict(r) for r in found}


async def events(db, kind_prefix: str = "email.") -> list[tuple[str, int, dict]]:
    found = await db.fetchall(
        "SELECT kind, entity_id, data FROM events WHERE kind LIKE ? ORDER BY id",
        (kind_prefix + "%",),
    )
    return [(r["kind"], r["entity_id"], json.loads(r["data"])) for r in found]


class Script:
    """An EmailGateway that answers from a script, one answer per send, else sends."""

    name = "script"

    def __init__(self, *answers: Exception | None) -> None:
        self.answers = list(answers)
        self.sent: list[OutboundEmail] = []
        self.tried: list[str] = []

    async def send(self, email: OutboundEmail) -> None:
        self.tried.append(email.to)
        answer = self.answers.pop(0) if self.answers else None
        if answer is not None:
            raise answer
        self.sent.append(email)


def pump(db, gateway, **options) -> email_job.EmailPump:
    return email_job.EmailPump(db, gateway, email_job.EmailOptions(**options))


# -- queueing -------------------------------------------------------------------------


async def test_queued_rows_have_a_fixed_unique_message_key_and_are_due_now(db, clock):
    ids = await queue(db, ANN, BEN)
    keys = [r["message_key"] for r in await db.fetchall("SELECT message_key FROM emails")]
    assert len(set(keys)) == 2
    assert all(len(k) == 32 for k in keys)
    assert await emails.next_due(db) == clock.now()
    assert [e[:2] for e in await events(db)] == [("email.queued", i) for i in ids]


@pytest.mark.parametrize(
    ("purpose", "subject", "body", "rule"),
    [
        ("campaign", "Hi", "x", "purpose is one of notice, alert, case"),
        ("notice", "  ", "x", "needs a subject"),
        ("notice", "a\nBcc: eve@example.net", "x", r"subject holds a line break \(U\+000A\)"),
        ("notice", "s" * 201, "x", "an email subject is at most 200 characters, not 201"),
        ("notice", "Hi", "x" * 100_001, "at most 100000 characters"),
    ],
)
async def test_queue_in_refuses_what_cannot_be_an_email(db, purpose, subject, body, rule):
    with pytest.raises(InvalidInput, match=rule):
        async with db.transaction() as tx:
            await emails.queue_in(tx, purpose, ANN, subject, body)
    assert await db.scalar("SELECT count(*) FROM emails") == 0


# -- claim, lease, outcomes ----------------------------------------------------------------


async def test_claim_leases_due_rows_oldest_first_and_only_once(db, clock):
    first, second = await queue(db, ANN, BEN)
    claimed = await emails.claim(db, 10, 120)
    assert [c.email_id for c in claimed] == [first, second]
    assert claimed[0].email.to == ANN
    assert claimed[0].email.message_key == await db.scalar(
        "SELECT message_key FROM emails WHERE id = ?", (first,)
    )
    assert claimed[0].attempt == 1
    found = await rows(db)
    assert {r["status"] for r in found.values()} == {"sending"}
    assert found[first]["lease_until"] == to_ms(clock.now()) + 120_000
    assert await emails.claim(db, 10, 120) == [], "a leased row is not claimed twice"


async def test_claim_needs_the_worker_lease_when_a_worker_is_named(db):
    await queue(db, ANN)
    await lease.try_acquire(db, "holder", 10)
    assert await emails.claim(db, 10, 120, worker="someone-else") == []
    assert len(await emails.claim(db, 10, 120, worker="holder")) == 1


async def test_sent_and_failed_are_recorded_with_events_naming_ids_only(db):
    sent_id, failed_id = await queue(db, ANN, BEN)
    await emails.claim(db, 10, 120)
    reason = f"the mail server 127.0.0.1:25 refused the recipient {BEN}: 550 5.1.1 unknown"
    await emails.record(db, [emails.Sent(sent_id), emails.Failed(failed_id, reason)])
    found = await rows(db)
    assert (found[sent_id]["status"], found[sent_id]["lease_until"]) == ("sent", None)
    assert found[sent_id]["sent_at"] is not None
    assert (found[failed_id]["status"], found[failed_id]["error"]) == ("failed", reason)
    assert [e for e in await events(db) if e[0] != "email.queued"] == [
        ("email.sent", sent_id, {"purpose": "notice"}),
        ("email.failed", failed_id, {"purpose": "notice"}),
    ]
    raw = await db.fetchall("SELECT data FROM events")
    assert not any(ANN in r["data"] or BEN in r["data"] or "550" in r["data"] for r in raw)


async def test_a_retry_backs_off_exponentially_then_gives_up(db, clock):
    await settings.update(db, SYSTEM, max_attempts=3, retry_base_seconds=5, retry_max_seconds=600)
    [email_id] = await queue(db, ANN)
    waits = []
    for _ in range(2):
        [claimed] = await emails.claim(db, 10, 120)
        await emails.record(db, [emails.Retry(claimed.email_id, "451 try later")])
        row = (await rows(db))[email_id]
        assert (row["status"], row["error"]) == ("queued", "451 try later")
        waits.append((row["next_attempt_at"] - to_ms(clock.now())) / 1000)
        assert await emails.claim(db, 10, 120) == [], "not due before its backoff"
        clock.advance(timedelta(seconds=waits[-1]))
    assert waits == [5, 10]
    [claimed] = await emails.claim(db, 10, 120)
    assert claimed.attempt == 3
    await emails.record(db, [emails.Retry(email_id, "451 try later")])
    row = (await rows(db))[email_id]
    assert (row["status"], row["error"]) == ("failed", "gave up after 3 attempts: 451 try later")
    kinds = [e[0] for e in await events(db)]
    assert kinds.count("email.retrying") == 2
    assert kinds[-1] == "email.failed"


async def test_a_retry_that_does_not_count_gives_the_attempt_back(db):
    [email_id] = await queue(db, ANN)
    await emails.claim(db, 10, 120)
    await emails.record(db, [emails.Retry(email_id, "stopped", counts_as_attempt=False)])
    row = (await rows(db))[email_id]
    assert (row["status"], row["attempts"], row["error"]) == ("queued", 0, None)


async def test_a_lapsed_lease_is_queued_again_and_a_dead_workers_rows_at_once(db, clock):
    first, second = await queue(db, ANN, BEN)
    started = clock.now()
    await emails.claim(db, 1, 120)  # the worker dies with it in flight
    assert await emails.claim(db, 1, 120) != []  # the second
    clock.advance(timedelta(seconds=121))
    [again, again_too] = await emails.claim(db, 10, 120)
    assert {again.email_id, again_too.email_id} == {first, second}
    assert again.attempt == 2
    assert [e[0] for e in await events(db)].count("email.requeued") == 2

    # A worker known to be dead: its rows go back at once, not after the lease.
    assert await emails.release_in_flight(db, claimed_since=started) == 2
    assert len(await emails.claim(db, 10, 120)) == 2


async def test_next_due_is_the_earliest_retry_or_lapsing_lease(db, clock):
    assert await emails.next_due(db) is None
    [email_id] = await queue(db, ANN)
    await emails.claim(db, 10, 120)
    assert await emails.next_due(db) == clock.now() + timedelta(seconds=120, milliseconds=1)
    await emails.record(db, [emails.Retry(email_id, "451", retry_after=30)])
    assert await emails.next_due(db) == clock.now() + timedelta(seconds=30)


# -- the job ------------------------------------------------------------------------------


async def test_the_job_without_a_mail_server_leaves_emails_queued(db):
    await queue(db, ANN)
    assert await pump(db, None).run() == 0
    assert [r["status"] for r in (await rows(db)).values()] == ["queued"]


async def test_one_refusal_fails_that_email_and_the_others_go(db):
    ann, ben, cat = await queue(db, ANN, BEN, CAT)
    gateway = Script(None, PermanentFailure("550 5.1.1 no such user"), None)
    assert await pump(db, gateway, connections=1).run() == 3
    found = await rows(db)
    assert [found[i]["status"] for i in (ann, ben, cat)] == ["sent", "failed", "sent"]
    assert found[ben]["error"] == "550 5.1.1 no such user"


async def test_a_temporary_failure_retries_that_email_only(db):
    ann, ben = await queue(db, ANN, BEN)
    gateway = Script(TemporaryFailure("451 4.3.0 busy"), None)
    await pump(db, gateway, connections=1).run()
    found = await rows(db)
    assert (found[ann]["status"], found[ann]["attempts"]) == ("queued", 1)
    assert found[ben]["status"] == "sent"


async def test_an_unavailable_server_stops_the_round_without_spending_the_others_attempts(db):
    ids = await queue(db, ANN, BEN, CAT)
    gateway = Script(ServerUnavailable("the mail server refused the connection"))
    await pump(db, gateway, connections=1).run()
    assert gateway.tried == [ANN], "one try tells the server is down"
    found = await rows(db)
    assert [found[i]["status"] for i in ids] == ["queued"] * 3
    assert [found[i]["attempts"] for i in ids] == [1, 0, 0]
    assert found[ids[0]]["error"] == "the mail server refused the connection"


async def test_a_gateway_bug_is_retried_not_fatal(db):
    [email_id] = await queue(db, ANN)
    await pump(db, Script(RuntimeError("boom"))).run()
    row = (await rows(db))[email_id]
    assert (row["status"], row["error"]) == ("queued", "unexpected error: boom")


async def test_batches_follow_one_another_in_one_run(db):
    await queue(db, *(f"p{i}@example.com" for i in range(7)))
    gateway = Script()
    assert await pump(db, gateway, batch_size=3, connections=2).run() == 7
    assert sorted(e.to for e in gateway.sent) == sorted(f"p{i}@example.com" for i in range(7))
    assert {r["status"] for r in (await rows(db)).values()} == {"sent"}


async def test_stopping_finishes_the_email_under_way_and_gives_the_rest_back(db):
    ids = await queue(db, ANN, BEN, CAT)
    gateway = Script()
    job = email_job.EmailPump(
        db, gateway, email_job.EmailOptions(connections=1), stopping=lambda: bool(gateway.sent)
    )
    assert await job.run() == 3
    found = await rows(db)
    assert [(found[i]["status"], found[i]["attempts"]) for i in ids] == [
        ("sent", 1),
        ("queued", 0),
        ("queued", 0),
    ]
