"""`switchboard notify schedules`, run as a user runs it: on-call schedules, slots, who is on call.

Notification profiles and groups are written with SQL (the schema is the
contract); `now --at` fixes the instant, so nothing depends on the wall clock.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from tests.processes import ok, query, refused, switchboard

Run = Callable[..., CompletedProcess[str]]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "switchboard.sqlite3"


@pytest.fixture
def sb(tmp_path: Path, db: Path) -> Run:
    def run(*args: str):
        return switchboard("notify", "schedules", *args, db=db, home=tmp_path)

    return run


def _people(db: Path) -> None:
    """Dr Lee (a contact number, and a name with an escape in it) and Dr Kim, both Surgeons."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.executescript(
            """
            INSERT INTO notification_profiles (alias, created_at, updated_at)
                VALUES ('Dr Lee', 0, 0), ('Dr Kim', 0, 0), (char(27) || '[31mRed', 0, 0);
            INSERT INTO notification_profile_contacts (profile_id, kind, value, position)
                VALUES (1, 'contact_number', '+12125550110', 0);
            INSERT INTO notification_groups (name, created_at) VALUES ('Surgeons', 0);
            INSERT INTO notification_group_members (group_id, profile_id) VALUES (1, 1), (1, 2);
            """
        )
    finally:
        conn.close()


def test_schedules_slots_and_who_is_on_call(sb: Run, db: Path) -> None:
    assert ok(sb("add", "Nights", "America/New_York")).stdout == (
        "added on-call schedule Nights (America/New_York)\n"
    )
    _people(db)
    added = ok(
        sb("add-slot", "Nights", "mon", "18:00", "to", "tue", "08:00", "--profile", "Dr Lee")
    )
    assert added.stdout == "added slot 1: mon 18:00 to tue 08:00, Dr Lee\n"
    ok(sb("add-slot", "Nights", "sat 20:00 to mon 06:00", "--group", "Surgeons"))
    assert ok(sb("slots", "Nights")).stdout.splitlines() == [
        "    1  mon 18:00 to tue 08:00   Dr Lee",
        "    2  sat 20:00 to mon 06:00   Surgeons (group)",
    ]
    listed = json.loads(ok(sb("list", "--json")).stdout)
    assert listed == [{"id": 1, "name": "Nights", "time_zone": "America/New_York", "slots": 2}]
    # Monday 19:00 in New York.
    assert ok(sb("now", "Nights", "--at", "2026-01-06T00:00Z")).stdout.splitlines() == [
        "Nights (America/New_York), Mon 2026-01-05 19:00 EST",
        "slot 1: mon 18:00 to tue 08:00, Dr Lee",
        "on call: Dr Lee  +12125550110",
        "next: slot 2: sat 20:00 to mon 06:00, Surgeons (group), from Sat 2026-01-10 20:00 EST",
    ]
    # Dr Lee holds calls: the next on call (the Surgeons' slot, without Dr Lee) is used.
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("UPDATE notification_profiles SET hold = 'indefinite' WHERE id = 1")
    conn.close()
    shown = json.loads(ok(sb("now", "Nights", "--at", "2026-01-05T19:00", "--json")).stdout)
    assert shown["slot"]["id"] == 1
    assert shown["slot"]["held"] is True
    assert shown["stand_in"]["who"] == "Surgeons"
    assert shown["on_call"] == [{"id": 2, "alias": "Dr Kim", "contact_numbers": []}]
    assert shown["at"] == "2026-01-06T00:00:00+00:00"
    ok(sb("edit-slot", "Nights", "1", "mon 17:00 to tue 08:00"))
    moved = query(db, "SELECT start_minute, minutes FROM oncall_slots WHERE id = 1")[0]
    assert tuple(moved) == (1020, 900)
    ok(sb("remove-slot", "Nights", "2"))
    ok(sb("rename", "Nights", "Evenings"))
    assert ok(sb("delete", "Evenings")).stdout == "deleted on-call schedule Evenings\n"
    assert query(db, "SELECT count(*) FROM oncall_slots")[0][0] == 0


def test_bad_input_is_refused_naming_the_rule(sb: Run, db: Path) -> None:
    refused(sb("add", "Nights", "Mars/Olympus"), "named IANA time zone")
    ok(sb("add", "Nights", "Europe/London"))
    _people(db)
    refused(
        sb("add-slot", "Nights", "mon", "25:00", "to", "tue", "08:00", "--profile", "Dr Lee"),
        "'mon 25:00' is not a day and a time such as 'mon 18:00'",
    )
    refused(
        sb("add-slot", "Nights", "mon 18:00 tue 08:00", "--profile", "Dr Lee"),
        "such as 'mon 18:00 to tue 08:00'",
    )
    ok(sb("add-slot", "Nights", "sun 20:00 to mon 08:00", "--profile", "Dr Lee"))
    refused(
        sb("add-slot", "Nights", "sun 23:00 to mon 01:00", "--profile", "Dr Kim"),
        "overlaps slot 1 (sun 20:00 to mon 08:00, Dr Lee)",
    )
    refused(sb("now", "Nights", "--at", "yesterday"), "is not an ISO date and time")
    refused(sb("remove-slot", "Nights", "9"), "has no slot 9")
    refused(sb("edit-slot", "Nights", "1"), "nothing to change")
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute(
        "INSERT INTO outcome_recipients (outcome_id, schedule_id)"
        " SELECT id, 1 FROM outcomes WHERE name = 'Urgent'"
    )
    conn.close()
    refused(sb("delete", "Nights"), "is used in 1 place: outcome 'Urgent'")


def test_outside_text_is_shown_literally(sb: Run, db: Path) -> None:
    ok(sb("add", "Nights", "UTC"))
    _people(db)
    # An alias typed with an escape is refused where it enters; one stored anyhow is shown.
    refused(
        sb("add-slot", "Nights", "mon 00:00 to mon 00:00", "--profile", "\x1b[31mRed"),
        "holds a control character",
    )
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute(
        "INSERT INTO oncall_slots (schedule_id, start_minute, minutes, profile_id)"
        " VALUES (1, 0, 10080, 3)"
    )
    conn.close()
    out = ok(sb("now", "Nights", "--at", "2026-01-05T12:00Z")).stdout
    assert "\x1b" not in out
    assert "on call: \\x1b[31mRed  no contact number" in out
