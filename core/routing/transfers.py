"""Transfers (item 7): hand a conversation to a queue (offered again) or to a named agent.

Who may transfer is the policy's (``Action.TRANSFER_TO_QUEUE``,
``Action.TRANSFER_TO_AGENT``, on the conversation). Each transfer is a row
in ``transfers`` (who, from whom, to which agent or queue, when), which the
thread's history shows (``history``). The previous owner stays on as a
subscriber, as with a take, so the conversation does not vanish from their
list; they are not offered it again from its queue while others may be.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from core import settings
from core.clock import from_ms
from core.db import Database, Tx
from core.errors import InvalidInput, NotAllowed, NotFound
from core.people.authz import Action, Actor, authorize
from core.records import record
from core.routing import handover
from core.sms import conversations

MAX_NAME = 200


@record
class Transfer:
    id: int
    conversation_id: int
    at: datetime
    by: str | None
    """Username of whoever transferred it (None: the system)."""
    from_agent: str | None
    to_agent: str | None
    to_queue: str | None


def _name(value: str, what: str) -> str:
    text = value.strip()
    if not text:
        raise InvalidInput(f"{what} cannot be empty")
    if len(text) > MAX_NAME:
        raise InvalidInput(f"{what} is at most {MAX_NAME} characters, not {len(text)}")
    return text


async def to_queue(db: Database, actor: Actor, conversation_id: int, queue: str) -> Transfer:
    """Hand the conversation to ``queue`` (by name): nobody owns it, and it is offered again."""
    name = _name(queue, "a queue name")
    config = await settings.load(db)
    async with db.transaction() as tx:
        access = await conversations.access_in(tx, conversation_id)
        authorize(actor, Action.TRANSFER_TO_QUEUE, access)
        row = await tx.fetchone(
            "SELECT id, name, messaging FROM queues WHERE name = ? COLLATE NOCASE", (name,)
        )
        if row is None:
            raise NotFound(f"no queue called {name!r}")
        if not row["messaging"]:
            raise InvalidInput(
                f"queue {row['name']!r} has messaging off: nobody could be offered the"
                " conversation there"
            )
        now = tx.now_ms
        previous = access.owner_id
        # Not public while it is offered; the public minutes start again, so it still
        # goes public if nobody in the queue accepts in time.
        await tx.execute(
            "UPDATE conversations SET owner_id = NULL, is_public = 0, queue_id = ?,"
            " route_due_at = ?, public_due_at = ? WHERE id = ?",
            (row["id"], now, now + config.public_minutes * 60_000, conversation_id),
        )
        # A public conversation had already left its owner: their idle time runs.
        released = [] if access.is_public else [previous]
        await handover.handed_over_in(tx, [conversation_id], released)
        if previous is not None:
            await conversations.subscribe_in(tx, conversation_id, previous)
        transfer_id = await _record_in(tx, actor, conversation_id, previous, None, row["id"])
        return await _get_in(tx, transfer_id)


async def to_agent(db: Database, actor: Actor, conversation_id: int, username: str) -> Transfer:
    """Give the conversation to the agent ``username`` (who must be active)."""
    name = _name(username, "a username")
    async with db.transaction() as tx:
        access = await conversations.access_in(tx, conversation_id)
        authorize(actor, Action.TRANSFER_TO_AGENT, access)
        row = await tx.fetchone(
            "SELECT id, username, active FROM agents WHERE username = ?", (name,)
        )
        if row is None:
            raise NotFound(f"no agent with username {name!r}")
        if not row["active"]:
            raise NotAllowed(
                f"{row['username']} has been deactivated: a conversation can only be"
                " transferred to an active agent"
            )
        if row["id"] == access.owner_id:
            raise InvalidInput(f"{row['username']} already has this conversation")
        previous = access.owner_id
        # Offers withdrawn, the previous owner's idle time: all of it in take_in.
        await conversations.take_in(tx, conversation_id, row["id"], previous)
        transfer_id = await _record_in(tx, actor, conversation_id, previous, row["id"], None)
        return await _get_in(tx, transfer_id)


async def _record_in(
    tx: Tx,
    actor: Actor,
    conversation_id: int,
    previous: int | None,
    agent_id: int | None,
    queue_id: int | None,
) -> int:
    transfer_id = await tx.insert(
        "INSERT INTO transfers (conversation_id, by_agent_id, from_agent_id, to_agent_id,"
        " to_queue_id, at) VALUES (?, ?, ?, ?, ?, ?)",
        (conversation_id, actor.id, previous, agent_id, queue_id, tx.now_ms),
    )
    await tx.emit(
        "conversation.transferred",
        "conversation",
        conversation_id,
        actor_id=actor.id,
        transfer_id=transfer_id,
        from_agent_id=previous,
        to_agent_id=agent_id,
        to_queue_id=queue_id,
    )
    return transfer_id


_SELECT = (
    "SELECT t.id, t.conversation_id, t.at, b.username AS by_name, f.username AS from_name,"
    " a.username AS to_name, q.name AS queue_name FROM transfers t"
    " LEFT JOIN agents b ON b.id = t.by_agent_id LEFT JOIN agents f ON f.id = t.from_agent_id"
    " LEFT JOIN agents a ON a.id = t.to_agent_id LEFT JOIN queues q ON q.id = t.to_queue_id"
)


async def _get_in(tx: Tx, transfer_id: int) -> Transfer:
    row = await tx.fetchone(_SELECT + " WHERE t.id = ?", (transfer_id,))
    assert row is not None
    return _transfer(row)


def _transfer(row: sqlite3.Row) -> Transfer:
    return Transfer(
        row["id"],
        row["conversation_id"],
        from_ms(row["at"]),
        row["by_name"],
        row["from_name"],
        row["to_name"],
        row["queue_name"],
    )


async def history(db: Database, actor: Actor, conversation_id: int) -> list[Transfer]:
    """The conversation's transfers, oldest first (for its thread)."""
    authorize(actor, Action.VIEW_CONVERSATION, await conversations.access_in(db, conversation_id))
    rows = await db.fetchall(
        _SELECT + " WHERE t.conversation_id = ? ORDER BY t.id", (conversation_id,)
    )
    return [_transfer(r) for r in rows]
