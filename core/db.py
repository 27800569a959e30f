"""The one place that opens the database.

SQLite in WAL mode, reached through aiosqlite. A process holds two
connections: one writer, used only inside ``Database.transaction()`` (which
serialises this process's transactions and takes SQLite's write lock up front
with BEGIN IMMEDIATE, so two processes never deadlock upgrading a read lock),
and one reader for queries that need no transaction. In WAL mode the reader
sees every committed change and never an uncommitted one.

Every transaction may append rows to the change feed (``Tx.emit``); they
commit or roll back with the change they describe.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from core.clock import Clock, to_ms
from core.errors import DatabaseProblem

BUSY_TIMEOUT_MS = 10_000
Params = Sequence[Any] | dict[str, Any]


def migrations() -> list[tuple[int, str]]:
    """(version, SQL) for every numbered migration shipped with the code."""
    found = []
    for entry in resources.files("core.migrations").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _ in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations are not numbered 1..n: {versions}")
    return found


def schema_version() -> int:
    return len(migrations())


class Tx:
    """An open write transaction."""

    def __init__(self, conn: aiosqlite.Connection, clock: Clock) -> None:
        self._conn = conn
        self.clock = clock
        self.now_ms = to_ms(clock.now())

    async def execute(self, sql: str, params: Params = ()) -> aiosqlite.Cursor:
        return await self._conn.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self._conn.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        # execute_fetchall is one trip to aiosqlite's thread; execute + fetch +
        # close would be three, and these trips are most of a statement's cost.
        return list(await self._conn.execute_fetchall(sql, params))

    async def insert(self, sql: str, params: Params = ()) -> int:
        cur = await self._conn.execute(sql, params)
        assert cur.lastrowid is not None
        return cur.lastrowid

    async def emit(
        self,
        kind: str,
        entity: str,
        entity_id: int | None = None,
        /,
        *,
        actor_id: int | None = None,
        **data: Any,
    ) -> None:
        """Append a change-feed event; it commits with the change."""
        await self._conn.execute(
            "INSERT INTO events (at, kind, entity, entity_id, actor_id, data)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (self.now_ms, kind, entity, entity_id, actor_id, json.dumps(data, default=str)),
        )

    async def emit_many(
        self, kind: str, entity: str, items: Iterable[tuple[int | None, dict[str, Any]]]
    ) -> None:
        """Append one event per (entity_id, data) in one call: for batches."""
        await self._conn.executemany(
            "INSERT INTO events (at, kind, entity, entity_id, data) VALUES (?, ?, ?, ?, ?)",
            [
                (self.now_ms, kind, entity, entity_id, json.dumps(data, default=str))
                for entity_id, data in items
            ],
        )


class Database:
    def __init__(
        self,
        path: Path,
        writer: aiosqlite.Connection,
        reader: aiosqlite.Connection,
        clock: Clock,
    ) -> None:
        self.path = path
        self.clock = clock
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self._write_lock:
            try:
                await self._writer.execute("BEGIN IMMEDIATE")
                yield Tx(self._writer, self.clock)
                await self._writer.execute("COMMIT")
            except BaseException:
                # Shielded: a task cancelled mid-transaction (an app closing)
                # must not leave the connection inside a transaction, or every
                # later BEGIN fails.
                await asyncio.shield(self._roll_back())
                raise

    async def _roll_back(self) -> None:
        # aiosqlite runs statements in order on its thread, so this comes after
        # a BEGIN or COMMIT that was still in flight when the task was cancelled.
        # OperationalError: nothing open (BEGIN failed, or COMMIT went through).
        with contextlib.suppress(sqlite3.OperationalError):
            await self._writer.execute("ROLLBACK")

    async def write(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """Run one writing statement on its own (atomic by itself); return its rows.

        One round trip instead of three for a single-statement change.
        """
        async with self._write_lock:
            return list(await self._writer.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return list(await self._reader.execute_fetchall(sql, params))

    async def scalar(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def close(self) -> None:
        await self._reader.close()
        await self._writer.close()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def _connect(path: Path) -> aiosqlite.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves.
    conn = await aiosqlite.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.row_factory = sqlite3.Row
    await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    await conn.execute("PRAGMA foreign_keys = ON")
    return conn


async def _schema_in(conn: aiosqlite.Connection, path: Path, known: int) -> int:
    """The file's schema version; DatabaseProblem if it is not one we can use."""
    current = int((await conn.execute_fetchall("PRAGMA user_version"))[0][0])
    if current > known:
        raise DatabaseProblem(
            f"{path} was written by a newer Switchboard (schema {current}; this version "
            f"knows up to {known}). Upgrade Switchboard; the file was not changed."
        )
    if current == 0:
        tables = await conn.execute_fetchall(
            "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        )
        if tables[0][0]:
            raise DatabaseProblem(
                f"{path} is an SQLite file but not a Switchboard database; "
                "it was not changed. Point --db at another file."
            )
    return current


async def _migrate(conn: aiosqlite.Connection, path: Path) -> None:
    known = migrations()
    await conn.execute("BEGIN IMMEDIATE")
    try:
        # Read again inside the write lock: two processes starting on a new
        # file must not both apply migration 1.
        current = await _schema_in(conn, path, len(known))
        for version, sql in known[current:]:
            for statement in _statements(sql):
                await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version = {version}")
    except BaseException:
        await conn.execute("ROLLBACK")
        raise
    await conn.execute("COMMIT")


def _statements(script: str) -> list[str]:
    """Split a migration into statements (executescript would commit mid-way)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer)
            buffer = ""
    if buffer.strip() and not buffer.strip().startswith("--"):
        statements.append(buffer)
    return statements


def _ensure_folder(raw: Path | str) -> Path:
    path = Path(raw).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseProblem(f"cannot create the folder for {path}: {exc.strerror}") from exc
    return path


async def open_database(path: Path | str, clock: Clock) -> Database:
    """Open (creating if needed) and migrate the database at ``path``.

    Raises DatabaseProblem, with the file untouched, when it is damaged, is
    not a Switchboard database, or has a newer schema than this code knows.
    """
    path = _ensure_folder(path)
    writer = reader = None
    try:
        writer = await _connect(path)
        # Check before switching to WAL: that switch rewrites the header of a
        # file we may be about to refuse, and a refused file stays untouched.
        await _schema_in(writer, path, schema_version())
        await writer.execute_fetchall("PRAGMA journal_mode = WAL")
        await writer.execute("PRAGMA synchronous = NORMAL")
        await _migrate(writer, path)
        reader = await _connect(path)
        await reader.execute("PRAGMA query_only = ON")
    except sqlite3.DatabaseError as exc:
        for conn in (writer, reader):
            if conn is not None:
                await conn.close()
        raise DatabaseProblem(
            f"{path} cannot be opened as a database ({exc}). It was not changed: "
            "restore it from a backup or point --db at another file."
        ) from exc
    except BaseException:
        for conn in (writer, reader):
            if conn is not None:
                await conn.close()
        raise
    return Database(path, writer, reader, clock)
