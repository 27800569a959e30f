"""`switchboard alerts preview|status`, run as a user runs it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from tests.processes import ok, refused, switchboard

Run = Callable[..., CompletedProcess[str]]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "switchboard.sqlite3"


@pytest.fixture
def sb(tmp_path: Path, db: Path) -> Run:
    def run(*args: str):
        return switchboard("alerts", *args, db=db, home=tmp_path)

    return run


def test_preview_shows_the_plan_and_the_chart(sb: Run) -> None:
    out = ok(
        sb(
            "preview", "--every", "5", "--reminders", "3", "--escalate-after", "3",
            "--normal-staff", "4", "--oncall-staff", "2",
        )
    ).stdout  # fmt: skip
    lines = out.splitlines()
    assert lines[0] == (
        "Alerts: every 5 min, 3 reminders, escalation after 3 attempts;"
        " 4 on a normal shift, 2 on call"
    )
    assert "    15  escalation             2" in lines
    assert (
        "One chat nobody takes: 18 SMS; on-call staff hear after 15 min;"
        " alerts keep coming for 15 min."
    ) in lines
    assert any(line.startswith("10 min") and "4/30" in line for line in lines)


def test_preview_as_json(sb: Run) -> None:
    run = sb("preview", "--every", "10", "--reminders", "2", "--normal-staff", "3", "--json")
    found = json.loads(ok(run).stdout)
    assert found["preview"]["alerts_per_chat"] == 9
    assert found["preview"]["escalation_wait"] is None
    assert [s["label"] for s in found["preview"]["steps"]] == [
        "new chat",
        "reminder 1 of 2",
        "reminder 2 of 2",
    ]
    assert found["chart"]["every"][0] == 1


def test_preview_refuses_settings_out_of_range_or_without_a_frequency(sb: Run) -> None:
    refused(sb("preview", "--every", "31"), "'--every': 31 is not in the range 0<=x<=30", code=2)
    refused(
        sb("preview", "--every", "0", "--reminders", "2"),
        "reminders and the escalation need a reminder frequency of 1 to 30 minutes",
    )


def test_status_counts_timelines_and_todays_alerts(sb: Run, db: Path) -> None:
    ok(sb("status"))
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.executescript(
            """
            INSERT INTO agents (username, name, created_at) VALUES ('nora', 'Nora', 0);
            INSERT INTO numbers (e164, created_at) VALUES ('+14155550100', 0);
            INSERT INTO conversations (number_id, phone, alert_started_at, alert_step,
                alert_due_at, created_at) VALUES (1, '+12125550110', 0, 1, 4102444800000, 0);
            """
        )
        conn.execute(
            "INSERT INTO staff_alerts (conversation_id, agent_id, kind, step, started_at,"
            " message_id, created_at)"
            " VALUES (1, 1, 'new_chat', 1, 0, NULL, strftime('%s', 'now') * 1000)"
        )
    finally:
        conn.close()
    found = json.loads(ok(sb("status", "--json")).stdout)
    assert found["running"] == 1
    assert found["next_due"].startswith("2100-01-01")
    # Recorded but never queued (no message) is not an alert sent.
    assert found["today"] == {"new_chat": 0, "reminder": 0, "escalation": 0}
    text = ok(sb("status")).stdout
    assert "Timelines running: 1, next due 2100-01-01" in text or "next due 2099-12-31" in text
