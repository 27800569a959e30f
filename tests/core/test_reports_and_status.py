"""Schema 3: delivery reports stored once, attempts and parts passed to providers, status (W5)."""

from __future__ import annotations

import pytest

from core import settings, status
from core.clock import FakeClock, to_ms
from core.db import Database
from core.delivery import outbox
from core.delivery.gateway import DeliveryReport
from core.delivery.outbox import Retry, Sent
from core.errors import InvalidInput, LimitExceeded
from core.sms import sending
from tests.core.conftest import DORA_MOBILE, ERIN_MOBILE, Team

LEASE = 120.0


async def _queued(db: Database, team: Team, body: str = "Hello", to: str = DORA_MOBILE) -> int:
    return (await sending.send(db, team.alice, to, body)).message_id


async def _status(db: Database, message_id: int) -> str:
    return await db.scalar("SELECT status FROM messages WHERE id = ?", (message_id,))


async def test_a_report_is_stored_once_however_often_it_comes(db: Database, team: Team):
    message_id = await _queued(db, team)
    await outbox.claim(db, 10, LEASE)
    await outbox.record(db, [Sent(message_id, "batch-1")])
    dispatched = DeliveryReport(
        "batch-1", "pending", recipient=DORA_MOBILE, provider_status="Dispatched"
    )
    delivered = DeliveryReport(
        "batch-1", "delivered", recipient=DORA_MOBILE, provider_status="Delivered"
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
        ("batch-1", DORA_MOBILE, "dispatched", "pending", message_id),
        ("batch-1", DORA_MOBILE, "delivered", "delivered", message_id),
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
    report = DeliveryReport("batch-9", "delivered", message_id=message_id, recipient=DORA_MOBILE)
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
        "batch-7",
        "delivered",
        message_id=message_id,
        recipient=DORA_MOBILE,
        provider_status="Delivered",
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


async def _sent_as(db: Database, team: Team, batch: str, to: str = DORA_MOBILE) -> int:
    message_id = await _queued(db, team, f"sent as {batch}", to=to)
    await outbox.claim(db, 10, LEASE)
    await outbox.record(db, [Sent(message_id, batch)])
    return message_id


async def _stored(db: Database) -> list[tuple]:
    rows = await db.fetchall(
        "SELECT provider_id, recipient, outcome, message_id FROM delivery_reports ORDER BY id"
    )
    return [tuple(r) for r in rows]


async def test_a_report_naming_our_message_from_another_batch_changes_nothing(
    db: Database, team: Team, caplog: pytest.LogCaptureFixture
):
    message_id = await _sent_as(db, team, "batch-ours")
    # Another installation on the same account numbers its messages too.
    theirs = DeliveryReport(
        "batch-theirs", "failed", "Sinch reported Failed", message_id=message_id,
        recipient=DORA_MOBILE, provider_status="failed",
    )  # fmt: skip
    assert await outbox.apply_reports(db, [theirs]) == 0
    assert await _status(db, message_id) == "sent"
    assert await _stored(db) == [("batch-theirs", DORA_MOBILE, "failed", None)]
    [warning] = [r.getMessage() for r in caplog.records if r.name == "switchboard.outbox"]
    assert "'batch-theirs'" in warning
    assert f"naming our message {message_id}" in warning
    assert "not applied" in warning

    ours = DeliveryReport("batch-ours", "delivered", recipient=DORA_MOBILE)
    assert await outbox.apply_reports(db, [ours]) == 1
    assert await _status(db, message_id) == "delivered"


async def test_a_report_for_our_batch_to_another_recipient_changes_nothing(
    db: Database, team: Team
):
    message_id = await _sent_as(db, team, "batch-1")
    stray = DeliveryReport("batch-1", "failed", message_id=message_id, recipient=ERIN_MOBILE)
    assert await outbox.apply_reports(db, [stray]) == 0
    assert await _status(db, message_id) == "sent"
    assert await _stored(db) == [("batch-1", ERIN_MOBILE, "failed", None)]


async def test_a_report_for_one_message_does_not_settle_another_by_our_id(db: Database, team: Team):
    first = await _sent_as(db, team, "batch-1")
    second = await _sent_as(db, team, "batch-2", to=ERIN_MOBILE)
    # Batch 1's report, but naming the second message: it is batch 1's message's.
    report = DeliveryReport("batch-1", "delivered", message_id=second, recipient=DORA_MOBILE)
    assert await outbox.apply_reports(db, [report]) == 1
    assert (await _status(db, first), await _status(db, second)) == ("delivered", "sent")


async def test_before_we_know_the_batch_our_id_needs_the_recipient_too(db: Database, team: Team):
    message_id = await _queued(db, team)
    await outbox.claim(db, 10, LEASE)  # in flight: no provider ID recorded yet
    by_id_alone = DeliveryReport("batch-5", "delivered", message_id=message_id)
    elsewhere = DeliveryReport("batch-5", "failed", message_id=message_id, recipient=ERIN_MOBILE)
    assert await outbox.apply_reports(db, [by_id_alone, elsewhere]) == 0
    assert await _status(db, message_id) == "sending"
    right = DeliveryReport(
        "batch-5", "delivered", message_id=message_id, recipient=DORA_MOBILE,
        provider_status="delivered",
    )  # fmt: skip
    assert await outbox.apply_reports(db, [right]) == 1
    row = await db.fetchone("SELECT status, provider_id FROM messages WHERE id = ?", (message_id,))
    assert tuple(row) == ("delivered", "batch-5")  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["provider_id", "reason", "recipient", "provider_status"])
def test_a_report_with_text_that_is_not_utf8_is_refused_when_made(field: str) -> None:
    fields = {"provider_id": "b1", "recipient": "+12125550101", "provider_status": "delivered"}
    fields[field] = "x\ud800"
    with pytest.raises(InvalidInput, match=f"delivery report's {field} must be UTF-8 text"):
        DeliveryReport(status="delivered", **fields)  # type: ignore[arg-type]
