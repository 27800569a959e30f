"""`switchboard cases ...` run as a user runs it: locations, a case, its contacts, notes,
quick actions, links. Contacts are written with SQL (the schema is the contract)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from tests.processes import ok, query, refused, switchboard

Run = Callable[..., CompletedProcess[str]]
SENDER = "+14155550100"
ANN = "+12125550161"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "switchboard.sqlite3"


@pytest.fixture
def sb(tmp_path: Path, db: Path) -> Run:
    def run(*args: str) -> CompletedProcess[str]:
        return switchboard("cases", *args, db=db, home=tmp_path)

    ok(switchboard("numbers", "add", SENDER, "--default", db=db, home=tmp_path))
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute(
            "INSERT INTO contacts (id, name, created_at, updated_at)"
            " VALUES (1, 'Ann \x1b[31mRed', 0, 0), (2, 'Bo', 0, 0)"
        )
        conn.execute(
            "INSERT INTO contact_phones (contact_id, e164, kind) VALUES (1, ?, 'mobile')", (ANN,)
        )
    finally:
        conn.close()
    return run


def test_a_case_from_location_to_quick_action(sb: Run, db: Path) -> None:
    assert ok(sb("locations", "add", "Depot", "--from", SENDER)).stdout == (
        "added location Depot (id 1)\n"
    )
    assert "direct reply on" in ok(sb("locations", "list")).stdout
    shown = json.loads(ok(sb("locations", "set", "depot", "--no-direct-reply", "--json")).stdout)
    assert shown["direct_reply"] is False
    case = json.loads(ok(sb("create", "Brake pads", "--location", "Depot", "--json")).stdout)
    code = case["code"]
    assert (case["title"], case["status"], len(code)) == ("Brake pads", "open", 5)
    added = ok(sb("contacts", "add", code, "1", "--sms")).stdout
    # A name is printed literally: its escape sequence is shown, not obeyed.
    assert "\x1b" not in added
    assert "\\x1b[31m" in added
    assert "invited: " in added
    ok(sb("contacts", "add", code, "2"))
    posted = json.loads(
        ok(sb("note", code, "<b>Pads</b> fitted", "--to", "1", "--to", "2", "--json")).stdout
    )
    assert [r["skipped"] for r in posted["recipients"]] == [
        None,
        "not texted: SMS is off for this contact on the case",
    ]
    quick = json.loads(ok(sb("quick", "asset-ready", code, "--json")).stdout)
    assert [r["contact_id"] for r in quick["recipients"]] == [1]
    texts = [
        r["body"] for r in query(db, "SELECT body FROM messages WHERE case_id = 1 ORDER BY id")
    ]
    assert texts[1].startswith(f"New note - Case {code}: <b>Pads</b> fitted http")
    assert texts[2].startswith(f"Ready for pickup - Case {code}: Ready for pickup http")
    full = json.loads(ok(sb("show", code, "--json")).stdout)
    assert [n["kind"] for n in full["notes"]] == ["asset_ready", "note", "invitation"]
    assert [n["source"] for n in full["notes"]] == ["cli", "cli", "cli"]
    assert "Ready for pickup" in ok(sb("show", code)).stdout
    assert [
        c["title"] for c in json.loads(ok(sb("list", "--search", "brake", "--json")).stdout)
    ] == ["Brake pads"]


def test_links_are_printed_and_revoked_and_a_closed_case_refuses_notes(sb: Run) -> None:
    ok(sb("locations", "add", "Depot", "--from", SENDER))
    code = json.loads(ok(sb("create", "Tyres", "--location", "1", "--json")).stdout)["code"]
    ok(sb("contacts", "add", code, "1"))
    url = ok(sb("link", code, "1")).stdout.strip()
    assert url.startswith("http://127.0.0.1:8780/c/")
    assert ok(sb("revoke", code, "1")).stdout == "1 link revoked\n"
    assert ok(sb("close", code)).stdout == f"case {code} is closed\n"
    refused(sb("note", code, "Hello"), f"case {code} is closed")
    assert ok(sb("reopen", code)).stdout == f"case {code} is open\n"
    refused(sb("note", code, "Hello", "--to", "2"), f"Bo is not a contact on case {code}")
    refused(sb("contacts", "sms", code, "9", "on"), f"contact 9 is not on case {code}")
    assert ok(sb("contacts", "remove", code, "1")).stdout == "removed contact 1; 0 links revoked\n"
    refused(sb("locations", "add", "Depot", "--from", SENDER), "already a case location")
