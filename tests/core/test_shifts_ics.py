"""Importing shifts from .ics files written here: weekly and one-off events, TZID
(IANA and Windows names), UTC and floating times, files that are not calendars,
unsupported rules reported by event, all or nothing, and importing again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.db import Database
from core.errors import InvalidInput, NotAllowed
from core.people.authz import SYSTEM
from core.shifts import shifts
from core.shifts.ics import import_ics
from core.shifts.on_shift import NORMAL, ONCALL
from tests.core.conftest import Team


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def calendar(*events: str) -> str:
    """A calendar holding ``events`` (each the lines between BEGIN and END:VEVENT), CRLF."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Tests//Shifts//EN"]
    for event in events:
        lines += ["BEGIN:VEVENT", *event.strip().splitlines(), "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(line.strip() for line in lines) + "\r\n"


WEEKLY_PARIS = """
    UID:nights@example.org
    SUMMARY:Nights
    DTSTART;TZID=Europe/Paris:20260105T180000
    DTEND;TZID=Europe/Paris:20260106T080000
    RRULE:FREQ=WEEKLY;BYDAY=MO,WE
"""
ONCE_UTC = """
    UID:cover-1
    SUMMARY:Cover
    DTSTART:20260110T120000Z
    DTEND:20260110T160000Z
    CATEGORIES:Work,On-Call
"""
FLOATING = """
    UID:floating
    DTSTART:20260111T090000
    DURATION:PT8H
"""


async def _listed(db: Database) -> list[tuple[str, str, str | None]]:
    return [(s.kind, s.when, s.ics_uid) for s in await shifts.list_shifts(db, SYSTEM)]


async def test_weekly_one_off_and_floating_events_become_shifts(db: Database, team: Team) -> None:
    report = await import_ics(
        db, SYSTEM, "alice", calendar(WEEKLY_PARIS, ONCE_UTC, FLOATING), time_zone="America/Chicago"
    )
    assert report.saved
    assert (report.added, report.replaced, report.skipped) == (4, 0, ())
    assert await _listed(db) == [
        (NORMAL, "weekly mon 18:00 to tue 08:00 (Europe/Paris)", "nights@example.org"),
        (NORMAL, "weekly wed 18:00 to thu 08:00 (Europe/Paris)", "nights@example.org"),
        # CATEGORIES on-call: an on-call shift; 'Z': exact instants.
        (ONCALL, "once 2026-01-10 12:00 to 2026-01-10 16:00 (UTC)", "cover-1"),
        # Floating: the zone given on import.
        (NORMAL, "once 2026-01-11 09:00 to 2026-01-11 17:00 (America/Chicago)", "floating"),
    ]
    assert await db.scalar("SELECT DISTINCT source FROM shifts") == "ics"
    assert await db.scalar("SELECT starts_at FROM shifts WHERE ics_uid = 'floating'") == int(
        utc(2026, 1, 11, 15).timestamp() * 1000
    )


async def test_windows_zone_names_and_the_kind_option(db: Database, team: Team) -> None:
    outlook = """
        UID:outlook-1
        DTSTART;TZID=Eastern Standard Time:20260112T080000
        DTEND;TZID=Eastern Standard Time:20260112T160000
        RRULE:FREQ=WEEKLY;WKST=SU;INTERVAL=1
    """
    report = await import_ics(db, SYSTEM, "bob", calendar(outlook), kind="oncall")
    assert report.added == 1
    assert await _listed(db) == [
        (ONCALL, "weekly mon 08:00 to mon 16:00 (America/New_York)", "outlook-1")
    ]


async def test_unsupported_rules_and_bad_events_are_reported_by_event_and_nothing_saved(
    db: Database, team: Team
) -> None:
    bad = [
        "UID:daily\nSUMMARY:Every day\nDTSTART:20260112T080000Z\nDTEND:20260112T090000Z\n"
        "RRULE:FREQ=DAILY",
        "UID:ten\nDTSTART:20260112T100000Z\nDTEND:20260112T110000Z\nRRULE:FREQ=WEEKLY;COUNT=10",
        "UID:fortnight\nDTSTART:20260112T120000Z\nDTEND:20260112T130000Z\n"
        "RRULE:FREQ=WEEKLY;INTERVAL=2",
        "UID:skips\nDTSTART:20260112T140000Z\nDTEND:20260112T150000Z\nRRULE:FREQ=WEEKLY\n"
        "EXDATE:20260119T140000Z",
        "UID:allday\nDTSTART;VALUE=DATE:20260112\nDTEND;VALUE=DATE:20260113",
        "UID:backwards\nDTSTART:20260112T180000Z\nDTEND:20260112T170000Z",
        "UID:mars\nDTSTART;TZID=Mars/Olympus:20260112T180000\nDTEND:20260112T190000Z",
        "SUMMARY:No uid\nDTSTART:20260113T180000Z\nDTEND:20260113T190000Z",
        "UID:first-monday\nDTSTART:20260105T200000Z\nDTEND:20260105T210000Z\n"
        "RRULE:FREQ=WEEKLY;BYDAY=1MO",
    ]
    report = await import_ics(db, SYSTEM, "alice", calendar(WEEKLY_PARIS, *bad))
    assert not report.saved
    assert report.added == 0
    reasons = {p.uid: (p.line, p.reason) for p in report.problems}
    assert reasons["daily"][1] == (
        "its repeat rule is FREQ=DAILY: only weekly rules (FREQ=WEEKLY) are"
    )
    assert "COUNT, not supported (a weekly shift has no end)" in reasons["ten"][1]
    assert "INTERVAL=2" in reasons["fortnight"][1]
    assert "skipped dates (EXDATE)" in reasons["skips"][1]
    assert "all-day event is not a shift" in reasons["allday"][1]
    assert "ends before it starts" in reasons["backwards"][1]
    assert "TZID='Mars/Olympus' is not one we know" in reasons["mars"][1]
    assert "has no UID" in reasons[""][1]
    assert "only plain days" in reasons["first-monday"][1]
    # Lines of each BEGIN:VEVENT: the header is 3 lines, the Paris event 7.
    assert reasons["daily"][0] == 11
    assert [p.summary for p in report.problems][:1] == ["Every day"]
    assert await db.scalar("SELECT count(*) FROM shifts") == 0


async def test_overlaps_within_the_file_and_with_other_shifts_are_reported(
    db: Database, team: Team
) -> None:
    own = await shifts.add_weekly(db, SYSTEM, "alice", NORMAL, "tue 06:00 to tue 07:30", "UTC")
    twice = (
        "UID:again\nDTSTART;TZID=Europe/Paris:20260105T200000\n"
        "DTEND;TZID=Europe/Paris:20260105T210000"
    )
    report = await import_ics(db, SYSTEM, "alice", calendar(WEEKLY_PARIS, twice))
    assert [(p.uid, p.line) for p in report.problems] == [
        ("nights@example.org", 4),
        ("again", 11),
    ]
    assert f"overlaps shift {own.id}, weekly tue 06:00 to tue 07:30 (UTC)" in (
        report.problems[0].reason
    )
    assert "overlaps the event on line 4 (weekly mon 18:00 to tue 08:00)" in (
        report.problems[1].reason
    )
    assert await db.scalar("SELECT count(*) FROM shifts") == 1


async def test_importing_again_replaces_the_same_uids_only(db: Database, team: Team) -> None:
    first = await import_ics(db, SYSTEM, "alice", calendar(WEEKLY_PARIS, ONCE_UTC))
    assert first.added == 3
    by_hand = await shifts.add_weekly(db, SYSTEM, "alice", NORMAL, "sat 10:00 to sat 12:00")
    moved = WEEKLY_PARIS.replace("T180000", "T190000").replace("BYDAY=MO,WE", "BYDAY=MO")
    again = await import_ics(db, SYSTEM, "alice", calendar(moved))
    assert (again.added, again.replaced) == (1, 2)
    assert [s.when for s in await shifts.list_shifts(db, SYSTEM)] == [
        "weekly mon 19:00 to tue 08:00 (Europe/Paris)",
        by_hand.when,
        "once 2026-01-10 12:00 to 2026-01-10 16:00 (UTC)",
    ]
    same = await import_ics(db, SYSTEM, "alice", calendar(moved))
    assert (same.added, same.replaced) == (1, 1)
    assert await db.scalar("SELECT count(*) FROM shifts") == 3


async def test_past_and_cancelled_events_are_skipped(db: Database, team: Team) -> None:
    past = "UID:old\nSUMMARY:Old\nDTSTART:20251201T080000Z\nDTEND:20251201T090000Z"
    cancelled = ONCE_UTC.replace("cover-1", "cover-2") + "\nSTATUS:CANCELLED"
    report = await import_ics(db, SYSTEM, "alice", calendar(past, cancelled, FLOATING))
    assert report.added == 1
    assert [(s.uid, s.reason) for s in report.skipped] == [
        (
            "old",
            "it is over (once 2025-12-01 08:00 to 2025-12-01 09:00 UTC): a past shift is not added",
        ),
        ("cover-2", "it is cancelled"),
    ]


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ("name,mobile\nAda,+12125550100\n", "is not an iCalendar file"),
        ("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ada\r\nEND:VCARD\r\n", "holds no VCALENDAR"),
        (calendar(), "holds no events"),
        (b"BEGIN:VCALENDAR\r\n\xff\xfe\r\nEND:VCALENDAR\r\n", "not UTF-8"),
    ],
)
async def test_a_file_that_is_not_a_calendar_is_refused(
    db: Database, team: Team, data: str | bytes, says: str
) -> None:
    with pytest.raises(InvalidInput, match=says):
        await import_ics(db, SYSTEM, "alice", data)


async def test_only_managers_of_users_import(db: Database, team: Team) -> None:
    with pytest.raises(NotAllowed):
        await import_ics(db, team.alice, "alice", calendar(ONCE_UTC))
    assert (await import_ics(db, team.dana, "alice", calendar(ONCE_UTC))).added == 1
