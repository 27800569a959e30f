"""Storage: migrations at start-up, and refusals that leave the file untouched."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from core.clock import FakeClock
from core.db import open_database, schema_version
from core.errors import DatabaseProblem


async def test_new_file_is_migrated_to_the_current_schema(db_path: Path, clock: FakeClock):
    db = await open_database(db_path, clock)
    try:
        assert await db.scalar("PRAGMA user_version") == schema_version()
        assert await db.scalar("PRAGMA journal_mode") == "wal"
        tables = {r[0] for r in await db.fetchall("SELECT name FROM sqlite_master")}
        assert {"messages", "conversations", "events", "leases"} <= tables
    finally:
        await db.close()


async def test_reopening_keeps_data_and_does_not_migrate_twice(db_path: Path, clock: FakeClock):
    db = await open_database(db_path, clock)
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO settings (key, value) VALUES ('public_minutes', '7')")
    await db.close()
    db = await open_database(db_path, clock)
    try:
        assert await db.scalar("SELECT value FROM settings WHERE key = 'public_minutes'") == "7"
    finally:
        await db.close()


async def test_two_processes_opening_a_new_file_at_once_migrate_it_once(db_path: Path):
    first, second = await asyncio.gather(
        open_database(db_path, FakeClock()), open_database(db_path, FakeClock())
    )
    try:
        assert await first.scalar("PRAGMA user_version") == schema_version()
        assert await second.scalar("SELECT count(*) FROM agents") == 0
    finally:
        await first.close()
        await second.close()


async def test_a_damaged_file_is_refused_and_left_alone(tmp_path: Path):
    path = tmp_path / "damaged.sqlite3"
    content = b"this was never a database" * 100
    path.write_bytes(content)
    with pytest.raises(DatabaseProblem, match="cannot be opened as a database"):
        await open_database(path, FakeClock())
    assert path.read_bytes() == content


async def test_a_newer_schema_is_refused_and_left_alone(db_path: Path):
    db = await open_database(db_path, FakeClock())
    await db.close()
    with sqlite3.connect(db_path) as conn:
        conn.execute(f"PRAGMA user_version = {schema_version() + 1}")
    before = db_path.read_bytes()
    with pytest.raises(DatabaseProblem, match="newer Switchboard"):
        await open_database(db_path, FakeClock())
    assert db_path.read_bytes() == before


async def test_another_programs_database_is_refused(tmp_path: Path):
    path = tmp_path / "other.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    with pytest.raises(DatabaseProblem, match="not a Switchboard database"):
        await open_database(path, FakeClock())
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 1


async def test_a_failed_transaction_leaves_no_trace_and_no_event(db):
    class Boom(Exception):
        pass

    async def change_then_fail() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO settings (key, value) VALUES ('x', '1')")
            await tx.emit("settings.changed", "settings")
            raise Boom

    with pytest.raises(Boom):
        await change_then_fail()
    assert await db.scalar("SELECT count(*) FROM settings") == 0
    assert await db.scalar("SELECT count(*) FROM events") == 0


async def test_reader_never_sees_an_uncommitted_change(db):
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO settings (key, value) VALUES ('x', '1')")
        assert await db.scalar("SELECT count(*) FROM settings") == 0
    assert await db.scalar("SELECT count(*) FROM settings") == 1


@pytest.mark.parametrize("yield_steps", [0, 1, 2, 3])
async def test_a_cancelled_transaction_leaves_the_connection_usable(db, yield_steps: int):
    """Cancelled at any point (even while BEGIN is in flight), nothing half-done remains."""
    entered = asyncio.Event()

    async def interrupted() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO settings (key, value) VALUES ('x', '1')")
            entered.set()
            await asyncio.sleep(60)

    task = asyncio.ensure_future(interrupted())
    for _ in range(yield_steps):
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO settings (key, value) VALUES ('y', '2')")
    assert [r[0] for r in await db.fetchall("SELECT key FROM settings")] == ["y"]
