"""W2: the outbox hands rows that share their text to the provider as one batch."""

from __future__ import annotations

import pytest

from core import settings
from core.clock import FakeClock
from core.db import Database
from core.delivery import outbox
from core.delivery.gateway import DeliveryReport
from core.delivery.outbox import Sent
from core.scheduling.options import WorkerOptions
from core.scheduling.worker import Worker
from providers.sandbox import UNREACHABLE_SUFFIX
from tests.core.conftest import DEFAULT_NUMBER, Team

LEASE = WorkerOptions().send_lease_seconds
RECIPIENTS = [f"+1415555{n:04d}" for n in range(1, 6)]
UNREACHABLE = f"+1415555{UNREACHABLE_SUFFIX}"


async def _queue_all(db: Database, recipients: list[str], body: str = "Sale today") -> list[int]:
    async with db.transaction() as tx:
        return [
            await outbox.queue(tx, outbox.CAMPAIGN, DEFAULT_NUMBER, to, body) for to in recipients
        ]


@pytest.fixture
async def fast(db: Database, team: Team) -> None:
    # Reports at once, and a budget that lets every row of a test go in one claim.
    await settings.update(db, team.dana, sandbox_delivery_seconds=0, rate_segments_per_second=1000)


async def test_rows_sharing_their_text_go_as_one_batch_and_each_is_settled_by_its_report(
    db: Database, fast: None, worker: Worker
) -> None:
    ids = await _queue_all(db, [*RECIPIENTS, UNREACHABLE])
    await worker.run_once()

    rows = await db.fetchall(
        "SELECT id, status, provider_id, recipient, error FROM messages ORDER BY id"
    )
    assert [r["id"] for r in rows] == ids
    assert len({r["provider_id"] for r in rows}) == 1  # one call to the provider
    assert await db.scalar("SELECT count(DISTINCT provider_id) FROM sandbox_messages") == 1
    # Mixed reports: each settles its own recipient's row, and only that one.
    assert {r["recipient"]: r["status"] for r in rows} == {
        **dict.fromkeys(RECIPIENTS, "delivered"),
        UNREACHABLE: "failed",
    }
    assert worker.stats.sent == len(ids)


async def test_different_texts_do_not_share_a_batch(
    db: Database, fast: None, worker: Worker
) -> None:
    await _queue_all(db, RECIPIENTS[:2], body="Sale today")
    await _queue_all(db, RECIPIENTS[2:4], body="Sale tomorrow")
    await worker.run_once()
    # (Both texts carry the first-message opt-out line: it does not tell them apart.)
    batch_of = {
        r["body"].splitlines()[0]: r["provider_id"]
        for r in await db.fetchall("SELECT body, provider_id FROM messages")
    }
    assert batch_of.keys() == {"Sale today", "Sale tomorrow"}
    assert await db.scalar("SELECT count(DISTINCT provider_id) FROM messages") == 2


async def test_a_batch_report_that_beats_our_record_settles_its_row_when_we_record(
    db: Database, team: Team, clock: FakeClock
) -> None:
    first, second = await _queue_all(db, RECIPIENTS[:2])
    await outbox.claim(db, 10, LEASE)
    # The provider reports on the batch before our record of its ID: the
    # report names the batch and a recipient, not our message.
    early = DeliveryReport(
        "batch-77",
        "failed",
        "unknown subscriber",
        recipient=RECIPIENTS[1],
        provider_status="failed",
    )
    assert await outbox.apply_reports(db, [early]) == 0
    await outbox.record(db, [Sent(first, "batch-77"), Sent(second, "batch-77")])

    status = {
        r["id"]: (r["status"], r["error"])
        for r in await db.fetchall("SELECT id, status, error FROM messages")
    }
    assert status == {first: ("sent", None), second: ("failed", "unknown subscriber")}
    linked = await db.scalar(
        "SELECT message_id FROM delivery_reports WHERE provider_id = 'batch-77'"
    )
    assert linked == second
