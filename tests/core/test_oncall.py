"""On-call schedules: slots on the week circle, who is on call at an instant (with
holds skipped), daylight-saving changes, and the refusals.

Notification profiles and groups are written with SQL: the schema is the
contract, and their own services live elsewhere.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import settings as core_settings
from core.clock import FakeClock, to_ms
from core.db import Database, open_database
from core.errors import AlreadyTaken, InUse, InvalidInput, NotAllowed, NotFound
from core.notify import oncall
from core.notify.oncall import on_call_profiles_in
from core.people.authz import SYSTEM, Actor
from core.weektime import WEEK, occurrences, overlaps, parse_span, parse_when, wall_instant

NY = "America/New_York"
LONDON = "Europe/London"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


async def profile(
    db: Database, alias: str, *numbers: str, hold: str = "off", until: datetime | None = None
) -> int:
    async with db.transaction() as tx:
        pid = await tx.insert(
            "INSERT INTO notification_profiles (alias, hold, hold_until, created_at, updated_at)"
            " VALUES (?, ?, ?, 0, 0)",
            (alias, hold, None if until is None else to_ms(until)),
        )
        for position, number in enumerate(numbers):
            await tx.execute(
                "INSERT INTO notification_profile_contacts (profile_id, kind, value, position)"
                " VALUES (?, 'contact_number', ?, ?)",
                (pid, number, position),
            )
    return pid


async def hold(db: Database, pid: int, how: str, until: datetime | None = None) -> None:
    await db.write(
        "UPDATE notification_profiles SET hold = ?, hold_until = ? WHERE id = ?",
        (how, None if until is None else to_ms(until), pid),
    )


async def group(db: Database, name: str, *members: int) -> int:
    async with db.transaction() as tx:
        gid = await tx.insert(
            "INSERT INTO notification_groups (name, created_at) VALUES (?, 0)", (name,)
        )
        for m in members:
            await tx.execute(
                "INSERT INTO notification_group_members (group_id, profile_id) VALUES (?, ?)",
                (gid, m),
            )
    return gid


async def who(db: Database, schedule_id: int, at: datetime) -> list[int]:
    async with db.transaction() as tx:
        return await on_call_profiles_in(tx, schedule_id, at)


# --- days, times, the week circle ------------------------------------------------------


def test_days_and_times_are_minutes_of_the_week() -> None:
    assert parse_when("mon 00:00") == 0
    assert parse_when("Tue 08:30") == 1440 + 510
    assert parse_when("sunday 23:59") == WEEK - 1
    assert parse_span("fri 18:00 to mon 08:00") == (4 * 1440 + 1080, 480)


@pytest.mark.parametrize(
    "text", ["mon 24:00", "mon 18:60", "funday 10:00", "18:00", "mon 6pm", "mon\x1b 18:00"]
)
def test_a_bad_day_or_time_is_refused_naming_the_form(text: str) -> None:
    with pytest.raises(InvalidInput, match=r"'mon 18:00'|holds a control character"):
        parse_when(text)


def test_a_span_without_to_is_refused_naming_the_form() -> None:
    with pytest.raises(InvalidInput, match="'mon 18:00 to tue 08:00'"):
        parse_span("mon 18:00 tue 08:00")


@settings(max_examples=300)
@given(
    st.integers(0, WEEK - 1), st.integers(1, WEEK), st.integers(0, WEEK - 1), st.integers(1, WEEK)
)
def test_overlap_is_sharing_a_minute_of_the_week(a: int, n: int, b: int, m: int) -> None:
    first = {(a + i) % WEEK for i in range(n)}
    second = {(b + i) % WEEK for i in range(m)}
    assert overlaps(a, n, b, m) == bool(first & second)


# --- schedules ---------------------------------------------------------------------------


async def test_add_rename_list_and_delete(db: Database, dana: Actor) -> None:
    made = await oncall.add_schedule(db, dana, "Nights", NY)
    assert (made.name, made.time_zone, made.slots) == ("Nights", NY, 0)
    with pytest.raises(AlreadyTaken, match="'nights' already exists"):
        await oncall.add_schedule(db, dana, "nights", LONDON)
    await oncall.add_schedule(db, dana, "Days", LONDON)
    renamed = await oncall.edit_schedule(db, dana, "Nights", rename="Evenings")
    assert renamed.name == "Evenings"
    with pytest.raises(AlreadyTaken):
        await oncall.edit_schedule(db, dana, "Evenings", rename="days")
    await profile(db, "Dr Lee")
    await oncall.add_slot(db, dana, "Evenings", "mon 18:00", "tue 08:00", profile="Dr Lee")
    listed = await oncall.list_schedules(db, dana)
    assert [(s.name, s.slots) for s in listed] == [("Days", 0), ("Evenings", 1)]
    await oncall.delete_schedule(db, dana, "Evenings")
    assert await db.scalar("SELECT count(*) FROM oncall_slots") == 0
    with pytest.raises(NotFound, match="no on-call schedule called 'Evenings'"):
        await oncall.get(db, dana, "Evenings")


@pytest.mark.parametrize(
    ("zone", "said"),
    [
        ("Mars/Olympus", "named IANA time zone such as 'America/New_York'"),
        ("america/new_york", "did you mean 'America/New_York'"),
        ("localtime", "named IANA time zone"),
        ("../etc/passwd", "named IANA time zone"),
        ("", "cannot be empty"),
    ],
)
async def test_an_unknown_time_zone_is_refused(
    db: Database, dana: Actor, zone: str, said: str
) -> None:
    with pytest.raises(InvalidInput, match=said):
        await oncall.add_schedule(db, dana, "Nights", zone)
    assert await db.scalar("SELECT count(*) FROM oncall_schedules") == 0


async def test_a_schedule_an_outcome_uses_cannot_be_deleted(db: Database, dana: Actor) -> None:
    made = await oncall.add_schedule(db, dana, "Nights", NY)
    await db.write(
        "INSERT INTO outcome_recipients (outcome_id, schedule_id)"
        " SELECT id, ? FROM outcomes WHERE name IN ('Urgent', 'General Message')",
        (made.id,),
    )
    with pytest.raises(InUse) as caught:
        await oncall.delete_schedule(db, dana, "Nights")
    assert str(caught.value) == (
        "on-call schedule 'Nights' is used in 2 places: outcome 'General Message';"
        " outcome 'Urgent'; take it off those outcomes first"
    )
    assert [link.place for link in caught.value.links] == ["General Message", "Urgent"]
    assert await db.scalar("SELECT count(*) FROM oncall_schedules") == 1


# --- slots -------------------------------------------------------------------------------


async def test_overlapping_slots_are_refused_naming_the_slot(db: Database, dana: Actor) -> None:
    await profile(db, "Dr Lee")
    await profile(db, "Dr Kim")
    await oncall.add_schedule(db, dana, "Nights", NY)
    weekend = await oncall.add_slot(db, dana, "Nights", "fri 18:00", "mon 08:00", profile="Dr Lee")
    assert (weekend.day, weekend.start, weekend.end_day, weekend.end) == (
        "fri",
        "18:00",
        "mon",
        "08:00",
    )
    # Touching is not overlapping: the slot holds up to, not including, its end.
    await oncall.add_slot(db, dana, "Nights", "mon 08:00", "mon 18:00", profile="Dr Kim")
    with pytest.raises(AlreadyTaken) as caught:
        await oncall.add_slot(db, dana, "Nights", "sun 23:00", "sun 23:30", profile="Dr Kim")
    assert str(caught.value) == (
        f"the slot sun 23:00 to sun 23:30 overlaps slot {weekend.id}"
        " (fri 18:00 to mon 08:00, Dr Lee): slots of one schedule cannot overlap"
    )
    # Wrapping round the week: Sunday night into Monday morning.
    with pytest.raises(AlreadyTaken, match=f"overlaps slot {weekend.id}"):
        await oncall.add_slot(db, dana, "Nights", "sun 12:00", "mon 01:00", profile="Dr Kim")
    # The whole week (the same time twice) overlaps everything.
    with pytest.raises(AlreadyTaken):
        await oncall.add_slot(db, dana, "Nights", "wed 00:00", "wed 00:00", profile="Dr Kim")
    assert await db.scalar("SELECT count(*) FROM oncall_slots") == 2


async def test_a_slot_names_one_profile_or_one_group(db: Database, dana: Actor) -> None:
    await oncall.add_schedule(db, dana, "Nights", NY)
    with pytest.raises(InvalidInput, match="one notification profile or one group"):
        await oncall.add_slot(db, dana, "Nights", "mon 00:00", "mon 01:00")
    with pytest.raises(NotFound, match="no notification profile called 'Nobody'"):
        await oncall.add_slot(db, dana, "Nights", "mon 00:00", "mon 01:00", profile="Nobody")
    with pytest.raises(NotFound, match="no notification group called 'Nobody'"):
        await oncall.add_slot(db, dana, "Nights", "mon 00:00", "mon 01:00", group="Nobody")


async def test_edit_and_remove_a_slot(db: Database, dana: Actor) -> None:
    lee, kim = await profile(db, "Dr Lee"), await profile(db, "Dr Kim")
    made = await oncall.add_schedule(db, dana, "Nights", NY)
    night = await oncall.add_slot(db, dana, "Nights", "mon 18:00", "tue 08:00", profile="Dr Lee")
    day = await oncall.add_slot(db, dana, "Nights", "tue 08:00", "tue 18:00", profile="Dr Kim")
    # Moving a slot onto itself is no overlap; onto its neighbour is.
    moved = await oncall.edit_slot(db, dana, "Nights", night.id, start="mon 17:00")
    assert (moved.start, moved.end_day, moved.end, moved.minutes) == ("17:00", "tue", "08:00", 900)
    with pytest.raises(AlreadyTaken, match=f"overlaps slot {day.id}"):
        await oncall.edit_slot(db, dana, "Nights", night.id, end="tue 09:00")
    given = await oncall.edit_slot(db, dana, "Nights", night.id, profile="Dr Kim")
    assert (given.who, given.profile_id, given.minutes) == ("Dr Kim", kim, 900)
    await oncall.remove_slot(db, dana, "Nights", day.id)
    with pytest.raises(NotFound, match=f"has no slot {day.id}"):
        await oncall.remove_slot(db, dana, "Nights", day.id)
    assert [s.id for s in await oncall.week(db, dana, made.id)] == [night.id]
    assert lee != kim


async def test_the_week_grid(db: Database, dana: Actor, alice: Actor, clock: FakeClock) -> None:
    lee = await profile(db, "Dr Lee", hold="indefinite")
    kim = await profile(db, "Dr Kim")
    await group(db, "Surgeons", lee, kim)
    await oncall.add_schedule(db, dana, "Nights", NY)
    await oncall.add_slot(db, dana, "Nights", "sat 20:00", "mon 06:00", group="Surgeons")
    await oncall.add_slot(db, dana, "Nights", "mon 18:00", "tue 08:00", profile="Dr Lee")
    grid = await oncall.week(db, alice, "Nights")  # any agent sees it (VIEW_ON_CALL)
    assert [(s.day, s.start, s.end_day, s.end, s.who, s.held) for s in grid] == [
        ("mon", "18:00", "tue", "08:00", "Dr Lee", True),
        ("sat", "20:00", "mon", "06:00", "Surgeons", False),  # Dr Kim is not held
    ]


# --- who is on call ----------------------------------------------------------------------


async def test_who_is_on_call_including_a_wrapping_slot(db: Database, dana: Actor) -> None:
    lee, kim = await profile(db, "Dr Lee"), await profile(db, "Dr Kim")
    made = await oncall.add_schedule(db, dana, "Weekends", "UTC")
    await oncall.add_slot(db, dana, made.id, "sat 08:00", "sun 20:00", profile="Dr Kim")
    await oncall.add_slot(db, dana, made.id, "sun 20:00", "mon 08:00", profile="Dr Lee")
    # 2026-01-04 is a Sunday.
    assert await who(db, made.id, utc(2026, 1, 4, 19, 59)) == [kim]
    assert await who(db, made.id, utc(2026, 1, 4, 20, 0)) == [lee]
    assert await who(db, made.id, utc(2026, 1, 5, 7, 59)) == [lee]  # Monday: wrapped
    assert await who(db, made.id, utc(2026, 1, 5, 8, 0)) == []  # nobody on Monday day
    with pytest.raises(NotFound):
        await who(db, made.id + 1, utc(2026, 1, 5))


async def test_a_group_is_its_members_by_alias(db: Database, dana: Actor) -> None:
    zed, amy, bo = await profile(db, "Zed"), await profile(db, "amy"), await profile(db, "Bo")
    await group(db, "Surgeons", zed, amy, bo)
    made = await oncall.add_schedule(db, dana, "Nights", "UTC")
    await oncall.add_slot(db, dana, made.id, "mon 00:00", "mon 00:00", group="Surgeons")
    assert await who(db, made.id, utc(2026, 1, 7, 12)) == [amy, bo, zed]
    await hold(db, bo, "indefinite")
    assert await who(db, made.id, utc(2026, 1, 7, 12)) == [amy, zed]


async def test_a_held_profile_gives_way_to_the_next_on_call(
    db: Database, dana: Actor, alice: Actor, clock: FakeClock
) -> None:
    lee = await profile(db, "Dr Lee", "+12125550110")
    kim = await profile(db, "Dr Kim", "+12125550120", "+12125550121")
    ray = await profile(db, "Dr Ray", "+12125550130")
    made = await oncall.add_schedule(db, dana, "Nights", "UTC")
    mon = await oncall.add_slot(db, dana, made.id, "mon 18:00", "tue 08:00", profile="Dr Lee")
    await oncall.add_slot(db, dana, made.id, "tue 18:00", "wed 08:00", profile="Dr Ray")
    wed = await oncall.add_slot(db, dana, made.id, "wed 18:00", "thu 08:00", profile="Dr Kim")
    monday_night = utc(2026, 1, 5, 22)
    clock.set(monday_night)
    # Held until Tuesday 07:00: Dr Ray's slot comes next in time, then Dr Kim's.
    await hold(db, lee, "until", utc(2026, 1, 6, 7))
    await hold(db, ray, "indefinite")
    assert await who(db, made.id, monday_night) == [kim]
    now = await oncall.on_call_now(db, alice, "Nights")
    assert now.slot is not None
    assert (now.slot.id, now.slot.held) == (mon.id, True)
    assert now.stand_in is not None
    assert now.stand_in.id == wed.id
    assert [(p.alias, p.contact_numbers) for p in now.profiles] == [
        ("Dr Kim", ("+12125550120", "+12125550121"))
    ]
    # The hold ends without anyone acting: at its time Dr Lee is on call again.
    assert await who(db, made.id, utc(2026, 1, 6, 7)) == [lee]
    clock.set(utc(2026, 1, 6, 7))
    await hold(db, lee, "indefinite")
    await hold(db, kim, "indefinite")
    assert await who(db, made.id, clock.now()) == []  # every slot's profile held
    assert (await oncall.on_call_now(db, alice, "Nights")).profiles == ()


async def test_on_call_now_says_who_is_next(
    db: Database, alice: Actor, dana: Actor, clock: FakeClock
) -> None:
    await profile(db, "Dr Lee", "+12125550110")
    await profile(db, "Dr Kim")
    await oncall.add_schedule(db, dana, "Nights", NY)
    await oncall.add_slot(db, dana, "Nights", "mon 18:00", "tue 08:00", profile="Dr Lee")
    await oncall.add_slot(db, dana, "Nights", "sat 09:00", "sat 10:00", profile="Dr Kim")
    clock.set(utc(2026, 1, 5, 23, 30))  # Monday 18:30 in New York (EST)
    now = await oncall.on_call_now(db, alice, "Nights")
    assert now.local.strftime("%a %H:%M %Z") == "Mon 18:30 EST"
    assert [p.alias for p in now.profiles] == ["Dr Lee"]
    assert now.stand_in is None
    assert now.next is not None
    assert now.next.who == "Dr Kim"
    assert now.next_at == utc(2026, 1, 10, 14)
    # Outside every slot: nobody now, and the next is Monday's.
    out = await oncall.on_call_now(db, alice, "Nights", utc(2026, 1, 6, 20))
    assert (out.slot, out.profiles) == (None, ())
    assert out.next is not None
    assert out.next.who == "Dr Kim"
    # A naive --at is the schedule's wall time.
    local = await oncall.on_call_now(db, alice, "Nights", datetime(2026, 1, 10, 9, 15))
    assert local.at == utc(2026, 1, 10, 14, 15)
    assert [p.alias for p in local.profiles] == ["Dr Kim"]
    assert local.next_at == utc(2026, 1, 12, 23)


async def test_a_transfer_to_a_held_profile_is_refused(
    db: Database, alice: Actor, clock: FakeClock
) -> None:
    lee = await profile(db, "Dr Lee", "+12125550110", hold="until", until=utc(2026, 1, 5, 14, 30))
    kim = await profile(db, "Dr Kim", "+12125550120", hold="indefinite")
    with pytest.raises(NotAllowed) as caught:
        await oncall.transfer_target(db, alice, lee)
    assert str(caught.value) == (
        "notification profile 'Dr Lee' is held until 2026-01-05 14:30 UTC (hold my calls):"
        " transfers to a held profile are refused"
    )
    with pytest.raises(NotAllowed, match="'Dr Kim' is held indefinitely"):
        await oncall.transfer_target(db, alice, kim)
    await core_settings.update(db, SYSTEM, time_zone="Asia/Tokyo")  # shown in the account's zone
    with pytest.raises(NotAllowed, match="'Dr Lee' is held until 2026-01-05 23:30 JST "):
        await oncall.transfer_target(db, alice, lee)
    clock.set(utc(2026, 1, 5, 14, 30))  # the hold's time: transfers resume
    target = await oncall.transfer_target(db, alice, lee)
    assert (target.alias, target.contact_numbers) == ("Dr Lee", ("+12125550110",))


# --- daylight saving ---------------------------------------------------------------------


async def _one_slot(db: Database, zone: str, start: str, end: str) -> tuple[int, int]:
    pid = await profile(db, f"Doctor {start} {zone}")
    made = await oncall.add_schedule(db, SYSTEM, f"{zone} {start}", zone)
    await oncall.add_slot(db, SYSTEM, made.id, start, end, profile=f"Doctor {start} {zone}")
    return made.id, pid


async def _covered(
    db: Database, schedule_id: int, start: datetime, end: datetime
) -> list[datetime]:
    """The instants, minute by minute in [start, end), someone is on call."""
    found = []
    at = start
    while at < end:
        if await who(db, schedule_id, at):
            found.append(at)
        at += timedelta(minutes=1)
    return found


async def test_new_york_spring_forward(db: Database, clock: FakeClock) -> None:
    # Sunday 2026-03-08: at 02:00 EST (07:00 UTC) the clocks jump to 03:00 EDT.
    night, _ = await _one_slot(db, NY, "sun 01:00", "sun 03:00")
    covered = await _covered(db, night, utc(2026, 3, 8, 5), utc(2026, 3, 8, 9))
    # 01:00-01:59 EST; 02:00-02:59 never happens: one real hour.
    assert (covered[0], covered[-1], len(covered)) == (
        utc(2026, 3, 8, 6),
        utc(2026, 3, 8, 6, 59),
        60,
    )
    # A slot that starts in the skipped hour starts when the clocks jump past its start.
    skipped, _ = await _one_slot(db, NY, "sun 02:30", "sun 04:00")
    covered = await _covered(db, skipped, utc(2026, 3, 8, 5), utc(2026, 3, 8, 9))
    assert (covered[0], covered[-1], len(covered)) == (
        utc(2026, 3, 8, 7),
        utc(2026, 3, 8, 7, 59),
        60,
    )
    clock.set(utc(2026, 3, 8, 6, 30))
    now = await oncall.on_call_now(db, SYSTEM, skipped)
    assert (now.slot, now.next_at) == (None, utc(2026, 3, 8, 7))


async def test_new_york_fall_back(db: Database, clock: FakeClock) -> None:
    # Sunday 2026-11-01: at 02:00 EDT (06:00 UTC) the clocks go back to 01:00 EST.
    night, _ = await _one_slot(db, NY, "sun 01:00", "sun 03:00")
    covered = await _covered(db, night, utc(2026, 11, 1, 4), utc(2026, 11, 1, 9))
    # 01:00 EDT to 03:00 EST: both passes of the repeated hour, three real hours.
    assert (covered[0], covered[-1], len(covered)) == (
        utc(2026, 11, 1, 5),
        utc(2026, 11, 1, 7, 59),
        180,
    )
    assert await who(db, night, utc(2026, 11, 1, 5, 30))  # 01:30 EDT
    assert await who(db, night, utc(2026, 11, 1, 6, 30))  # 01:30 EST
    # The repeated hour alone: both of its instants are in the slot.
    hour, _ = await _one_slot(db, NY, "sun 01:15", "sun 01:45")
    assert len(await _covered(db, hour, utc(2026, 11, 1, 4), utc(2026, 11, 1, 9))) == 60
    # During the first pass, the slot's next start is its second pass.
    other, _ = await _one_slot(db, NY, "sun 01:40", "sun 01:50")
    now = await oncall.on_call_now(db, SYSTEM, other, utc(2026, 11, 1, 5, 55))  # 01:55 EDT
    assert (now.slot, now.next_at) == (None, utc(2026, 11, 1, 6, 40))  # 01:40 EST


async def test_london_both_changes(db: Database) -> None:
    # 2026-03-29: 01:00 GMT becomes 02:00 BST; 2026-10-25: 02:00 BST becomes 01:00 GMT.
    night, _ = await _one_slot(db, LONDON, "sun 00:30", "sun 02:30")
    spring = await _covered(db, night, utc(2026, 3, 28, 23), utc(2026, 3, 29, 3))
    assert (spring[0], spring[-1], len(spring)) == (
        utc(2026, 3, 29, 0, 30),
        utc(2026, 3, 29, 1, 29),
        60,
    )
    autumn = await _covered(db, night, utc(2026, 10, 24, 22), utc(2026, 10, 25, 3))
    assert (autumn[0], autumn[-1], len(autumn)) == (
        utc(2026, 10, 24, 23, 30),
        utc(2026, 10, 25, 2, 29),
        180,
    )
    # A slot wholly inside the skipped hour does not happen that week: next week's is next.
    gap, _ = await _one_slot(db, LONDON, "sun 01:15", "sun 01:45")
    assert await _covered(db, gap, utc(2026, 3, 28, 23), utc(2026, 3, 29, 3)) == []
    now = await oncall.on_call_now(db, SYSTEM, gap, utc(2026, 3, 29, 0, 30))
    assert now.next_at == utc(2026, 4, 5, 0, 15)  # 01:15 BST


def test_the_instants_of_a_wall_time() -> None:
    zone = ZoneInfo(NY)
    assert occurrences(datetime(2026, 3, 8, 1, 30), zone) == [utc(2026, 3, 8, 6, 30)]
    # Skipped: the clocks read past it from the jump on.
    assert occurrences(datetime(2026, 3, 8, 2, 30), zone) == [utc(2026, 3, 8, 7)]
    # Repeated: both passes.
    assert occurrences(datetime(2026, 11, 1, 1, 30), zone) == [
        utc(2026, 11, 1, 5, 30),
        utc(2026, 11, 1, 6, 30),
    ]
    # One instant for a typed time: the earlier pass, or the jump.
    assert wall_instant(datetime(2026, 11, 1, 1, 30), zone) == utc(2026, 11, 1, 5, 30)
    assert wall_instant(datetime(2026, 3, 8, 2, 30), zone) == utc(2026, 3, 8, 7)


# --- against a minute-by-minute check ----------------------------------------------------

PEOPLE = 4


@st.composite
def week_plans(draw: st.DrawFn) -> tuple[list[tuple[int, int, int]], list[bool], list[int]]:
    """Slots (start, minutes, person) to try, who is held, and instants (minutes of a week)."""
    tries = draw(
        st.lists(
            st.tuples(
                st.integers(0, WEEK - 1),
                st.one_of(st.integers(1, 180), st.integers(1, WEEK)),
                st.integers(0, PEOPLE - 1),
            ),
            max_size=10,
        )
    )
    held = draw(st.lists(st.booleans(), min_size=PEOPLE, max_size=PEOPLE))
    instants = draw(st.lists(st.integers(0, WEEK - 1), min_size=1, max_size=20))
    return tries, held, instants


async def _check_plan(
    tries: list[tuple[int, int, int]], held: list[bool], instants: list[int]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = await open_database(Path(folder) / "p.sqlite3", FakeClock())
        try:
            ids = [
                await profile(db, f"P{i}", hold="indefinite" if h else "off")
                for i, h in enumerate(held)
            ]
            made = await oncall.add_schedule(db, SYSTEM, "Plan", "UTC")
            owner: list[int | None] = [None] * WEEK  # minute -> slot id
            person: dict[int, int] = {}
            for start, minutes, p in tries:
                minutes_of = [(start + i) % WEEK for i in range(minutes)]
                free = all(owner[m] is None for m in minutes_of)
                try:
                    slot = await oncall.add_slot(
                        db, SYSTEM, made.id, start, (start + minutes) % WEEK, profile=f"P{p}"
                    )
                except AlreadyTaken:
                    assert not free
                    continue
                assert free
                for m in minutes_of:
                    owner[m] = slot.id
                person[slot.id] = p
            monday = utc(2026, 1, 5)
            for m in instants:
                current = owner[m]
                expected: list[int] = []
                if current is not None:
                    # Walk forward minute by minute for the first slot with someone free.
                    for k in range(WEEK):
                        slot_id = owner[(m + k) % WEEK]
                        if slot_id is None or (k and slot_id == current):
                            continue
                        if not held[person[slot_id]]:
                            expected = [ids[person[slot_id]]]
                            break
                at = monday + timedelta(minutes=m, seconds=30)
                assert await who(db, made.id, at) == expected, (m, tries, held)
        finally:
            await db.close()


@settings(max_examples=60, deadline=None)
@given(week_plans())
def test_resolution_matches_a_minute_by_minute_check(
    plan: tuple[list[tuple[int, int, int]], list[bool], list[int]],
) -> None:
    asyncio.run(_check_plan(*plan))
