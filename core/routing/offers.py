"""Offers: a waiting conversation offered to one agent at a time, as rows with due times.

pending -> accepted | refused | expired | withdrawn. An offer expires
``offer_seconds`` (a setting) after it is made, or, when the agent's profile
says so, is accepted for them at ``auto_accept_at``. A refused or expired
offer counts as missed for the agent and the conversation is due for
routing again at once (``activities.count_missed_in`` moves an agent who
reached their profile's limit). A conversation that goes public (the public
minutes) or is taken another way has its pending offer withdrawn in the same
transaction (``handover``); the sweep withdraws any it finds left over.

Every step of the sweep (``sweep_in``) takes its due rows in one statement,
so a restart loses nothing and 10,000 offers are a few statements. Events
name the offer and the agent it was made to (``agent_id``), never a number
or a text: an agent's console shows, counts down and clears its offers from
them (``offer.made``, ``offer.accepted``, ``offer.refused``,
``offer.expired``, ``offer.withdrawn``).
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from core import settings
from core.clock import from_ms, from_ms_or_none
from core.db import Database, Tx
from core.errors import AlreadyTaken, InvalidInput, NotAllowed, NotFound
from core.people.authz import Action, Actor, OfferAccess, allows, authorize
from core.permissions import principal
from core.records import record
from core.routing import activities, handover, selection
from core.sms import conversations

RETRY_MS = 5_000
"""A conversation nobody may be offered now is tried again this much later (or at
once when an agent becomes available: ``activities.move_in``)."""


@record
class Offer:
    id: int
    conversation_id: int
    agent_id: int
    queue_id: int | None
    queue: str | None
    status: str
    offered_at: datetime
    expires_at: datetime
    auto_accept_at: datetime | None
    answered_at: datetime | None


_SELECT = "SELECT o.*, q.name AS queue FROM offers o LEFT JOIN queues q ON q.id = o.queue_id"


def _offer(row: sqlite3.Row) -> Offer:
    return Offer(
        row["id"],
        row["conversation_id"],
        row["agent_id"],
        row["queue_id"],
        row["queue"],
        row["status"],
        from_ms(row["offered_at"]),
        from_ms(row["expires_at"]),
        from_ms_or_none(row["auto_accept_at"]),
        from_ms_or_none(row["answered_at"]),
    )


async def pending_for(db: Database, actor: Actor) -> list[Offer]:
    """The offers waiting for ``actor``'s answer, oldest first."""
    if actor.id is None:
        return []
    rows = await db.fetchall(
        _SELECT + " WHERE o.agent_id = ? AND o.status = 'pending' ORDER BY o.id", (actor.id,)
    )
    return [_offer(r) for r in rows]


async def get(db: Database | Tx, offer_id: int) -> Offer:
    row = await db.fetchone(_SELECT + " WHERE o.id = ?", (offer_id,))
    if row is None:
        raise NotFound(f"no offer with id {offer_id}")
    return _offer(row)


async def _answerable_in(tx: Tx, actor: Actor, offer_id: int) -> Offer:
    """The pending offer ``actor`` may answer; the refusal that says why otherwise."""
    offer = await get(tx, offer_id)
    authorize(actor, Action.ANSWER_OFFER, OfferAccess(offer.agent_id))
    if offer.status == "pending":
        return offer
    owner = await tx.fetchone(
        "SELECT a.id, a.username FROM conversations c JOIN agents a ON a.id = c.owner_id"
        " WHERE c.id = ?",
        (offer.conversation_id,),
    )
    if owner is not None:
        who = "you already have" if owner["id"] == actor.id else f"{owner['username']} has"
        raise AlreadyTaken(f"offer {offer_id} is no longer open: {who} the conversation")
    raise InvalidInput(f"offer {offer_id} is no longer open: it was {offer.status}")


async def accept(db: Database, actor: Actor, offer_id: int) -> Offer:
    """Take the offered conversation. Of two answers at once, one wins; the other is
    told who has it (AlreadyTaken)."""
    async with db.transaction() as tx:
        offer = await _answerable_in(tx, actor, offer_id)
        await _accept_in(tx, offer.id, offer.conversation_id, actor.id, actor_id=actor.id)
        return await get(tx, offer_id)


async def _accept_in(
    tx: Tx, offer_id: int, conversation_id: int, agent_id: int | None, *, actor_id: int | None
) -> None:
    owner = await tx.fetchone(
        "SELECT a.username, c.is_public FROM conversations c"
        " LEFT JOIN agents a ON a.id = c.owner_id WHERE c.id = ?",
        (conversation_id,),
    )
    if owner is not None and owner["username"] is not None:
        # Taken another way (a take, a transfer) before the sweep withdrew the offer.
        raise AlreadyTaken(f"offer {offer_id} is no longer open: {owner['username']} has it")
    await tx.execute(
        "UPDATE offers SET status = 'accepted', answered_at = ? WHERE id = ?",
        (tx.now_ms, offer_id),
    )
    await conversations.take_in(tx, conversation_id, agent_id, None)
    await tx.execute("UPDATE agents SET missed_offers = 0 WHERE id = ?", (agent_id,))
    await tx.emit(
        "offer.accepted",
        "offer",
        offer_id,
        actor_id=actor_id,
        agent_id=agent_id,
        conversation_id=conversation_id,
    )


async def refuse(db: Database, actor: Actor, offer_id: int) -> Offer:
    """Pass the offer on; it counts as missed. Only where the agent's profile has may_refuse."""
    async with db.transaction() as tx:
        offer = await _answerable_in(tx, actor, offer_id)
        # The agent's profile as stored now, not as the caller last loaded it: a
        # manager may have turned *may refuse* off since (the console hides F6 then).
        agent = await principal.load_in(tx, offer.agent_id)
        if not allows(agent, Action.REFUSE_OFFER, OfferAccess(offer.agent_id)):
            name = agent.profile_name or "(none)"
            raise NotAllowed(
                f"offer {offer_id} cannot be refused: the permission profile {name!r} does not"
                " allow refusing offers (may refuse is off); accept it or let it expire"
            )
        await tx.execute(
            "UPDATE offers SET status = 'refused', answered_at = ? WHERE id = ?",
            (tx.now_ms, offer_id),
        )
        await _route_again_in(tx, [offer.conversation_id])
        await tx.emit(
            "offer.refused",
            "offer",
            offer_id,
            actor_id=actor.id,
            agent_id=offer.agent_id,
            conversation_id=offer.conversation_id,
        )
        await activities.count_missed_in(tx, {offer.agent_id: 1})
        return await get(tx, offer_id)


async def _route_again_in(tx: Tx, conversation_ids: Sequence[int]) -> None:
    await tx.execute(
        "UPDATE conversations SET route_due_at = ? WHERE id IN (SELECT value FROM json_each(?))"
        " AND owner_id IS NULL AND is_public = 0 AND queue_id IS NOT NULL",
        (tx.now_ms, json.dumps(list(conversation_ids))),
    )


# --- the sweep ------------------------------------------------------------------


async def sweep(db: Database) -> int:
    """Everything due now, in one transaction; how many offers it changed or made."""
    if not await _anything_due(db):
        # The job ticks often (a due time written by another process has no wake
        # here): a tick with nothing to do reads, it takes no write lock.
        return 0
    config = await settings.load(db)
    async with db.transaction() as tx:
        return await sweep_in(tx, config.offer_seconds)


async def _anything_due(db: Database) -> bool:
    now = db.clock.now()
    due = await next_due(db)
    if due is not None and due <= now:
        return True
    return bool(
        await db.scalar(
            "SELECT EXISTS (SELECT 1 FROM offers o JOIN conversations c"
            " ON c.id = o.conversation_id WHERE o.status = 'pending'"
            " AND (c.is_public = 1 OR c.owner_id IS NOT NULL))"
        )
    )


async def sweep_in(tx: Tx, offer_seconds: int) -> int:
    handled = await _withdraw_stale_in(tx)
    handled += await _expire_due_in(tx)
    handled += await _offer_due_in(tx, offer_seconds)
    handled += await _auto_accept_due_in(tx)
    return handled


async def _withdraw_stale_in(tx: Tx) -> int:
    """Offers of conversations that went public or were taken meanwhile are withdrawn;
    such conversations are no longer routed."""
    rows = await tx.fetchall(
        "UPDATE offers SET status = 'withdrawn', answered_at = :now"
        " FROM conversations c WHERE offers.status = 'pending' AND c.id = offers.conversation_id"
        " AND (c.is_public = 1 OR c.owner_id IS NOT NULL)"
        " RETURNING offers.id, offers.agent_id, offers.conversation_id",
        {"now": tx.now_ms},
    )
    await handover.emit_rows(tx, "offer.withdrawn", rows)
    await tx.execute(
        "UPDATE conversations SET route_due_at = NULL WHERE route_due_at IS NOT NULL"
        " AND (is_public = 1 OR owner_id IS NOT NULL OR queue_id IS NULL)"
    )
    return len(rows)


async def _expire_due_in(tx: Tx) -> int:
    rows = await tx.fetchall(
        "UPDATE offers SET status = 'expired', answered_at = :now"
        " WHERE status = 'pending' AND expires_at <= :now"
        " RETURNING id, agent_id, conversation_id",
        {"now": tx.now_ms},
    )
    if not rows:
        return 0
    await handover.emit_rows(tx, "offer.expired", rows)
    await _route_again_in(tx, [r["conversation_id"] for r in rows])
    await activities.count_missed_in(tx, Counter(r["agent_id"] for r in rows))
    return len(rows)


_DUE = (
    "SELECT c.id, c.queue_id FROM conversations c WHERE c.route_due_at <= ?"
    " AND c.owner_id IS NULL AND c.is_public = 0 AND c.queue_id IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM offers o WHERE o.conversation_id = c.id"
    "   AND o.status = 'pending')"
    " ORDER BY c.route_due_at, c.id"
)

# Who already had their chance since the conversation was last handed on: those
# who refused or let it expire, and whoever transferred it to its queue.
_TRIED = (
    "WITH due(id) AS (SELECT value FROM json_each(:ids)),"
    " since(id, at) AS (SELECT due.id, coalesce((SELECT max(t.at) FROM transfers t"
    "   WHERE t.conversation_id = due.id), 0) FROM due)"
    " SELECT o.conversation_id AS cid, o.agent_id FROM since JOIN offers o"
    "   ON o.conversation_id = since.id AND o.offered_at >= since.at"
    "   AND o.status IN ('refused', 'expired')"
    " UNION SELECT t.conversation_id, t.from_agent_id FROM since JOIN transfers t"
    "   ON t.conversation_id = since.id AND t.at = since.at"
    "   AND t.to_queue_id IS NOT NULL AND t.from_agent_id IS NOT NULL"
)

_INSERT_CHUNK = 500
"""Offers per INSERT: 6 values each, well under SQLite's bound-parameter limit."""


async def _offer_due_in(tx: Tx, offer_seconds: int) -> int:
    now = tx.now_ms
    due = await tx.fetchall(_DUE, (now,))
    if not due:
        return 0
    ids = [r["id"] for r in due]
    tried: dict[int, set[int]] = {}
    for r in await tx.fetchall(_TRIED, {"ids": json.dumps(ids)}):
        tried.setdefault(r["cid"], set()).add(r["agent_id"])
    waiting = [
        selection.Waiting(r["id"], r["queue_id"], frozenset(tried.get(r["id"], ()))) for r in due
    ]
    found = await selection.candidates(tx, {w.queue_id for w in waiting}, now)
    chosen = selection.assign(waiting, found, now)
    offer_ms = offer_seconds * 1000
    rows = []
    for w, c in chosen:
        auto = None if c.auto_accept_seconds is None else now + c.auto_accept_seconds * 1000
        # An auto-accept later than the offer time still happens: the offer waits for it.
        expires = now + offer_ms if auto is None else max(now + offer_ms, auto)
        rows.append((w.conversation_id, c.agent_id, w.queue_id, now, expires, auto))
    # Offers made now get ids above every earlier one: their events are written from
    # the rows in one statement, not built one by one here.
    before = await tx.scalar("SELECT coalesce(max(id), 0) FROM offers")
    made = 0
    for start in range(0, len(rows), _INSERT_CHUNK):
        chunk = rows[start : start + _INSERT_CHUNK]
        cur = await tx.execute(
            "INSERT INTO offers (conversation_id, agent_id, queue_id, status, offered_at,"
            " expires_at, auto_accept_at) VALUES "
            + ", ".join(["(?, ?, ?, 'pending', ?, ?, ?)"] * len(chunk)),
            [value for row in chunk for value in row],
        )
        made += cur.rowcount
    offered = {w.conversation_id for w, _ in chosen}
    await tx.execute(
        "UPDATE conversations SET route_due_at = CASE WHEN id IN"
        " (SELECT value FROM json_each(:offered)) THEN NULL ELSE :retry END"
        " WHERE id IN (SELECT value FROM json_each(:due))",
        {"offered": json.dumps(sorted(offered)), "retry": now + RETRY_MS, "due": json.dumps(ids)},
    )
    await tx.flush_events()
    await tx.execute(
        "INSERT INTO events (at, kind, entity, entity_id, data)"
        " SELECT :now, 'offer.made', 'offer', id, json_object('agent_id', agent_id,"
        "   'conversation_id', conversation_id, 'expires_at', expires_at)"
        " FROM offers WHERE id > :before ORDER BY id",
        {"now": now, "before": before},
    )
    return made


async def _auto_accept_due_in(tx: Tx) -> int:
    rows = await tx.fetchall(
        "SELECT id, agent_id, conversation_id FROM offers"
        " WHERE status = 'pending' AND auto_accept_at <= ? ORDER BY auto_accept_at, id",
        (tx.now_ms,),
    )
    for r in rows:
        # The profile accepts for the agent: they are the actor of record.
        await _accept_in(tx, r["id"], r["conversation_id"], r["agent_id"], actor_id=r["agent_id"])
    return len(rows)


async def next_due(db: Database) -> datetime | None:
    """The next instant the sweep has work: a conversation to route, an offer to expire
    or to accept for its agent."""
    return from_ms_or_none(
        await db.scalar(
            "SELECT min(at) FROM ("
            " SELECT min(route_due_at) AS at FROM conversations WHERE route_due_at IS NOT NULL"
            " UNION ALL SELECT min(expires_at) FROM offers WHERE status = 'pending'"
            " UNION ALL SELECT min(auto_accept_at) FROM offers"
            "   WHERE status = 'pending' AND auto_accept_at IS NOT NULL)"
        )
    )
