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
import os
import sqlite3
import threading
import time
import traceback
import urllib.parse
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final, TypeVar

import aiosqlite

from core.clock import Clock, to_ms
from core.errors import DatabaseProblem
from core.merging import field_name, merged_value, name_part

BUSY_TIMEOUT_MS = 10_000
Params = Sequence[Any] | dict[str, Any]


# json.dumps with any option builds a new encoder per call; a close writes dozens of events.
_encode = json.JSONEncoder(default=str).encode
_INSERT_EVENTS = (
    "INSERT INTO events (at, kind, entity, entity_id, actor_id, data) VALUES (?, ?, ?, ?, ?, ?)"
)


def migrations() -> list[tuple[int, str]]:
    """(version, SQL) for every numbered migration shipped with the code."""
    found = []
    # The folder next to this file, not importlib.resources: every command opens the
    # database, and importing that module (with tempfile, shutil, zipfile) adds some 4 ms
    # to each command's start-up. The package is installed as files (package-data).
    for entry in (Path(__file__).parent / "migrations").iterdir():
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
    """An open write transaction.

    Each statement is a trip to the database thread, and under load those trips,
    not SQLite, are most of what a transaction costs (each waits its turn on the
    loop and for the GIL). So statements whose result nobody reads travel with
    the next one: ``BEGIN IMMEDIATE`` goes with the first statement, ``defer``
    holds a write until the next trip, and the change-feed events and ``COMMIT``
    go together. They still run in the order they were given, in the
    transaction, and a deferred statement that fails fails the trip it went
    with, so the transaction rolls back as before. ``send_ahead`` starts what
    was deferred without waiting for it: SQLite writes one part of a long
    transaction while Python works out the next.
    """

    def __init__(self, conn: aiosqlite.Connection, clock: Clock) -> None:
        self._conn = conn
        self.clock = clock
        # Read once the process's write lock is held (transactions here are in
        # order); SQLite's own lock is taken with the first statement.
        self.now_ms = to_ms(clock.now())
        self._pending: list[_Deferred] = [("BEGIN IMMEDIATE", (), False)]
        self._ahead: list[asyncio.Future[None]] = []
        """The statements ``send_ahead`` started, until a trip has waited for them."""
        self.began: float | None = None
        """perf_counter() when SQLite's write lock was taken (None: not yet)."""
        # Change-feed events wait here and are written in one statement before
        # COMMIT: each emit was a trip to the database thread (a close with its
        # notices made four), and nobody reads the feed inside the transaction.
        self._events: list[tuple[int, str, str, int | None, int | None, str]] = []

    async def _trip(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run ``fn(connection, *args)`` on the database thread, after what waits."""
        await self.caught_up()
        pending, self._pending = self._pending, []
        # aiosqlite has no public way to run a function on its thread; its private
        # (untyped) _execute is why aiosqlite is held below 0.23 in pyproject.toml.
        result: _T = await self._conn._execute(  # type: ignore[no-untyped-call]
            self._run, pending, fn, args
        )
        return result

    def _run(self, pending: list[_Deferred], fn: Callable[..., _T], args: tuple[Any, ...]) -> _T:
        raw = self._conn._conn
        if self.began is not None and not raw.in_transaction:
            # SQLite rolls a transaction back itself on some errors (disk full, I/O);
            # what was sent ahead after one must not run, and commit, on its own.
            raise DatabaseProblem(
                "the transaction ended before its work was done (SQLite rolled it back);"
                " nothing of it was kept"
            )
        for sql, params, many in pending:
            if many:
                raw.executemany(sql, params)
            else:
                raw.execute(sql, params)
                if self.began is None:
                    self.began = time.perf_counter()
        return fn(raw, *args)

    async def send_ahead(self) -> None:
        """Start the deferred statements now, without waiting for them: SQLite runs
        them while the caller goes on in Python (the next part of a chunk). The next
        trip waits for them first and raises the first error they met, and the
        transaction rolls back (what was sent after it ran in the transaction, or, if
        SQLite ended the transaction itself, not at all: see ``_run``)."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        loop = asyncio.get_running_loop()
        started: asyncio.Future[None] = loop.create_future()

        def run() -> None:
            loop.call_soon_threadsafe(_set_done, started)
            self._run(pending, _nothing, ())

        ahead = asyncio.ensure_future(self._conn._execute(run))  # type: ignore[no-untyped-call]
        self._ahead.append(ahead)
        # Wait until the database thread has them in hand. Python that goes on without
        # awaiting holds the GIL, and the thread, which needs it to take the work and
        # between statements, would get it only when that Python next awaits.
        await asyncio.wait((started, ahead), return_when=asyncio.FIRST_COMPLETED)

    async def caught_up(self) -> None:
        """Wait for what ``send_ahead`` started; raises the first error it met."""
        if self._ahead:
            ahead, self._ahead = self._ahead, []
            results = await asyncio.gather(*ahead, return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException):
                    raise result

    def defer(self, sql: str, params: Params = ()) -> None:
        """Run a writing statement whose result nobody reads with the next trip."""
        self._pending.append((sql, params, False))

    async def execute(self, sql: str, params: Params = ()) -> aiosqlite.Cursor:
        cursor = await self._trip(_execute, sql, params)
        return aiosqlite.Cursor(self._conn, cursor)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> int:
        """Run ``sql`` for each of ``rows``; the rows it changed, in all."""
        cursor = await self._trip(_executemany, sql, list(rows))
        return cursor.rowcount

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        try:
            return await self._trip(_fetchall, sql, params)
        except Exception as exc:
            _drop_cursor(exc)
            raise

    async def fetchall_each(self, *statements: tuple[str, Params]) -> list[list[sqlite3.Row]]:
        """The rows of each of several reads that need nothing of each other, in one trip."""
        try:
            return await self._trip(_fetchall_each, statements)
        except Exception as exc:
            _drop_cursor(exc)
            raise

    async def scalar(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def insert(self, sql: str, params: Params = ()) -> int:
        cursor = await self._trip(_execute, sql, params)
        assert cursor.lastrowid is not None
        return cursor.lastrowid

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
        self._events.append((self.now_ms, kind, entity, entity_id, actor_id, _encode(data)))

    async def emit_many(
        self, kind: str, entity: str, items: Iterable[tuple[int | None, dict[str, Any]]]
    ) -> None:
        """Append one event per (entity_id, data): for batches."""
        self._events.extend(
            (self.now_ms, kind, entity, entity_id, None, _encode(data)) for entity_id, data in items
        )

    async def flush_events(self) -> None:
        """Write the events emitted so far (with the next trip). The transaction does it
        before COMMIT; a statement that inserts events itself calls it first, so ids
        keep their order."""
        if self._events:
            rows, self._events = self._events, []
            self._pending.append((_INSERT_EVENTS, rows, True))

    async def _commit(self) -> None:
        await self.flush_events()
        await self._trip(_execute, "COMMIT", ())


_T = TypeVar("_T")
_Deferred = tuple[str, Any, bool]
"""A statement waiting for the next trip: SQL, parameters, whether executemany."""


def _nothing(raw: sqlite3.Connection) -> None:
    return None


def _set_done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _execute(raw: sqlite3.Connection, sql: str, params: Params) -> sqlite3.Cursor:
    return raw.execute(sql, params)


def _executemany(raw: sqlite3.Connection, sql: str, rows: list[Params]) -> sqlite3.Cursor:
    return raw.executemany(sql, rows)


def _fetchall(raw: sqlite3.Connection, sql: str, params: Params) -> list[sqlite3.Row]:
    return raw.execute(sql, params).fetchall()


def _fetchall_each(
    raw: sqlite3.Connection, statements: tuple[tuple[str, Params], ...]
) -> list[list[sqlite3.Row]]:
    return [raw.execute(sql, params).fetchall() for sql, params in statements]


def _drop_cursor(exc: BaseException) -> None:
    """Let the cursor of a statement that failed part way be freed now.

    A row that cannot be read (text that is not UTF-8) stops a statement part
    way; its cursor, which the exception's traceback holds, keeps it unfinished,
    and while it is, every later COMMIT on the connection fails ("SQL statements
    in progress"). Clearing the finished frames frees the cursor, which resets it.
    """
    traceback.clear_frames(exc.__traceback__)


class Database:
    def __init__(
        self,
        path: Path,
        writer: aiosqlite.Connection,
        reader: aiosqlite.Connection,
        clock: Clock,
        *,
        read_only: bool = False,
    ) -> None:
        self.path = path
        self.clock = clock
        self.read_only = read_only
        """Opened with open_database(read_only=True): every write is refused."""
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()
        self.on_transaction: Callable[[float], None] | None = None
        """Told how long each write transaction held SQLite's write lock, in seconds
        (bench.throttle watches the outbox's)."""

    def _ensure_writable(self) -> None:
        if self.read_only:
            raise DatabaseProblem(
                f"{self.path} is open read-only (you may not write it), so this cannot be "
                "changed; nothing was changed. Run the command as a user who may write the file."
            )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        self._ensure_writable()
        async with self._write_lock:
            tx: Tx | None = None
            try:
                tx = Tx(self._writer, self.clock)
                yield tx
                await tx._commit()
                if self.on_transaction is not None and tx.began is not None:
                    self.on_transaction(time.perf_counter() - tx.began)
            except BaseException as exc:
                # Shielded: a task cancelled mid-transaction (an app closing)
                # must not leave the connection inside a transaction, or every
                # later BEGIN fails. What was sent ahead runs before the ROLLBACK
                # (the database thread takes work in order).
                await asyncio.shield(self._roll_back(tx))
                self._raise_if_damaged(exc)
                raise

    async def _roll_back(self, tx: Tx | None = None) -> None:
        # aiosqlite runs statements in order on its thread, so this comes after
        # a BEGIN or COMMIT that was still in flight when the task was cancelled.
        # OperationalError: nothing open (BEGIN failed, or COMMIT went through).
        if tx is not None:
            with contextlib.suppress(Exception):
                await tx.caught_up()  # retrieved: its error, if any, is not the one raised
        with contextlib.suppress(sqlite3.OperationalError):
            await self._writer.execute("ROLLBACK")

    async def write(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """Run one writing statement on its own (atomic by itself); return its rows.

        One round trip instead of three for a single-statement change.
        """
        self._ensure_writable()
        async with self._write_lock:
            try:
                return list(await self._writer.execute_fetchall(sql, params))
            except sqlite3.DatabaseError as exc:
                _drop_cursor(exc)
                self._raise_if_damaged(exc)
                raise

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        try:
            return list(await self._reader.execute_fetchall(sql, params))
        except sqlite3.DatabaseError as exc:
            _drop_cursor(exc)  # else the reader stays in its read transaction: stale reads
            self._raise_if_damaged(exc)
            raise

    def _raise_if_damaged(self, exc: BaseException) -> None:
        # A damaged page is found only when a statement reads it, long after
        # the open; say so plainly instead of letting it pass for a bug.
        if isinstance(exc, sqlite3.DatabaseError) and _is_damage(exc):
            raise DatabaseProblem(
                f"{self.path} is damaged ({exc}); nothing was changed. Restore the file "
                "from a backup."
            ) from exc

    async def scalar(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def close(self) -> None:
        await self._reader.close()
        if self._writer is not self._reader:
            await self._writer.close()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _is_damage(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorname", "") or ""
    return code.startswith("SQLITE_CORRUPT") or code == "SQLITE_NOTADB"


SQL_FUNCTIONS: Final[tuple[tuple[str, int, Callable[..., Any]], ...]] = (
    # Campaigns read their merge values in SQL, a custom key merged as its field.
    ("field_name", 1, field_name),
    ("merged_value", 2, merged_value),
    ("name_part", 2, name_part),
)
"""(name, arguments, function): Python that every connection's SQL may call."""


async def _connect(path: Path | str, *, uri: bool = False) -> aiosqlite.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves.
    conn = aiosqlite.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, uri=uri)
    try:
        await conn
        conn.row_factory = sqlite3.Row
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA foreign_keys = ON")
        for name, arguments, function in SQL_FUNCTIONS:
            await conn.create_function(name, arguments, function, deterministic=True)
    except BaseException:
        # Stop its thread now: left running, it reports to an event loop that
        # asyncio.run has closed ("Event loop is closed" after the real error).
        await _close_quietly(conn)
        raise
    return conn


async def _close_quietly(conn: aiosqlite.Connection) -> None:
    with contextlib.suppress(Exception):
        await conn.close()
    # A connection that failed to open was told to stop but not waited for;
    # wait here, while the event loop can still take its last report.
    thread = getattr(conn, "_thread", None)
    if isinstance(thread, threading.Thread) and thread.is_alive():
        await asyncio.to_thread(thread.join, 5)


async def _schema_in(conn: aiosqlite.Connection, path: Path, known: int) -> int:
    """The file's schema version; DatabaseProblem if it is not one we can use."""
    current = int(next(iter(await conn.execute_fetchall("PRAGMA user_version")))[0])
    if current > known:
        raise DatabaseProblem(
            f"{path} was written by a newer Switchboard (schema {current}; this version "
            f"knows up to {known}). Upgrade Switchboard; the file was not changed."
        )
    if current == 0:
        tables = await conn.execute_fetchall(
            "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        )
        if next(iter(tables))[0]:
            raise DatabaseProblem(
                f"{path} is an SQLite file but not a Switchboard database; "
                "it was not changed. Point --db at another file."
            )
    return current


async def _migrate(conn: aiosqlite.Connection, path: Path) -> None:
    known = migrations()
    # Off while migrating (it cannot change inside a transaction): a migration
    # that rebuilds a table drops the old one, and with foreign keys on that
    # drop would cascade to the rows that reference it. Checked before COMMIT.
    await conn.execute("PRAGMA foreign_keys = OFF")
    await conn.execute("BEGIN IMMEDIATE")
    try:
        # Read again inside the write lock: two processes starting on a new
        # file must not both apply migration 1.
        current = await _schema_in(conn, path, len(known))
        for version, sql in known[current:]:
            for statement in _statements(sql):
                await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version = {version}")
        pending = known[current:]
        broken = list(await conn.execute_fetchall("PRAGMA foreign_key_check")) if pending else []
        if broken:
            raise DatabaseProblem(
                f"upgrading {path} would leave {len(broken)} broken reference(s) (first: "
                f"{tuple(broken[0])}); the file was not changed"
            )
        await conn.execute("COMMIT")
    except BaseException:
        await conn.execute("ROLLBACK")
        raise
    finally:
        await conn.execute("PRAGMA foreign_keys = ON")  # after the transaction, or it is ignored


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


async def is_demo(db: Database | Tx) -> bool:
    """The database was made by `switchboard demo` (a marker only its seed writes)."""
    return await db.fetchone("SELECT 1 FROM demo_marker") is not None


def _ensure_folder(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise DatabaseProblem(
            f"cannot use {path}: {exc.filename or path.parent} is a file, not a folder. "
            "Point --db at a file in a folder."
        ) from exc
    except PermissionError as exc:
        raise DatabaseProblem(
            f"cannot create the folder {exc.filename or path.parent} for {path}: permission "
            "denied. Create it, or point --db at a folder you may write."
        ) from exc
    except OSError as exc:
        raise DatabaseProblem(
            f"cannot create the folder {path.parent} for {path}: "
            f"{exc.strerror or exc}{f' ({exc.filename})' if exc.filename else ''}"
        ) from exc


def _may_write(path: Path) -> bool:
    """This user may change the database: the file, and its folder (SQLite keeps -wal and -shm
    files beside it)."""
    folder = path.parent
    return os.access(path, os.W_OK) and os.access(folder, os.W_OK | os.X_OK)


def open_problem(path: Path, exc: sqlite3.Error) -> DatabaseProblem:
    """What SQLite's ``exc`` means for the person who asked to open ``path``.

    A permission problem never mentions backups: the file is fine, only this
    user may not write it.
    """
    code = getattr(exc, "sqlite_errorname", "") or ""
    unchanged = "It was not changed"
    if code == "SQLITE_NOTADB":
        return DatabaseProblem(
            f"{path} cannot be opened as a database: it is not an SQLite database (another "
            f"kind of file, or damaged beyond recognition). {unchanged}: point --db at the "
            "database file, or restore it from a backup."
        )
    if code.startswith("SQLITE_CORRUPT"):
        return DatabaseProblem(
            f"{path} is damaged ({exc}). {unchanged}: restore it from a backup, or point --db "
            "at another file."
        )
    if code.startswith("SQLITE_BUSY") or code.startswith("SQLITE_LOCKED"):
        return DatabaseProblem(
            f"{path} stayed locked by another process for {BUSY_TIMEOUT_MS // 1000} s; "
            "try again in a moment."
        )
    if code.startswith("SQLITE_FULL"):
        return DatabaseProblem(f"the disk holding {path} is full; free some space and try again.")
    if not os.path.isdir(path.parent):
        return DatabaseProblem(
            f"cannot open {path}: there is no folder {path.parent}. Create it, or "
            "point --db at another file."
        )
    if not os.path.exists(path) and not os.access(path.parent, os.W_OK | os.X_OK):
        return DatabaseProblem(
            f"cannot create {path}: permission denied; this user may not create files in "
            f"{path.parent}. Point --db at a folder you may write, or ask its owner."
        )
    if len(os.fsencode(path.name)) > 255:
        return DatabaseProblem(f"cannot open {path}: the file name is too long.")
    if os.path.isdir(path):
        return DatabaseProblem(f"cannot open {path}: it is a folder; --db needs a file.")
    if (os.path.exists(path) and not os.access(path, os.R_OK)) or code == "SQLITE_AUTH":
        return DatabaseProblem(
            f"cannot open {path}: permission denied; this user may not read it. Run as the "
            "user who owns it, or ask them for access."
        )
    if code.startswith(("SQLITE_READONLY", "SQLITE_PERM")) or not _may_write(path):
        return DatabaseProblem(
            f"cannot write {path}: permission denied; this user may not change the file or "
            "its folder. Nothing was changed. Run as the user who owns it, or ask them for "
            "write access; status, agents list and contacts list can still read it."
        )
    return DatabaseProblem(
        f"{path} cannot be opened as a database ({exc}). {unchanged}: point --db at another "
        "file, or restore it from a backup if it is damaged."
    )


async def open_database(
    path: Path | str, clock: Clock, *, read_only: bool = False, read_if_not_writable: bool = False
) -> Database:
    """Open (creating if needed) and migrate the database at ``path``.

    ``read_only``: open without writing anything (no creation, no migration);
    every write is refused. ``read_if_not_writable``: open read-only when this
    user may not write the file, so read commands still work there.

    Raises DatabaseProblem, with the file untouched, when the folder is
    missing, permission is denied, the file is damaged, is not a Switchboard
    database, or has a schema this code cannot use.
    """
    path = _expand(path)
    if read_only or (read_if_not_writable and _exists_read_only(path)):
        return await _open_read_only(path, clock)
    _ensure_folder(path)
    for attempt in range(1, OPEN_ATTEMPTS + 1):
        try:
            return await _open_read_write(path, clock)
        except DatabaseProblem as problem:
            # Processes opening a new file at once can meet SQLite's deadlock
            # guard (BUSY at once, no busy wait) while one switches the file
            # to WAL and another migrates it. Nothing was written that a
            # second try would not see, so try again before giving up.
            if attempt == OPEN_ATTEMPTS or not _is_busy(problem.__cause__):
                raise
            await asyncio.sleep(0.2 * attempt)
    raise AssertionError("unreachable")


OPEN_ATTEMPTS = 3


def _is_busy(exc: BaseException | None) -> bool:
    code = getattr(exc, "sqlite_errorname", "") or ""
    return code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


async def _open_read_write(path: Path, clock: Clock) -> Database:
    writer = reader = None
    try:
        writer = await _connect(path)
        # Check before switching to WAL: that switch rewrites the header of a
        # file we may be about to refuse, and a refused file stays untouched.
        current = await _schema_in(writer, path, schema_version())
        await writer.execute_fetchall("PRAGMA journal_mode = WAL")
        await writer.execute("PRAGMA synchronous = NORMAL")
        # Only when behind: an up-to-date file (the usual case) opens without taking
        # the write lock, so a command does not queue behind the worker's writes.
        if current < schema_version():
            await _migrate(writer, path)
        reader = await _connect(path)
        await reader.execute("PRAGMA query_only = ON")
    except BaseException as exc:
        for conn in (writer, reader):
            if conn is not None:
                await _close_quietly(conn)
        if isinstance(exc, sqlite3.Error):
            raise open_problem(path, exc) from exc
        raise
    return Database(path, writer, reader, clock)


def _expand(raw: Path | str) -> Path:
    return Path(raw).expanduser()


def _exists_read_only(path: Path) -> bool:
    return os.path.isfile(path) and not _may_write(path)


def _ensure_exists(path: Path) -> None:
    if not os.path.exists(path):
        where = "" if os.path.isdir(path.parent) else f" (there is no folder {path.parent})"
        raise DatabaseProblem(f"there is no database at {path}{where}; check --db.")


async def _open_read_only(path: Path, clock: Clock) -> Database:
    _ensure_exists(path)
    conn = None
    try:
        try:
            conn = await _connect(_uri(path, "mode=ro"), uri=True)
            known = await _schema_in(conn, path, schema_version())
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorname", "") != "SQLITE_CANTOPEN":
                raise
            # A WAL database whose -shm file we may not create: nobody has it
            # open for writing (a writer makes that file), so it cannot change
            # under us and SQLite may read it as it is.
            if conn is not None:
                await _close_quietly(conn)
            conn = await _connect(_uri(path, "immutable=1"), uri=True)
            known = await _schema_in(conn, path, schema_version())
        if known < schema_version():
            raise DatabaseProblem(
                f"{path} was written by an older Switchboard (schema {known}; this version "
                f"needs {schema_version()}) and cannot be upgraded read-only. Run any command "
                "that changes it, as a user who may write it, to upgrade it."
            )
        await conn.execute("PRAGMA query_only = ON")
    except BaseException as exc:
        if conn is not None:
            await _close_quietly(conn)
        if isinstance(exc, sqlite3.Error):
            raise open_problem(path, exc) from exc
        raise
    return Database(path, conn, conn, clock, read_only=True)


def _uri(path: Path, query: str) -> str:
    return f"file:{urllib.parse.quote(str(path.absolute()))}?{query}"
