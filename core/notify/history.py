"""P4 as the thread shows it: a conversation's last closure and its notices, live.

The console opens one conversation at a time and shows how it was last
closed (outcome, by whom, when) and every notice that closure sent, with the
profile's alias and the delivery status of its outbox row, read afresh each
time the feed says a notice moved. Whether the open conversation may be
closed is asked here too, with core's rule (``Action.CLOSE_CONVERSATION``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from core.clock import from_ms
from core.db import Database
from core.people.authz import Action, Actor, allows, authorize
from core.records import record
from core.sms.conversations import access_in

FINAL: Final = frozenset({"delivered", "failed", "skipped"})
"""Statuses a notice does not leave: the thread stops following it."""


@record
class NoticeLine:
    id: int
    channel: str
    """sms or email."""
    profile: str
    """The notification profile's alias, or "deleted profile"."""
    recipient: str
    status: str
    """queued, sending, sent, delivered, failed (the outbox row's), or skipped."""
    reason: str | None
    """Why it failed or was skipped."""


@record
class LastClosure:
    id: int
    outcome: str
    outcome_kind: str
    """message or non_message."""
    agent: str | None
    """Who closed it (None: an agent since deleted)."""
    closed_at: datetime
    comment: str
    notices: tuple[NoticeLine, ...]

    @property
    def settled(self) -> bool:
        """Every notice has its last status: nothing left to follow."""
        return all(n.status in FINAL for n in self.notices)


async def may_close(db: Database, actor: Actor, conversation_id: int) -> bool:
    """Whether ``actor`` may close the conversation (its owner, or supervision)."""
    return allows(actor, Action.CLOSE_CONVERSATION, await access_in(db, conversation_id))


async def last_closure(db: Database, actor: Actor, conversation_id: int) -> LastClosure | None:
    """How the conversation was last closed, with each notice's live status; None if never."""
    authorize(actor, Action.VIEW_CONVERSATION, await access_in(db, conversation_id))
    closure = await db.fetchone(
        "SELECT c.id, o.name AS outcome, o.kind, a.username AS agent, c.closed_at, c.comment"
        " FROM closures c JOIN outcomes o ON o.id = c.outcome_id"
        " LEFT JOIN agents a ON a.id = c.agent_id"
        " WHERE c.conversation_id = ? ORDER BY c.id DESC LIMIT 1",
        (conversation_id,),
    )
    if closure is None:
        return None
    rows = await db.fetchall(
        "SELECT n.id, coalesce(p.alias, 'deleted profile') AS profile, n.recipient,"
        # An address has an @, a number never: how a skipped notice tells its channel.
        " CASE WHEN instr(n.recipient, '@') THEN 'email' ELSE 'sms' END AS channel,"
        " coalesce(m.status, e.status, 'skipped') AS status,"
        " coalesce(n.skipped, m.error, e.error) AS reason"
        " FROM notices n LEFT JOIN notification_profiles p ON p.id = n.profile_id"
        " LEFT JOIN messages m ON m.id = n.message_id"
        " LEFT JOIN emails e ON e.id = n.email_id"
        " WHERE n.closure_id = ? ORDER BY n.id",
        (closure["id"],),
    )
    notices = tuple(
        NoticeLine(r["id"], r["channel"], r["profile"], r["recipient"], r["status"], r["reason"])
        for r in rows
    )
    return LastClosure(
        closure["id"],
        closure["outcome"],
        closure["kind"],
        closure["agent"],
        from_ms(closure["closed_at"]),
        closure["comment"],
        notices,
    )
