"""`switchboard campaigns status|results`, run as a user runs them.

The campaign, its targets and messages are written with SQL (schema 11 is
the contract between #13's parts); nothing here depends on the wall clock
but the rate, which counts messages sent in the last minute (none here).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from tests.processes import ok, refused, switchboard

Run = Callable[..., CompletedProcess[str]]
SENDER = "+14155550100"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "switchboard.sqlite3"
    ok(switchboard("numbers", "add", SENDER, "--default", db=path, home=tmp_path))
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.executescript(
            f"""
            INSERT INTO campaigns (name, sender, template, status, started_at, created_at,
                updated_at)
                VALUES ('Spring' || char(27) || '[31m', '{SENDER}', 'Hi', 'running', 0, 0, 0);
            INSERT INTO messages (direction, purpose, kind, sender, recipient, body, encoding,
                segments, status, error, campaign_id, created_at, updated_at)
                VALUES ('out', 'campaign', 'chat', '{SENDER}', '+12125550110', 'Hi', 'GSM-7', 1,
                    'delivered', NULL, 1, 0, 0),
                ('out', 'campaign', 'chat', '{SENDER}', '+12125550120', 'Hi', 'GSM-7', 1,
                    'failed', 'the carrier reported it undelivered', 1, 0, 0);
            INSERT INTO campaign_targets (campaign_id, phone, state, due_at, reason, message_id,
                replied_at, created_at, updated_at) VALUES
                (1, '+12125550110', 'queued', NULL, NULL, 1, 60000, 0, 0),
                (1, '+12125550120', 'queued', NULL, NULL, 2, NULL, 0, 0),
                (1, '+12125550130', 'skipped', NULL, 'opted out', NULL, NULL, 0, 0),
                (1, '+12125550140', 'programmed', 4102444800000, NULL, NULL, NULL, 0, 0);
            """
        )
    finally:
        conn.close()
    return path


@pytest.fixture
def sb(tmp_path: Path, db: Path) -> Run:
    def run(*args: str) -> CompletedProcess[str]:
        return switchboard("campaigns", *args, db=db, home=tmp_path)

    return run


def test_status_counts_and_prints_the_name_literally(sb: Run) -> None:
    out = ok(sb("status", "spring\x1b[31m")).stdout
    assert "\x1b" not in out
    lines = out.splitlines()
    assert lines[0] == "Spring\\x1b[31m: running, 4 targets"
    assert lines[1] == "  waiting 0, programmed 1, queued 2, skipped 1, removed 0"
    assert lines[2] == "  of the queued: in the outbox 0, sent 0, delivered 1, failed 1"
    assert lines[3] == "  replied 1, opted out 1"


def test_status_json(sb: Run) -> None:
    found = json.loads(ok(sb("status", "Spring\x1b[31m", "--json")).stdout)
    assert {k: found[k] for k in ("total", "queued", "delivered", "failed", "skipped")} == {
        "total": 4,
        "queued": 2,
        "delivered": 1,
        "failed": 1,
        "skipped": 1,
    }
    assert found["rate_per_second"] == 0


def test_results_per_target_and_by_state(sb: Run) -> None:
    out = ok(sb("results", "Spring\x1b[31m")).stdout.splitlines()
    assert out == [
        "+12125550110     queued  message: delivered  replied 1970-01-01 00:01 UTC",
        "+12125550120     queued  message: failed (the carrier reported it undelivered)",
        "+12125550130     skipped (opted out)  message: -",
        "+12125550140     programmed for 2100-01-01 00:00 UTC  message: -",
    ]
    skipped = json.loads(ok(sb("results", "Spring\x1b[31m", "--state", "skipped", "--json")).stdout)
    assert [(r["phone"], r["reason"]) for r in skipped] == [("+12125550130", "opted out")]


def test_an_unknown_campaign_is_refused_by_name(sb: Run) -> None:
    refused(sb("status", "Autumn"), "no SMS campaign named 'Autumn'")
    refused(sb("results", "Autumn"), "no SMS campaign named 'Autumn'")
