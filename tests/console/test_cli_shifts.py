"""`switchboard shifts`, run as a user runs it: add, list, remove, who is on now and
next, the week, and importing an .ics file. Instants are fixed with --at, and one-off
shifts lie in 2030, so nothing depends on the wall clock."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from tests.processes import ok, refused, saved_before_the_rule, scalar, switchboard

Run = Callable[..., CompletedProcess[str]]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "switchboard.sqlite3"


@pytest.fixture
def sb(tmp_path: Path, db: Path) -> Run:
    def run(*args: str | Path) -> CompletedProcess[str]:
        return switchboard("shifts", *args, db=db, home=tmp_path)

    ok(switchboard("agents", "add", "alice", "--name", "Alice Moreau", db=db, home=tmp_path))
    ok(switchboard("agents", "add", "bob", "--name", "Bob", db=db, home=tmp_path))
    saved_before_the_rule(db, "UPDATE agents SET name = ? WHERE username = 'bob'", ("Bob\x1b[31m",))
    return run


def test_add_list_now_week_and_remove(sb: Run, db: Path) -> None:
    assert ok(sb("add", "alice", "normal", "mon", "08:00", "to", "mon", "17:00")).stdout == (
        "added shift 1: alice, normal, weekly mon 08:00 to mon 17:00 (UTC)\n"
    )
    ok(sb("add", "bob", "oncall", "mon 17:00 to tue 09:00", "--zone", "Europe/Paris"))
    once = ok(
        sb("add", "alice", "oncall", "--from", "2030-01-07T20:00", "--to", "2030-01-07T22:00")
    )
    assert once.stdout == (
        "added shift 3: alice, oncall, once 2030-01-07 20:00 to 2030-01-07 22:00 (UTC)\n"
    )
    assert scalar(db, "SELECT group_concat(source) FROM shifts") == "cli,cli,cli"
    assert ok(sb("list")).stdout.splitlines() == [
        "    1  alice        normal  weekly mon 08:00 to mon 17:00 (UTC)",
        "    3  alice        oncall  once 2030-01-07 20:00 to 2030-01-07 22:00 (UTC)",
        "    2  bob          oncall  weekly mon 17:00 to tue 09:00 (Europe/Paris)",
    ]
    listed = json.loads(ok(sb("list", "--user", "bob", "--json")).stdout)
    assert [(s["id"], s["kind"], s["time_zone"], s["weekly"]) for s in listed] == [
        (2, "oncall", "Europe/Paris", True)
    ]
    # Monday 2030-01-07 10:00 UTC.
    assert ok(sb("now", "--at", "2030-01-07T10:00Z")).stdout.splitlines() == [
        "Mon 2030-01-07 10:00 UTC",
        "normal: alice (shift 1) until Mon 2030-01-07 17:00 UTC",
        "oncall: nobody on shift",
        "next normal: alice (shift 1) from Mon 2030-01-14 08:00 UTC",
        "next oncall: bob (shift 2) from Mon 2030-01-07 16:00 UTC",
    ]
    board = json.loads(ok(sb("now", "--at", "2030-01-07T21:00", "--json")).stdout)
    assert [(e["shift"]["id"], e["ends_at"]) for e in board["on_now"]] == [
        (3, "2030-01-07T22:00:00+00:00"),
        (2, "2030-01-08T08:00:00+00:00"),
    ]
    week = ok(sb("week", "--zone", "America/New_York", "--at", "2030-01-08T12:00Z")).stdout
    assert week.splitlines() == [
        "    1  mon 03:00 to mon 12:00   normal  Alice Moreau",
        "    2  mon 11:00 to tue 03:00   oncall  Bob\\x1b[31m",
        "    3  mon 15:00 to mon 17:00   oncall  Alice Moreau  (once)",
    ]
    assert ok(sb("remove", "3")).stdout == (
        "removed shift 3: alice, oncall, once 2030-01-07 20:00 to 2030-01-07 22:00 (UTC)\n"
    )


def test_bad_shifts_are_refused_in_one_line(sb: Run, db: Path) -> None:
    ok(sb("add", "alice", "normal", "mon 08:00 to mon 17:00"))
    refused(
        sb("add", "alice", "normal", "mon 16:00 to mon 18:00"),
        "overlaps alice's shift 1, weekly mon 08:00 to mon 17:00 (UTC)",
        "cannot overlap",
    )
    refused(
        sb("add", "alice", "normal", "--from", "2030-01-08T10:00", "--to", "2030-01-08T09:00"),
        "ends before it starts",
    )
    refused(sb("add", "alice", "normal", "--from", "2030-01-08T10:00"), "both --from and --to")
    refused(sb("add", "alice", "normal"), "give a weekly span")
    refused(sb("add", "zed", "normal", "mon 08:00 to mon 09:00"), "no agent with username 'zed'")
    refused(sb("add", "bob", "normal", "mon 08:00 to mon 09:00", "--zone", "Nowhere"), "time zone")
    refused(sb("remove", "99"), "no shift 99")
    assert scalar(db, "SELECT count(*) FROM shifts") == 1


CALENDAR = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Tests//Shifts//EN
BEGIN:VEVENT
UID:nights
SUMMARY:Nights
DTSTART;TZID=Europe/Paris:20300107T180000
DTEND;TZID=Europe/Paris:20300108T080000
RRULE:FREQ=WEEKLY
END:VEVENT
BEGIN:VEVENT
UID:cover
DTSTART:20300112T120000Z
DTEND:20300112T160000Z
CATEGORIES:on-call
END:VEVENT
END:VCALENDAR
"""


def test_import_all_or_nothing_and_again(sb: Run, db: Path, tmp_path: Path) -> None:
    ics = tmp_path / "alice.ics"
    ics.write_text(CALENDAR)
    assert ok(sb("import", ics, "--user", "alice")).stdout == "imported 2 shifts\n"
    again = ok(sb("import", ics, "--user", "alice"))
    assert again.stdout == "imported 2 shifts, replacing 2 from an earlier import\n"
    assert scalar(db, "SELECT group_concat(kind || ':' || ics_uid) FROM shifts") == (
        "normal:nights,oncall:cover"
    )
    bad = tmp_path / "bad.ics"
    bad.write_text(
        CALENDAR.replace("RRULE:FREQ=WEEKLY", "RRULE:FREQ=MONTHLY").replace(
            "UID:cover", "UID:cover\nEXDATE:20300119T120000Z"
        )
    )
    result = sb("import", bad, "--user", "bob")
    assert result.returncode == 1
    assert result.stdout == "imported nothing: 2 problems, listed below\n"
    assert result.stderr.splitlines() == [
        "line 4 (UID nights, Nights): problem: its repeat rule is FREQ=MONTHLY:"
        " only weekly rules (FREQ=WEEKLY) are",
        "line 11 (UID cover): problem: it has skipped dates (EXDATE), which is not supported",
    ]
    shown = json.loads(sb("import", bad, "--user", "bob", "--json").stdout)
    assert (shown["saved"], [p["uid"] for p in shown["problems"]]) == (False, ["nights", "cover"])
    assert scalar(db, "SELECT count(*) FROM shifts WHERE agent_id = 2") == 0
    notes = tmp_path / "notes.ics"
    notes.write_text("these are not shifts\n")
    refused(sb("import", notes, "--user", "bob"), "is not an iCalendar file")
