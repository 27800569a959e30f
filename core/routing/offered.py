"""What an agent is shown of an offer made to them: who is writing, on which queue, until when.

An offer's conversation is nobody's yet and not public, so the agent may not
open it (``Action.VIEW_CONVERSATION``); what they need to decide is the
offer's own to show, to the agent it was made to (``Action.ANSWER_OFFER``):
the contact's name or phone, the queue, the latest text they sent, and the
due times the console counts down to (it reads them once; the countdown is
the clock's, not a query per second).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from core.clock import from_ms, from_ms_or_none
from core.db import Database
from core.errors import NotFound
from core.people.authz import Action, Actor, OfferAccess, authorize
from core.records import record

LAST_TEXT = 160
"""Characters of the contact's latest text shown with the offer (a preview, not the thread)."""


@record
class OfferShown:
    id: int
    conversation_id: int
    agent_id: int
    status: str
    contact: str
    """The contact's name, else their phone (their own text: show it literally)."""
    phone: str
    queue: str | None
    last_text: str
    offered_at: datetime
    expires_at: datetime
    auto_accept_at: datetime | None

    def seconds_left(self, now: datetime) -> int:
        """Whole seconds until the offer expires (0 once due)."""
        return max(0, int((self.expires_at - now).total_seconds() + 0.999))

    def seconds_to_auto_accept(self, now: datetime) -> int | None:
        if self.auto_accept_at is None:
            return None
        return max(0, int((self.auto_accept_at - now).total_seconds() + 0.999))


_SELECT = (
    "SELECT o.id, o.conversation_id, o.agent_id, o.status, o.offered_at, o.expires_at,"
    " o.auto_accept_at, q.name AS queue, c.phone, coalesce(ct.name, '') AS contact_name,"
    " coalesce((SELECT substr(m.body, 1, ?) FROM messages m WHERE m.conversation_id = c.id"
    "   AND m.direction = 'in' ORDER BY m.id DESC LIMIT 1), '') AS last_text"
    " FROM offers o JOIN conversations c ON c.id = o.conversation_id"
    " LEFT JOIN contacts ct ON ct.id = c.contact_id LEFT JOIN queues q ON q.id = o.queue_id"
)


def _shown(row: sqlite3.Row) -> OfferShown:
    return OfferShown(
        row["id"],
        row["conversation_id"],
        row["agent_id"],
        row["status"],
        row["contact_name"] or row["phone"],
        row["phone"],
        row["queue"],
        row["last_text"],
        from_ms(row["offered_at"]),
        from_ms(row["expires_at"]),
        from_ms_or_none(row["auto_accept_at"]),
    )


async def get(db: Database, actor: Actor, offer_id: int) -> OfferShown:
    """Offer ``offer_id`` as its agent sees it; NotAllowed for anyone else's."""
    row = await db.fetchone(_SELECT + " WHERE o.id = ?", (LAST_TEXT, offer_id))
    if row is None:
        raise NotFound(f"no offer with id {offer_id}")
    authorize(actor, Action.ANSWER_OFFER, OfferAccess(row["agent_id"]))
    return _shown(row)


async def pending(db: Database, actor: Actor) -> list[OfferShown]:
    """The offers waiting for ``actor``'s answer, oldest first, as they see them."""
    if actor.id is None:
        return []
    rows = await db.fetchall(
        _SELECT + " WHERE o.agent_id = ? AND o.status = 'pending' ORDER BY o.id",
        (LAST_TEXT, actor.id),
    )
    return [_shown(r) for r in rows]
