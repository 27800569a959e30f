"""`switchboard stats`: run as a user runs it, on a database seeded with a fixed clock.

The database is written in-process (FakeClock on 2026-03-02, UTC) and the
command run in a subprocess with TZ=UTC, so its local days are those days.
"""

from __future__ import annotations

import asyncio
import getpass
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.clock import FakeClock, to_ms
from core.db import open_database
from core.people import agents
from core.people.authz import SYSTEM
from core.scheduling.worker import Worker
from core.sms import numbers, receiving, sending
from providers.sandbox import SandboxGateway
from tests.processes import ok, refused, switchboard

ME = getpass.getuser()
DAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
UTC_ENV = {"TZ": "UTC"}


def _seed(path: Path, permission_profile: str) -> None:
    async def seed() -> None:
        clock = FakeClock(DAY)
        db = await open_database(path, clock)
        try:
            await agents.add(db, SYSTEM, ME, "Me <b>[bold]", permission_profile)
            alice = (await agents.add(db, SYSTEM, "alice", "Alice Moreau", "Agent")).as_actor()
            await numbers.add(db, SYSTEM, "+14155550100", default=True)
            for i, wait in enumerate((30, 90, 60)):
                got = await receiving.receive(db, f"+1212555011{i}", "+14155550100", "Hi")
                clock.advance(seconds=wait)
                await sending.send(db, alice, f"+1212555011{i}", "Hello")
            await db.write(
                "INSERT INTO offers (conversation_id, agent_id, status, offered_at, expires_at)"
                " VALUES (?, ?, 'refused', ?, ?), (?, ?, 'accepted', ?, ?)",
                (got.conversation_id, alice.id, to_ms(DAY), to_ms(DAY)) * 2,
            )
            await Worker(db, SandboxGateway(db), holder="seed").run_once()
        finally:
            await db.close()

    asyncio.run(seed())


def _stats(db: Path, home: Path, *args: str) -> str:
    return ok(switchboard("stats", *args, db=db, home=home, env=UTC_ENV)).stdout


@pytest.fixture
def manager_db(tmp_path: Path) -> Path:
    path = tmp_path / "switchboard.sqlite3"
    _seed(path, "Manager")
    return path


def test_stats_json_per_agent(manager_db: Path, tmp_path: Path):
    found = json.loads(
        _stats(manager_db, tmp_path, "--from", "2026-03-02", "--to", "2026-03-02", "--json")
    )
    assert (found["by"], found["from"], found["to"]) == (
        "agent",
        "2026-03-02T00:00:00+00:00",
        "2026-03-03T00:00:00+00:00",
    )
    alice = next(row for row in found["rows"] if row["name"] == "Alice Moreau")
    assert alice["offered"] == 2
    assert (alice["accepted"], alice["missed"], alice["handled"]) == (1, 1, 3)
    assert alice["first_responses"] == 3
    assert alice["median_first_response_seconds"] == 60
    assert alice["p90_first_response_seconds"] == 90
    assert (alice["messages_sent"], alice["segments_sent"]) == (3, 3)


def test_stats_table_and_by_queue(manager_db: Path, tmp_path: Path):
    table = _stats(manager_db, tmp_path, "--from", "2026-03-01", "--to", "2026-03-02").splitlines()
    assert table[0] == "2026-03-01 to 2026-03-02, by agent"
    assert table[1].split()[:3] == ["Agent", "Offered", "Accepted"]
    alice = next(line for line in table if line.startswith("Alice Moreau"))
    assert alice.split()[2:] == ["2", "1", "1", "3", "1m00s", "1m30s", "3", "3"]
    assert any(line.startswith("Me <b>[bold]") for line in table), "a name is shown literally"

    by_queue = _stats(manager_db, tmp_path, "--by", "queue", "--to", "2026-03-02", "--json")
    queues = json.loads(by_queue)
    assert queues["from"] == "2026-02-24T00:00:00+00:00", "7 days ending with --to"
    [row] = queues["rows"]
    assert (row["id"], row["name"], row["handled"]) == (None, "(no queue)", 3)


def test_a_day_outside_the_period_counts_nothing(manager_db: Path, tmp_path: Path):
    found = json.loads(
        _stats(manager_db, tmp_path, "--from", "2026-03-03", "--to", "2026-03-03", "--json")
    )
    alice = next(row for row in found["rows"] if row["name"] == "Alice Moreau")
    assert (alice["offered"], alice["handled"], alice["messages_sent"]) == (0, 0, 0)
    assert alice["median_first_response_seconds"] is None


def test_stats_refusals(manager_db: Path, tmp_path: Path):
    def run(*args: str):
        return switchboard("stats", *args, db=manager_db, home=tmp_path, env=UTC_ENV)

    refused(run("--from", "2026-03-05", "--to", "2026-03-01"), "must start before it ends")
    refused(run("--from", "2025-01-01", "--to", "2026-03-01"), "at most 366 days")
    refused(run("--from", "2026-02-30"), "--from", code=2)
    refused(run("--to", "9999-12-31"), "--to", "out of range", code=2)
    refused(run("--to", "0001-01-02"), "--to", "out of range", code=2)
    refused(run("--by", "team"), "--by", code=2)


def test_an_agent_without_the_statistics_right_is_refused(tmp_path: Path):
    path = tmp_path / "agent.sqlite3"
    _seed(path, "Agent")
    result = switchboard("stats", "--json", db=path, home=tmp_path, env=UTC_ENV)
    refused(result, "may not view statistics")
    assert result.stdout == ""
