"""`switchboard campaigns create|list|show|edit|delete|estimate|start|pause|resume|cancel`,
run as a user runs them. Targets are written with SQL (the schema is the contract)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from subprocess import CompletedProcess

import pytest
from click.testing import CliRunner

from console.cli import main
from core.clock import to_ms
from tests.processes import ok, query, refused, switchboard

Run = Callable[..., CompletedProcess[str]]
SENDER = "+14155550100"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "switchboard.sqlite3"


@pytest.fixture
def sb(tmp_path: Path, db: Path) -> Run:
    def run(*args: str) -> CompletedProcess[str]:
        return switchboard("campaigns", *args, db=db, home=tmp_path)

    ok(switchboard("numbers", "add", SENDER, "--default", db=db, home=tmp_path))
    return run


def _targets(db: Path, campaign_id: int, *phones: str) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.executemany(
            "INSERT INTO campaign_targets (campaign_id, phone, created_at, updated_at)"
            " VALUES (?, ?, 0, 0)",
            [(campaign_id, phone) for phone in phones],
        )
    finally:
        conn.close()


def test_create_show_edit_list_and_delete(sb: Run, db: Path) -> None:
    assert ok(sb("create", "Spring", "--from", SENDER, "--text", "Hi {{first_name}}")).stdout == (
        "created campaign Spring (id 1), a draft\n"
    )
    shown = json.loads(ok(sb("show", "spring", "--json")).stdout)
    assert {k: shown[k] for k in ("id", "name", "status", "sender", "rate", "window")} == {
        "id": 1,
        "name": "Spring",
        "status": "draft",
        "sender": SENDER,
        "rate": 1.0,
        "window": "08:00-21:00",
    }
    edited = ok(sb("edit", "Spring", "--rate", "2.5", "--window", "09:00-17:30")).stdout
    assert "  rate        2.5 segments/s\n" in edited
    assert "  window      09:00-17:30 (recipient's time; unknown zone: account)\n" in edited
    assert ok(sb("list")).stdout.split() == ["1", "Spring", "draft", SENDER, "2.5/s"]
    assert ok(sb("delete", "Spring")).stdout == "deleted campaign Spring\n"
    assert json.loads(ok(sb("list", "--json")).stdout) == []


def test_bad_input_is_one_line_naming_the_rule(sb: Run) -> None:
    refused(sb("create", "A", "--from", SENDER, "--text", "Hi {{frist_name}}"), "'frist_name'")
    refused(sb("create", "A", "--from", "+14155550199", "--text", "Hi"), "not one of our numbers")
    refused(
        sb("create", "A", "--from", SENDER, "--text", "Hi", "--rate", "50"),
        "above the sender's rate limit of 10 segments/s",
    )
    refused(
        sb("create", "A", "--from", SENDER, "--text", "Hi", "--window", "21:00-08:00"),
        "must start before it ends",
    )
    refused(sb("show", "Nope"), "no campaign named 'Nope'")
    # A name from outside is printed literally.
    made = ok(sb("create", "Red\u202eX", "--from", SENDER, "--text", "Hi"))
    assert "Red\\u202eX" in made.stdout


def test_estimate_then_start_pause_resume_cancel(sb: Run, db: Path) -> None:
    ok(sb("create", "Spring", "--from", SENDER, "--text", "Hello"))
    refused(sb("start", "Spring", "--yes"), "'Spring' has no targets to send to")
    _targets(db, 1, "+12125550120", "+12125550130")
    found = json.loads(ok(sb("estimate", "Spring", "--json")).stdout)
    assert (found["eligible"], found["total_segments"], found["warnings"]) == (2, 2, [])
    lines = ok(sb("estimate", "Spring")).stdout.splitlines()
    assert lines[0] == "targets: 2 (0 opted out and 0 not mobile will be skipped): 2 messages"
    refused(sb("start", "Spring", "--json"), "--json cannot ask: give --yes")
    refused(sb("start", "Spring", "--yes", "--at", "2000-01-01T09:00Z"), "is in the past")
    started = json.loads(
        ok(sb("start", "Spring", "--yes", "--json", "--at", "2999-01-01T09:00Z")).stdout
    )
    assert started["campaign"]["status"] == "scheduled"
    assert started["campaign"]["starts_at"] == "2999-01-01T09:00:00+00:00"
    assert started["estimate"]["eligible"] == 2
    due = query(db, "SELECT DISTINCT state, due_at FROM campaign_targets")
    assert [tuple(r) for r in due] == [("programmed", to_ms(datetime(2999, 1, 1, 9, tzinfo=UTC)))]
    assert ok(sb("pause", "Spring")).stdout == "paused campaign Spring: paused\n"
    assert ok(sb("resume", "Spring")).stdout == "resumed campaign Spring: scheduled\n"
    assert json.loads(ok(sb("cancel", "Spring", "--json")).stdout)["status"] == "cancelled"
    refused(sb("pause", "Spring"), "campaign 'Spring' is cancelled; it cannot be paused")


def test_start_shows_the_estimate_and_asks(sb: Run, db: Path) -> None:
    ok(sb("create", "Spring", "--from", SENDER, "--text", "Hello"))
    _targets(db, 1, "+12125550120")
    args = ["--db", str(db), "campaigns", "start", "Spring", "--at", "2999-01-01T09:00Z"]
    said_no = CliRunner().invoke(main, args, input="n\n", prog_name="switchboard")
    assert said_no.exit_code == 0, said_no.output
    assert said_no.output.startswith("targets: 1 (0 opted out")
    assert said_no.output.endswith("Start campaign Spring? [y/N]: n\nnot started\n")
    assert query(db, "SELECT status FROM campaigns")[0][0] == "draft"
    # No terminal and nothing on stdin (a script without --yes): click aborts the question.
    unanswered = CliRunner().invoke(main, args, input="", prog_name="switchboard")
    assert unanswered.exit_code == 1, unanswered.output
    assert unanswered.stdout.endswith("Start campaign Spring? [y/N]: ")
    assert unanswered.stderr == "Aborted!\n"
    assert query(db, "SELECT status FROM campaigns")[0][0] == "draft"
    # A time in the past is refused before the estimate is shown and the question asked.
    past = ["--db", str(db), "campaigns", "start", "Spring", "--at", "2000-01-01T09:00Z"]
    refused_at = CliRunner().invoke(main, past, input="y\n", prog_name="switchboard")
    assert refused_at.exit_code == 1
    assert refused_at.stdout == ""
    assert refused_at.stderr.startswith("error: the start 2000-01-01 09:00 UTC is in the past")
    said_yes = CliRunner().invoke(main, args, input="y\n", prog_name="switchboard")
    assert said_yes.exit_code == 0, said_yes.output
    assert said_yes.output.endswith("scheduled campaign Spring for 2999-01-01 09:00 UTC\n")
    assert query(db, "SELECT status FROM campaigns")[0][0] == "scheduled"


def test_create_with_a_csv_whose_columns_the_text_uses(sb: Run, db: Path, tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("phone,Order\n+12125550180,#12\nnope,#13\n", encoding="utf-8")
    typo = sb("create", "Typo", "--from", SENDER, "--text", "Order {{ordr}}", "--csv", orders)
    refused(typo, "unknown field 'ordr' (did you mean order?)")
    assert query(db, "SELECT count(*) FROM campaigns")[0][0] == 0
    done = ok(
        sb("create", "Orders", "--from", SENDER, "--text", "Order {{order}}", "--csv", orders)
    )
    assert done.stdout == (
        "created campaign Orders (id 1), a draft\nadded 1 target, refused 1 row\n"
    )
    assert done.stderr.startswith("row 3, column phone: 'nope' is not a valid phone number")
    assert [tuple(r) for r in query(db, "SELECT phone, merge_values FROM campaign_targets")] == [
        ("+12125550180", '{"order": "#12"}')
    ]
    again = ["create", "Again", "--from", SENDER, "--text", "{{order}}", "--csv", orders]
    made = json.loads(ok(sb(*again, "--json")).stdout)
    assert (made["name"], made["targets"]["added"], made["targets"]["rejected_rows"]) == (
        "Again",
        1,
        1,
    )
    # No good row: the draft is made, and the exit says the file gave nothing.
    bad = tmp_path / "bad.csv"
    bad.write_text("phone,Order\nnope,#1\n", encoding="utf-8")
    empty = sb("create", "Empty", "--from", SENDER, "--text", "Hello", "--csv", bad)
    assert (empty.returncode, empty.stdout) == (
        1,
        "created campaign Empty (id 3), a draft\nadded 0 targets, refused 1 row\n",
    )


def test_a_profile_is_given_a_campaign(sb: Run, db: Path, tmp_path: Path) -> None:
    ok(sb("create", "Spring", "--from", SENDER, "--text", "Hello"))
    perms = ("permissions", "campaign")
    assert ok(switchboard(*perms, "Agent", "spring", db=db, home=tmp_path)).stdout == (
        "Agent sees campaign spring\n"
    )
    shown = ok(
        switchboard("permissions", "profiles", "show", "Agent", "--json", db=db, home=tmp_path)
    )
    assert json.loads(shown.stdout)["campaigns"] == ["Spring"]
    ok(switchboard(*perms, "Agent", "Spring", "--revoke", db=db, home=tmp_path))
    shown = ok(
        switchboard("permissions", "profiles", "show", "Agent", "--json", db=db, home=tmp_path)
    )
    assert json.loads(shown.stdout)["campaigns"] == []
