"""A4: the monthly bundle counts every segment sent, and at 100 % warns or holds."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from core import settings, status
from core.clock import FakeClock, to_ms
from core.db import Database
from core.delivery import bundle, outbox
from core.delivery.outbox import Sent
from core.people.authz import SYSTEM
from core.scheduling.options import WorkerOptions
from core.scheduling.worker import Worker
from core.sms import receiving, sending
from tests.core.conftest import CARL_MOBILE, DEFAULT_NUMBER, DORA_MOBILE, ERIN_MOBILE, Team

LEASE = WorkerOptions().send_lease_seconds
TWO_SEGMENTS = "x" * 200  # GSM-7: 153 characters a part once split
STAFF_MOBILE = "+12125550160"
MAY = datetime(2026, 5, 31, 23, 0, tzinfo=UTC)


async def _queue(db: Database, purpose: str, to: str, body: str = "Heads up") -> int:
    async with db.transaction() as tx:
        return await outbox.queue(tx, purpose, DEFAULT_NUMBER, to, body)


async def _row(db: Database, message_id: int) -> sqlite3.Row:
    row = await db.fetchone("SELECT * FROM messages WHERE id = ?", (message_id,))
    assert row is not None
    return row


@pytest.fixture
async def fast(db: Database, team: Team) -> Team:
    await settings.update(db, SYSTEM, sandbox_delivery_seconds=0, rate_segments_per_second=1e9)
    return team


async def test_every_purpose_counts_by_segments(db: Database, fast: Team, worker: Worker) -> None:
    await sending.send(db, fast.bob, CARL_MOBILE, TWO_SEGMENTS)
    for purpose, to in (
        (outbox.NOTICE, DORA_MOBILE),
        (outbox.ALERT, STAFF_MOBILE),
        (outbox.CAMPAIGN, ERIN_MOBILE),
        (outbox.CASE, "+12125550161"),
    ):
        await _queue(db, purpose, to)
    await worker.run_once()
    segments = await db.scalar("SELECT sum(segments) FROM messages WHERE status != 'queued'")
    assert segments == 2 + 4  # the notice's opt-out line still fits one part
    use = await bundle.usage(db)
    assert (use.month, use.used, use.bundle, use.percent) == ("2026-01", 6, 0, None)
    assert (use.warning, use.full, use.holding) == (False, False, False)


async def test_a_record_written_twice_counts_once(db: Database, fast: Team) -> None:
    message_id = await _queue(db, outbox.NOTICE, DORA_MOBILE, TWO_SEGMENTS)
    await outbox.claim(db, 10, LEASE)
    await outbox.record(db, [Sent(message_id, "p-1")])
    await outbox.record(db, [Sent(message_id, "p-1")])
    assert (await bundle.usage(db)).used == 2


async def test_warn_keeps_sending_and_says_so(db: Database, fast: Team, worker: Worker) -> None:
    await settings.update(db, SYSTEM, bundle_segments=4, bundle_warn_percent=50)
    await _queue(db, outbox.NOTICE, DORA_MOBILE, TWO_SEGMENTS)
    await worker.run_once()
    half = await bundle.usage(db)
    assert (half.used, half.percent, half.warning, half.full) == (2, 50.0, True, False)
    for to in (ERIN_MOBILE, CARL_MOBILE):
        await _queue(db, outbox.CAMPAIGN, to, TWO_SEGMENTS)
    await worker.run_once()
    over = await bundle.usage(db)
    assert (over.used, over.percent, over.full, over.holding) == (6, 150.0, True, False)


async def test_hold_lets_only_alerts_and_stop_confirmations_through(
    db: Database, fast: Team, worker: Worker, clock: FakeClock
) -> None:
    await settings.update(db, SYSTEM, bundle_segments=2, bundle_when_full="hold")
    await _queue(db, outbox.NOTICE, DORA_MOBILE, TWO_SEGMENTS)
    await worker.run_once()
    assert (await bundle.usage(db)).holding
    notice = await _queue(db, outbox.NOTICE, ERIN_MOBILE)
    alert = await _queue(db, outbox.ALERT, STAFF_MOBILE)
    chat = (await sending.send(db, fast.bob, CARL_MOBILE, "Hello Carl")).message_id
    await receiving.receive(db, CARL_MOBILE, DEFAULT_NUMBER, "STOP")
    confirmation = await db.scalar(
        "SELECT id FROM messages WHERE kind = ?", (outbox.OPTOUT_CONFIRMATION,)
    )
    await worker.run_once()
    assert (await _row(db, alert))["status"] == "delivered"
    assert (await _row(db, confirmation))["status"] == "delivered"
    held = await _row(db, notice)
    assert held["status"] == "queued"
    assert held["error"] == (
        "held: the monthly bundle of 2 segments is used up; it goes when the month turns"
        " (2026-02-01 00:00 UTC) or the bundle grows"
    )
    # The chat to Carl was failed by his STOP, not held.
    assert (await _row(db, chat))["status"] == "failed"
    # The worker is not woken for held rows: the next one is due when the month turns.
    assert await outbox.next_sendable(db) == datetime(2026, 2, 1, tzinfo=UTC)
    snap = await status.snapshot(db)
    assert (snap.held, snap.bundle.holding) == (1, True)
    kinds = await db.fetchall("SELECT entity_id FROM events WHERE kind = 'message.held'")
    assert [r[0] for r in kinds] == [notice]
    # Claiming again writes nothing more.
    clock.advance(minutes=1)
    before = held["updated_at"]
    await worker.run_once()
    assert (await _row(db, notice))["updated_at"] == before


async def test_a_bigger_bundle_or_warn_releases_held_messages_at_once(
    db: Database, fast: Team, worker: Worker, clock: FakeClock
) -> None:
    await settings.update(db, SYSTEM, bundle_segments=2, bundle_when_full="hold")
    await _queue(db, outbox.NOTICE, DORA_MOBILE, TWO_SEGMENTS)
    await worker.run_once()
    notice = await _queue(db, outbox.NOTICE, ERIN_MOBILE)
    await worker.run_once()
    assert (await _row(db, notice))["status"] == "queued"
    await settings.update(db, SYSTEM, bundle_when_full="warn")
    clock.advance(seconds=1)
    await worker.run_once()
    sent = await _row(db, notice)
    assert (sent["status"], sent["error"]) == ("delivered", None)
    assert await db.scalar("SELECT count(*) FROM events WHERE kind = 'message.released'") == 1


async def test_the_count_starts_again_each_month_and_held_messages_go(
    db: Database, fast: Team, worker: Worker, clock: FakeClock
) -> None:
    clock.set(MAY)
    await settings.update(db, SYSTEM, bundle_segments=2, bundle_when_full="hold")
    await _queue(db, outbox.NOTICE, DORA_MOBILE, TWO_SEGMENTS)
    await worker.run_once()
    notice = await _queue(db, outbox.CAMPAIGN, ERIN_MOBILE)
    await worker.run_once()
    assert (await _row(db, notice))["next_attempt_at"] == to_ms(datetime(2026, 6, 1, tzinfo=UTC))
    clock.set(datetime(2026, 6, 1, tzinfo=UTC))
    await worker.run_once()
    sent = await _row(db, notice)
    assert (sent["status"], sent["error"]) == ("delivered", None)
    june = await bundle.usage(db)
    assert (june.month, june.used, june.holding) == ("2026-06", 1, False)
    assert await bundle.used_in(db, "2026-05") == 2


async def test_a_message_the_provider_took_unrecorded_counts_when_its_report_comes(
    db: Database, fast: Team, clock: FakeClock
) -> None:
    from core.delivery.gateway import DeliveryReport
    from core.delivery.outbox import Retry

    message_id = await _queue(db, outbox.NOTICE, DORA_MOBILE, TWO_SEGMENTS)
    await outbox.claim(db, 10, LEASE)
    # Our request timed out: retried later, but the provider had it.
    await outbox.record(db, [Retry(message_id, "timed out", retry_after=60)])
    report = DeliveryReport(
        "batch-9",
        "delivered",
        message_id=message_id,
        recipient=DORA_MOBILE,
        provider_status="delivered",
    )
    assert await outbox.apply_reports(db, [report]) == 1
    await outbox.apply_reports(db, [report])
    assert (await bundle.usage(db)).used == 2
    clock.advance(timedelta(minutes=2))
    assert await outbox.claim(db, 10, LEASE) == []


def test_month_arithmetic_is_utc() -> None:
    dec = to_ms(datetime(2026, 12, 31, 23, 59, tzinfo=UTC))
    assert bundle.month_of(dec) == "2026-12"
    assert bundle.next_month_ms(dec) == to_ms(datetime(2027, 1, 1, tzinfo=UTC))
