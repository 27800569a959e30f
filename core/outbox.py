"""W2: the outbox. Every outbound message is a row before it is anything else.

    queued --claim--> sending (leased) --accepted--> sent --report--> delivered
       ^                   |                                  \\--> failed
       +---- retry --------+--- refused / out of attempts ----> failed

A worker that dies while a row is ``sending`` loses nothing: when the lease
lapses the row is queued again. Providers get our message ID with every send,
so one that can recognise a resend (the sandbox does) never delivers twice.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from core import segments, settings
from core.clock import to_ms
from core.db import Database, Tx
from core.gateway import DeliveryReport, Media, OutboundSms
from core.lease import WORKER as WORKER_LEASE

# Message kinds that are not an agent's chat. The STOP confirmation is the
# one message allowed to reach a number that has just opted out.
OPTOUT_CONFIRMATION = "optout_confirmation"
OPTIN_CONFIRMATION = "optin_confirmation"
HELP_REPLY = "help_reply"
CHAT = "chat"

log = logging.getLogger("switchboard.outbox")

OPTED_OUT_REASON = "not sent: the recipient opted out (STOP) before it went"
OPTED_IN_REASON = "not sent: the recipient opted back in (START) before it went"


async def queue_in(
    tx: Tx,
    conversation_id: int,
    body: str,
    *,
    kind: str = CHAT,
    author_id: int | None = None,
    media: Sequence[Media] = (),
) -> int:
    """Queue an outbound message inside the caller's transaction; return its ID."""
    count = segments.count(body)
    message_id = await tx.insert(
        "INSERT INTO messages (conversation_id, direction, kind, author_id, body, encoding,"
        " segments, status, next_attempt_at, created_at, updated_at)"
        " VALUES (?, 'out', ?, ?, ?, ?, ?, 'queued', ?, ?, ?)",
        (
            conversation_id,
            kind,
            author_id,
            body,
            count.encoding,
            max(count.segments, 1),
            tx.now_ms,
            tx.now_ms,
            tx.now_ms,
        ),
    )
    if media:
        await tx.executemany(
            "INSERT INTO attachments (message_id, filename, mime, size, content)"
            " VALUES (?, ?, ?, ?, ?)",
            [(message_id, m.filename, m.mime, len(m.content), m.content) for m in media],
        )
    await tx.emit(
        "message.queued",
        "message",
        message_id,
        actor_id=author_id,
        conversation_id=conversation_id,
        kind=kind,
    )
    return message_id


async def fail_stale_after_consent_change(tx: Tx, phone: str, *, opted_out: bool) -> int:
    """Fail what is still queued to ``phone`` and may no longer go now that it opted out or in.

    After an opt-out that is everything but the STOP confirmation. After an
    opt-in it is a STOP confirmation still queued: sent now it would tell an
    opted-in person they are out, and after a further STOP it would be a
    second confirmation.
    """
    kind_test, reason = ("!=", OPTED_OUT_REASON) if opted_out else ("=", OPTED_IN_REASON)
    rows = await tx.fetchall(
        f"SELECT id FROM messages WHERE status = 'queued' AND kind {kind_test} ?"
        " AND conversation_id IN (SELECT id FROM conversations WHERE phone = ?)",
        (OPTOUT_CONFIRMATION, phone),
    )
    for row in rows:
        await _failed(tx, row["id"], reason, tx.now_ms)
    return len(rows)


async def claim(
    db: Database, limit: int, lease_seconds: float, *, worker: str | None = None
) -> list[OutboundSms]:
    """Lease up to ``limit`` due messages for sending, oldest first.

    In the same transaction: rows whose sending lease lapsed (a worker died)
    are queued again, and due rows to numbers that opted out since they were
    queued are failed instead of sent, so an opted-out number is never sent to.

    With ``worker`` (a lease holder ID), nothing is claimed unless the worker
    lease names that holder: a worker whose lease was taken over while it
    stalled learns it on its next renewal, and until then must not send.
    """
    async with db.transaction() as tx:
        now = tx.now_ms
        if worker is not None:
            holder = await tx.fetchone("SELECT holder FROM leases WHERE name = ?", (WORKER_LEASE,))
            if holder is None or holder["holder"] != worker:
                return []
        lapsed = await tx.fetchall(
            "UPDATE messages SET status = 'queued', lease_until = NULL, next_attempt_at = ?,"
            " updated_at = ? WHERE status = 'sending' AND lease_until < ?"
            " RETURNING id, conversation_id",
            (now, now, now),
        )
        for row in lapsed:
            await tx.emit(
                "message.requeued",
                "message",
                row["id"],
                conversation_id=row["conversation_id"],
                reason="the worker sending it stopped before it finished",
            )
        claimed: list[sqlite3.Row] = []
        while not claimed:
            due = await tx.fetchall(
                "SELECT m.id, m.kind, m.body, m.segments, m.attempts, n.e164 AS sender,"
                " c.phone AS recipient, coalesce(p.opted_out, 0) AS opted_out"
                " FROM messages m JOIN conversations c ON c.id = m.conversation_id"
                " JOIN numbers n ON n.id = c.number_id"
                " LEFT JOIN phone_consent p ON p.phone = c.phone"
                " WHERE m.status = 'queued' AND m.next_attempt_at <= ?"
                " ORDER BY m.next_attempt_at, m.id LIMIT ?",
                (now, limit),
            )
            if not due:
                return []
            for row in due:
                # Consent is checked again at the last moment: it may have
                # changed since the message was queued (or requeued after a crash).
                confirmation = row["kind"] == OPTOUT_CONFIRMATION
                if row["opted_out"] and not confirmation:
                    await _failed(tx, row["id"], OPTED_OUT_REASON, now)
                elif confirmation and not row["opted_out"]:
                    await _failed(tx, row["id"], OPTED_IN_REASON, now)
                else:
                    claimed.append(row)
        ids = [r["id"] for r in claimed]
        await tx.execute(
            "UPDATE messages SET status = 'sending', attempts = attempts + 1,"
            f" lease_until = ?, updated_at = ? WHERE id IN ({','.join('?' * len(ids))})",
            [now + int(lease_seconds * 1000), now, *ids],
        )
        media = await _media_for(tx, ids)
        max_parts = (await settings.load_in(tx)).max_message_parts
    return [
        OutboundSms(
            r["id"],
            r["sender"],
            r["recipient"],
            r["body"],
            r["segments"],
            tuple(media.get(r["id"], ())),
            attempt=r["attempts"] + 1,
            max_parts=max_parts,
        )
        for r in claimed
    ]


async def release_in_flight(db: Database, *, claimed_since: datetime) -> int:
    """Expire the sending leases of rows claimed since ``claimed_since``.

    For a worker known to have died: the next claim queues its rows again at
    once instead of after the sending lease (minutes).
    """
    async with db.transaction() as tx:
        cursor = await tx.execute(
            "UPDATE messages SET lease_until = ? WHERE status = 'sending'"
            " AND lease_until >= ? AND updated_at >= ?",
            (tx.now_ms - 1, tx.now_ms, to_ms(claimed_since) - 1),
        )
    return cursor.rowcount


async def _media_for(tx: Tx, ids: list[int]) -> dict[int, list[Media]]:
    marks = ",".join("?" * len(ids))
    found: dict[int, list[Media]] = {}
    for row in await tx.fetchall(
        f"SELECT message_id, filename, mime, content FROM attachments"
        f" WHERE message_id IN ({marks}) ORDER BY id",
        ids,
    ):
        found.setdefault(row["message_id"], []).append(
            Media(row["filename"], row["mime"], row["content"])
        )
    return found


@dataclass(frozen=True, slots=True)
class Sent:
    message_id: int
    provider_id: str


@dataclass(frozen=True, slots=True)
class Retry:
    message_id: int
    reason: str
    retry_after: float | None = None
    counts_as_attempt: bool = True


@dataclass(frozen=True, slots=True)
class Failed:
    message_id: int
    reason: str


Outcome = Sent | Retry | Failed


def backoff_seconds(attempts: int, base: float, cap: float) -> float:
    """Exponential backoff: base, 2*base, 4*base... capped."""
    return min(cap, base * 2.0 ** max(attempts - 1, 0))


async def record(db: Database, outcomes: Sequence[Outcome]) -> None:
    """Write what happened to a batch of claimed messages, in one transaction."""
    if not outcomes:
        return
    async with db.transaction() as tx:
        config = await settings.load_in(tx)
        now = tx.now_ms
        await _sent(tx, [o for o in outcomes if isinstance(o, Sent)], now)
        for outcome in outcomes:
            if isinstance(outcome, Sent):
                continue
            if isinstance(outcome, Failed):
                await _failed(tx, outcome.message_id, outcome.reason, now)
            else:
                await _retry(
                    tx,
                    outcome,
                    now,
                    config.max_attempts,
                    config.retry_base_seconds,
                    config.retry_max_seconds,
                )


async def _sent(tx: Tx, sent: list[Sent], now: int) -> None:
    # One statement for the whole batch: the outbox's hot path.
    if not sent:
        return
    # A delivery report can beat this record (the provider calls back while
    # the rest of the batch is still sending): such a message keeps its final
    # status and only gains the provider's ID.
    batch = json.dumps([[o.message_id, o.provider_id] for o in sent])
    rows = await tx.fetchall(
        "WITH batch(id, pid) AS (SELECT value ->> 0, value ->> 1 FROM json_each(?))"
        " UPDATE messages SET"
        " status = CASE WHEN messages.status = 'sending' THEN 'sent' ELSE messages.status END,"
        " provider_id = batch.pid, sent_at = ?, lease_until = NULL,"
        " error = CASE WHEN messages.status = 'sending' THEN NULL ELSE error END, updated_at = ?"
        " FROM batch WHERE messages.id = batch.id AND (messages.status = 'sending'"
        "   OR (messages.status IN ('delivered', 'failed') AND messages.provider_id IS NULL"
        "       AND messages.lease_until IS NOT NULL))"
        " RETURNING messages.id, conversation_id, messages.status",
        (batch, now, now),
    )
    await tx.emit_many(
        "message.sent",
        "message",
        [
            (r["id"], {"conversation_id": r["conversation_id"]})
            for r in rows
            if r["status"] == "sent"
        ],
    )


async def _failed(tx: Tx, message_id: int, reason: str, now: int) -> None:
    row = await tx.fetchone(
        "UPDATE messages SET status = 'failed', error = ?, lease_until = NULL,"
        " next_attempt_at = NULL, updated_at = ? WHERE id = ? AND status IN ('sending', 'queued')"
        " RETURNING conversation_id",
        (reason, now, message_id),
    )
    if row is not None:
        await tx.emit(
            "message.failed",
            "message",
            message_id,
            conversation_id=row["conversation_id"],
            reason=reason,
        )


async def _retry(
    tx: Tx, outcome: Retry, now: int, max_attempts: int, base: float, cap: float
) -> None:
    row = await tx.fetchone(
        "SELECT attempts, conversation_id FROM messages WHERE id = ? AND status = 'sending'",
        (outcome.message_id,),
    )
    if row is None:
        return
    attempts = row["attempts"] if outcome.counts_as_attempt else row["attempts"] - 1
    if outcome.counts_as_attempt and attempts >= max_attempts:
        await _failed(
            tx, outcome.message_id, f"gave up after {attempts} attempts: {outcome.reason}", now
        )
        return
    wait = outcome.retry_after
    if wait is None:
        wait = backoff_seconds(attempts, base, cap)
    await tx.execute(
        "UPDATE messages SET status = 'queued', attempts = ?, next_attempt_at = ?,"
        " lease_until = NULL, error = coalesce(?, error), updated_at = ? WHERE id = ?",
        (
            attempts,
            now + int(wait * 1000),
            outcome.reason if outcome.counts_as_attempt else None,
            now,
            outcome.message_id,
        ),
    )
    if outcome.counts_as_attempt:
        await tx.emit(
            "message.retrying",
            "message",
            outcome.message_id,
            conversation_id=row["conversation_id"],
            reason=outcome.reason,
            attempts=attempts,
            wait_seconds=wait,
        )


async def apply_reports(db: Database, reports: Sequence[DeliveryReport]) -> int:
    """Store delivery reports and apply the new final ones; returns how many messages changed."""
    if not reports:
        return 0
    async with db.transaction() as tx:
        return await apply_reports_in(tx, reports)


# The message a report is about. By its batch: the message we recorded that
# provider ID for, when the recipient is that message's (or the report is on
# the whole batch, which has one recipient). Else, before we recorded any
# provider ID for it (the report beat our record, or our request timed out),
# by our ID echoed back, when the recipient is that message's and the batch
# is no other message's. Our ID alone is never enough: another installation
# on the same provider account numbers its messages too.
_MESSAGE_OF_REPORT = """coalesce(
    (SELECT m.id FROM messages m JOIN conversations c ON c.id = m.conversation_id
      WHERE m.provider_id = batch.pid AND batch.recipient IN ('', c.phone)),
    (SELECT m.id FROM messages m JOIN conversations c ON c.id = m.conversation_id
      WHERE m.id = batch.mid AND m.direction = 'out' AND m.provider_id IS NULL
        AND batch.pid != '' AND c.phone = batch.recipient
        AND NOT EXISTS (SELECT 1 FROM messages o WHERE o.provider_id = batch.pid)))"""


async def apply_reports_in(tx: Tx, reports: Sequence[DeliveryReport]) -> int:
    """Store delivery reports and apply the new final ones, in the caller's transaction.

    A report is stored once, keyed by (provider ID, recipient, provider status),
    however often the provider sends it, and a report stored before changes
    nothing. It settles only the message it belongs to: the one with its
    batch and recipient (see _MESSAGE_OF_REPORT). One that matches no message
    of ours is stored without a message, logged, and changes nothing.

    A final report settles a message that is still queued for a retry: the
    provider had it after all (our request timed out). A 'delivered' report
    also overrides our own 'failed' for a message we never heard the provider
    accept (gave up after a timeout): the carrier's word is the better one.
    """
    if not reports:
        return 0
    batch = json.dumps(
        [
            [
                r.provider_id,
                r.message_id,
                r.recipient,
                r.key_status.lower(),
                r.status,
                r.reason or ("the carrier reported it undelivered" if r.status == "failed" else ""),
            ]
            for r in reports
        ]
    )
    now = tx.now_ms
    new = await tx.fetchall(
        "WITH batch(pid, mid, recipient, status, outcome, reason) AS (SELECT value ->> 0,"
        "   value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5"
        "   FROM json_each(:batch))"
        " INSERT INTO delivery_reports (provider_id, recipient, status, outcome, message_id,"
        "   reason, received_at)"
        f" SELECT pid, recipient, status, outcome, {_MESSAGE_OF_REPORT}, reason, :now"
        " FROM batch WHERE true"
        " ON CONFLICT (provider_id, recipient, status) DO NOTHING"
        " RETURNING message_id, provider_id, recipient, status, outcome, reason",
        {"batch": batch, "now": now},
    )
    _log_unmatched(reports, [r for r in new if r["message_id"] is None])
    final = json.dumps(
        [
            [r["message_id"], r["provider_id"], r["outcome"], r["reason"]]
            for r in _one_message_per_batch(new)
            if r["outcome"] != "pending"
        ]
    )
    rows = await tx.fetchall(
        "WITH r(id, pid, status, reason) AS (SELECT value ->> 0, value ->> 1, value ->> 2,"
        "   value ->> 3 FROM json_each(:final))"
        " UPDATE messages SET status = r.status,"
        " provider_id = coalesce(messages.provider_id, nullif(r.pid, '')),"
        " delivered_at = CASE WHEN r.status = 'delivered' THEN :now ELSE delivered_at END,"
        " error = CASE WHEN r.status = 'failed' THEN r.reason ELSE NULL END,"
        " next_attempt_at = NULL,"
        " lease_until = CASE WHEN messages.status = 'sending' THEN lease_until END,"
        " updated_at = :now"
        " FROM r WHERE messages.id = r.id AND (messages.status IN ('sending', 'sent', 'queued')"
        "   OR (messages.status = 'failed' AND r.status = 'delivered'"
        "       AND messages.provider_id IS NULL AND messages.attempts > 0))"
        " RETURNING messages.id, conversation_id, messages.status, error",
        {"final": final, "now": now},
    )
    for status in ("delivered", "failed"):
        await tx.emit_many(
            f"message.{status}",
            "message",
            [
                (r["id"], {"conversation_id": r["conversation_id"], "reason": r["error"]})
                for r in rows
                if r["status"] == status
            ],
        )
    return len(rows)


def _one_message_per_batch(new: list[sqlite3.Row]) -> list[sqlite3.Row]:
    """The matched reports, but a batch claimed for two messages (by our IDs) settles neither.

    Only reports matched by our ID can disagree (a recorded batch is one
    message's), and the batch becomes the message's provider ID: two at once
    would break that ID's uniqueness, and only one of them can be right.
    """
    messages_of: dict[str, set[int]] = {}
    for r in new:
        if r["message_id"] is not None:
            messages_of.setdefault(r["provider_id"], set()).add(r["message_id"])
    matched = [r for r in new if r["message_id"] is not None]
    kept = [r for r in matched if len(messages_of[r["provider_id"]]) == 1]
    for r in matched:
        if len(messages_of[r["provider_id"]]) > 1:
            log.warning(
                "delivery report for batch %r to %r is claimed for messages %s; not applied",
                r["provider_id"],
                r["recipient"],
                sorted(messages_of[r["provider_id"]]),
                extra={"event": "report.ambiguous", "provider_id": r["provider_id"]},
            )
    return kept


MAX_LOGGED_UNMATCHED = 20
"""Per call: a flood of stray reports is counted, not written out line by line."""


def _log_unmatched(reports: Sequence[DeliveryReport], unmatched: list[sqlite3.Row]) -> None:
    if not unmatched:
        return
    named = {(r.provider_id, r.recipient, r.key_status.lower()): r.message_id for r in reports}
    for row in unmatched[:MAX_LOGGED_UNMATCHED]:
        ours = named.get((row["provider_id"], row["recipient"], row["status"]))
        claim = f", naming our message {ours}" if ours is not None else ""
        log.warning(
            "delivery report %r for batch %r to %r%s matches none of our messages"
            " (by batch and recipient); stored, not applied",
            row["status"],
            row["provider_id"],
            row["recipient"],
            claim,
            extra={
                "event": "report.unmatched",
                "provider_id": row["provider_id"],
                "message_id": ours,
            },
        )
    if len(unmatched) > MAX_LOGGED_UNMATCHED:
        log.warning(
            "%d more delivery reports matched none of our messages; stored, not applied",
            len(unmatched) - MAX_LOGGED_UNMATCHED,
            extra={"event": "report.unmatched", "count": len(unmatched) - MAX_LOGGED_UNMATCHED},
        )


@dataclass(frozen=True, slots=True)
class QueueDepths:
    queued: int
    sending: int
    oldest_queued_at: int | None


async def depths(db: Database) -> QueueDepths:
    row: sqlite3.Row | None = await db.fetchone(
        "SELECT (SELECT count(*) FROM messages WHERE status = 'queued') AS queued,"
        " (SELECT count(*) FROM messages WHERE status = 'sending') AS sending,"
        " (SELECT min(next_attempt_at) FROM messages WHERE status = 'queued') AS oldest"
    )
    assert row is not None
    return QueueDepths(row["queued"], row["sending"], row["oldest"])
