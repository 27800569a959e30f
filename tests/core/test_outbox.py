"""W2: the outbox life cycle, retries and backoff, lapsed leases, reports, rate limit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core import clock as clocks
from core import settings
from core.clock import FakeClock
from core.db import Database
from core.delivery import outbox
from core.delivery.gateway import DeliveryReport
from core.delivery.outbox import Failed, Retry, Sent
from core.scheduling.options import WorkerOptions
from core.scheduling.worker import Worker
from core.sms import consent, receiving, sending
from providers import sandbox
from providers.sandbox import SandboxGateway
from tests.core.conftest import ALICE_NUMBER, DORA_MOBILE, ERIN_MOBILE, STRANGER, Team

LEASE = WorkerOptions().send_lease_seconds


async def _row(db: Database, message_id: int) -> dict:
    row = await db.fetchone("SELECT * FROM messages WHERE id = ?", (message_id,))
    assert row is not None
    return dict(row)


async def _queued(db: Database, team: Team, body: str = "Hello") -> int:
    return (await sending.send(db, team.alice, DORA_MOBILE, body)).message_id


async def _claim_one(db: Database, message_id: int) -> None:
    claimed = await outbox.claim(db, 10, LEASE)
    assert [c.message_id for c in claimed] == [message_id]


async def test_a_message_goes_queued_sending_sent_delivered(
    db: Database, team: Team, clock: FakeClock
) -> None:
    message_id = await _queued(db, team)
    assert (await _row(db, message_id))["status"] == "queued"

    [sms] = await outbox.claim(db, 10, LEASE)
    assert (sms.message_id, sms.sender, sms.recipient) == (message_id, ALICE_NUMBER, DORA_MOBILE)
    row = await _row(db, message_id)
    assert (row["status"], row["attempts"]) == ("sending", 1)
    assert row["lease_until"] == clocks.to_ms(clock.now()) + int(LEASE * 1000)
    # A leased row is not claimed again.
    assert await outbox.claim(db, 10, LEASE) == []

    await outbox.record(db, [Sent(message_id, "p-1")])
    row = await _row(db, message_id)
    assert (row["status"], row["provider_id"], row["lease_until"]) == ("sent", "p-1", None)
    clock.advance(seconds=3)
    assert await outbox.apply_reports(db, [DeliveryReport("p-1", "delivered")]) == 1
    row = await _row(db, message_id)
    assert (row["status"], row["delivered_at"]) == ("delivered", clocks.to_ms(clock.now()))


async def test_retry_backs_off_exponentially_then_gives_up(
    db: Database, team: Team, clock: FakeClock
) -> None:
    await settings.update(
        db, team.dana, retry_base_seconds=5, retry_max_seconds=600, max_attempts=4
    )
    message_id = await _queued(db, team)

    waits = []
    for _ in range(3):
        await _claim_one(db, message_id)
        await outbox.record(db, [Retry(message_id, "provider busy")])
        row = await _row(db, message_id)
        assert (row["status"], row["error"]) == ("queued", "provider busy")
        wait_ms = row["next_attempt_at"] - clocks.to_ms(clock.now())
        waits.append(wait_ms / 1000)
        # Not due a millisecond early.
        clock.advance(milliseconds=wait_ms - 1)
        assert await outbox.claim(db, 10, LEASE) == []
        clock.advance(milliseconds=1)
    assert waits == [5.0, 10.0, 20.0]

    await _claim_one(db, message_id)
    await outbox.record(db, [Retry(message_id, "provider busy")])
    row = await _row(db, message_id)
    assert (row["status"], row["attempts"]) == ("failed", 4)
    assert row["error"] == "gave up after 4 attempts: provider busy"
    assert row["next_attempt_at"] is None
    clock.advance(hours=1)
    assert await outbox.claim(db, 10, LEASE) == []


async def test_backoff_is_capped() -> None:
    assert [outbox.backoff_seconds(n, 5, 30) for n in range(1, 6)] == [5, 10, 20, 30, 30]


async def test_retry_after_is_honoured(db: Database, team: Team, clock: FakeClock) -> None:
    message_id = await _queued(db, team)
    await _claim_one(db, message_id)
    await outbox.record(db, [Retry(message_id, "429 too many requests", retry_after=42)])
    row = await _row(db, message_id)
    assert row["next_attempt_at"] == clocks.to_ms(clock.now() + timedelta(seconds=42))
    clock.advance(seconds=41)
    assert await outbox.claim(db, 10, LEASE) == []
    clock.advance(seconds=1)
    await _claim_one(db, message_id)


async def test_a_retry_that_is_not_an_attempt_does_not_count(
    db: Database, team: Team, clock: FakeClock
) -> None:
    await settings.update(db, team.dana, max_attempts=1)
    message_id = await _queued(db, team)
    for _ in range(3):
        await _claim_one(db, message_id)
        await outbox.record(db, [Retry(message_id, "rate", retry_after=1, counts_as_attempt=False)])
        row = await _row(db, message_id)
        assert (row["status"], row["attempts"], row["error"]) == ("queued", 0, None)
        clock.advance(seconds=1)


async def test_failed_is_final_with_its_reason(db: Database, team: Team, clock: FakeClock) -> None:
    message_id = await _queued(db, team)
    await _claim_one(db, message_id)
    await outbox.record(db, [Failed(message_id, "invalid destination")])
    row = await _row(db, message_id)
    assert (row["status"], row["error"]) == ("failed", "invalid destination")
    clock.advance(hours=1)
    assert await outbox.claim(db, 10, LEASE) == []
    # A late Sent for it changes nothing.
    await outbox.record(db, [Sent(message_id, "late")])
    assert (await _row(db, message_id))["status"] == "failed"


async def test_sandbox_unreachable_number_fails_with_the_reason(
    db: Database, team: Team, worker: Worker
) -> None:
    result = await sending.send(db, team.bob, "+12125550199", "Your parcel is waiting.")
    await worker.run_once()
    row = await _row(db, result.message_id)
    assert row["status"] == "failed"
    assert "unreachable" in row["error"]
    assert await sandbox.inbox(db, "+12125550199") == []


async def test_a_lapsed_sending_lease_is_requeued_and_the_resend_is_not_a_second_message(
    db: Database, team: Team, clock: FakeClock, worker: Worker
) -> None:
    # The provider reports delivery late, so the lease lapses first. (A report
    # that beats the lease marks the message delivered: see the next test.)
    await settings.update(db, team.dana, sandbox_delivery_seconds=LEASE * 3)
    message_id = await _queued(db, team)
    # A worker claims, hands the message to the provider, and dies before recording.
    [sms] = await outbox.claim(db, 10, LEASE)
    await SandboxGateway(db).send(sms)
    assert (await _row(db, message_id))["status"] == "sending"

    clock.advance(seconds=LEASE / 2)
    await worker.run_once()
    assert (await _row(db, message_id))["status"] == "sending", "lease still held"

    clock.advance(seconds=LEASE / 2 + 1)
    await worker.run_once()
    row = await _row(db, message_id)
    assert (row["status"], row["attempts"]) == ("sent", 2)
    rows = await db.fetchall("SELECT * FROM sandbox_messages")
    assert [(r["message_id"], r["send_calls"]) for r in rows] == [(message_id, 2)]
    requeued = await db.fetchall("SELECT entity_id FROM events WHERE kind = 'message.requeued'")
    assert [r["entity_id"] for r in requeued] == [message_id]
    clock.advance(seconds=LEASE * 3)
    await worker.run_once()
    assert [m.body for m in await sandbox.inbox(db, DORA_MOBILE)] == [row["body"]]
    assert (await _row(db, message_id))["status"] == "delivered"


async def test_a_delivery_report_that_beats_the_record_is_kept(
    db: Database, team: Team, clock: FakeClock, worker: Worker
) -> None:
    message_id = await _queued(db, team)
    [sms] = await outbox.claim(db, 10, LEASE)
    await SandboxGateway(db).send(sms)  # the worker dies before recording Sent
    clock.advance(seconds=5)
    await worker.run_once()  # the sandbox reports delivery, by our message ID
    assert (await _row(db, message_id))["status"] == "delivered"
    clock.advance(seconds=LEASE * 2)
    await worker.run_once()
    row = await _row(db, message_id)
    assert (row["status"], row["attempts"]) == ("delivered", 1), "never requeued or resent"
    assert await db.scalar("SELECT send_calls FROM sandbox_messages") == 1


async def test_delivery_reports_applied_twice_change_nothing_the_second_time(
    db: Database, team: Team, clock: FakeClock, worker: Worker
) -> None:
    delivered = await _queued(db, team, "one")
    failed = await _queued(db, team, "two")
    await worker.run_once()
    assert (await _row(db, delivered))["status"] == "sent"
    reports = [
        DeliveryReport(f"sandbox-{delivered}", "delivered"),
        DeliveryReport(
            f"sandbox-{failed}", "failed", "no route", message_id=failed, recipient=DORA_MOBILE
        ),
    ]
    clock.advance(seconds=1)
    assert await outbox.apply_reports(db, reports) == 2
    first = [await _row(db, delivered), await _row(db, failed)]
    assert (first[0]["status"], first[1]["status"], first[1]["error"]) == (
        "delivered",
        "failed",
        "no route",
    )
    events = await db.scalar("SELECT count(*) FROM events")

    clock.advance(minutes=5)
    assert await outbox.apply_reports(db, reports) == 0
    assert [await _row(db, delivered), await _row(db, failed)] == first
    assert await db.scalar("SELECT count(*) FROM events") == events
    # A late 'failed' for a delivered message does not undo it either.
    assert await outbox.apply_reports(db, [DeliveryReport(f"sandbox-{delivered}", "failed")]) == 0
    assert (await _row(db, delivered))["status"] == "delivered"


async def test_rate_limit_per_sender_delays_without_failing(
    db: Database, team: Team, clock: FakeClock, worker: Worker
) -> None:
    await settings.update(db, team.dana, rate_segments_per_second=2)
    ids = [
        (await sending.send(db, team.bob, STRANGER, f"Message {i}")).message_id for i in range(10)
    ]
    # Another sender has its own allowance.
    other = (await sending.send(db, team.alice, DORA_MOBILE, "From Alice")).message_id

    await worker.run_once()
    rows = [await _row(db, i) for i in ids]
    assert [r["status"] for r in rows] == ["sent"] * 2 + ["queued"] * 8
    assert all(r["attempts"] == 0 and r["error"] is None for r in rows[2:])
    assert (await _row(db, other))["status"] == "sent"
    assert len(await sandbox.inbox(db, STRANGER)) == 2

    # Time moves: about two a second, in order, none lost, none failed.
    for _ in range(8):
        clock.advance(seconds=1)
        await worker.run_once()
    statuses = [(await _row(db, i))["status"] for i in ids]
    assert "failed" not in statuses
    assert statuses.count("queued") == 0
    inbox = await sandbox.inbox(db, STRANGER)
    assert sorted(m.message_id for m in inbox) == ids
    accepted = [m.accepted_at for m in inbox]
    per_second = {t: accepted.count(t) for t in accepted}
    assert max(per_second.values()) <= 2


async def test_a_message_due_after_an_opt_out_is_failed_at_claim(
    db: Database, team: Team, clock: FakeClock
) -> None:
    message_id = await _queued(db, team)
    await _claim_one(db, message_id)
    await outbox.record(db, [Retry(message_id, "busy", retry_after=10)])
    # Opt-out recorded behind the outbox's back (another process, an import...).
    async with db.transaction() as tx:
        await consent.opt_out_in(tx, DORA_MOBILE, keyword="STOP")
    clock.advance(seconds=10)
    assert await outbox.claim(db, 10, LEASE) == []
    row = await _row(db, message_id)
    assert (row["status"], row["error"]) == ("failed", outbox.OPTED_OUT_REASON)


async def test_a_batch_of_opted_out_rows_does_not_stall_the_messages_behind_it(
    db: Database, team: Team
) -> None:
    blocked = [await _queued(db, team, f"offer {i}") for i in range(2)]
    behind = (await sending.send(db, team.alice, ERIN_MOBILE, "hello")).message_id
    async with db.transaction() as tx:
        await consent.opt_out_in(tx, DORA_MOBILE, keyword="STOP")
    claimed = await outbox.claim(db, 2, LEASE)
    assert [c.message_id for c in claimed] == [behind]
    assert [(await _row(db, m))["status"] for m in blocked] == ["failed", "failed"]


async def test_a_stop_confirmation_requeued_after_an_opt_in_is_not_sent(
    db: Database, team: Team, clock: FakeClock
) -> None:
    received = await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "STOP")
    [confirmation] = received.replies
    await _claim_one(db, confirmation)  # then the worker dies mid-send
    await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "START")
    clock.advance(seconds=LEASE + 1)
    claimed = await outbox.claim(db, 10, LEASE)
    assert confirmation not in [c.message_id for c in claimed]
    row = await _row(db, confirmation)
    assert (row["status"], row["error"]) == ("failed", outbox.OPTED_IN_REASON)


@pytest.mark.parametrize("count", [0, 3])
async def test_depths_counts_what_waits(db: Database, team: Team, count: int) -> None:
    for i in range(count):
        await _queued(db, team, f"m{i}")
    depths = await outbox.depths(db)
    assert (depths.queued, depths.sending) == (count, 0)
