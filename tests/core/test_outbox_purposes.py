"""W2: outbound messages without a conversation (notices, alerts, campaigns, cases)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from core import db as dbmod
from core import settings
from core.clock import FakeClock
from core.db import Database, open_database
from core.delivery import outbox
from core.delivery.gateway import DeliveryReport
from core.delivery.outbox import Retry, Sent
from core.errors import InvalidInput, OptedOut
from core.scheduling.options import WorkerOptions
from core.scheduling.worker import Worker
from core.sms import consent, receiving, sending
from providers import sandbox
from tests.core.conftest import DEFAULT_NUMBER, DORA_MOBILE, ERIN_MOBILE, STRANGER, Team

LEASE = WorkerOptions().send_lease_seconds
OTHERS = [outbox.NOTICE, outbox.ALERT, outbox.CAMPAIGN, outbox.CASE]


async def _queue(db: Database, purpose: str, to: str = STRANGER, body: str = "Heads up") -> int:
    async with db.transaction() as tx:
        return await outbox.queue(tx, purpose, DEFAULT_NUMBER, to, body)


async def _row(db: Database, message_id: int) -> sqlite3.Row:
    row = await db.fetchone("SELECT * FROM messages WHERE id = ?", (message_id,))
    assert row is not None
    return row


@pytest.mark.parametrize("purpose", OTHERS)
async def test_a_message_without_a_conversation_is_sent_retried_and_reported(
    db: Database, team: Team, clock: FakeClock, worker: Worker, purpose: str
) -> None:
    await settings.update(db, team.dana, sandbox_delivery_seconds=0)
    message_id = await _queue(db, purpose)
    [sms] = await outbox.claim(db, 10, LEASE)
    assert (sms.message_id, sms.sender, sms.recipient, sms.purpose) == (
        message_id,
        DEFAULT_NUMBER,
        STRANGER,
        purpose,
    )
    await outbox.record(db, [Retry(message_id, "provider busy", retry_after=5)])
    assert (await _row(db, message_id))["status"] == "queued"
    clock.advance(seconds=5)
    await worker.run_once()
    row = await _row(db, message_id)
    assert (row["status"], row["conversation_id"], row["purpose"]) == ("delivered", None, purpose)
    assert [m.message_id for m in await sandbox.inbox(db, STRANGER)] == [message_id]
    assert await db.scalar("SELECT count(*) FROM conversations") == 0
    kinds = [
        r["kind"]
        for r in await db.fetchall(
            "SELECT kind FROM events WHERE entity = 'message' AND entity_id = ?", (message_id,)
        )
    ]
    assert kinds == [
        "message.queued",
        "message.retrying",
        "message.sent",
        "message.delivered",
    ]


@pytest.mark.parametrize("purpose", OTHERS)
async def test_opt_out_blocks_every_purpose(
    db: Database, team: Team, clock: FakeClock, purpose: str
) -> None:
    queued = await _queue(db, purpose)
    async with db.transaction() as tx:
        await consent.opt_out_in(tx, STRANGER, keyword="STOP")
    with pytest.raises(OptedOut, match="opted out"):
        await _queue(db, purpose)
    # Queued before the STOP: failed at claim, never sent.
    assert await outbox.claim(db, 10, LEASE) == []
    row = await _row(db, queued)
    assert (row["status"], row["error"]) == ("failed", outbox.OPTED_OUT_REASON)


async def test_a_stop_fails_what_is_queued_to_the_number_whatever_its_purpose(
    db: Database, team: Team
) -> None:
    ids = [await _queue(db, p, to=DORA_MOBILE) for p in OTHERS]
    chat = (await sending.send(db, team.alice, DORA_MOBILE, "hi")).message_id
    await receiving.receive(db, DORA_MOBILE, DEFAULT_NUMBER, "STOP")
    assert {(await _row(db, i))["status"] for i in [*ids, chat]} == {"failed"}


async def test_the_first_message_carries_the_opt_out_line_except_an_alert(
    db: Database, team: Team
) -> None:
    notice = (await settings.load(db)).optout_notice
    alert = await _queue(db, outbox.ALERT, to=DORA_MOBILE, body="Shift starts")
    assert (await _row(db, alert))["body"] == "Shift starts"
    assert await consent.notice_due(db, DORA_MOBILE)  # an alert did not use it up
    first = await _queue(db, outbox.CAMPAIGN, to=DORA_MOBILE, body="Sale")
    second = await _queue(db, outbox.NOTICE, to=DORA_MOBILE, body="Reminder")
    assert (await _row(db, first))["body"] == f"Sale\n{notice}"
    assert (await _row(db, second))["body"] == "Reminder"


@pytest.mark.parametrize(
    ("purpose", "sender", "to", "refusal"),
    [
        ("conversation", DEFAULT_NUMBER, STRANGER, "has one of the purposes"),
        ("spam", DEFAULT_NUMBER, STRANGER, "not 'spam'"),
        ("notice", STRANGER, ERIN_MOBILE, "not one of our SMS numbers"),
        ("notice", DEFAULT_NUMBER, DEFAULT_NUMBER, "one of our own numbers"),
    ],
)
async def test_queue_refuses_what_cannot_go(
    db: Database, team: Team, purpose: str, sender: str, to: str, refusal: str
) -> None:
    with pytest.raises(InvalidInput, match=refusal):
        async with db.transaction() as tx:
            await outbox.queue(tx, purpose, sender, to, "x")
    assert await db.scalar("SELECT count(*) FROM messages") == 0


async def test_reports_are_matched_by_batch_and_recipient(db: Database, team: Team) -> None:
    to_dora = await _queue(db, outbox.CAMPAIGN, to=DORA_MOBILE, body="Sale")
    to_erin = await _queue(db, outbox.CAMPAIGN, to=ERIN_MOBILE, body="Sale")
    await outbox.claim(db, 10, LEASE)
    # One provider batch for both (batch sending): one ID, two recipients.
    await outbox.record(db, [Sent(to_dora, "batch-1"), Sent(to_erin, "batch-1")])
    # A report on the whole batch cannot say which: it settles neither.
    assert await outbox.apply_reports(db, [DeliveryReport("batch-1", "delivered")]) == 0
    reports = [
        DeliveryReport("batch-1", "delivered", recipient=DORA_MOBILE, provider_status="delivered"),
        DeliveryReport(
            "batch-1", "failed", "no route", recipient=ERIN_MOBILE, provider_status="failed"
        ),
    ]
    assert await outbox.apply_reports(db, reports) == 2
    assert [(await _row(db, m))["status"] for m in (to_dora, to_erin)] == ["delivered", "failed"]


async def test_no_event_of_the_outbox_names_a_number_or_a_body(
    db: Database, team: Team, clock: FakeClock, worker: Worker
) -> None:
    await _queue(db, outbox.NOTICE, to=DORA_MOBILE, body="Secret body")
    await _queue(
        db,
        outbox.ALERT,
        to="+1212555" + sandbox.UNREACHABLE_SUFFIX,  # fails: its event has no error text
        body="Secret body",
    )
    await worker.run_once()
    data = " ".join(
        r["data"] for r in await db.fetchall("SELECT data FROM events WHERE entity = 'message'")
    )
    assert "Secret" not in data
    assert "555" not in data  # no number: neither the recipients nor ours
    assert all(
        "purpose" in json.loads(r["data"])
        for r in await db.fetchall("SELECT data FROM events WHERE entity = 'message'")
    )


async def test_upgrading_keeps_messages_and_their_attachments(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    for _version, sql in dbmod.migrations()[:4]:
        for statement in dbmod._statements(sql):
            old.execute(statement)
    old.executescript(
        "INSERT INTO numbers (id, e164, created_at) VALUES (1, '+14155550100', 0);"
        "INSERT INTO conversations (id, number_id, phone, created_at)"
        " VALUES (1, 1, '+12125550120', 0);"
        "INSERT INTO messages (id, conversation_id, direction, body, encoding, segments,"
        " status, provider_id, created_at, updated_at)"
        " VALUES (7, 1, 'out', 'hi', 'GSM-7', 1, 'sent', 'p-7', 0, 0);"
        "INSERT INTO attachments (message_id, filename, mime, size, content)"
        " VALUES (7, 'a.png', 'image/png', 1, x'00');"
        "PRAGMA user_version = 4;"
    )
    old.close()
    db = await open_database(path, clock)
    try:
        row = await _row(db, 7)
        assert (row["sender"], row["recipient"], row["purpose"]) == (
            "+14155550100",
            "+12125550120",
            "conversation",
        )
        assert await db.scalar("SELECT count(*) FROM attachments WHERE message_id = 7") == 1
        indexes = {
            r["name"]
            for r in await db.fetchall(
                "SELECT name FROM sqlite_master WHERE tbl_name = 'messages' AND type = 'index'"
            )
        }
        assert {
            "messages_outbox",
            "messages_provider_id",
            "messages_provider_ref",
            "messages_awaiting_report",
            "messages_optout_pending",
            "messages_sending",
            "messages_conversation",
        } <= indexes
        # Foreign keys are back on after the upgrade: deleting cascades again.
        async with db.transaction() as tx:
            await tx.execute("DELETE FROM messages WHERE id = 7")
        assert await db.scalar("SELECT count(*) FROM attachments") == 0
    finally:
        await db.close()
