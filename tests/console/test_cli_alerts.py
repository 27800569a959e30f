"""`switchboard alerts`, run as a user runs it: settings, consent, am I set up."""

from __future__ import annotations

import getpass
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from tests.processes import dump, ok, query, refused, switchboard

Run = Callable[..., CompletedProcess[str]]
ME = getpass.getuser()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "switchboard.sqlite3"


@pytest.fixture
def sb(tmp_path: Path, db: Path) -> Run:
    def run(*args: str):
        return switchboard(*args, db=db, home=tmp_path)

    return run


@pytest.fixture
def team(sb: Run) -> None:
    ok(sb("agents", "add", ME, "--role", "manager"))
    ok(sb("agents", "add", "bob"))


def test_settings_show_set_and_refuse_naming_the_rule(sb: Run, db: Path, team: None) -> None:
    shown = ok(sb("alerts", "settings")).stdout.splitlines()
    assert shown[:3] == [
        "staff_sms              off",
        "mobile_alerts          off",
        "alert_every_minutes    never",
    ]
    assert shown[-1].startswith("bundle use             0 segments sent in ")
    assert shown[-1].endswith(" (no monthly bundle set)")
    before = dump(db)
    refused(sb("alerts", "settings", "--mobile-alerts", "on"), "while staff_sms")
    refused(
        sb("alerts", "settings", "--every", "45"),
        "alert_every_minutes must be never or a whole number of minutes between 1 and 30, not 45",
    )
    refused(sb("alerts", "settings", "--reminders", "3"), "needs alert_every_minutes")
    # One refused setting of several: none is stored.
    refused(sb("alerts", "settings", "--staff-sms", "on", "--when-full", "later"), "warn, hold")
    assert dump(db) == before
    done = json.loads(
        ok(
            sb(
                "alerts", "settings", "--staff-sms", "on", "--mobile-alerts", "on",
                "--every", "5", "--reminders", "3", "--escalate-after", "2",
                "--message-body", "off", "--bundle", "1000", "--when-full", "hold", "--json",
            )
        ).stdout
    )  # fmt: skip
    assert {k: done[k] for k in ("staff_sms", "alert_every_minutes", "bundle_when_full")} == {
        "staff_sms": True,
        "alert_every_minutes": 5,
        "bundle_when_full": "hold",
    }
    assert done["bundle_use"]["percent"] == 0.0
    shown = ok(sb("alerts", "settings")).stdout
    assert "alert_reminders        3\n" in shown
    assert "0 of 1000 segments used" in shown
    # Each option may be spelt as the setting it shows and refusals name.
    ok(sb("alerts", "settings", "--alert-every-minutes", "10", "--bundle-when-full", "warn"))
    shown = ok(sb("alerts", "settings")).stdout
    assert "alert_every_minutes    10\n" in shown
    assert "bundle_when_full       warn\n" in shown


def test_consent_is_the_persons_own(sb: Run, db: Path, team: None) -> None:
    refused(sb("alerts", "consent", "--permit"), "needs a mobile number first")
    out = ok(sb("alerts", "consent", "--mobile", "(212) 555-0150", "--permit", "--new-chat"))
    lines = out.stdout.splitlines()
    assert lines[1:] == [
        "mobile        +12125550150",
        lines[2],
        "New Chat      on",
    ]
    assert lines[2].startswith("SMS permitted yes, since ")
    assert lines[2].endswith(f" by {ME}")
    # A manager sets a colleague's number but cannot tick consent for them; the
    # refused tick leaves the number unset too (nothing half-saved).
    refused(
        sb("alerts", "consent", "--user", "bob", "--mobile", "+12125550160", "--permit"),
        "only the person themselves",
    )
    assert query(db, "SELECT mobile FROM agents WHERE username = 'bob'")[0][0] is None
    bob = json.loads(
        ok(sb("alerts", "consent", "--user", "bob", "--mobile", "+12125550160", "--json")).stdout
    )
    assert (bob["mobile"], bob["sms_permitted_at"], bob["new_chat"]) == (
        "+12125550160",
        None,
        False,
    )
    refused(sb("alerts", "consent", "--mobile", "+442079460000"), "is not a mobile number")
    gone = json.loads(ok(sb("alerts", "consent", "--mobile", "none", "--json")).stdout)
    assert (gone["mobile"], gone["sms_permitted_at"]) == (None, None)


def test_me_says_what_is_missing_then_that_all_is_set(sb: Run, db: Path, team: None) -> None:
    assert ok(sb("alerts", "me")).stdout == (
        "Mobile alerts are not configured. Missing: a mobile number, permission to SMS this"
        " phone, the New Chat alert, a shift (messaging or on call). Mobile alerts are off in"
        " the account settings.\n"
    )
    ok(sb("alerts", "consent", "--mobile", "+12125550150", "--permit", "--new-chat"))
    ok(sb("alerts", "settings", "--staff-sms", "on", "--mobile-alerts", "on"))
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute(
        "INSERT INTO shifts (agent_id, kind, time_zone, start_minute, minutes, created_at)"
        " SELECT id, 'normal', 'UTC', 0, 10080, 0 FROM agents WHERE username = ?",
        (ME,),
    )
    conn.close()
    assert ok(sb("alerts", "me")).stdout == (
        "Mobile alerts are configured: if a chat comes in, we will notify you\n"
    )
    bob = json.loads(ok(sb("alerts", "me", "--user", "bob", "--json")).stdout)
    assert bob["configured"] is False
    assert "a mobile number" in bob["missing"]


def test_status_shows_the_bundle(sb: Run, team: None) -> None:
    ok(sb("alerts", "settings", "--bundle", "500"))
    shown = ok(sb("status")).stdout
    assert "bundle   0 of 500 segments used in " in shown
    data = json.loads(ok(sb("status", "--json")).stdout)
    assert data["bundle"]["bundle_segments"] == 500
    assert data["bundle"]["held"] == 0
