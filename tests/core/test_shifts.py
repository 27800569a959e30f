"""Shifts (A3): weekly and one-off shifts, the refusals, overlaps compared as real
instants (across daylight-saving changes), the board of who is on now and next,
and the week grid's data. The clock is the fake one; nothing waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.clock import FakeClock
from core.db import Database
from core.errors import AlreadyTaken, InvalidInput, NotAllowed, NotFound
from core.people import agents
from core.people.authz import SYSTEM
from core.shifts import on_shift, shifts
from core.shifts.on_shift import NORMAL, ONCALL, staff_on_shift_in
from core.shifts.spans import Shape, first_overlap, intervals
from tests.core.conftest import Team

NY = "America/New_York"
LONDON = "Europe/London"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


async def test_a_weekly_shift_is_added_listed_and_removed(db: Database, team: Team) -> None:
    added = await shifts.add_weekly(db, SYSTEM, "alice", NORMAL, "mon 18:00 to tue 08:00")
    assert added.time_zone == "UTC"  # no time zone setting: UTC
    assert (added.start_minute, added.minutes) == (18 * 60, 14 * 60)
    assert added.when == "weekly mon 18:00 to tue 08:00 (UTC)"
    wraps = await shifts.add_weekly(db, SYSTEM, "bob", ONCALL, "sat 20:00 to mon 06:00", NY)
    assert wraps.when == "weekly sat 20:00 to mon 06:00 (America/New_York)"
    assert [s.id for s in await shifts.list_shifts(db, team.bob)] == [added.id, wraps.id]
    assert [s.id for s in await shifts.list_shifts(db, team.bob, "bob")] == [wraps.id]
    gone = await shifts.remove(db, SYSTEM, added.id)
    assert gone.id == added.id
    assert [s.id for s in await shifts.list_shifts(db, SYSTEM)] == [wraps.id]
    with pytest.raises(NotFound, match="no shift"):
        await shifts.remove(db, SYSTEM, added.id)
    kinds = await db.fetchall("SELECT kind FROM events WHERE entity = 'shift' ORDER BY id")
    assert [r["kind"] for r in kinds] == ["shift.added", "shift.added", "shift.removed"]


async def test_a_one_off_shift_reads_local_times_and_offsets(
    db: Database, team: Team, clock: FakeClock
) -> None:
    local = await shifts.add_once(
        db, SYSTEM, "alice", NORMAL, "2026-03-08T01:30", "2026-03-08T09:00", NY
    )
    # 01:30 EST is 06:30Z; 09:00 is after the jump to EDT: 13:00Z.
    assert (local.starts_at, local.ends_at) == (utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 13))
    assert local.when == "once 2026-03-08 01:30 to 2026-03-08 09:00 (America/New_York)"
    offset = await shifts.add_once(
        db, SYSTEM, team.alice.id, ONCALL, "2026-03-10T06:00Z", "2026-03-10T08:00+01:00", LONDON
    )
    assert (offset.starts_at, offset.ends_at) == (utc(2026, 3, 10, 6), utc(2026, 3, 10, 7))


@pytest.mark.parametrize(
    ("start", "end", "says"),
    [
        ("2026-02-02T10:00", "2026-02-02T09:00", "ends before it starts"),
        ("2026-02-02T10:00", "2026-02-02T10:00", "ends before it starts"),
        ("2026-02-02T10:00", "2026-02-09T10:01", "longer than 7 days"),
        ("2026-01-04T10:00", "2026-01-05T08:59", "already over"),
        ("yesterday", "2026-02-02T09:00", "is not an ISO date and time"),
    ],
)
async def test_a_bad_one_off_shift_is_refused_and_nothing_is_saved(
    db: Database, team: Team, start: str, end: str, says: str
) -> None:
    with pytest.raises(InvalidInput, match=says):
        await shifts.add_once(db, SYSTEM, "alice", NORMAL, start, end)
    assert await db.scalar("SELECT count(*) FROM shifts") == 0


async def test_a_one_off_shift_still_running_is_added(db: Database, team: Team) -> None:
    # The fake clock reads Monday 2026-01-05 09:00Z: begun, not over.
    await shifts.add_once(db, SYSTEM, "alice", NORMAL, "2026-01-05T08:00", "2026-01-05T10:00")


async def test_bad_kinds_zones_people_and_spans_are_refused(db: Database, team: Team) -> None:
    with pytest.raises(InvalidInput, match="'nap' is not a kind of shift"):
        await shifts.add_weekly(db, SYSTEM, "alice", "nap", "mon 09:00 to mon 17:00")
    with pytest.raises(InvalidInput, match="not a time zone"):
        await shifts.add_weekly(db, SYSTEM, "alice", NORMAL, "mon 09:00 to mon 17:00", "Mars/Base")
    with pytest.raises(InvalidInput, match="is not a start and an end"):
        await shifts.add_weekly(db, SYSTEM, "alice", NORMAL, "mornings")
    with pytest.raises(NotFound, match="no agent with username 'zed'"):
        await shifts.add_weekly(db, SYSTEM, "zed", NORMAL, "mon 09:00 to mon 17:00")
    whole = await shifts.add_weekly(db, SYSTEM, "alice", "on-call", "mon 09:00 to mon 09:00")
    assert await db.scalar("SELECT minutes FROM shifts") == 7 * 24 * 60
    # Said so, here and when it is why another shift is refused.
    assert whole.when == "weekly, the whole week from mon 09:00 (UTC)"
    with pytest.raises(AlreadyTaken) as caught:
        await shifts.add_weekly(db, SYSTEM, "alice", "on-call", "wed 09:00 to wed 09:00")
    assert str(caught.value).startswith(
        "the oncall shift weekly, the whole week from wed 09:00 (UTC) overlaps"
        f" alice's shift {whole.id}, weekly, the whole week from mon 09:00 (UTC), from "
    )


async def test_only_managers_of_users_change_shifts_and_anyone_reads_them(
    db: Database, team: Team
) -> None:
    with pytest.raises(NotAllowed, match="manage staff shifts"):
        await shifts.add_weekly(db, team.bob, "bob", NORMAL, "mon 09:00 to mon 17:00")
    made = await shifts.add_weekly(db, team.dana, "bob", NORMAL, "mon 09:00 to mon 17:00")
    assert await db.scalar("SELECT created_by FROM shifts") == team.dana.id
    assert [s.id for s in await shifts.list_shifts(db, team.alice)] == [made.id]
    with pytest.raises(NotAllowed):
        await shifts.remove(db, team.alice, made.id)


async def test_overlapping_shifts_of_one_kind_are_refused_naming_the_other(
    db: Database, team: Team
) -> None:
    first = await shifts.add_weekly(db, SYSTEM, "alice", NORMAL, "mon 09:00 to mon 17:00")
    with pytest.raises(AlreadyTaken, match=rf"alice's shift {first.id}, weekly mon 09:00") as e:
        await shifts.add_weekly(db, SYSTEM, "alice", NORMAL, "sun 23:00 to mon 09:01")
    assert "one person's shifts of one kind cannot overlap" in str(e.value)
    # Touching is not overlapping; another person, or the other kind, may overlap.
    await shifts.add_weekly(db, SYSTEM, "alice", NORMAL, "mon 17:00 to mon 18:00")
    await shifts.add_weekly(db, SYSTEM, "bob", NORMAL, "mon 10:00 to mon 11:00")
    await shifts.add_weekly(db, SYSTEM, "alice", ONCALL, "mon 10:00 to mon 11:00")
    # One-offs against weekly shifts and each other.
    with pytest.raises(AlreadyTaken, match=f"shift {first.id}"):
        await shifts.add_once(db, SYSTEM, "alice", NORMAL, "2026-01-12T16:00", "2026-01-12T16:30")
    once = await shifts.add_once(
        db, SYSTEM, "alice", NORMAL, "2026-01-13T16:00", "2026-01-14T08:00"
    )
    with pytest.raises(AlreadyTaken, match=f"shift {once.id}, once 2026-01-13 16:00"):
        await shifts.add_once(db, SYSTEM, "alice", NORMAL, "2026-01-14T07:00", "2026-01-14T09:00")
    with pytest.raises(AlreadyTaken, match=f"shift {once.id}"):
        await shifts.add_weekly(db, SYSTEM, "alice", NORMAL, "wed 07:59 to wed 08:30")
    assert await db.scalar("SELECT count(*) FROM shifts") == 5


async def test_a_shift_that_is_over_clashes_with_nothing(
    db: Database, team: Team, clock: FakeClock
) -> None:
    await shifts.add_once(db, SYSTEM, "alice", NORMAL, "2026-01-05T08:00", "2026-01-05T10:00")
    with pytest.raises(AlreadyTaken):
        await shifts.add_weekly(db, SYSTEM, "alice", NORMAL, "mon 09:30 to mon 12:00")
    clock.advance(hours=1)  # 10:00: over
    await shifts.add_weekly(db, SYSTEM, "alice", NORMAL, "mon 09:30 to mon 12:00")


async def test_weekly_shifts_in_two_zones_overlap_only_when_their_clocks_change_apart(
    db: Database, team: Team
) -> None:
    # New York 08:00-09:00 is London 13:00-14:00 in winter and summer, but 12:00-13:00
    # between the US change (8 March 2026) and the European one (29 March).
    await shifts.add_weekly(db, SYSTEM, "alice", NORMAL, "mon 08:00 to mon 09:00", NY)
    with pytest.raises(AlreadyTaken, match="from 2026-03-09 12:00 GMT"):
        await shifts.add_weekly(db, SYSTEM, "alice", NORMAL, "mon 12:00 to mon 13:00", LONDON)
    await shifts.add_weekly(db, SYSTEM, "alice", NORMAL, "mon 14:00 to mon 15:00", LONDON)
    # A one-off in those weeks meets it; the same a month earlier does not.
    with pytest.raises(AlreadyTaken, match="from 2026-03-16 12:30 GMT"):
        await shifts.add_once(
            db, SYSTEM, "alice", NORMAL, "2026-03-16T12:30", "2026-03-16T12:45", LONDON
        )
    await shifts.add_once(
        db, SYSTEM, "alice", NORMAL, "2026-02-16T12:30", "2026-02-16T12:45", LONDON
    )


def test_a_weekly_shift_holds_the_repeated_hour_twice_and_starts_at_the_jump() -> None:
    lo, hi = utc(2026, 10, 31), utc(2026, 11, 2)
    # New York's clocks go back at 06:00Z on 1 November 2026: 01:00-01:30 twice.
    repeated = Shape(NY, 6 * 1440 + 60, 30)
    assert intervals(repeated, lo, hi) == [
        (utc(2026, 11, 1, 5), utc(2026, 11, 1, 5, 30)),
        (utc(2026, 11, 1, 6), utc(2026, 11, 1, 6, 30)),
    ]
    # On 8 March 2026 they jump from 02:00 to 03:00: a shift from 02:30 starts at 03:00 EDT.
    skipped = Shape(NY, 6 * 1440 + 150, 60)
    assert intervals(skipped, utc(2026, 3, 7), utc(2026, 3, 9)) == [
        (utc(2026, 3, 8, 7), utc(2026, 3, 8, 7, 30))
    ]
    assert first_overlap(repeated, Shape(NY, starts_at=lo, ends_at=hi), lo) == utc(2026, 11, 1, 5)


async def test_the_sweep_and_the_intervals_agree_across_daylight_saving(
    db: Database, team: Team
) -> None:
    await shifts.add_weekly(db, SYSTEM, "alice", NORMAL, "sun 01:15 to sun 02:45", NY)
    await shifts.add_weekly(db, SYSTEM, "bob", NORMAL, "sat 23:00 to sun 03:00", LONDON)
    await shifts.add_once(db, SYSTEM, "dana", NORMAL, "2026-03-08T01:00", "2026-03-08T04:00", NY)
    listed = await shifts.list_shifts(db, SYSTEM)
    for lo in (utc(2026, 10, 31, 12), utc(2026, 3, 7, 12), utc(2026, 3, 28, 12)):
        hi = lo + timedelta(days=2)
        held = {s.agent_id: intervals(s.shape, lo, hi) for s in listed}
        at = lo
        while at < hi:
            expected = [a for a, spans in held.items() if any(x <= at < y for x, y in spans)]
            assert await staff_on_shift_in(db, at, NORMAL) == sorted(expected), at
            at += timedelta(minutes=5)


async def test_the_board_says_who_is_on_until_when_and_who_is_next(
    db: Database, team: Team, clock: FakeClock
) -> None:
    # Monday 2026-01-05 09:00Z.
    day = await shifts.add_weekly(db, SYSTEM, "alice", NORMAL, "mon 08:00 to mon 17:00")
    night = await shifts.add_weekly(db, SYSTEM, "bob", ONCALL, "mon 17:00 to tue 09:00")
    cover = await shifts.add_once(
        db, SYSTEM, "dana", NORMAL, "2026-01-05T12:00", "2026-01-05T14:00"
    )
    board = await on_shift.now_and_next(db, team.bob)
    assert [(o.shift.id, o.starts_at, o.ends_at) for o in board.on_now] == [
        (day.id, utc(2026, 1, 5, 8), utc(2026, 1, 5, 17))
    ]
    assert [(o.shift.id, o.starts_at) for o in board.next] == [
        (cover.id, utc(2026, 1, 5, 12)),
        (night.id, utc(2026, 1, 5, 17)),
    ]
    clock.advance(hours=9)  # 18:00
    board = await on_shift.now_and_next(db, team.bob)
    assert [(o.shift.username, o.ends_at) for o in board.on_now] == [("bob", utc(2026, 1, 6, 9))]
    assert [(o.shift.username, o.starts_at) for o in board.next] == [
        ("alice", utc(2026, 1, 12, 8)),
        ("bob", utc(2026, 1, 12, 17)),
    ]
    await agents.set_active(db, SYSTEM, "bob", False)
    assert (await on_shift.now_and_next(db, team.alice)).on_now == ()


async def test_the_week_is_given_in_the_viewers_zone(
    db: Database, team: Team, clock: FakeClock
) -> None:
    await shifts.add_weekly(db, SYSTEM, "alice", NORMAL, "sun 22:00 to mon 02:00", LONDON)
    await shifts.add_weekly(db, SYSTEM, "bob", ONCALL, "fri 18:00 to sat 06:00", NY)
    await shifts.add_once(db, SYSTEM, "dana", NORMAL, "2026-01-07T12:00Z", "2026-01-07T13:00Z")
    await shifts.add_once(db, SYSTEM, "dana", NORMAL, "2026-01-20T12:00Z", "2026-01-20T13:00Z")
    rows = await on_shift.week(db, team.alice, NY)
    shown = [(r.who, r.day, r.start, r.end_day, r.end, r.kind, r.once) for r in rows]
    # London's Sunday 22:00 to Monday 02:00 is New York's Sunday 17:00 to 21:00: only
    # the one starting on Sunday 11 January falls in New York's week of 5 January.
    assert shown == [
        ("Dana Whitfield", "wed", "07:00", "wed", "08:00", NORMAL, True),
        ("Bob Achebe", "fri", "18:00", "sat", "06:00", ONCALL, False),
        ("Alice Moreau", "sun", "17:00", "sun", "21:00", NORMAL, False),
    ]
    # The same week seen from London: Alice's shift as written, running into Monday.
    london = await on_shift.week(db, team.alice, LONDON)
    assert [(r.who, r.start_minute, r.minutes) for r in london][-1] == (
        "Alice Moreau",
        6 * 1440 + 22 * 60,
        240,
    )
