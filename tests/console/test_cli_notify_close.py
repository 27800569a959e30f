"""`switchboard notify fields|outcomes|hipaa|close`, run as a user runs them."""

from __future__ import annotations

import getpass
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from tests.processes import ok, query, refused, switchboard

ME = getpass.getuser()
OUR_NUMBER = "+14155550150"
ANN = "+12125550105"
HALE = "+12125550160"

Run = Callable[..., CompletedProcess[str]]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "switchboard.sqlite3"


@pytest.fixture
def sb(tmp_path: Path, db: Path) -> Run:
    def run(*args: str | Path):
        return switchboard(*args, db=db, home=tmp_path)

    return run


def _set_up(sb: Run, db: Path) -> int:
    """Me, a manager; Dr Hale notified by SMS and email; Ann's conversation, waiting."""
    ok(sb("agents", "add", ME, "--role", "manager"))
    ok(sb("numbers", "add", OUR_NUMBER))
    ok(sb("sandbox", "reply", "Hello?", "--from", ANN, "--to", OUR_NUMBER))
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.executescript(
            f"""
            INSERT INTO notification_profiles (alias, sms_on, email_on, created_at, updated_at)
                VALUES ('Dr Hale', 1, 1, 0, 0);
            INSERT INTO notification_profile_contacts VALUES
                (1, 'sms', '{HALE}', 0), (1, 'email', 'hale@example.com', 0);
            """
        )
    finally:
        conn.close()
    return int(query(db, "SELECT id FROM conversations")[0][0])


def test_fields_are_listed_added_edited_and_deleted(sb: Run) -> None:
    listed = ok(sb("notify", "fields", "list")).stdout
    assert "{{first_name}}" in listed
    assert "PHI" in listed
    made = json.loads(
        ok(
            sb("notify", "fields", "add", "policy_no", "--label", "Policy", "--phi", "--json")
        ).stdout
    )
    assert (made["name"], made["phi"], made["max_length"]) == ("policy_no", True, 200)
    ok(sb("notify", "fields", "edit", "policy_no", "--rename", "policy", "--required"))
    shown = json.loads(ok(sb("notify", "fields", "list", "--json")).stdout)
    assert shown[-1]["name"] == "policy"
    assert shown[-1]["required"]
    refused(sb("notify", "fields", "delete", "phone"), "built-in field and cannot be deleted")
    ok(sb("notify", "fields", "delete", "policy"))
    refused(sb("notify", "fields", "add", "Bad Name", "--label", "x"), "lowercase letters")


def test_outcomes_and_their_recipients(sb: Run, db: Path) -> None:
    _set_up(sb, db)
    ok(sb("notify", "outcomes", "add", "After hours", "--kind", "non_message"))
    ok(sb("notify", "outcomes", "rename", "After hours", "Out of hours"))
    ok(sb("notify", "outcomes", "switch", "Urgent", "Dr Hale"))
    shown = json.loads(ok(sb("notify", "outcomes", "recipients", "Urgent", "--json")).stdout)
    assert [(r["kind"], r["name"]) for r in shown] == [("profile", "Dr Hale")]
    ok(sb("notify", "outcomes", "recipients", "Urgent", "--remove", "profile:Dr Hale"))
    assert ok(sb("notify", "outcomes", "recipients", "Urgent")).stdout == ""
    refused(
        sb("notify", "outcomes", "recipients", "Urgent", "--add", "group:Nobody"),
        "no notification group named 'Nobody'",
    )
    ok(sb("notify", "outcomes", "archive", "Out of hours"))
    listed = ok(sb("notify", "outcomes", "list")).stdout
    assert "Out of hours" not in listed
    assert "Out of hours" in ok(sb("notify", "outcomes", "list", "--archived")).stdout


def test_hipaa_on_lists_what_must_change_and_check_repeats_it(sb: Run, db: Path) -> None:
    _set_up(sb, db)
    result = ok(sb("notify", "hipaa", "on"))
    assert "HIPAA mode is on" in result.stdout
    assert "Dr Hale: email mode default sends every collected field" in result.stdout
    shown = json.loads(ok(sb("notify", "hipaa", "check", "--json")).stdout)
    assert [(p["alias"], p["part"]) for p in shown] == [("Dr Hale", "email_mode")]
    ok(sb("notify", "hipaa", "off"))


def test_close_queues_the_notices_and_refuses_bad_data(sb: Run, db: Path) -> None:
    cid = _set_up(sb, db)
    ok(sb("notify", "outcomes", "switch", "Urgent", "Dr Hale"))
    refused(
        sb("notify", "close", str(cid), "--outcome", "Urgent", "--set", "colour=red"),
        "unknown field 'colour'",
    )
    refused(
        sb("notify", "close", str(cid), "--outcome", "Urgent", "--set", "nope"),
        "FIELD=VALUE",
        code=2,
    )
    refused(
        sb("notify", "close", str(cid), "--outcome", "Urgent", "--set", "message=red\x1b[31m"),
        "Message (message) holds a control character",
    )
    assert query(db, "SELECT count(*) FROM closures")[0][0] == 0
    result = ok(
        sb(
            "notify", "close", str(cid), "--outcome", "Urgent",
            "--set", "first_name=Ann", "--set", "message=Call back", "--json",
        )
    )  # fmt: skip
    closure = json.loads(result.stdout)
    assert [(n["channel"], n["recipient"]) for n in closure["notices"]] == [
        ("sms", HALE),
        ("email", "hale@example.com"),
    ]
    body = query(db, "SELECT body FROM messages WHERE purpose = 'notice'")[0][0]
    assert body.startswith("Ann , ")
    refused(sb("notify", "close", str(cid), "--outcome", "Urgent"), "closed already")


def test_settings_set_hipaa_mode_lists_what_must_change(sb: Run, db: Path) -> None:
    _set_up(sb, db)
    shown = ok(sb("settings", "set", "hipaa_mode", "yes")).stdout.splitlines()
    assert shown[0] == "hipaa_mode = True"
    assert shown[1].startswith("must change: Dr Hale: email mode default")
    refused(sb("settings", "set", "hipaa_mode", "maybe"), "hipaa_mode must be yes or no")
