"""Schema 3: delivery reports stored once, attempts and parts passed to providers, status (W5)."""

from __future__ import annotations

import pytest

from core import messaging, outbox, settings, status
from core.clock import FakeClock, to_ms
from core.db import Database
from core.errors import LimitExceeded
from core.gateway import DeliveryReport
from core.outbox import Retry, Sent
from tests.core.conftest import DORA_MOBILE, ERIN_MOBILE, Team

LEASE = 120.0


async def _queued(db: Database, team: Team, body: str = "Hello", to: str = DORA_MOBILE) -> int:
    return (await messaging.send(db, team.alice, to, body)).message_id


async def _status(db: Database, message_id: int) -> str:
    return await db.scalar("SELECT status FROM messages WHERE id = ?", (message_id,))


async def test_a_report_is_stored_once_however_often_it_comes(db: Database, team: Team):
    message_id = await _queued(db, team)
    await outbox.claim(db, 10, LEASE)
    await outbox.record(db, [Sent(message_id, "batch-1")])
    dispatched = DeliveryReport(
        "batch-1", "pending", recipient="12125550120", provider_status="Dispatched"
    )
    delivered = DeliveryReport(
        "batch-1", "delivered", recipient="12125550120", provider_status="Delivered"
    )

    assert await outbox.apply_reports(db, [dispatched, dispatched]) == 0
    assert await _status(db, message_id) == "sent", "a pending report changes nothing"
    assert await outbox.apply_reports(db, [delivered]) == 1
    assert await outbox.apply_reports(db, [delivered, dispatched, delivered]) == 0

    rows = await db.fetchall(
        "SELECT provider_id, recipient, status, outcome, message_id FROM delivery_reports"
        " ORDER BY id"
    )
    assert [tuple(r) for r in rows] == [
        ("batch-1", "12125550120", "dispatched", "pending", message_id),
        ("batch-1", "12125550120", "delivered", "delivered", message_id),
    ]
    assert await _status(db, message_id) == "delivered"


async def test_status_names_are_compared_without_case(db: Database, team: Team):
    message_id = await _queued(db, team)
    await outbox.claim(db, 10, LEASE)
    await outbox.record(db, [Sent(message_id, "b")])
    await outbox.apply_reports(db, [DeliveryReport("b", "delivered", provider_status="DELIVERED")])
    await outbox.apply_reports(db, [DeliveryReport("b", "delivered", provider_status="Delivered")])
    assert await db.scalar("SELECT count(*) FROM delivery_reports") == 1


async def test_a_report_before_our_record_of_sent_keeps_the_final_status_and_gains_the_id(
    db: Database, team: Team
):
    message_id = await _queued(db, team)
    await outbox.claim(db, 10, LEASE)
    report = DeliveryReport("batch-9", "delivered", message_id=message_id, recipient="x")
    assert await outbox.apply_reports(db, [report]) == 1
    await outbox.record(db, [Sent(message_id, "batch-9")])
    row = await db.fetchone("SELECT status, provider_id FROM messages WHERE id = ?", (message_id,))
    assert tuple(row) == ("delivered", "batch-9")  # type: ignore[arg-type]


async def test_the_provider_is_told_the_attempt_and_the_most_parts(
    db: Database, team: Team, clock: FakeClock
):
    await settings.update(db, team.dana, max_message_parts=3)
    message_id = await _queued(db, team)
    [first] = await outbox.claim(db, 10, LEASE)
    assert (first.attempt, first.max_parts) == (1, 3)
    await outbox.record(db, [Retry(message_id, "Sinch answered 503", retry_after=1)])
    clock.advance(seconds=2)
    [second] = await outbox.claim(db, 10, LEASE)
    assert second.attempt == 2, "a provider can look the message up before sending it again"


async def test_a_message_longer_than_the_most_parts_is_refused_when_written(
    db: Database, team: Team
):
    await settings.update(db, team.dana, max_message_parts=2)
    await _queued(db, team, "x" * 250)  # two parts of 153, with the opt-out notice
    with pytest.raises(LimitExceeded, match="3 SMS parts and the most allowed is 2"):
        await _queued(db, team, "x" * 307, to=ERIN_MOBILE)
    assert await db.scalar("SELECT count(*) FROM messages WHERE body LIKE 'xxxx%'") == 1


async def test_status_shows_depths_the_oldest_queued_and_the_last_errors(
    db: Database, team: Team, clock: FakeClock
):
    quiet = await status.snapshot(db)
    assert (quiet.holder, quiet.queued, quiet.oldest_queued, quiet.last_errors) == (
        None,
        0,
        None,
        [],
    )
    first = await _queued(db, team, "one")
    clock.advance(seconds=1)
    await _queued(db, team, "two")
    await outbox.claim(db, 1, LEASE)
    await outbox.record(db, [Retry(first, "Sinch answered 503: try later", retry_after=30)])

    found = await status.snapshot(db)
    assert (found.queued, found.sending) == (2, 0)
    assert found.oldest_queued is not None
    assert found.oldest_queued.message_id != first, "the retried one is due later"
    assert [(e.kind, e.message_id, e.reason) for e in found.last_errors] == [
        ("message.retrying", first, "Sinch answered 503: try later")
    ]
    assert to_ms(found.now) == to_ms(clock.now())


async def test_a_delivered_report_overrides_giving_up_on_a_message_the_provider_had(
    db: Database, team: Team, clock: FakeClock
):
    await settings.update(db, team.dana, max_attempts=1)
    message_id = await _queued(db, team)
    await outbox.claim(db, 10, LEASE)
    # Our only attempt timed out, but the provider had taken the message.
    await outbox.record(db, [Retry(message_id, "Sinch did not answer within 10 s")])
    assert await _status(db, message_id) == "failed"
    late = DeliveryReport(
        "batch-7", "delivered", message_id=message_id, provider_status="Delivered"
    )
    assert await outbox.apply_reports(db, [late]) == 1
    row = await db.fetchone(
        "SELECT status, provider_id, error FROM messages WHERE id = ?", (message_id,)
    )
    assert tuple(row) == ("delivered", "batch-7", None)  # type: ignore[arg-type]


async def test_a_failed_report_does_not_touch_a_message_we_failed_ourselves(
    db: Database, team: Team
):
    message_id = await _queued(db, team)
    await outbox.claim(db, 10, LEASE)
    await outbox.record(db, [outbox.Failed(message_id, "Sinch refused it (400)")])
    report = DeliveryReport("b", "failed", "Sinch reported Failed", message_id=message_id)
    assert await outbox.apply_reports(db, [report]) == 0
    error = await db.scalar("SELECT error FROM messages WHERE id = ?", (message_id,))
    assert error == "Sinch refused it (400)"
