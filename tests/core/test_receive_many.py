"""A group of inbound SMS stored together ends as the same messages stored one by one.

``receiving.receive_many`` (the webhook server's group commit) runs each step
once for the whole group: one UPDATE for the last-inbound times, one per
hook. Here the same mixed group (a sender twice in one conversation, a
queue's number, an owned conversation, STOP and HELP, a bad sender, a number
not ours, a retry) goes once through ``receive_many`` and once through
``receive`` a message at a time, on two databases: each message gets the
same result and every conversation the same state.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.clock import FakeClock
from core.db import Database, open_database
from core.errors import InvalidPhoneNumber, NotFound, SwitchboardError
from core.people import agents
from core.people.authz import SYSTEM
from core.sms import numbers, receiving
from core.sms.receiving import Incoming, ReceiveResult

DEFAULT_NUMBER = "+14155550100"
QUEUE_NUMBER = "+14155550150"
NOT_OURS = "+14155550199"
STRANGER = "+12125550140"
CARL = "+12125550110"
DORA = "+12125550120"
ERIN = "+12125550130"

GROUP = [
    Incoming(STRANGER, DEFAULT_NUMBER, "Hello, is anyone there?", "MO-1"),
    Incoming(CARL, QUEUE_NUMBER, "I need help with my order", "MO-2"),
    Incoming(STRANGER, DEFAULT_NUMBER, "Hello again", "MO-3"),
    Incoming(DORA, DEFAULT_NUMBER, "Stop.", "MO-4"),
    Incoming(ERIN, DEFAULT_NUMBER, "are you open today?", "MO-5"),
    Incoming("not a phone", DEFAULT_NUMBER, "hi", "MO-6"),
    Incoming(STRANGER, NOT_OURS, "wrong number", "MO-7"),
    Incoming(STRANGER, DEFAULT_NUMBER, "Hello, is anyone there?", "MO-1"),
    Incoming(CARL, DEFAULT_NUMBER, "HELP", "MO-8"),
]


async def _prepared(path: Path) -> Database:
    """Our two numbers (one in a queue) and Erin's conversation, owned by alice."""
    db = await open_database(path, FakeClock())
    alice = await agents.add(db, SYSTEM, "alice", "Alice Moreau", "Agent")
    bob = await agents.add(db, SYSTEM, "bob", "Bob Achebe", "Agent")
    await numbers.add(db, SYSTEM, DEFAULT_NUMBER, default=True)
    await numbers.add(db, SYSTEM, QUEUE_NUMBER)
    async with db.transaction() as tx:
        queue = await tx.insert(
            "INSERT INTO queues (name, messaging, created_at) VALUES ('Sales', 1, ?)",
            (tx.now_ms,),
        )
        await tx.execute("UPDATE numbers SET queue_id = ? WHERE e164 = ?", (queue, QUEUE_NUMBER))
    first = await receiving.receive(db, ERIN, DEFAULT_NUMBER, "hi", provider_ref="MO-0")
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE conversations SET owner_id = ?, is_public = 0, waiting_since = NULL"
            " WHERE id = ?",
            (alice.id, first.conversation_id),
        )
        await tx.execute(
            "INSERT INTO conversation_subscribers (conversation_id, agent_id, since)"
            " VALUES (?, ?, ?)",
            (first.conversation_id, bob.id, tx.now_ms),
        )
    return db


async def _announced(db: Database) -> list[tuple[Any, ...]]:
    """Each message.received event: the conversation's phone, the message, the audience."""
    found = []
    for row in await db.fetchall(
        "SELECT e.entity_id, e.data FROM events e WHERE e.kind = 'message.received' ORDER BY e.id"
    ):
        data = json.loads(row["data"])
        body = await db.scalar("SELECT body FROM messages WHERE id = ?", (data["message_id"],))
        phone = await db.scalar("SELECT phone FROM conversations WHERE id = ?", (row[0],))
        found.append((phone, body, data["audience"]))
    return found


def _outcome(result: ReceiveResult | SwitchboardError) -> tuple[Any, ...]:
    if isinstance(result, SwitchboardError):
        return (type(result),)
    return (result.intent, result.duplicate, len(result.replies))


async def _state(db: Database) -> list[tuple[Any, ...]]:
    rows = await db.fetchall(
        "SELECT c.phone, n.e164, c.waiting_since, c.public_due_at, c.is_public, c.queue_id,"
        " c.route_due_at, c.last_inbound_at, c.last_message_at, m.body"
        " FROM conversations c JOIN numbers n ON n.id = c.number_id"
        " LEFT JOIN messages m ON m.id = c.last_inbound_id ORDER BY c.phone, n.e164"
    )
    return [tuple(row) for row in rows]


async def _messages(db: Database) -> list[tuple[Any, ...]]:
    rows = await db.fetchall(
        "SELECT c.phone, m.direction, m.kind, m.body, m.provider_ref, m.optout_flag"
        " FROM messages m JOIN conversations c ON c.id = m.conversation_id"
        " ORDER BY m.provider_ref, m.direction, m.body"
    )
    return [tuple(row) for row in rows]


async def test_a_group_is_stored_as_its_messages_one_by_one(tmp_path: Path) -> None:
    together = await _prepared(tmp_path / "together.sqlite3")
    alone = await _prepared(tmp_path / "alone.sqlite3")
    try:
        grouped = await receiving.receive_many(together, GROUP)
        single: list[ReceiveResult | SwitchboardError] = []
        for message in GROUP:
            try:
                single.append(
                    await receiving.receive(
                        alone,
                        message.sender,
                        message.to,
                        message.body,
                        provider_ref=message.provider_ref,
                    )
                )
            except SwitchboardError as refused:
                single.append(refused)

        assert [_outcome(r) for r in grouped] == [_outcome(r) for r in single]
        assert isinstance(grouped[5], InvalidPhoneNumber)
        assert isinstance(grouped[6], NotFound)
        first, retry = grouped[0], grouped[7]
        assert isinstance(first, ReceiveResult)
        assert isinstance(retry, ReceiveResult)
        assert (retry.message_id, retry.duplicate) == (first.message_id, True)
        assert await _state(together) == await _state(alone)
        assert await _messages(together) == await _messages(alone)
        announced = await _announced(together)
        assert announced == await _announced(alone)
        # Erin's conversation is alice's, and bob follows it: both are told, in id order.
        assert (ERIN, "are you open today?", [1, 2]) in announced
        assert (STRANGER, "Hello again", []) in announced
        state = {(row[0], row[1]): row for row in await _state(together)}
        # The later of two messages in one conversation is its last inbound.
        assert state[(STRANGER, DEFAULT_NUMBER)][-1] == "Hello again"
        # The queue's number routed its new conversation; the owned one started its wait.
        assert state[(CARL, QUEUE_NUMBER)][5] is not None
        assert state[(ERIN, DEFAULT_NUMBER)][2] is not None
        assert state[(ERIN, DEFAULT_NUMBER)][3] is not None
    finally:
        await together.close()
        await alone.close()


async def test_known_senders_and_conversations_are_found_not_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = await _prepared(tmp_path / "db.sqlite3")
    try:
        await receiving.receive_many(db, GROUP)
        made: list[str] = []
        real_contact, real_conversation = (
            receiving.contacts.create_for_phone_in,
            receiving.conversations.get_or_create_in,
        )

        async def contact(*args: Any, **kwargs: Any) -> Any:
            made.append("contact")
            return await real_contact(*args, **kwargs)

        async def conversation(*args: Any, **kwargs: Any) -> Any:
            made.append("conversation")
            return await real_conversation(*args, **kwargs)

        monkeypatch.setattr(receiving.contacts, "create_for_phone_in", contact)
        monkeypatch.setattr(receiving.conversations, "get_or_create_in", conversation)
        stored = {
            m.provider_ref: m for m in GROUP if m.to != NOT_OURS and m.sender != "not a phone"
        }
        again = [Incoming(m.sender, m.to, m.body, f"{ref}-again") for ref, m in stored.items()]
        results = await receiving.receive_many(db, again)

        assert made == []
        assert all(isinstance(r, ReceiveResult) and not r.duplicate for r in results)
        before = {r.conversation_id for r in await _results(db, GROUP)}
        assert {r.conversation_id for r in results if isinstance(r, ReceiveResult)} <= before
    finally:
        await db.close()


async def _results(db: Database, group: list[Incoming]) -> list[ReceiveResult]:
    """The group sent again as it was: each a duplicate naming its stored message."""
    return [r for r in await receiving.receive_many(db, group) if isinstance(r, ReceiveResult)]
