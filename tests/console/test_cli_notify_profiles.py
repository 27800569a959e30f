"""`switchboard notify profiles …` and `notify groups …`, through the command line."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from console.cli import main

HOSTILE = "Dr. \x1b[31mRed\x07"


@pytest.fixture
def sb(db_path: Path):
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(main, [*args, "--db", str(db_path)], prog_name="switchboard")

    return run


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def refused(result: Result, *fragments: str, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ")
    for fragment in fragments:
        assert fragment in line, line
    return line


def test_add_show_edit_and_list_profiles(sb):
    made = ok(
        sb(
            "notify", "profiles", "add", "Dr. Ames",
            "--email", "ames@example.com", "--email-on",
            "--sms", "(212) 555-0110", "--sms-on", "--sms-mode", "custom",
            "--sms-body", "{{outcome}} from {{caller_id}}",
            "--contact-number", "+12125550111", "--json",
        )
    )  # fmt: skip
    shown = json.loads(made.stdout)
    assert shown["sms_numbers"] == ["+12125550110"]
    assert shown["sms"] == {"on": True, "mode": "custom", "body": "{{outcome}} from {{caller_id}}"}
    assert shown["status"] == "available"

    ok(sb("notify", "profiles", "edit", "dr. ames", "--alias", "Dr. Ames-Roux", "--clear", "sms",
          "--sms-off", "--email", "desk@example.org"))  # fmt: skip
    shown = json.loads(ok(sb("notify", "profiles", "show", "DR. AMES-ROUX", "--json")).stdout)
    assert (shown["alias"], shown["emails"], shown["sms_numbers"]) == (
        "Dr. Ames-Roux",
        ["desk@example.org"],
        [],
    )
    assert shown["links"] == []
    text = ok(sb("notify", "profiles", "show", "Dr. Ames-Roux")).stdout
    assert "emails:          desk@example.org" in text
    assert "used in:         nothing" in text
    listed = ok(sb("notify", "profiles", "list", "--search", "roux")).stdout
    assert listed.startswith("Dr. Ames-Roux")
    assert "available" in listed


def test_refusals_are_one_line_naming_the_rule(sb):
    six = [arg for i in range(6) for arg in ("--email", f"p{i}@example.com")]
    refused(sb("notify", "profiles", "add", "Big", *six), "at most 5 email addresses")
    refused(sb("notify", "profiles", "add", "X", "--sms", "+442079460000"), "mobile numbers")
    refused(sb("notify", "profiles", "add", "X", "--email", "nope"), "not a valid email")
    refused(
        sb("notify", "profiles", "add", "X", "--sms-mode", "custom", "--sms-body", "{{nope}}"),
        "unknown field 'nope'",
    )
    refused(sb("notify", "profiles", "show", "Nobody"), "no notification profile with the alias")
    refused(sb("notify", "profiles", "add", "X", "--sms-mode", "loud"), code=2)


def test_delete_refused_lists_every_link_then_replace_moves_them(sb, db_path: Path):
    ok(sb("notify", "profiles", "add", "Old"))
    ok(sb("notify", "profiles", "add", "New"))
    ok(sb("notify", "groups", "add", "Doctors"))
    ok(sb("notify", "groups", "add-member", "doctors", "old"))
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute(
            "INSERT INTO outcome_recipients (outcome_id, profile_id)"
            " SELECT id, (SELECT id FROM notification_profiles WHERE alias = 'Old')"
            " FROM outcomes WHERE name = 'Urgent'"
        )
    conn.close()

    refused(
        sb("notify", "profiles", "delete", "Old"),
        "'Old' is used in 2 places: group 'Doctors'; outcome 'Urgent'",
    )
    moved = ok(sb("notify", "profiles", "replace", "Old", "New", "--delete")).stdout
    assert "New replaces Old: moved on-call slots 0, groups 1, outcomes 1; deleted Old" in moved
    listed = json.loads(ok(sb("notify", "groups", "list", "--json")).stdout)
    assert [(g["name"], [m["alias"] for m in g["members"]]) for g in listed] == [
        ("Doctors", ["New"])
    ]
    refused(sb("notify", "profiles", "show", "Old"), "no notification profile")


def test_hold_until_a_time_then_unhold(sb):
    ok(sb("notify", "profiles", "add", "Dr. Ames"))
    held = ok(sb("notify", "profiles", "hold", "Dr. Ames", "--until", "2999-01-01T09:00+00:00"))
    assert "held until 2999-01-01" in held.stdout
    refused(sb("notify", "profiles", "hold", "Dr. Ames", "--until", "2001-01-01T09:00"),
            "a hold must end in the future")  # fmt: skip
    refused(sb("notify", "profiles", "hold", "Dr. Ames", "--until", "soon"), "--until", code=2)
    assert ok(sb("notify", "profiles", "hold", "Dr. Ames")).stdout.strip() == "Dr. Ames: held"
    assert ok(sb("notify", "profiles", "unhold", "Dr. Ames")).stdout.strip() == (
        "Dr. Ames: available"
    )


def test_a_time_without_an_offset_is_read_and_shown_in_the_account_zone(sb, db_path: Path):
    ok(sb("settings", "set", "time_zone", "America/New_York"))
    ok(sb("notify", "profiles", "add", "Dr. Ames"))
    held = ok(sb("notify", "profiles", "hold", "Dr. Ames", "--until", "2999-01-01T09:00"))
    # 09:00 on the account's clock (EST, UTC-5), not the machine's (UTC here).
    assert held.stdout.strip() == "Dr. Ames: held until 2999-01-01 09:00 EST"
    with sqlite3.connect(db_path) as conn:
        stored = conn.execute("SELECT hold_until FROM notification_profiles").fetchone()[0]
    assert stored == int(datetime(2999, 1, 1, 14, 0, tzinfo=UTC).timestamp() * 1000)
    listed = ok(sb("notify", "profiles", "list")).stdout
    assert "held until 2999-01-01 09:00 EST" in listed
    # --json keeps UTC, as every --json time does.
    (shown,) = json.loads(ok(sb("notify", "profiles", "list", "--json")).stdout)
    assert shown["status_text"] == "held until 2999-01-01 14:00 UTC"


def test_groups_add_rename_members_and_the_limit(sb):
    ok(sb("notify", "groups", "add", "Doctors"))
    for i in range(51):
        ok(sb("notify", "profiles", "add", f"P{i:02d}"))
    for i in range(50):
        ok(sb("notify", "groups", "add-member", "Doctors", f"P{i:02d}"))
    refused(sb("notify", "groups", "add-member", "Doctors", "P50"), "at most 50 members")
    ok(sb("notify", "groups", "remove-member", "Doctors", "P00"))
    ok(sb("notify", "groups", "rename", "Doctors", "Physicians"))
    text = ok(sb("notify", "groups", "list")).stdout
    assert text.startswith("Physicians (49): P01, P02")
    ok(sb("notify", "groups", "delete", "physicians"))
    assert ok(sb("notify", "groups", "list")).stdout == ""


def test_untrusted_text_is_shown_literally(sb):
    refused(sb("notify", "profiles", "add", HOSTILE), "holds a control character")
    ok(sb("notify", "profiles", "add", "Dr. \u202eevil"))
    for args in (("list",), ("show", "Dr. \u202eevil")):
        out = ok(sb("notify", "profiles", *args)).stdout
        assert "\u202e" not in out
        assert "\\u202e" in out
