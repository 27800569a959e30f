"""P1 notification profiles, P5 delete or replace with every link, P7 hold my calls.

Against a real SQLite file; on-call schedules and outcome recipients are
written as rows (their services are another part's), as the schema has them.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core import events, settings
from core.clock import FakeClock
from core.db import Database
from core.errors import (
    AlreadyTaken,
    InUse,
    InvalidInput,
    InvalidPhoneNumber,
    LimitExceeded,
    NotFound,
    NotMobile,
)
from core.notify import groups, holds, links
from core.notify import profiles as np
from core.notify.profiles import ProfileDraft
from core.people.authz import SYSTEM
from core.scheduling.worker import Worker, default_jobs
from providers.sandbox import SandboxGateway
from tests.processes import dump

MOBILE = "+12125550110"
OTHER_MOBILE = "+12125550120"
UK_LANDLINE = "+442079460000"


async def _add(db: Database, alias: str = "Dr. Ames", **more: object) -> np.NotificationProfile:
    return await np.add(db, SYSTEM, ProfileDraft(alias, **more))  # type: ignore[arg-type]


# --- P1 ------------------------------------------------------------------------------


async def test_a_profile_is_saved_with_its_contact_methods_read_and_in_order(db: Database):
    made = await _add(
        db,
        contact_numbers=("(212) 555-0111", UK_LANDLINE),
        emails=("Ames@Example.COM", "desk@example.org"),
        sms_numbers=(" 212 555 0110 ", OTHER_MOBILE),
        email_on=True,
        sms_on=True,
        sms_mode="non_message",
    )

    got = await np.get(db, SYSTEM, made.id)
    assert got == made
    assert got.draft.contact_numbers == ("+12125550111", UK_LANDLINE)
    assert got.draft.emails == ("Ames@example.com", "desk@example.org")  # domain lowercased
    assert got.draft.sms_numbers == (MOBILE, OTHER_MOBILE)
    assert (got.draft.email_mode, got.draft.sms_mode) == ("default", "non_message")
    assert got.status(datetime.now(UTC)).text == "available"
    [event] = [e for e in await events.after(db, 0) if e.entity == "notification_profile"]
    assert (event.kind, event.entity_id, event.data) == ("notification_profile.added", made.id, {})


@pytest.mark.parametrize(
    ("kind", "entry", "limit"),
    [
        ("emails", "person{}@example.com", "at most 5 email addresses"),
        ("sms_numbers", "+1212555012{}", "at most 5 SMS numbers"),
        ("contact_numbers", "+1212555013{}", "at most 5 contact numbers"),
    ],
)
async def test_the_sixth_of_each_kind_is_refused_naming_the_limit(
    db: Database, db_path: Path, kind: str, entry: str, limit: str
):
    five = tuple(entry.format(i) for i in range(5))
    made = await _add(db, **{kind: five})
    assert len(getattr(made.draft, kind)) == 5
    before = dump(db_path)

    with pytest.raises(LimitExceeded, match=limit):
        await np.edit(db, SYSTEM, made.id, **{kind: (*five, entry.format(5))})
    with pytest.raises(LimitExceeded, match=limit):
        await _add(db, "Another", **{kind: (*five, entry.format(5))})
    assert dump(db_path) == before


@pytest.mark.parametrize(
    ("more", "error", "message"),
    [
        ({"emails": ("not-an-address",)}, InvalidInput, "'not-an-address' is not a valid email"),
        ({"emails": ("a@b@example.com",)}, InvalidInput, "not a valid email address"),
        ({"emails": ("x@example.com\x1b[31m",)}, InvalidInput, "holds a control character"),
        ({"emails": ("x\ud800@example.com",)}, InvalidInput, "must be text"),
        ({"emails": ("a@example.com", "A@EXAMPLE.com")}, InvalidInput, "give each email"),
        ({"sms_numbers": ("12",)}, InvalidPhoneNumber, "not a valid phone number"),
        ({"sms_numbers": (UK_LANDLINE,)}, NotMobile, "must be mobile numbers"),
        ({"sms_numbers": (MOBILE, "(212) 555-0110")}, InvalidInput, "same SMS number"),
        ({"contact_numbers": ("call me",)}, InvalidPhoneNumber, "not a valid phone number"),
        ({"emails": "a@example.com"}, InvalidInput, "must be a list"),
    ],
)
async def test_bad_contact_methods_are_refused_naming_the_rule(
    db: Database, db_path: Path, more: dict[str, object], error: type[Exception], message: str
):
    before = dump(db_path)
    with pytest.raises(error, match=message):
        await _add(db, **more)
    assert dump(db_path) == before


@pytest.mark.parametrize(
    ("alias", "message"),
    [
        ("", "cannot be empty"),
        ("   ", "cannot be empty"),
        ("two\nlines", r"holds a line break \(U\+000A\)"),
        ("bell\x07", "holds a control character"),
        ("x" * 101, "too long: 101 characters, the most is 100"),
        ("lone \udc80", "must be text"),
    ],
)
async def test_an_alias_is_required_one_line_and_sane(db: Database, alias: str, message: str):
    with pytest.raises(InvalidInput, match=message):
        await _add(db, alias)


async def test_aliases_are_unique_whatever_the_case(db: Database):
    first = await _add(db, "Émile Roux")
    with pytest.raises(AlreadyTaken, match="already exists"):
        await _add(db, "émile ROUX")
    other = await _add(db, "Nights")
    with pytest.raises(AlreadyTaken, match="already exists"):
        await np.edit(db, SYSTEM, other.id, alias=" ÉMILE roux ")
    renamed = await np.edit(db, SYSTEM, first.id, alias="émile roux")  # its own alias, recased
    assert renamed.alias == "émile roux"
    assert (await np.by_alias(db, SYSTEM, "ÉMILE ROUX")).id == first.id


async def test_custom_templates_are_compiled_at_save_against_the_merge_fields(db: Database):
    made = await _add(
        db,
        emails=("desk@example.org",),
        email_on=True,
        email_mode="custom",
        email_subject="{{outcome}} from {{ caller_id }}",
        email_body="Call back {{first_name}} at {{phone}}.\r\nSaid: {{message}}",
        sms_numbers=(MOBILE,),
        sms_on=True,
        sms_mode="custom",
        sms_body="{{outcome}}: {{agent_comment}}",
    )
    assert made.draft.email_body == "Call back {{first_name}} at {{phone}}.\nSaid: {{message}}"

    with pytest.raises(
        InvalidInput, match=r"the SMS text: unknown field 'caler_id' \(did you mean"
    ):
        await np.edit(db, SYSTEM, made.id, sms_body="From {{caler_id}}")
    with pytest.raises(InvalidInput, match=r"the email subject: .*never closed"):
        await np.edit(db, SYSTEM, made.id, email_subject="{{outcome")
    with pytest.raises(InvalidInput, match=r"the email subject holds a line break \(U\+000A\)$"):
        await np.edit(db, SYSTEM, made.id, email_subject="Two\nlines")
    with pytest.raises(InvalidInput, match="a custom email needs a subject and a body"):
        await np.edit(db, SYSTEM, made.id, email_subject="")
    with pytest.raises(InvalidInput, match="a custom SMS needs its text"):
        await np.edit(db, SYSTEM, made.id, sms_body=None)
    with pytest.raises(InvalidInput, match="the SMS text is at most 1600 characters"):
        await np.edit(db, SYSTEM, made.id, sms_body="x" * 1601)

    # A custom text is kept only while its mode is custom.
    plain = await np.edit(db, SYSTEM, made.id, sms_mode="all_data", email_mode="default")
    assert (plain.draft.sms_body, plain.draft.email_subject, plain.draft.email_body) == (
        None,
        None,
        None,
    )


async def test_a_field_added_to_the_collected_data_can_be_used(db: Database):
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO collected_fields (name, label, type, max_length, position, created_at)"
            " VALUES ('policy_number', 'Policy number', 'text', 20, 11, 0)"
        )
    made = await _add(db, sms_numbers=(MOBILE,), sms_mode="custom", sms_body="{{policy_number}}")
    assert made.draft.sms_body == "{{policy_number}}"


@pytest.mark.parametrize(
    ("more", "message"),
    [
        ({"email_on": True}, "email is on but the profile has no email address"),
        ({"sms_on": True}, "SMS is on but the profile has no SMS number"),
        ({"email_mode": "fancy"}, "email mode must be one of default, custom"),
        ({"sms_mode": "loud"}, "SMS mode must be one of default, non_message, all_data, custom"),
        ({"sms_on": "perhaps"}, "SMS on must be yes or no"),
    ],
)
async def test_modes_and_switches_are_checked(db: Database, more: dict[str, object], message: str):
    with pytest.raises(InvalidInput, match=message):
        await _add(db, **more)


async def test_an_edit_changes_only_what_it_names(db: Database):
    made = await _add(db, emails=("a@example.com",), email_on=True, sms_numbers=(MOBILE,))
    edited = await np.edit(db, SYSTEM, made.id, sms_on=True, contact_numbers=[UK_LANDLINE])
    assert edited.draft.emails == ("a@example.com",)
    assert edited.draft.email_on
    assert edited.draft.sms_on
    assert edited.draft.contact_numbers == (UK_LANDLINE,)
    with pytest.raises(InvalidInput, match="unknown notification profile field 'colour'"):
        await np.edit(db, SYSTEM, made.id, colour="red")
    with pytest.raises(InvalidInput, match="nothing to change"):
        await np.edit(db, SYSTEM, made.id)
    with pytest.raises(NotFound, match="no notification profile with id 999"):
        await np.edit(db, SYSTEM, 999, sms_on=False)


async def test_the_list_is_by_alias_and_searched_whatever_the_case(db: Database):
    for alias in ("Nights", "Dr. Émile Roux", "Dr. Ames"):
        await _add(db, alias)
    assert [p.alias for p in await np.list_profiles(db, SYSTEM)] == [
        "Dr. Ames",
        "Dr. Émile Roux",
        "Nights",
    ]
    assert [p.alias for p in await np.list_profiles(db, SYSTEM, "émile")] == ["Dr. Émile Roux"]
    assert [p.alias for p in await np.list_profiles(db, SYSTEM, "DR.")] == [
        "Dr. Ames",
        "Dr. Émile Roux",
    ]
    assert await np.list_profiles(db, SYSTEM, "%") == []


# --- P5 ------------------------------------------------------------------------------


async def _schedule(db: Database, name: str) -> int:
    async with db.transaction() as tx:
        return await tx.insert(
            "INSERT INTO oncall_schedules (name, time_zone, created_at) VALUES (?, 'UTC', 0)",
            (name,),
        )


async def _slot(db: Database, schedule_id: int, start: int, minutes: int, profile_id: int) -> int:
    async with db.transaction() as tx:
        return await tx.insert(
            "INSERT INTO oncall_slots (schedule_id, start_minute, minutes, profile_id)"
            " VALUES (?, ?, ?, ?)",
            (schedule_id, start, minutes, profile_id),
        )


async def _on_outcome(db: Database, outcome: str, *, profile_id: int | None = None, group_id=None):
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO outcome_recipients (outcome_id, profile_id, group_id)"
            " SELECT id, ?, ? FROM outcomes WHERE name = ?",
            (profile_id, group_id, outcome),
        )


async def _outcome_id(db: Database, name: str) -> int:
    return int(await db.scalar("SELECT id FROM outcomes WHERE name = ?", (name,)))


async def test_every_link_is_listed_and_delete_is_refused_naming_each(db: Database, db_path: Path):
    ames = await _add(db, emails=("a@example.com",))
    nights = await _schedule(db, "Nights")
    weekend = await _schedule(db, "Weekend")
    # Mon 18:00 for 14 h; Sun 20:00 for 12 h, past the end of the week.
    slot = await _slot(db, nights, 18 * 60, 14 * 60, ames.id)
    late = await _slot(db, weekend, 6 * 1440 + 20 * 60, 12 * 60, ames.id)
    doctors = await groups.add(db, SYSTEM, "Doctors")
    await groups.add_member(db, SYSTEM, doctors.id, ames.id)
    await _on_outcome(db, "Urgent", profile_id=ames.id)
    await _on_outcome(db, "General Message", profile_id=ames.id)
    before = dump(db_path)

    with pytest.raises(InUse) as refused:
        await np.delete(db, SYSTEM, ames.id)

    assert str(refused.value) == (
        "notification profile 'Dr. Ames' is used in 5 places:"
        " on-call schedule 'Nights' (Mon 18:00-Tue 08:00);"
        " on-call schedule 'Weekend' (Sun 20:00-Mon 08:00);"
        " group 'Doctors'; outcome 'General Message'; outcome 'Urgent';"
        " remove it from each, or replace it with another profile, then delete it"
    )
    assert refused.value.links == (
        links.Link("oncall_slot", nights, "Nights", slot, 18 * 60, 14 * 60),
        links.Link("oncall_slot", weekend, "Weekend", late, 6 * 1440 + 20 * 60, 12 * 60),
        links.Link("group", doctors.id, "Doctors"),
        links.Link("outcome", await _outcome_id(db, "General Message"), "General Message"),
        links.Link("outcome", await _outcome_id(db, "Urgent"), "Urgent"),
    )
    assert await links.profile_links(db, SYSTEM, ames.id) == list(refused.value.links)
    assert dump(db_path) == before

    async with db.transaction() as tx:
        await tx.execute("DELETE FROM oncall_slots")
        await tx.execute("DELETE FROM outcome_recipients")
    await groups.remove_member(db, SYSTEM, doctors.id, ames.id)
    await np.delete(db, SYSTEM, ames.id)
    with pytest.raises(NotFound):
        await np.get(db, SYSTEM, ames.id)
    assert await db.scalar("SELECT count(*) FROM notification_profile_contacts") == 0
    kinds = [e.kind for e in await events.after(db, 0) if e.entity == "notification_profile"]
    assert kinds[-1] == "notification_profile.deleted"


async def _linked_pair(db: Database) -> tuple[int, int, int, int, int]:
    """Old (in Nights, Doctors, Nurses, Urgent, General Message) and new (in Nurses and Urgent)."""
    old = (await _add(db, "Old")).id
    new = (await _add(db, "New")).id
    nights = await _schedule(db, "Nights")
    await _slot(db, nights, 0, 60, old)
    doctors = (await groups.add(db, SYSTEM, "Doctors")).id
    nurses = (await groups.add(db, SYSTEM, "Nurses")).id
    for group_id, profile_id in ((doctors, old), (nurses, old), (nurses, new)):
        await groups.add_member(db, SYSTEM, group_id, profile_id)
    await _on_outcome(db, "Urgent", profile_id=old)
    await _on_outcome(db, "Urgent", profile_id=new)
    await _on_outcome(db, "General Message", profile_id=old)
    return old, new, nights, doctors, nurses


async def test_replace_moves_every_link_folding_those_the_new_one_has(db: Database):
    old, new, nights, doctors, nurses = await _linked_pair(db)

    done = await links.replace(db, SYSTEM, old, new)

    assert done.moved == {"oncall_slot": 1, "group": 1, "outcome": 1}
    assert done.folded == {"group": 1, "outcome": 1}
    assert await links.links(db, old) == []
    assert [(link.kind, link.place) for link in await links.links(db, new)] == [
        ("oncall_slot", "Nights"),
        ("group", "Doctors"),
        ("group", "Nurses"),
        ("outcome", "General Message"),
        ("outcome", "Urgent"),
    ]
    assert [m.alias for m in (await groups.get(db, SYSTEM, nurses)).members] == ["New"]
    urgent = await db.scalar(
        "SELECT count(*) FROM outcome_recipients WHERE outcome_id = ?",
        (await _outcome_id(db, "Urgent"),),
    )
    assert urgent == 1
    [event] = [e for e in await events.after(db, 0) if e.kind == "notification_profile.replaced"]
    assert event.entity_id == old
    assert event.data["by"] == new
    assert sorted(event.data["group_ids"]) == sorted([doctors, nurses])
    assert event.data["schedule_ids"] == [nights]
    await np.delete(db, SYSTEM, old)  # nothing uses it now


async def test_replace_can_delete_the_old_profile_in_the_same_step(db: Database):
    old, new, *_ = await _linked_pair(db)
    done = await links.replace(db, SYSTEM, old, new, delete_old=True)
    assert done.deleted
    assert [p.alias for p in await np.list_profiles(db, SYSTEM)] == ["New"]


async def test_replace_is_all_or_nothing(db: Database, db_path: Path):
    old, new, *_ = await _linked_pair(db)
    # The last step fails (as a disk error or a bug would): the slot and
    # group moves made before it must not stay.
    conn = sqlite3.connect(db_path)
    conn.execute(
        "CREATE TRIGGER fail_outcome_move BEFORE UPDATE ON outcome_recipients"
        " BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    )
    conn.commit()
    conn.close()
    before = dump(db_path)

    with pytest.raises(sqlite3.IntegrityError, match="disk full"):
        await links.replace(db, SYSTEM, old, new, delete_old=True)

    assert dump(db_path) == before
    assert len(await links.links(db, old)) == 5


async def test_replace_refuses_itself_and_unknown_profiles(db: Database):
    ames = await _add(db)
    with pytest.raises(InvalidInput, match="cannot replace itself"):
        await links.replace(db, SYSTEM, ames.id, ames.id)
    with pytest.raises(NotFound, match="id 404"):
        await links.replace(db, SYSTEM, ames.id, 404)


# --- P7 ------------------------------------------------------------------------------


async def test_hold_indefinitely_then_clear(db: Database, clock: FakeClock):
    ames = await _add(db)
    held = await np.hold(db, SYSTEM, ames.id)
    assert (held.hold, held.hold_until) == (holds.INDEFINITE, None)
    assert held.status(clock.now()).text == "held"
    clock.advance(days=400)
    assert held.status(clock.now()).text == "held"
    freed = await np.unhold(db, SYSTEM, ames.id)
    assert (freed.hold, freed.status(clock.now()).text) == (holds.OFF, "available")


async def test_a_hold_in_the_past_is_refused_naming_the_rule(db: Database, clock: FakeClock):
    ames = await _add(db)
    with pytest.raises(InvalidInput, match="a hold must end in the future: 2026-01-05T08:59"):
        await np.hold(db, SYSTEM, ames.id, clock.now() - timedelta(minutes=1))
    with pytest.raises(InvalidInput, match="is not after now"):
        await np.hold(db, SYSTEM, ames.id, clock.now())
    with pytest.raises(InvalidInput, match="needs a time zone"):
        await np.hold(db, SYSTEM, ames.id, datetime(2030, 1, 1))
    assert (await np.get(db, SYSTEM, ames.id)).hold == holds.OFF


async def test_a_hold_expires_through_the_worker_when_its_time_passes(
    db: Database, clock: FakeClock
):
    worker = Worker(db, SandboxGateway(db), holder="test")
    assert "notification_holds" in [job.name for job in default_jobs(worker)]
    ames = await _add(db)
    until = clock.now() + timedelta(hours=2)
    held = await np.hold(db, SYSTEM, ames.id, until)
    assert held.status(clock.now()).text == "held until 2026-01-05T11:00+00:00"
    assert await np.next_hold_due(db) == until

    await worker.run_once()  # not yet
    assert (await np.get(db, SYSTEM, ames.id)).hold_expired_at is None

    clock.advance(hours=2, seconds=1)
    await worker.run_once()

    expired = await np.get(db, SYSTEM, ames.id)
    assert expired.hold_expired_at == until
    assert expired.status(clock.now()).text == "Hold expired"
    assert not holds.is_held(
        expired.hold, int(until.timestamp() * 1000), int(clock.now().timestamp() * 1000)
    )
    assert await np.next_hold_due(db) is None
    [event] = [
        e for e in await events.after(db, 0) if e.kind == "notification_profile.hold_expired"
    ]
    assert (event.entity_id, event.data) == (ames.id, {})
    await worker.run_once()  # announced once only
    assert len([e for e in await events.after(db, 0) if e.kind.endswith("hold_expired")]) == 1

    again = await np.hold(db, SYSTEM, ames.id, clock.now() + timedelta(minutes=5))
    assert again.hold_expired_at is None
    assert again.status(clock.now()).kind == "held_until"


async def test_held_profiles_are_found_by_the_one_rule_in_sql(db: Database, clock: FakeClock):
    a = (await _add(db, "A")).id
    b = (await _add(db, "B")).id
    await _add(db, "C")
    await np.hold(db, SYSTEM, a)
    await np.hold(db, SYSTEM, b, clock.now() + timedelta(minutes=30))
    now = int(clock.now().timestamp() * 1000)
    sql = f"SELECT p.alias FROM notification_profiles p WHERE {holds.held_sql('p')} ORDER BY 1"
    assert [r[0] for r in await db.fetchall(sql, {"now": now})] == ["A", "B"]
    later = now + 31 * 60_000
    assert [r[0] for r in await db.fetchall(sql, {"now": later})] == ["A"]


async def test_events_name_ids_only(db: Database):
    made = await _add(db, contact_numbers=(MOBILE,), emails=("secret@example.com",), email_on=True)
    await np.edit(db, SYSTEM, made.id, alias="Renamed")
    rows = await db.fetchall("SELECT kind, data FROM events")
    text = json.dumps([tuple(r) for r in rows])
    for private in ("secret@example.com", MOBILE, "Renamed", "Dr. Ames"):
        assert private not in text


async def test_the_default_region_reads_numbers_written_without_a_country_code(db: Database):
    await settings.update(db, SYSTEM, default_region="GB")
    made = await _add(db, contact_numbers=("020 7946 0000",))
    assert made.draft.contact_numbers == (UK_LANDLINE,)


@pytest.mark.parametrize(
    ("more", "about"),
    [
        ({"alias": "  "}, "alias"),
        ({"contact_numbers": ("not a number",)}, "contact_numbers"),
        ({"emails": tuple(f"p{i}@example.com" for i in range(6))}, "emails"),
        ({"sms_numbers": (UK_LANDLINE,)}, "sms_numbers"),
        ({"email_on": True}, "emails"),
        ({"sms_on": True}, "sms_numbers"),
        ({"email_mode": "custom", "email_subject": "{{nope}}", "email_body": "x"}, "email_subject"),
        ({"email_mode": "custom", "email_subject": "Hi", "email_body": ""}, "email_body"),
        ({"sms_mode": "custom", "sms_body": "{{outcome"}, "sms_body"),
        ({"alias": "dr. AMES"}, "alias"),
    ],
)
async def test_a_refusal_names_the_field_it_is_about(
    db: Database, more: dict[str, object], about: str
):
    """A form shows each refusal under its field (``SwitchboardError.about``)."""
    await _add(db)
    draft = {"alias": "Other", **more}
    with pytest.raises((InvalidInput, LimitExceeded, NotMobile, AlreadyTaken)) as refused:
        await np.add(db, SYSTEM, ProfileDraft(**draft))  # type: ignore[arg-type]
    assert refused.value.about == about
