"""`switchboard offers`, `activity` and `transfer`, run as a user runs them."""

from __future__ import annotations

import getpass
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from tests.processes import ok, query, refused, running, switchboard, wait_for, worker

ME = getpass.getuser()
SALES_NUMBER = "+14155550150"
ANN = "+12125550105"

Run = Callable[..., CompletedProcess[str]]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "switchboard.sqlite3"


@pytest.fixture
def sb(tmp_path: Path, db: Path) -> Run:
    def run(*args: str | Path):
        return switchboard(*args, db=db, home=tmp_path)

    return run


def _set_up(sb: Run, db: Path) -> None:
    """Me, a manager holding the built-in Manager profile; a Sales queue on SALES_NUMBER."""
    ok(sb("agents", "add", ME, "--role", "manager"))
    ok(sb("agents", "add", "bob"))
    ok(sb("numbers", "add", SALES_NUMBER))
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.executescript(
            f"""
            INSERT INTO queues (name, created_at) VALUES ('Sales', 0);
            UPDATE numbers SET queue_id = (SELECT id FROM queues) WHERE e164 = '{SALES_NUMBER}';
            INSERT INTO permission_profile_queues (profile_id, queue_id)
                SELECT id, (SELECT id FROM queues) FROM permission_profiles WHERE name = 'Manager';
            """
        )
    finally:
        conn.close()


def test_offered_accepted_and_transferred(sb: Run, db: Path, tmp_path: Path) -> None:
    _set_up(sb, db)
    assert "activity: none chosen yet" in ok(sb("activity")).stdout
    assert ok(sb("activity", "available")).stdout.strip() == "you are now Available"
    shown = json.loads(ok(sb("activity", "--json")).stdout)
    assert shown["activity"] == "Available"
    assert "Lunch" in shown["allowed"]
    refused(sb("activity", "Nap"), "no activity called 'Nap'")

    ok(sb("sandbox", "reply", "--from", ANN, "--to", SALES_NUMBER, "Hello?"))
    nothing = ok(sb("offers"))  # nothing routes without a worker
    assert (nothing.stdout, nothing.stderr) == ("", "no offers\n")
    background = worker(db, tmp_path, "0", "--lease-seconds", "2")
    with running(background):
        wait_for(
            lambda: query(db, "SELECT id FROM offers WHERE status = 'pending'"),
            timeout=20,
            what="an offer",
            alive=(background,),
        )
    [offer] = json.loads(ok(sb("offers", "list", "--json")).stdout)
    assert offer["queue"] == "Sales"
    assert 0 < offer["seconds_left"] <= 30
    assert "is yours" in ok(sb("offers", "accept", str(offer["id"]))).stdout
    refused(sb("offers", "refuse", str(offer["id"])), "no longer open", "you already have")

    conversation = str(offer["conversation_id"])
    refused(sb("transfer", conversation), "--to-queue QUEUE or --to-agent USER")
    refused(sb("transfer", conversation, "--to-queue", "Nowhere"), "no queue called 'Nowhere'")
    done = json.loads(ok(sb("transfer", conversation, "--to-agent", "bob", "--json")).stdout)
    assert (done["from"], done["to_agent"], done["by"]) == (ME, "bob", ME)
    owner = query(db, "SELECT a.username FROM conversations c JOIN agents a ON a.id = c.owner_id")
    assert owner[0][0] == "bob"


def test_permissions_activities_edit(sb: Run, db: Path) -> None:
    ok(sb("permissions", "activities", "add", "Training"))
    done = json.loads(
        ok(
            sb("permissions", "activities", "edit", "Training", "--rename", "Coaching", "--json")
        ).stdout
    )
    assert (done["name"], done["available"], done["builtin"]) == ("Coaching", False, False)
    shown = ok(sb("permissions", "activities", "edit", "Coaching", "--available")).stdout
    assert shown.strip() == "activity Coaching: agents in it are offered conversations"
    listed = json.loads(ok(sb("permissions", "activities", "list", "--json")).stdout)
    assert {a["name"]: a["available"] for a in listed}["Coaching"] is True
    assert "Training" not in {a["name"] for a in listed}

    before = query(db, "SELECT name, available FROM activities ORDER BY id")
    refused(
        sb("permissions", "activities", "edit", "Away", "--rename", "Out"),
        "Away is a built-in activity",
    )
    refused(
        sb("permissions", "activities", "edit", "Coaching", "--rename", "Lunch"),
        "an activity named 'Lunch' already exists",
    )
    refused(
        sb("permissions", "activities", "edit", "Nap", "--available"), "no activity named 'Nap'"
    )
    refused(
        sb("permissions", "activities", "edit", "Coaching", "--rename", "a\x1b[31mb"),
        "holds a control character",
    )
    refused(
        sb("permissions", "activities", "edit", "Coaching"),
        "nothing to change: give --rename NEW, --available or --unavailable",
    )
    assert query(db, "SELECT name, available FROM activities ORDER BY id") == before
