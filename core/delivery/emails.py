"""The durable email outbox (P4): notices, and later alerts and case messages, by email.

    queued --claim--> sending (leased) --250--> sent
       ^                  |
       +---- retry -------+--- refused (5xx) / out of attempts ---> failed

The SMS outbox's guarantees: a row is written in the transaction that
decided to send it, retried with backoff (settings max_attempts,
retry_base_seconds, retry_max_seconds), and nothing is lost across a crash:
a row left 'sending' is queued again when its lease lapses. The job that
sends (core/delivery/email_job.py) records each outcome right after the
server answers, so a worker killed mid-batch loses at most the emails in
flight. Each row's Message-ID key is fixed when it is written, so the one
resend a crash can cause (after the server's "250 OK", before our commit)
carries the same Message-ID and mail clients show it once.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Final

from core import records, settings
from core.clock import from_ms, to_ms
from core.db import Database, Tx
from core.delivery import retries as retries_rule
from core.errors import HipaaRefused, InvalidInput
from core.scheduling import WORKER_LEASE
from core.text import is_utf8, refuse_control_characters

if TYPE_CHECKING:
    # The gateway's types are the worker's: queueing an email needs none.
    from core.delivery.gateway import OutboundEmail

PURPOSES: Final = ("notice", "alert", "case")
MAX_SUBJECT: Final = 200
MAX_BODY: Final = 100_000


async def queue_in(tx: Tx, purpose: str, recipient: str, subject: str, body: str) -> int:
    """Queue one email to ``recipient`` (an address already validated where it entered).

    Returns the row's id. The worker's email job delivers it.
    """
    return (await queue_many_in(tx, purpose, [(recipient, subject, body)]))[0]


async def queue_many_in(
    tx: Tx, purpose: str, items: Sequence[tuple[str, str, str]], *, announce: bool = True
) -> list[int]:
    """``queue_in`` for many (recipient, subject, body) emails, in two statements
    (a close fans out to many addresses at once); all are queued or none. Without
    ``announce``, no ``email.queued`` event per email: the caller writes one for
    the batch (a close's notices)."""
    if purpose not in PURPOSES:
        raise InvalidInput(f"an email's purpose is one of {', '.join(PURPOSES)}, not {purpose!r}")
    if purpose == "case":
        from core.notify.hipaa import may_email_contact

        refusal = may_email_contact(await settings.load_in(tx))
        if refusal is not None:
            raise HipaaRefused(refusal)
    for subject, body in {(subject, body): None for _, subject, body in items}:
        _check(subject, body)  # each distinct text once: a fan-out sends one to many
    if not items:
        return []
    rows = [[r, subject, body, secrets.token_hex(16)] for r, subject, body in items]
    made = await tx.fetchall(
        "INSERT INTO emails (purpose, recipient, subject, body, message_key, status,"
        " next_attempt_at, created_at, updated_at)"
        " SELECT :purpose, value ->> 0, value ->> 1, value ->> 2, value ->> 3, 'queued',"
        " :now, :now, :now FROM json_each(:rows) ORDER BY key RETURNING id, message_key",
        {"purpose": purpose, "now": tx.now_ms, "rows": json.dumps(rows)},
    )
    # Rows are numbered in the SELECT's order; checked (by their unique keys), not assumed.
    made = sorted(made, key=lambda r: r["id"])
    if [r["message_key"] for r in made] != [row[3] for row in rows]:
        raise RuntimeError("the email rows came back out of order")
    ids = [r["id"] for r in made]
    if announce:
        # Ids and kinds only: the change feed never carries an address or a body.
        await tx.emit_many("email.queued", "email", [(i, {"purpose": purpose}) for i in ids])
    return ids


def _check(subject: str, body: str) -> None:
    if not subject.strip():
        raise InvalidInput("an email needs a subject")
    if len(subject) > MAX_SUBJECT:
        raise InvalidInput(
            f"an email subject is at most {MAX_SUBJECT} characters, not {len(subject)}"
        )
    refuse_control_characters("an email subject", subject)
    if len(body) > MAX_BODY:
        raise InvalidInput(f"an email body is at most {MAX_BODY} characters, not {len(body)}")
    if not (is_utf8(subject) and is_utf8(body)):
        raise InvalidInput("an email must be valid UTF-8 text")


@records.record
class Claimed:
    email_id: int
    email: OutboundEmail
    attempt: int
    """1 on the first try."""


async def claim(
    db: Database, limit: int, lease_seconds: float, *, worker: str | None = None
) -> list[Claimed]:
    """Lease up to ``limit`` due emails, oldest first.

    In the same transaction, rows whose sending lease lapsed (a worker died
    while sending them) are queued again, due now. With ``worker`` (a lease
    holder ID), nothing is claimed unless the worker lease names that holder.
    """
    from core.delivery.gateway import OutboundEmail

    async with db.transaction() as tx:
        now = tx.now_ms
        if worker is not None:
            holder = await tx.fetchone("SELECT holder FROM leases WHERE name = ?", (WORKER_LEASE,))
            if holder is None or holder["holder"] != worker:
                return []
        lapsed = await tx.fetchall(
            "UPDATE emails SET status = 'queued', lease_until = NULL, next_attempt_at = ?,"
            " updated_at = ? WHERE status = 'sending' AND lease_until < ? RETURNING id, purpose",
            (now, now, now),
        )
        await _emit(tx, "email.requeued", lapsed)
        claimed = await tx.fetchall(
            "UPDATE emails SET status = 'sending', attempts = attempts + 1, lease_until = ?,"
            " updated_at = ? WHERE id IN (SELECT id FROM emails WHERE status = 'queued'"
            "   AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?)"
            " RETURNING id, recipient, subject, body, message_key, attempts, next_attempt_at",
            (now + int(lease_seconds * 1000), now, now, limit),
        )
    claimed.sort(key=lambda r: (r["next_attempt_at"], r["id"]))
    return [
        Claimed(
            r["id"],
            OutboundEmail(r["recipient"], r["subject"], r["body"], r["message_key"]),
            r["attempts"],
        )
        for r in claimed
    ]


async def has_due(db: Database) -> bool:
    """Whether a claim would find anything: one read, so an idle tick takes no write lock."""
    now = to_ms(db.clock.now())
    row = await db.fetchone(
        "SELECT EXISTS (SELECT 1 FROM emails WHERE status = 'queued' AND next_attempt_at <= ?)"
        " OR EXISTS (SELECT 1 FROM emails WHERE status = 'sending' AND lease_until < ?)",
        (now, now),
    )
    return row is not None and bool(row[0])


async def next_due(db: Database) -> datetime | None:
    """When the next email falls due, or a lease lapses (None: nothing waiting)."""
    row = await db.fetchone(
        # Each through its partial index; min() of the two ignores the one that is NULL.
        "SELECT min(due) AS due FROM (SELECT min(next_attempt_at) AS due FROM emails"
        " WHERE status = 'queued' UNION ALL SELECT min(lease_until) + 1 FROM emails"
        " WHERE status = 'sending')"
    )
    if row is None or row["due"] is None:
        return None
    due: int = row["due"]
    return from_ms(due)


async def release_in_flight(db: Database, *, claimed_since: datetime) -> int:
    """Expire the sending leases of emails claimed since ``claimed_since``.

    For a worker known to have died: the next claim queues them again at once
    instead of after the sending lease.
    """
    async with db.transaction() as tx:
        cursor = await tx.execute(
            "UPDATE emails SET lease_until = ? WHERE status = 'sending'"
            " AND lease_until >= ? AND updated_at >= ?",
            (tx.now_ms - 1, tx.now_ms, to_ms(claimed_since) - 1),
        )
    return cursor.rowcount


@records.record
class Sent:
    email_id: int


@records.record
class Retry:
    email_id: int
    reason: str
    retry_after: float | None = None
    counts_as_attempt: bool = True
    """False: never handed over (the worker stopped, the server was down for
    another email first); the attempt is given back."""


@records.record
class Failed:
    email_id: int
    reason: str


Outcome = Sent | Retry | Failed


async def record(db: Database, outcomes: Sequence[Outcome]) -> None:
    """Write what happened to claimed emails, in one transaction of a few statements."""
    if not outcomes:
        return
    async with db.transaction() as tx:
        now = tx.now_ms
        sent = [o.email_id for o in outcomes if isinstance(o, Sent)]
        if sent:
            rows = await tx.fetchall(
                "UPDATE emails SET status = 'sent', sent_at = ?, lease_until = NULL,"
                " next_attempt_at = NULL, error = NULL, updated_at = ?"
                " WHERE id IN (SELECT value FROM json_each(?)) AND status = 'sending'"
                " RETURNING id, purpose",
                (now, now, json.dumps(sent)),
            )
            await _emit(tx, "email.sent", rows)
        failed = [[o.email_id, o.reason] for o in outcomes if isinstance(o, Failed)]
        if failed:
            rows = await tx.fetchall(
                "WITH f(id, reason) AS (SELECT value ->> 0, value ->> 1 FROM json_each(?))"
                " UPDATE emails SET status = 'failed', error = f.reason, lease_until = NULL,"
                " next_attempt_at = NULL, updated_at = ? FROM f"
                " WHERE emails.id = f.id AND emails.status = 'sending'"
                " RETURNING emails.id, purpose",
                (json.dumps(failed), now),
            )
            await _emit(tx, "email.failed", rows)
        retries = [o for o in outcomes if isinstance(o, Retry)]
        if retries:
            await _retry(tx, retries, now)


async def _retry(tx: Tx, retries: list[Retry], now: int) -> None:
    config = await settings.load_in(tx)
    applied = await retries_rule.apply(
        tx,
        "emails",
        [
            retries_rule.Failure(o.email_id, o.reason, o.retry_after, o.counts_as_attempt)
            for o in retries
        ],
        now=now,
        max_attempts=config.max_attempts,
        base=config.retry_base_seconds,
        cap=config.retry_max_seconds,
        returning="purpose",
    )
    await _emit(tx, "email.failed", applied.gave_up)
    await tx.emit_many(
        "email.retrying",
        "email",
        [
            (
                r["id"],
                {
                    "purpose": r["purpose"],
                    "attempts": r["attempts"],
                    "wait_seconds": (r["next_attempt_at"] - now) / 1000,
                },
            )
            for r in applied.retrying
        ],
    )


async def _emit(tx: Tx, kind: str, rows: Sequence[sqlite3.Row]) -> None:
    # Ids and kinds only: never the address, the subject or the server's reply.
    await tx.emit_many(kind, "email", [(r["id"], {"purpose": r["purpose"]}) for r in rows])
