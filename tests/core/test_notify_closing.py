"""P4: close a conversation with an outcome; the notices fan out in the same transaction."""

from __future__ import annotations

import json

import pytest

from core import settings
from core.clock import FakeClock, to_ms
from core.db import Database
from core.errors import InvalidInput, NotAllowed, NotFound
from core.notify import closing, oncall, outcomes
from core.people.authz import SYSTEM
from core.routing import selection
from core.scheduling.worker import Worker
from core.sms import consent, conversations, receiving, sending
from tests.core.conftest import DEFAULT_NUMBER, DORA_MOBILE, ERIN_MOBILE, STRANGER, Team
from tests.core.notify_setup import add_group, add_profile
from tests.core.routing_setup import available, give_profile, make_profile, make_queue, take_queue

HALE_SMS = "+12125550160"
HALE_SMS_2 = "+12125550161"
DESK_SMS = "+12125550162"
DATA = {"first_name": "Ada", "last_name": "Lovelace", "phone": "(415) 555-0123", "message": "Call"}


async def _inbound(db: Database, phone: str = STRANGER) -> int:
    await receiving.receive(db, phone, DEFAULT_NUMBER, "Hello?")
    cid = await db.scalar("SELECT id FROM conversations WHERE phone = ?", (phone,))
    assert isinstance(cid, int)
    return cid


@pytest.fixture
async def hale(db: Database, team: Team) -> int:
    profile = await add_profile(
        db, "Dr Hale", sms=(HALE_SMS, HALE_SMS_2), emails=("hale@example.com",)
    )
    await outcomes.switch(db, SYSTEM, "General Message", "Dr Hale")
    return profile


async def test_closing_queues_each_sms_and_email_and_lists_the_notices(
    db: Database, team: Team, hale: int, worker: Worker, clock: FakeClock
) -> None:
    cid = await _inbound(db)
    closure = await closing.close(
        db, team.dana, cid, "general message", DATA, comment="asked for a call"
    )
    assert closure.outcome == "General Message"
    assert [(n.channel, n.recipient, n.status) for n in closure.notices] == [
        ("sms", HALE_SMS, "queued"),
        ("sms", HALE_SMS_2, "queued"),
        ("email", "hale@example.com", "queued"),
    ]
    sms = await db.fetchall("SELECT * FROM messages WHERE purpose = 'notice' ORDER BY id")
    assert [(m["sender"], m["recipient"]) for m in sms] == [
        (DEFAULT_NUMBER, HALE_SMS),
        (DEFAULT_NUMBER, HALE_SMS_2),
    ]
    assert sms[0]["body"].startswith("Ada Lovelace, +14155550123: Call")
    email = await db.fetchone("SELECT * FROM emails")
    assert email["purpose"] == "notice"
    assert email["subject"] == "General Message: a conversation closed"
    assert "Agent comment: asked for a call" in email["body"]
    assert f"Caller ID: {STRANGER}" in email["body"]
    stored = await db.fetchone("SELECT * FROM closures")
    assert json.loads(stored["data"])["phone"] == "+14155550123"
    # The sandbox delivers the SMS; the conversation shows it live.
    await worker.run_once()
    clock.advance(seconds=5)
    await worker.run_once()
    shown = await closing.notices_for(db, team.dana, cid)
    assert [n.status for n in shown if n.channel == "sms"] == ["delivered", "delivered"]


async def test_a_caller_left_empty_is_told_as_the_conversation_knows_them(
    db: Database, team: Team, hale: int
) -> None:
    cid = await _inbound(db, DORA_MOBILE)  # Dora Lindqvist's mobile
    await closing.close(db, team.dana, cid, "General Message", {"message": "Call me"})
    body = await db.scalar("SELECT body FROM messages WHERE purpose = 'notice' ORDER BY id")
    # Not ", : Call me": the contact's name and the number that texted.
    assert body.startswith(f"Dora Lindqvist, {DORA_MOBILE}: Call me\n"), body
    stored = json.loads(await db.scalar("SELECT data FROM closures"))
    # Kept as the agent gave it.
    assert not stored.get("first_name")
    assert not stored.get("phone")


async def test_closing_ends_the_wait_and_a_new_message_opens_it_again(
    db: Database, team: Team
) -> None:
    cid = await _inbound(db)
    row = await db.fetchone(
        "SELECT waiting_since, closed_at FROM conversations WHERE id = ?", (cid,)
    )
    assert row["waiting_since"] is not None
    await closing.close(db, team.dana, cid, "Wrong Number", {})
    row = await db.fetchone(
        "SELECT waiting_since, public_due_at, route_due_at, closed_at FROM conversations"
        " WHERE id = ?",
        (cid,),
    )
    assert tuple(row) == (None, None, None, row["closed_at"])
    assert row["closed_at"] is not None
    with pytest.raises(InvalidInput, match="closed already"):
        await closing.close(db, team.dana, cid, "Wrong Number", {})
    await receiving.receive(db, STRANGER, DEFAULT_NUMBER, "One more thing")
    row = await db.fetchone(
        "SELECT waiting_since, closed_at FROM conversations WHERE id = ?", (cid,)
    )
    assert row["closed_at"] is None
    assert row["waiting_since"] is not None
    await closing.close(db, team.dana, cid, "Wrong Number", {})
    assert await db.scalar("SELECT count(*) FROM closures WHERE conversation_id = ?", (cid,)) == 2


async def test_closing_frees_the_agents_room_and_starts_their_idle_time(
    db: Database, team: Team, clock: FakeClock
) -> None:
    await sending.send(db, team.bob, DORA_MOBILE, "Hi Dora")
    cid = await db.scalar("SELECT id FROM conversations WHERE phone = ?", (DORA_MOBILE,))
    clock.advance(seconds=60)
    await closing.close(db, team.bob, cid, "No Caller", {})
    idle = await db.scalar("SELECT idle_since FROM agents WHERE id = ?", (team.bob.id,))
    assert idle == to_ms(clock.now())


async def test_only_the_owner_or_a_supervisor_closes(db: Database, team: Team) -> None:
    await sending.send(db, team.bob, DORA_MOBILE, "Hi Dora")
    cid = await db.scalar("SELECT id FROM conversations WHERE phone = ?", (DORA_MOBILE,))
    with pytest.raises(NotAllowed, match="may not close this conversation"):
        await closing.close(db, team.alice, cid, "No Caller", {})
    assert await db.scalar("SELECT count(*) FROM closures") == 0


@pytest.mark.parametrize(
    ("outcome", "data", "comment", "message"),
    [
        ("Lunch", {}, "", "no outcome named 'Lunch'"),
        ("Urgent", {"colour": "red"}, "", "unknown field 'colour'"),
        ("Urgent", {"outcome": "x"}, "", "filled by the system"),
        ("Urgent", {"phone": "12"}, "", "phone"),
        ("Urgent", {"first_name": "x" * 61}, "", "at most 60 characters, not 61"),
        ("Urgent", {}, "x" * 501, "agent comment is at most 500 characters"),
        ("Urgent", {}, "bell\x07", "holds a control character"),
    ],
)
async def test_a_bad_close_is_refused_naming_the_rule_and_changes_nothing(
    db: Database, team: Team, outcome: str, data: dict[str, str], comment: str, message: str
) -> None:
    cid = await _inbound(db)
    with pytest.raises((InvalidInput, NotFound), match=message):
        await closing.close(db, team.dana, cid, outcome, data, comment)
    assert await db.scalar("SELECT closed_at FROM conversations WHERE id = ?", (cid,)) is None


async def test_an_archived_outcome_no_longer_closes(db: Database, team: Team) -> None:
    await outcomes.archive(db, SYSTEM, "Prank Call")
    with pytest.raises(InvalidInput, match="Prank Call is archived"):
        await closing.close(db, team.dana, await _inbound(db), "Prank Call", {})


async def test_groups_fan_out_to_each_member_once_and_opted_out_numbers_are_skipped(
    db: Database, team: Team, hale: int
) -> None:
    desk = await add_profile(db, "Front desk", sms=(DESK_SMS,), sms_mode="non_message")
    await add_group(db, "Everyone", [hale, desk])
    await outcomes.set_recipient(db, SYSTEM, "General Message", "group", "Everyone")
    async with db.transaction() as tx:
        await consent.opt_out_in(tx, HALE_SMS_2, keyword="STOP")
    closure = await closing.close(db, team.dana, await _inbound(db), "General Message", DATA)
    assert [(n.recipient, n.status, n.error) for n in closure.notices] == [
        (HALE_SMS, "queued", None),
        (HALE_SMS_2, "skipped", "the number opted out of SMS (STOP)"),
        ("hale@example.com", "queued", None),
        (DESK_SMS, "queued", None),
    ]
    desk_sms = await db.scalar("SELECT body FROM messages WHERE recipient = ?", (DESK_SMS,))
    assert desk_sms.startswith(f"General Message:  (caller ID {STRANGER})")


async def test_events_carry_ids_and_kinds_only(db: Database, team: Team, hale: int) -> None:
    cid = await _inbound(db)
    before = await db.scalar("SELECT max(id) FROM events")
    closure = await closing.close(db, team.dana, cid, "General Message", DATA)
    written = await db.fetchall(
        "SELECT * FROM events WHERE id > ? AND kind NOT LIKE 'offer.%' ORDER BY id", (before,)
    )
    # Two events whatever the fan-out: the conversation closed, and its notices
    # with their counts (not one per notice, per SMS and per email).
    assert [(e["kind"], e["entity"], e["entity_id"]) for e in written] == [
        ("conversation.closed", "conversation", cid),
        ("notice.queued", "closure", closure.id),
    ]
    assert json.loads(written[1]["data"]) == {
        "conversation_id": cid,
        "queued": len(closure.notices),
        "skipped": 0,
    }
    payloads = " ".join(e["data"] for e in await db.fetchall("SELECT data FROM events"))
    for secret in ("Ada", HALE_SMS, "hale@example.com", STRANGER):
        assert secret not in payloads


async def test_every_edit_between_two_closes_reaches_the_second(
    db: Database, team: Team, hale: int
) -> None:
    # What a close reads is kept from one close to the next: kept by what the
    # database holds, so an edit (here by SQL, as another process would) is seen.
    first = await closing.close(db, team.dana, await _inbound(db), "General Message", DATA)
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE notification_profiles SET sms_mode = 'custom',"
            " sms_body = 'Call {{first_name}} back' WHERE id = ?",
            (hale,),
        )
        await tx.execute("DELETE FROM notification_profile_contacts WHERE value = ?", (HALE_SMS_2,))
    desk = await add_profile(db, "Desk", sms=(DESK_SMS,))
    await outcomes.switch(db, SYSTEM, "General Message", "Desk")
    await settings.update(db, SYSTEM, hipaa_mode=True)
    second = await closing.close(
        db, team.dana, await _inbound(db, ERIN_MOBILE), "General Message", DATA
    )
    assert [n.recipient for n in first.notices] == [HALE_SMS, HALE_SMS_2, "hale@example.com"]
    assert [(n.profile_id, n.recipient) for n in second.notices] == [
        (hale, HALE_SMS),
        (hale, "hale@example.com"),
        (desk, DESK_SMS),
    ]
    bodies = await db.fetchall(
        "SELECT m.body FROM notices n JOIN messages m ON m.id = n.message_id"
        " WHERE n.closure_id = ? ORDER BY n.id",
        (second.id,),
    )
    assert bodies[0]["body"].startswith("Call [withheld] back")  # HIPAA: first_name is PHI
    assert "Ada" not in " ".join(r["body"] for r in bodies)


async def test_notices_are_seen_by_those_who_see_the_conversation(
    db: Database, team: Team, hale: int
) -> None:
    await sending.send(db, team.bob, DORA_MOBILE, "Hi Dora")
    cid = await db.scalar("SELECT id FROM conversations WHERE phone = ?", (DORA_MOBILE,))
    await closing.close(db, team.bob, cid, "General Message", DATA)
    assert len(await closing.notices_for(db, team.bob, cid)) == 3
    with pytest.raises(NotAllowed):
        await closing.notices_for(db, team.alice, cid)
    assert await conversations.get(db, team.bob, cid)


async def test_a_profile_saved_broken_is_a_skipped_notice_not_a_failed_close(
    db: Database, team: Team, hale: int
) -> None:
    await add_profile(db, "Broken", sms=(DESK_SMS,), sms_mode="custom", sms_body="{{colour}}")
    await outcomes.switch(db, SYSTEM, "General Message", "Broken")
    closure = await closing.close(db, team.dana, await _inbound(db), "General Message", DATA)
    broken = closure.notices[-1]
    assert (broken.channel, broken.recipient, broken.status) == ("sms", DESK_SMS, "skipped")
    assert broken.error is not None
    assert broken.error.startswith("not rendered: unknown field 'colour'")
    assert [n.status for n in closure.notices[:-1]] == ["queued"] * 3


async def test_whoever_is_on_call_is_told_unless_held(db: Database, team: Team, hale: int) -> None:
    nurse = await add_profile(db, "Night nurse", sms=(DESK_SMS,))
    await add_profile(db, "Night doctor", sms=("+12125550163",), hold="indefinite")
    await add_group(db, "Night team", [nurse, hale, nurse + 1])
    await oncall.add_schedule(db, SYSTEM, "Nights", "UTC")
    await oncall.add_slot(db, SYSTEM, "Nights", "mon 00:00", "mon 00:00", group="Night team")
    await outcomes.set_recipient(db, SYSTEM, "General Message", "schedule", "Nights")
    closure = await closing.close(db, team.dana, await _inbound(db), "General Message", DATA)
    # Hale is named directly and on call: told once. The held doctor is skipped.
    assert [n.profile_id for n in closure.notices] == [hale, hale, hale, nurse]


async def test_a_closed_conversation_no_longer_fills_the_agents_room(
    db: Database, team: Team, clock: FakeClock
) -> None:
    sales = await make_queue(db, "Sales")
    profile = await make_profile(
        db, "One at a time", max_simultaneous=1, interaction_timeout_seconds=0
    )
    await take_queue(db, profile, sales)
    await give_profile(db, team.bob, profile)
    await available(db, team.bob)
    await sending.send(db, team.bob, DORA_MOBILE, "Hi Dora")
    cid = await db.scalar("SELECT id FROM conversations WHERE phone = ?", (DORA_MOBILE,))
    now = to_ms(clock.now())
    assert await selection.candidates(db, [sales], now) == []
    await closing.close(db, team.bob, cid, "No Caller", {})
    [bob] = await selection.candidates(db, [sales], now)
    assert (bob.agent_id, bob.room) == (team.bob.id, 1)
