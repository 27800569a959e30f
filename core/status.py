"""W5: what the worker is doing, read from the database (any process may ask)."""

from __future__ import annotations

import json
from datetime import datetime

from core.clock import from_ms, from_ms_or_none, to_ms
from core.db import Database
from core.delivery import MESSAGES_IN_ROWS, bundle
from core.records import record

# Not core.delivery.outbox: its depths query is repeated below so that `switchboard
# status` loads only the storage and the lease, not the sending machinery
# (settings, segments, phone numbers) a script calling it in a loop never uses.
from core.scheduling import lease

# The events that say something went wrong with a message. Written out as in
# the partial index events_message_errors (schema 3), so SQLite uses it.
ERRORS_WHERE = "kind IN ('message.failed', 'message.retrying', 'message.requeued')"

# What an error event without a reason of its own means.
_REASONS = {"message.requeued": "the worker sending it stopped before it finished"}


@record
class OldestQueued:
    message_id: int
    recipient: str
    due_at: datetime
    attempts: int
    last_error: str | None


@record
class ErrorLine:
    at: datetime
    kind: str
    message_id: int | None
    reason: str


@record
class EmailDepths:
    queued: int
    sending: int
    oldest_due_at: datetime | None


@record
class Status:
    now: datetime
    holder: lease.LeaseHolder | None
    queued: int
    sending: int
    sent_awaiting_report: int
    oldest_queued: OldestQueued | None
    last_errors: list[ErrorLine]
    emails: EmailDepths
    bundle: bundle.Usage
    """A4: this month's segments against the bundle."""
    held: int
    """Queued messages the full bundle holds back (bundle_when_full = hold)."""


async def snapshot(db: Database, *, errors: int = 10) -> Status:
    # Messages, not rows (as outbox.depths, which status must not load): once a
    # campaign's batch row is sent, each of its targets still without a report.
    depths = await db.fetchone(
        f"SELECT (SELECT {MESSAGES_IN_ROWS} FROM messages WHERE status = 'queued') AS queued,"
        f" (SELECT {MESSAGES_IN_ROWS} FROM messages WHERE status = 'sending') AS sending,"
        " (SELECT count(*) FROM messages WHERE status = 'sent' AND recipients IS NULL)"
        " + (SELECT count(*) FROM messages m JOIN campaign_targets t ON t.message_id = m.id"
        "   WHERE m.status = 'sent' AND m.recipients IS NOT NULL AND t.state = 'queued'"
        "   AND t.outcome IS NULL) AS sent"
    )
    assert depths is not None  # a SELECT without FROM always has its one row
    # The email outbox (core/delivery/emails.py), through its partial indexes.
    email = await db.fetchone(
        "SELECT (SELECT count(*) FROM emails WHERE status = 'queued') AS queued,"
        " (SELECT count(*) FROM emails WHERE status = 'sending') AS sending,"
        " (SELECT min(next_attempt_at) FROM emails WHERE status = 'queued') AS oldest"
    )
    assert email is not None
    oldest = await db.fetchone(
        "SELECT m.id, CASE WHEN m.recipients IS NULL THEN m.recipient"
        "   ELSE m.recipients || ' recipients of a campaign batch' END AS phone,"
        " m.next_attempt_at, m.attempts, m.error"
        " FROM messages m WHERE m.status = 'queued' ORDER BY m.next_attempt_at, m.id LIMIT 1"
    )
    # The feed names the message; the error text (which may quote a number)
    # is the message's own. Events written before the feed was lean still
    # carry a reason in their data: that one is read first.
    rows = await db.fetchall(
        "SELECT e.at, e.kind, e.entity_id, e.data, m.error FROM events e"
        " LEFT JOIN messages m ON m.id = e.entity_id"
        f" WHERE e.{ERRORS_WHERE} ORDER BY e.id DESC LIMIT ?",
        (errors,),
    )
    # Held rows wait for the month's end (bundle.hold_in): found there through the
    # outbox's index, not by reading every queued row.
    held = await db.fetchone(
        f"SELECT {MESSAGES_IN_ROWS} AS n FROM messages"
        " WHERE status = 'queued' AND next_attempt_at = ?"
        " AND error LIKE ?",
        (bundle.next_month_ms(to_ms(db.clock.now())), bundle.HELD_PREFIX + "%"),
    )
    assert held is not None
    return Status(
        now=db.clock.now(),
        bundle=await bundle.usage(db),
        held=held["n"],
        holder=await lease.current(db),
        queued=depths["queued"],
        sending=depths["sending"],
        sent_awaiting_report=depths["sent"],
        oldest_queued=None
        if oldest is None
        else OldestQueued(
            oldest["id"],
            oldest["phone"],
            # Every queued row has a due time (queueing and each retry set it).
            from_ms(oldest["next_attempt_at"]),
            oldest["attempts"],
            oldest["error"],
        ),
        last_errors=[
            ErrorLine(
                from_ms(r["at"]),
                r["kind"],
                r["entity_id"],
                str(
                    json.loads(r["data"]).get("reason")
                    or _REASONS.get(r["kind"])
                    or r["error"]
                    or ""
                ),
            )
            for r in rows
        ],
        emails=EmailDepths(
            email["queued"],
            email["sending"],
            from_ms_or_none(email["oldest"]),
        ),
    )
