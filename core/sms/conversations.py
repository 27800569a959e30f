"""M6-M8: conversations, who owns and follows them, and when they go public.

One conversation per contact number and our number. The first agent who
texts owns it; later agents who text become subscribers. An inbound message
starts a wait; an agent's reply ends it. A wait longer than the account's
public minutes makes the conversation public: any eligible agent may take it.
A conversation nobody owns is public from the start.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from core import settings
from core.alerts import stopping
from core.clock import from_ms, from_ms_or_none, to_ms
from core.db import Database, Tx
from core.errors import AlreadyTaken, NotFound
from core.people.authz import Action, Actor, ConversationAccess, authorize, scope
from core.records import record


class Filter(StrEnum):
    ALL = "all"
    MINE = "mine"
    PUBLIC = "public"
    UNANSWERED = "unanswered"
    ANSWERED = "answered"


@record
class Conversation:
    id: int
    number: str
    phone: str
    contact_id: int | None
    contact_name: str
    owner_id: int | None
    owner: str | None
    is_public: bool
    waiting_since: datetime | None
    public_due_at: datetime | None
    last_message_at: datetime | None
    last_body: str
    unread: bool = False
    """An inbound message this agent has not opened yet."""
    closed_at: datetime | None = None
    """Closed with an outcome (P4); a new inbound message opens it again."""

    @property
    def answered(self) -> bool:
        return self.waiting_since is None

    def wait(self, now: datetime) -> timedelta | None:
        """How long the contact has been waiting for an answer, if they are."""
        return None if self.waiting_since is None else now - self.waiting_since


@record
class Message:
    id: int
    conversation_id: int
    direction: str
    kind: str
    author_id: int | None
    author: str | None
    body: str
    encoding: str
    segments: int
    status: str
    attempts: int
    error: str | None
    optout_flag: str | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    attachments: tuple[str, ...]


_SELECT = """
SELECT c.id, n.e164 AS number, c.phone, c.contact_id, coalesce(ct.name, '') AS contact_name,
       c.owner_id, a.username AS owner, c.is_public, c.waiting_since, c.public_due_at,
       c.last_message_at, c.closed_at,
       coalesce((SELECT body FROM messages m WHERE m.conversation_id = c.id
                 ORDER BY m.id DESC LIMIT 1), '') AS last_body,
       coalesce(c.last_inbound_id > coalesce((SELECT last_read_id FROM conversation_reads r
                 WHERE r.agent_id = ? AND r.conversation_id = c.id), 0), 0) AS unread
FROM conversations c
JOIN numbers n ON n.id = c.number_id
LEFT JOIN contacts ct ON ct.id = c.contact_id
LEFT JOIN agents a ON a.id = c.owner_id
"""


def _conversation(row: sqlite3.Row) -> Conversation:
    return Conversation(
        row["id"],
        row["number"],
        row["phone"],
        row["contact_id"],
        row["contact_name"],
        row["owner_id"],
        row["owner"],
        bool(row["is_public"]),
        from_ms_or_none(row["waiting_since"]),
        from_ms_or_none(row["public_due_at"]),
        from_ms_or_none(row["last_message_at"]),
        row["last_body"],
        bool(row["unread"]),
        from_ms_or_none(row["closed_at"]),
    )


async def access_in(db: Database | Tx, conversation_id: int) -> ConversationAccess:
    # One statement: every check of a service starts here, and each trip to the
    # database thread costs more than the query.
    row = await db.fetchone(
        "SELECT c.owner_id, c.is_public, coalesce(c.queue_id, n.queue_id) AS queue_id,"
        " (SELECT json_group_array(s.agent_id) FROM conversation_subscribers s"
        "  WHERE s.conversation_id = c.id) AS subscribers"
        " FROM conversations c JOIN numbers n ON n.id = c.number_id WHERE c.id = ?",
        (conversation_id,),
    )
    if row is None:
        raise NotFound(f"no conversation with id {conversation_id}")
    return ConversationAccess(
        row["owner_id"],
        frozenset(json.loads(row["subscribers"])),
        bool(row["is_public"]),
        row["queue_id"],
    )


async def get(db: Database, actor: Actor, conversation_id: int) -> Conversation:
    authorize(actor, Action.VIEW_CONVERSATION, await access_in(db, conversation_id))
    row = await db.fetchone(_SELECT + " WHERE c.id = ?", (actor.id, conversation_id))
    assert row is not None
    return _conversation(row)


PAGE = 100
"""Conversations a list loads at a time (DESIGN: lists that grow large load in pages)."""

OrderKey = tuple[int, int, int, int, int]

# Oldest-waiting first, then the most recent, then by id: the order of every
# list, written so that a page can start after a row (a row value compares
# all five at once) and so that ``order_key`` can say where a row belongs.
_ORDER = (
    "(c.waiting_since IS NULL), coalesce(c.waiting_since, 0),"
    " (c.last_message_at IS NULL), -coalesce(c.last_message_at, 0), c.id"
)


def order_key(conversation: Conversation) -> OrderKey:
    """Where ``conversation`` stands in a list: the same order as the SQL's."""
    waiting, last = conversation.waiting_since, conversation.last_message_at
    return (
        int(waiting is None),
        0 if waiting is None else to_ms(waiting),
        int(last is None),
        0 if last is None else -to_ms(last),
        conversation.id,
    )


async def list_for(
    db: Database,
    actor: Actor,
    view: Filter = Filter.ALL,
    *,
    after: OrderKey | None = None,
    limit: int = PAGE,
    ids: Collection[int] | None = None,
) -> list[Conversation]:
    """Conversations ``actor`` may see, oldest-waiting first, then most recent.

    Which rows: ``authz.scope`` for VIEW_CONVERSATION, the same rule that
    ``get`` checks (own, followed, the waiting pool if the profile has it;
    every one with supervision). ``after`` starts the page after that row
    (``order_key``); ``ids`` keeps only those conversations (of which the
    ones gone from the view are absent).
    """
    visible = scope(actor, Action.VIEW_CONVERSATION, "c")
    where: list[str] = [visible.sql]
    params: list[object] = [actor.id, *visible.params]
    if view is Filter.MINE:
        where.append(
            "(c.owner_id = ? OR EXISTS (SELECT 1 FROM conversation_subscribers s"
            " WHERE s.conversation_id = c.id AND s.agent_id = ?))"
        )
        params += [actor.id, actor.id]
    elif view is Filter.PUBLIC:
        where.append("c.is_public = 1")
    elif view is Filter.UNANSWERED:
        where.append("c.waiting_since IS NOT NULL")
    elif view is Filter.ANSWERED:
        where.append("c.waiting_since IS NULL")
    if after is not None:
        where.append(f"({_ORDER}) > (?, ?, ?, ?, ?)")
        params += after
    if ids is not None:
        named = sorted(set(ids))
        where.append(f"c.id IN ({', '.join('?' * len(named))})" if named else "0")
        params += named
        limit = len(named)
    sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "")
    sql += f" ORDER BY {_ORDER} LIMIT ?"
    return [_conversation(r) for r in await db.fetchall(sql, [*params, limit])]


async def mark_read(db: Database, actor: Actor, conversation_id: int) -> None:
    """Everything in the conversation up to now has been seen by ``actor``."""
    if actor.id is None:
        return
    async with db.transaction() as tx:
        await mark_read_in(tx, actor.id, conversation_id)


async def mark_read_in(tx: Tx, agent_id: int, conversation_id: int) -> None:
    await tx.execute(
        "INSERT INTO conversation_reads (agent_id, conversation_id, last_read_id)"
        " SELECT ?, ?, coalesce(max(id), 0) FROM messages WHERE conversation_id = ?"
        " ON CONFLICT(agent_id, conversation_id) DO UPDATE SET"
        " last_read_id = max(last_read_id, excluded.last_read_id)",
        (agent_id, conversation_id, conversation_id),
    )


async def thread(
    db: Database,
    actor: Actor,
    conversation_id: int,
    *,
    before_id: int | None = None,
    limit: int = 200,
) -> list[Message]:
    """Messages of a conversation, oldest first (the ``limit`` latest before ``before_id``)."""
    authorize(actor, Action.VIEW_CONVERSATION, await access_in(db, conversation_id))
    rows = await db.fetchall(
        "SELECT * FROM (SELECT m.*, a.username AS author,"
        " (SELECT group_concat(filename, char(31)) FROM attachments t"
        "  WHERE t.message_id = m.id) AS files"
        " FROM messages m LEFT JOIN agents a ON a.id = m.author_id"
        " WHERE m.conversation_id = ? AND m.id < ? ORDER BY m.id DESC LIMIT ?)"
        " ORDER BY id",
        (conversation_id, before_id or 2**62, limit),
    )
    return [
        Message(
            r["id"],
            r["conversation_id"],
            r["direction"],
            r["kind"],
            r["author_id"],
            r["author"],
            r["body"],
            r["encoding"],
            r["segments"],
            r["status"],
            r["attempts"],
            r["error"],
            r["optout_flag"],
            from_ms(r["created_at"]),
            from_ms_or_none(r["sent_at"]),
            from_ms_or_none(r["delivered_at"]),
            tuple(r["files"].split("\x1f")) if r["files"] else (),
        )
        for r in rows
    ]


async def get_or_create_in(
    tx: Tx, number_id: int, phone: str, contact_id: int | None, owner_id: int | None
) -> sqlite3.Row:
    """The conversation for (our number, their phone), created if new."""
    row = await tx.fetchone(
        "SELECT * FROM conversations WHERE number_id = ? AND phone = ?", (number_id, phone)
    )
    if row is not None:
        return row
    conversation_id = await tx.insert(
        "INSERT INTO conversations (number_id, phone, contact_id, owner_id, is_public,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (number_id, phone, contact_id, owner_id, int(owner_id is None), tx.now_ms),
    )
    await tx.emit("conversation.created", "conversation", conversation_id, actor_id=owner_id)
    row = await tx.fetchone("SELECT * FROM conversations WHERE id = ?", (conversation_id,))
    assert row is not None
    return row


async def subscribe_in(tx: Tx, conversation_id: int, agent_id: int) -> None:
    cur = await tx.execute(
        "INSERT OR IGNORE INTO conversation_subscribers (conversation_id, agent_id, since)"
        " VALUES (?, ?, ?)",
        (conversation_id, agent_id, tx.now_ms),
    )
    if cur.rowcount:
        await tx.emit("conversation.subscribed", "conversation", conversation_id, actor_id=agent_id)


async def audience_in(tx: Tx, conversation_id: int) -> list[int]:
    """M6: the owner and every subscriber, who are alerted of each message."""
    rows = await tx.fetchall(
        "SELECT owner_id AS id FROM conversations WHERE id = ? AND owner_id IS NOT NULL"
        " UNION SELECT agent_id FROM conversation_subscribers WHERE conversation_id = ?",
        (conversation_id, conversation_id),
    )
    return sorted(r["id"] for r in rows)


async def take(db: Database, actor: Actor, conversation_id: int) -> Conversation:
    """M8: take a public conversation. Atomic: of two agents taking at once, one wins.

    The loser gets AlreadyTaken naming who has it. The previous owner, if any,
    stays on as a subscriber so the conversation does not vanish from their list.
    """
    async with db.transaction() as tx:
        access = await access_in(tx, conversation_id)
        if not access.is_public and access.owner_id is not None:
            who = (
                "you already have"
                if access.owner_id == actor.id
                else f"{await _username(tx, access.owner_id)} already has"
            )
            raise AlreadyTaken(f"this conversation is not public: {who} it")
        authorize(actor, Action.TAKE_CONVERSATION, access)
        await take_in(tx, conversation_id, actor.id, access.owner_id)
    return await get(db, actor, conversation_id)


async def take_over(db: Database, actor: Actor, conversation_id: int) -> Conversation:
    """A manager takes a conversation from its owner, public or not."""
    async with db.transaction() as tx:
        access = await access_in(tx, conversation_id)
        authorize(actor, Action.TAKE_OVER_CONVERSATION, access)
        await take_in(tx, conversation_id, actor.id, access.owner_id)
    return await get(db, actor, conversation_id)


async def _username(tx: Tx, agent_id: int) -> str:
    row = await tx.fetchone("SELECT username FROM agents WHERE id = ?", (agent_id,))
    return row["username"] if row else f"agent {agent_id}"


async def take_in(tx: Tx, conversation_id: int, agent_id: int | None, previous: int | None) -> None:
    """Give the conversation to ``agent_id`` inside the caller's transaction.

    Every way a conversation changes hands comes here (a take, a take-over, a
    reply to a public one, an accepted offer, a transfer to an agent): it is no
    longer routed, its pending offer is withdrawn, and a previous owner left
    with no open conversation starts their idle time (``routing.handover``).
    """
    public_minutes = (await settings.load_in(tx)).public_minutes
    # Open (owned, not public) for its previous owner until now? Only then does
    # their idle time start here: a public one had already left them.
    was_open = await tx.scalar(
        "SELECT owner_id IS NOT NULL AND is_public = 0 FROM conversations WHERE id = ?",
        (conversation_id,),
    )
    # The public timer restarts: the new owner has the same minutes to answer.
    await tx.execute(
        "UPDATE conversations SET owner_id = ?, is_public = 0, route_due_at = NULL,"
        " public_due_at = CASE WHEN waiting_since IS NULL THEN NULL ELSE ? END WHERE id = ?",
        (agent_id, tx.now_ms + public_minutes * 60_000, conversation_id),
    )
    left = previous if previous is not None and previous != agent_id else None
    # Imported here: routing (offers to withdraw) matters only when a conversation changes hands.
    from core.routing import handover

    await handover.handed_over_in(tx, [conversation_id], [left] if was_open else [])
    if agent_id is not None:
        await stopping.stop_in(tx, [conversation_id], reason=stopping.TAKEN)
    if left is not None:
        await subscribe_in(tx, conversation_id, left)
    await tx.emit(
        "conversation.taken",
        "conversation",
        conversation_id,
        actor_id=agent_id,
        previous_owner_id=previous,
    )


async def make_due_public(db: Database) -> int:
    """M8 sweep: every conversation whose public time has passed becomes public.

    Set-based: one statement finds and changes all due rows and one writes
    their feed events, so 100,000 waiting conversations cost a few queries,
    not 100,000. In the same transaction their pending offers are withdrawn
    (nobody is offered a public conversation) and owners left with no open
    conversation start their idle time (``routing.handover``).
    """
    async with db.transaction() as tx:
        now = tx.now_ms
        owners = await tx.fetchall(
            "SELECT DISTINCT owner_id FROM conversations"
            " WHERE public_due_at <= ? AND owner_id IS NOT NULL AND is_public = 0",
            (now,),
        )
        routed = await tx.fetchall(
            "SELECT o.conversation_id FROM conversations c JOIN offers o"
            " ON o.conversation_id = c.id AND o.status = 'pending' WHERE c.public_due_at <= ?",
            (now,),
        )
        await tx.flush_events()
        await tx.execute(
            "INSERT INTO events (at, kind, entity, entity_id, data)"
            " SELECT ?, 'conversation.public', 'conversation', id,"
            "        json_object('owner_id', owner_id)"
            " FROM conversations WHERE public_due_at <= ?",
            (now, now),
        )
        cur = await tx.execute(
            "UPDATE conversations SET is_public = 1, public_due_at = NULL, route_due_at = NULL"
            " WHERE public_due_at <= ?",
            (now,),
        )
        from core.routing import handover

        await handover.handed_over_in(
            tx, [r["conversation_id"] for r in routed], [r["owner_id"] for r in owners]
        )
        return cur.rowcount


async def next_public_due(db: Database) -> datetime | None:
    return from_ms_or_none(await db.scalar("SELECT min(public_due_at) FROM conversations"))


async def announce(
    tx: Tx, kind: str, conversation_id: int, message_id: int, actor_id: int | None
) -> None:
    """M6: a message sent or received in a conversation alerts its owner and subscribers."""
    audience = await audience_in(tx, conversation_id)
    await tx.emit(
        kind,
        "conversation",
        conversation_id,
        actor_id=actor_id,
        message_id=message_id,
        audience=audience,
    )


async def announce_many(tx: Tx, kind: str, messages: Sequence[tuple[int, int]]) -> None:
    """``announce`` for (conversation ID, message ID) pairs with no actor, in one statement
    (reading the audiences, then writing the events, was two trips to the database thread)."""
    await tx.flush_events()  # the feed's order is the order things happened
    tx.defer(_ANNOUNCE, {"at": tx.now_ms, "kind": kind, "messages": json.dumps(list(messages))})


# Each event's data is what ``announce`` writes: the message and the audience
# (owner and subscribers, ascending), in the order the pairs were given.
_ANNOUNCE = (
    "INSERT INTO events (at, kind, entity, entity_id, data)"
    " SELECT :at, :kind, 'conversation', j.value ->> 0, json_object("
    "   'message_id', j.value ->> 1,"
    "   'audience', (SELECT json_group_array(a.id) FROM ("
    "     SELECT c.owner_id AS id FROM conversations c"
    "       WHERE c.id = j.value ->> 0 AND c.owner_id IS NOT NULL"
    "     UNION SELECT s.agent_id FROM conversation_subscribers s"
    "       WHERE s.conversation_id = j.value ->> 0"
    "     ORDER BY 1) AS a))"
    " FROM json_each(:messages) AS j ORDER BY j.key"
)
