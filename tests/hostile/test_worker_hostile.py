"""Hostile input for the worker: stray delivery reports, impossible lease lengths."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from core.db import Database
from core.delivery import outbox
from core.delivery.gateway import DeliveryReport
from core.people import agents
from core.people.authz import SYSTEM, Actor
from core.sms import numbers, sending
from tests.processes import switchboard

LEASE = 120.0
DORA_MOBILE = "+12125550120"
ERIN_MOBILE = "+12125550130"


@pytest.fixture
async def alice(db: Database) -> Actor:
    await numbers.add(db, SYSTEM, "+14155550100", default=True)
    return (await agents.add(db, SYSTEM, "alice", "Alice Moreau", "Agent")).as_actor()


async def _in_flight(db: Database, alice: Actor, to: str) -> int:
    message_id = (await sending.send(db, alice, to, f"to {to}")).message_id
    await outbox.claim(db, 10, LEASE)  # no provider ID recorded yet
    return message_id


async def _statuses(db: Database) -> list[tuple]:
    rows = await db.fetchall("SELECT id, status, provider_id FROM messages ORDER BY id")
    return [tuple(r) for r in rows]


async def test_one_batch_claimed_for_two_messages_settles_neither(db: Database, alice: Actor):
    first = await _in_flight(db, alice, DORA_MOBILE)
    second = await _in_flight(db, alice, ERIN_MOBILE)
    reports = [
        DeliveryReport("batch-x", "delivered", message_id=first, recipient=DORA_MOBILE),
        DeliveryReport("batch-x", "delivered", message_id=second, recipient=ERIN_MOBILE),
    ]
    assert await outbox.apply_reports(db, reports) == 0
    assert await _statuses(db) == [(first, "sending", None), (second, "sending", None)]
    assert await db.scalar("SELECT count(*) FROM delivery_reports") == 2, "both stored"


async def test_a_report_without_a_batch_settles_nothing(db: Database, alice: Actor):
    message_id = await _in_flight(db, alice, DORA_MOBILE)
    report = DeliveryReport("", "failed", message_id=message_id, recipient=DORA_MOBILE)
    assert await outbox.apply_reports(db, [report]) == 0
    assert await _statuses(db) == [(message_id, "sending", None)]


async def test_a_report_naming_a_message_we_never_had_changes_nothing(db: Database, alice: Actor):
    message_id = await _in_flight(db, alice, DORA_MOBILE)
    reports = [
        DeliveryReport("b1", "delivered", message_id=2**63 - 1, recipient=DORA_MOBILE),
        DeliveryReport("b2", "delivered", message_id=-1, recipient=DORA_MOBILE),
        DeliveryReport("b3", "delivered", message_id=message_id, recipient="+1\x1b[2J\u202e"),
    ]
    assert await outbox.apply_reports(db, reports) == 0
    assert await _statuses(db) == [(message_id, "sending", None)]


async def test_a_flood_of_stray_reports_is_logged_in_a_few_lines(
    db: Database, alice: Actor, caplog: pytest.LogCaptureFixture
):
    await _in_flight(db, alice, DORA_MOBILE)
    strays = [DeliveryReport(f"stray-{n}", "delivered", recipient=DORA_MOBILE) for n in range(500)]
    with caplog.at_level(logging.WARNING, logger="switchboard.outbox"):
        assert await outbox.apply_reports(db, strays) == 0
    lines = [r.getMessage() for r in caplog.records if r.name == "switchboard.outbox"]
    assert len(lines) == outbox.MAX_LOGGED_UNMATCHED + 1
    assert lines[-1].startswith(f"{500 - outbox.MAX_LOGGED_UNMATCHED} more delivery reports")
    assert await db.scalar("SELECT count(*) FROM delivery_reports") == 500


@pytest.mark.parametrize(
    "value", ["nan", "inf", "-inf", "-5", "0", "1.999", "1e-300", "3600.5", "1e308"]
)
def test_an_impossible_lease_length_is_one_line_and_touches_nothing(tmp_path: Path, value: str):
    db = tmp_path / "never-created.sqlite3"
    result = switchboard("worker", "--lease-seconds", value, "--no-webhooks", db=db, home=tmp_path)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("error: --lease-seconds must be between 2 and 3600 seconds"), line
    assert not db.exists()
