"""The demo's notification set-up (what `make run` shows): closing a demo conversation
tells the client's people the outcome names, the one on call included."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core import demo
from core.clock import FakeClock
from core.db import Database
from core.notify import closing, oncall
from core.people.authz import SYSTEM
from providers.sandbox import SandboxGateway

# A Tuesday, 02:00 UTC: Monday 21:00 in New York, Dr Lee's night on the Nights schedule.
MONDAY_NIGHT_IN_NEW_YORK = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(MONDAY_NIGHT_IN_NEW_YORK)


async def _a_conversation(db: Database) -> int:
    found = await db.scalar("SELECT min(id) FROM conversations WHERE owner_id IS NOT NULL")
    assert isinstance(found, int)
    return found


async def test_an_urgent_close_tells_the_desk_and_whoever_is_on_call(db: Database) -> None:
    await demo.seed(db, SandboxGateway(db), contacts_count=60, login="you")
    at = MONDAY_NIGHT_IN_NEW_YORK
    async with db.transaction() as tx:
        nights = await db.scalar("SELECT id FROM oncall_schedules WHERE name = 'Nights'")
        on_call = await oncall.on_call_profiles_in(tx, nights, at)
    lee = await db.scalar("SELECT id FROM notification_profiles WHERE alias = 'Dr Lee'")
    assert on_call == [lee]

    closed = await closing.close(
        db, SYSTEM, await _a_conversation(db), "Urgent", {"first_name": "Rosa"}
    )
    sent = sorted((n.channel, n.recipient, n.status) for n in closed.notices)
    assert sent == [
        ("email", "desk@example.com", "queued"),
        ("sms", "+16465550170", "queued"),  # the answering desk
        ("sms", "+16465550183", "queued"),  # Dr Lee, on call
    ]


async def test_a_non_message_outcome_sends_the_non_message_alert(db: Database) -> None:
    await demo.seed(db, SandboxGateway(db), contacts_count=60, login="you")
    conversation = await _a_conversation(db)
    caller = await db.scalar("SELECT phone FROM conversations WHERE id = ?", (conversation,))
    closed = await closing.close(
        db, SYSTEM, conversation, "Wrong Number", {}, comment="Asked for a pizzeria"
    )
    sms = next(n for n in closed.notices if n.channel == "sms")
    body = await db.scalar(
        "SELECT m.body FROM notices n JOIN messages m ON m.id = n.message_id WHERE n.id = ?",
        (sms.id,),
    )
    assert sms.recipient == "+16465550190"
    assert "Wrong Number" in body
    assert "Asked for a pizzeria" in body
    assert caller in body


async def test_without_notifications_the_demo_has_none(db: Database) -> None:
    await demo.seed(db, SandboxGateway(db), contacts_count=20, login="you", notifications=False)
    assert await db.scalar("SELECT count(*) FROM notification_profiles") == 0
