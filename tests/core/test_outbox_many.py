"""``outbox.queue_many`` and ``emails.queue_many_in``: the single-row rules, a batch at a time."""

from __future__ import annotations

import pytest

from core import settings
from core.db import Database
from core.delivery import emails, outbox
from core.errors import InvalidInput, OptedOut
from core.people.authz import SYSTEM
from core.sms import consent
from tests.core.conftest import DEFAULT_NUMBER, DORA_MOBILE, ERIN_MOBILE, STRANGER, Team


async def test_each_refusal_is_in_its_place_and_the_others_are_queued(
    db: Database, team: Team
) -> None:
    async with db.transaction() as tx:
        await consent.opt_out_in(tx, DORA_MOBILE, keyword="STOP")
    # The refusal's time is the account's zone's.
    await settings.update(db, SYSTEM, time_zone="Asia/Kolkata")
    async with db.transaction() as tx:
        with pytest.raises(OptedOut, match=r"by replying STOP on 2026-01-05 14:30 IST; nothing"):
            await consent.ensure_may_text(tx, DORA_MOBILE)
    await settings.update(db, SYSTEM, time_zone="UTC")
    async with db.transaction() as tx:
        results = await outbox.queue_many(
            tx,
            outbox.NOTICE,
            DEFAULT_NUMBER,
            [
                (STRANGER, "one"),
                (DORA_MOBILE, "two"),
                (DEFAULT_NUMBER, "three"),
                (ERIN_MOBILE, "  "),
                (STRANGER, "five"),
            ],
        )
    first, opted, ours, empty, fifth = results
    assert isinstance(opted, OptedOut)
    assert "opted out of SMS by replying STOP on 2026-01-05 09:00 UTC;" in str(opted)
    assert isinstance(ours, InvalidInput)
    assert "one of our own numbers" in str(ours)
    assert str(empty) == "the message is empty"
    assert isinstance(first, int)
    assert isinstance(fifth, int)
    rows = await db.fetchall(
        "SELECT id, recipient, body, purpose, status FROM messages ORDER BY id"
    )
    assert [(r["id"], r["recipient"], r["purpose"], r["status"]) for r in rows] == [
        (first, STRANGER, "notice", "queued"),
        (fifth, STRANGER, "notice", "queued"),
    ]
    # The opt-out line goes with the first message ever sent to a number, once.
    assert rows[0]["body"] == "one\nReply STOP to unsubscribe."
    assert rows[1]["body"] == "five"
    events = await db.fetchall("SELECT entity_id FROM events WHERE kind = 'message.queued'")
    assert [e[0] for e in events] == [first, fifth]


async def test_a_batch_not_announced_writes_no_event_per_row(db: Database, team: Team) -> None:
    # A close announces its notices with one event of its own.
    async with db.transaction() as tx:
        before = await tx.scalar("SELECT count(*) FROM events")
        sms = await outbox.queue_many(
            tx, outbox.NOTICE, DEFAULT_NUMBER, [(STRANGER, "one")], announce=False
        )
        mail = await emails.queue_many_in(
            tx, "notice", [("a@example.com", "Subject", "Body")], announce=False
        )
    assert isinstance(sms[0], int)
    assert len(mail) == 1
    assert await db.scalar("SELECT count(*) FROM events") == before


async def test_a_sender_that_cannot_send_is_refused_for_the_whole_batch(
    db: Database, team: Team
) -> None:
    async with db.transaction() as tx:
        with pytest.raises(InvalidInput, match="not one of our SMS numbers"):
            await outbox.queue_many(tx, outbox.NOTICE, STRANGER, [(ERIN_MOBILE, "hi")])
        with pytest.raises(InvalidInput, match="purposes"):
            await outbox.queue_many(tx, outbox.CONVERSATION, DEFAULT_NUMBER, [(ERIN_MOBILE, "hi")])


async def test_emails_are_queued_in_order_with_their_own_message_keys(db: Database) -> None:
    async with db.transaction() as tx:
        ids = await emails.queue_many_in(
            tx, "notice", [(f"p{i}@example.com", f"Subject {i}", "Body") for i in range(5)]
        )
    rows = await db.fetchall("SELECT id, recipient, subject, message_key FROM emails ORDER BY id")
    assert [r["id"] for r in rows] == ids
    assert [r["recipient"] for r in rows] == [f"p{i}@example.com" for i in range(5)]
    assert len({r["message_key"] for r in rows}) == 5
    with pytest.raises(InvalidInput, match="an email subject holds a line break"):
        async with db.transaction() as tx:
            await emails.queue_many_in(
                tx, "notice", [("a@example.com", "ok", "x"), ("b@example.com", "two\nlines", "x")]
            )
    assert await db.scalar("SELECT count(*) FROM emails") == 5  # all or none
