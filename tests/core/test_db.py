"""Storage: migrations at start-up, and refusals that leave the file untouched."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from pathlib import Path

import pytest

from core.clock import FakeClock
from core.db import is_demo, open_database, open_problem, schema_version
from core.errors import DatabaseProblem
from core.people import agents
from core.people.authz import SYSTEM
from tests.old_schema import database_at


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
    with pytest.raises(DatabaseProblem, match="is not an SQLite database"):
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


async def test_events_that_cannot_be_written_stop_the_commit(db):
    # The events are written just before the COMMIT: the COMMIT must not run when
    # they fail, and the change goes with them.
    async def change_with_a_broken_event() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO settings (key, value) VALUES ('x', '1')")
            await tx.emit("settings.changed", None)  # type: ignore[arg-type]  # NOT NULL

    with pytest.raises(sqlite3.IntegrityError):
        await change_with_a_broken_event()
    assert await db.scalar("SELECT count(*) FROM settings") == 0
    assert await db.scalar("SELECT count(*) FROM events") == 0
    async with db.transaction() as tx:  # and the connection is usable after it
        await tx.execute("INSERT INTO settings (key, value) VALUES ('y', '1')")
        await tx.emit("settings.changed", "settings")
    assert await db.scalar("SELECT count(*) FROM events") == 1


def _count_trips(db, monkeypatch) -> list[str]:  # type: ignore[no-untyped-def]
    """Each trip the writer makes to its thread, named by its last statement."""
    trips: list[str] = []
    conn = db._writer
    real = conn._execute

    async def counted(fn, *args):  # type: ignore[no-untyped-def]
        trips.append(args[2][0] if len(args) == 3 and args[2] else getattr(fn, "__name__", ""))
        return await real(fn, *args)

    monkeypatch.setattr(conn, "_execute", counted)
    return trips


async def test_deferred_writes_run_in_order_with_the_next_statement(db, monkeypatch):
    """BEGIN goes with the first statement, a deferred write with the next, the events
    with the COMMIT: three trips for what took six; what runs, and its order, is the same."""
    trips = _count_trips(db, monkeypatch)
    async with db.transaction() as tx:
        tx.defer("INSERT INTO settings (key, value) VALUES ('a', '1')")
        tx.defer("UPDATE settings SET value = value || '2' WHERE key = 'a'")
        # The read comes after both writes, in the same transaction: it sees them.
        assert await tx.scalar("SELECT value FROM settings WHERE key = 'a'") == "12"
        tx.defer("UPDATE settings SET value = value || '3' WHERE key = 'a'")
        await tx.emit("settings.changed", "settings")
    assert trips == ["SELECT value FROM settings WHERE key = 'a'", "COMMIT"]
    assert await db.scalar("SELECT value FROM settings WHERE key = 'a'") == "123"
    assert await db.scalar("SELECT count(*) FROM events") == 1


async def test_a_deferred_write_that_fails_rolls_the_transaction_back(db):
    async def broken() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO settings (key, value) VALUES ('x', '1')")
            tx.defer("INSERT INTO settings (key, value) VALUES ('x', '2')")  # same key
            await tx.emit("settings.changed", "settings")

    with pytest.raises(sqlite3.IntegrityError):
        await broken()
    assert await db.scalar("SELECT count(*) FROM settings") == 0
    assert await db.scalar("SELECT count(*) FROM events") == 0
    async with db.transaction() as tx:  # no transaction was left open
        tx.defer("INSERT INTO settings (key, value) VALUES ('y', '1')")
    assert await db.scalar("SELECT count(*) FROM settings") == 1


async def test_writes_sent_ahead_run_while_python_goes_on_and_commit_with_the_rest(db):
    async with db.transaction() as tx:
        tx.defer("INSERT INTO settings (key, value) VALUES ('a', '1')")
        await tx.send_ahead()
        # The next trip comes after them, in the same transaction: it sees them.
        assert await tx.scalar("SELECT value FROM settings WHERE key = 'a'") == "1"
        tx.defer("UPDATE settings SET value = value || '2' WHERE key = 'a'")
        await tx.send_ahead()
    assert await db.scalar("SELECT value FROM settings WHERE key = 'a'") == "12"


async def test_a_write_sent_ahead_that_fails_stops_what_follows_and_rolls_back(db):
    async def broken() -> None:
        async with db.transaction() as tx:
            tx.defer("INSERT INTO settings (key, value) VALUES ('x', '1')")
            tx.defer("INSERT INTO settings (key, value) VALUES ('x', '2')")  # same key
            await tx.send_ahead()
            # Not run: the trip waits for what went ahead, which raises.
            await tx.execute("INSERT INTO settings (key, value) VALUES ('z', '1')")

    with pytest.raises(sqlite3.IntegrityError):
        await broken()
    assert await db.scalar("SELECT count(*) FROM settings") == 0

    class Boom(Exception):
        pass

    async def fails_in_python() -> None:
        async with db.transaction() as tx:
            tx.defer("INSERT INTO settings (key, value) VALUES ('y', '1')")
            await tx.send_ahead()
            raise Boom  # while the write may still be running: it is rolled back after it

    with pytest.raises(Boom):
        await fails_in_python()
    assert await db.scalar("SELECT count(*) FROM settings") == 0
    async with db.transaction() as tx:  # no transaction was left open
        tx.defer("INSERT INTO settings (key, value) VALUES ('y', '1')")
    assert await db.scalar("SELECT count(*) FROM settings") == 1


async def test_what_was_sent_ahead_after_sqlite_ended_the_transaction_does_not_run(db):
    # SQLite rolls a transaction back by itself on some errors (disk full, I/O). Here a
    # ROLLBACK stands for one: what follows must not run on its own, outside it.
    async def ended_by_sqlite() -> None:
        async with db.transaction() as tx:
            tx.defer("INSERT INTO settings (key, value) VALUES ('a', '1')")
            await tx.send_ahead()
            tx.defer("ROLLBACK")
            await tx.send_ahead()
            tx.defer("INSERT INTO settings (key, value) VALUES ('b', '1')")
            await tx.send_ahead()

    with pytest.raises(DatabaseProblem, match="ended before its work was done"):
        await ended_by_sqlite()
    assert await db.scalar("SELECT count(*) FROM settings") == 0
    async with db.transaction() as tx:
        tx.defer("INSERT INTO settings (key, value) VALUES ('c', '1')")
    assert await db.scalar("SELECT group_concat(key) FROM settings") == "c"


async def test_a_transaction_that_fails_before_its_first_statement_opens_nothing(db):
    class Boom(Exception):
        pass

    async def fail_first() -> None:
        async with db.transaction() as tx:
            tx.defer("INSERT INTO settings (key, value) VALUES ('x', '1')")
            raise Boom

    with pytest.raises(Boom):
        await fail_first()
    held: list[float] = []
    db.on_transaction = held.append
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO settings (key, value) VALUES ('y', '1')")
    assert [r[0] for r in await db.fetchall("SELECT key FROM settings")] == ["y"]
    assert len(held) == 1  # the lock's time, from BEGIN to COMMIT
    assert held[0] >= 0


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


# --- what an open that fails says, and read-only opens ---------------------------------------


def _sqlite_error(path: Path, sql: str, *, uri: bool = False) -> sqlite3.Error:
    """The error SQLite itself gives for ``sql`` on ``path``."""
    try:
        with contextlib.closing(sqlite3.connect(path, uri=uri)) as conn:
            conn.execute(sql).fetchall()
    except sqlite3.Error as exc:
        return exc
    raise AssertionError(f"{sql} on {path} did not fail")


def test_a_write_refused_by_permissions_is_named_and_mentions_no_backup(db_path: Path):
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        conn.execute("CREATE TABLE t (x)")
    uri = f"file:{db_path}?mode=ro"
    error = _sqlite_error(Path(uri), "INSERT INTO t VALUES (1)", uri=True)
    assert error.sqlite_errorname == "SQLITE_READONLY"  # type: ignore[attr-defined]
    message = str(open_problem(db_path, error))
    assert message.startswith(f"cannot write {db_path}: permission denied")
    assert "status, agents list and contacts list can still read it" in message
    assert "backup" not in message


def test_a_file_that_is_not_a_database_is_named_so(tmp_path: Path):
    path = tmp_path / "notes.sqlite3"
    path.write_text("shopping list\n" * 500)
    error = _sqlite_error(path, "SELECT * FROM sqlite_master")
    message = str(open_problem(path, error))
    assert message.startswith(f"{path} cannot be opened as a database: it is not an SQLite")
    assert "It was not changed" in message


def test_a_missing_folder_is_named(tmp_path: Path):
    path = tmp_path / "no" / "such" / "folder" / "db.sqlite3"
    error = _sqlite_error(path, "SELECT 1")
    assert str(open_problem(path, error)) == (
        f"cannot open {path}: there is no folder {path.parent}. Create it, or point --db at "
        "another file."
    )


async def test_a_folder_in_the_way_is_named(tmp_path: Path):
    (tmp_path / "data").write_text("a file, not a folder")
    with pytest.raises(DatabaseProblem, match="data is a file, not a folder"):
        await open_database(tmp_path / "data" / "db.sqlite3", FakeClock())


async def test_a_failed_open_stops_its_connection_thread(tmp_path: Path):
    # A name the file system refuses: SQLite fails inside aiosqlite's connect.
    path = tmp_path / ("x" * 300 + ".sqlite3")
    before = {t.ident for t in threading.enumerate()}
    with pytest.raises(DatabaseProblem, match="the file name is too long"):
        await open_database(path, FakeClock())
    left = [
        t
        for t in threading.enumerate()
        if t.ident not in before and "_connection_worker_thread" in t.name and t.is_alive()
    ]
    assert left == [], "left running, it reports to a closed event loop later"


async def test_a_read_only_open_reads_and_refuses_every_write(db_path: Path, clock: FakeClock):
    db = await open_database(db_path, clock)
    await agents.add(db, SYSTEM, "alice", "Alice", "agent")
    await db.close()
    before = db_path.read_bytes()
    ro = await open_database(db_path, clock, read_only=True)
    try:
        assert ro.read_only
        assert [a.username for a in await agents.list_agents(ro)] == ["alice"]
        with pytest.raises(DatabaseProblem, match="is open read-only"):
            await agents.add(ro, SYSTEM, "bob", "Bob", "agent")
        with pytest.raises(DatabaseProblem, match="is open read-only"):
            await ro.write("DELETE FROM agents")
    finally:
        await ro.close()
    assert db_path.read_bytes() == before


async def test_a_read_only_open_creates_nothing(tmp_path: Path):
    path = tmp_path / "missing.sqlite3"
    with pytest.raises(DatabaseProblem, match=f"there is no database at {path}; check --db"):
        await open_database(path, FakeClock(), read_only=True)
    with pytest.raises(DatabaseProblem, match="there is no folder"):
        await open_database(tmp_path / "gone" / "x.sqlite3", FakeClock(), read_only=True)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("offset", "expected"), [(-1, "older Switchboard"), (1, "newer")])
async def test_a_read_only_open_refuses_another_schema(db_path: Path, offset: int, expected: str):
    await (await open_database(db_path, FakeClock())).close()
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        conn.execute(f"PRAGMA user_version = {schema_version() + offset}")
    before = db_path.read_bytes()
    with pytest.raises(DatabaseProblem, match=expected):
        await open_database(db_path, FakeClock(), read_only=True)
    assert db_path.read_bytes() == before


async def test_damage_found_after_the_open_is_named(db_path: Path, clock: FakeClock):
    db = await open_database(db_path, clock)
    for i in range(200):
        await agents.add(db, SYSTEM, f"agent{i}", "A name long enough to fill pages " * 3, "agent")
    await db.close()
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'agents'").fetchone()
        page = conn.execute("PRAGMA page_size").fetchone()[0]
    with db_path.open("r+b") as f:
        f.seek((root[0] - 1) * page)
        f.write(b"\xff" * page)
    db = await open_database(db_path, clock)
    try:
        with pytest.raises(DatabaseProblem, match=r"is damaged .*Restore the file from a backup"):
            await agents.list_agents(db)
        with pytest.raises(DatabaseProblem, match="is damaged"):
            await agents.add(db, SYSTEM, "zed", "Zed", "agent")
    finally:
        await db.close()


# --- the demo marker (schema 4) -------------------------------------------------------------


def _schema_3_database(path: Path, settings_rows: list[tuple[str, str]]) -> None:
    """A database as Switchboard left it before the demo marker existed."""
    with contextlib.closing(database_at(path, 3)) as conn:
        conn.executemany("INSERT INTO settings (key, value) VALUES (?, ?)", settings_rows)


async def test_the_migration_keeps_demo_databases_demo(tmp_path: Path, clock: FakeClock):
    demo_path, real_path = tmp_path / "demo.sqlite3", tmp_path / "real.sqlite3"
    _schema_3_database(demo_path, [("demo", "true"), ("public_minutes", "7")])
    _schema_3_database(real_path, [("demo", "false")])
    demo = await open_database(demo_path, clock)
    real = await open_database(real_path, clock)
    try:
        assert await is_demo(demo)
        assert not await is_demo(real)
        for db in (demo, real):
            assert await db.scalar("SELECT count(*) FROM settings WHERE key = 'demo'") == 0
        assert await demo.scalar("SELECT value FROM settings") == "7"
    finally:
        await demo.close()
        await real.close()


async def test_an_open_that_meets_a_busy_file_is_tried_again(db_path: Path, monkeypatch):
    import core.db as core_db

    real = core_db._open_read_write
    tries: list[int] = []

    async def busy_once(path: Path, clock: FakeClock):
        tries.append(1)
        if len(tries) == 1:
            busy = sqlite3.OperationalError("database is locked")
            busy.sqlite_errorname = "SQLITE_BUSY"  # type: ignore[attr-defined]
            raise core_db.open_problem(path, busy) from busy
        return await real(path, clock)

    monkeypatch.setattr(core_db, "_open_read_write", busy_once)
    db = await open_database(db_path, FakeClock())
    await db.close()
    assert len(tries) == 2

    def damaged(path: Path, clock: FakeClock):
        tries.append(1)
        raise DatabaseProblem(f"{path} is damaged")

    monkeypatch.setattr(core_db, "_open_read_write", damaged)
    with pytest.raises(DatabaseProblem, match="damaged"):
        await open_database(db_path, FakeClock())
    assert len(tries) == 3, "only a busy file is tried again"
