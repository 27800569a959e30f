"""What storing an inbound SMS writes besides its row (issue #9: webhook MO throughput).

Under load each group's COMMIT writes every page the group changed, and the
webhook server's throughput is bounded by that. So an inbound message enters
only the indexes a read needs it in, and a conversation already in the state
a message would put it in is not rewritten (an unchanged row still moves its
entries in every index on the columns set).
"""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

from core.clock import FakeClock
from core.db import Database, open_database
from core.people.authz import SYSTEM
from core.sms import conversations, numbers, receiving
from core.sms.receiving import _START_WAIT
from tests.core.conftest import CARL_MOBILE, DEFAULT_NUMBER
from tests.old_schema import database_at

INBOUND_INDEXES = {"messages_conversation", "messages_provider_ref"}
"""A thread's messages (conversations.thread) and a retry's copy (receive_many's look-up)."""


async def test_an_inbound_message_enters_only_the_thread_and_retry_indexes(db: Database) -> None:
    await numbers.add(db, SYSTEM, DEFAULT_NUMBER, default=True)
    stored = await receiving.receive(db, CARL_MOBILE, DEFAULT_NUMBER, "hello", provider_ref="MO-1")
    indexes = await db.fetchall(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages'"
        " AND sql IS NOT NULL"
    )
    entered = set()
    for name, sql in indexes:
        # A partial index holds the rows its WHERE clause is true of; any other, every row.
        where = sql.split(" WHERE ", 1)[1] if " WHERE " in sql else "1"
        if await db.scalar(
            f"SELECT count(*) FROM messages WHERE id = ? AND ({where})", (stored.message_id,)
        ):
            entered.add(name)
    assert entered == INBOUND_INDEXES


async def test_no_index_keeps_the_conversations_by_last_message(db: Database) -> None:
    """Lists order by an expression of last_message_at that such an index does not serve,
    and every message moved the conversation's entry in it (migration 15)."""
    indexed = {
        row[0]
        for row in await db.fetchall(
            "SELECT ii.name FROM sqlite_master m, pragma_index_info(m.name) ii"
            " WHERE m.type = 'index' AND m.tbl_name = 'conversations'"
        )
    }
    assert "last_message_at" not in indexed
    plan = " ".join(
        row[3]
        for row in await db.fetchall(
            "EXPLAIN QUERY PLAN SELECT id FROM conversations c ORDER BY " + conversations._ORDER
        )
    )
    assert "SCAN c" in plan  # as before: the order is the expression's, whatever the indexes


async def test_an_upgraded_schema_14_database_loses_the_index(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "fourteen.sqlite3"
    database_at(path, 14).close()
    db = await open_database(path, clock)
    try:
        names = {r[0] for r in await db.fetchall("SELECT name FROM sqlite_master")}
        assert "conversations_last" not in names
        assert {"conversations_waiting", "conversations_public_due"} <= names
    finally:
        await db.close()


_UNCONDITIONAL = (
    "UPDATE conversations SET waiting_since = coalesce(waiting_since, :now), closed_at = NULL,"
    " public_due_at = CASE WHEN is_public = 0 AND owner_id IS NOT NULL"
    "   THEN coalesce(public_due_at, :due) ELSE NULL END"
    " WHERE id IN (SELECT value FROM json_each(:ids))"
)
"""What starting the wait wrote before schema 15: every conversation, changed or not."""

_STATES = list(
    itertools.product(
        (None, 1_000),  # waiting_since
        (None, 2_000),  # closed_at
        (None, 3_000),  # public_due_at
        (0, 1),  # is_public
        (None, 1),  # owner_id
    )
)


def _conversations(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = OFF")  # owner 1 need not exist: only the columns matter
    for n, (waiting, closed, due, public, owner) in enumerate(_STATES, start=1):
        conn.execute(
            "INSERT INTO conversations (id, number_id, phone, waiting_since, closed_at,"
            " public_due_at, is_public, owner_id, created_at) VALUES (?, 1, ?, ?, ?, ?, ?, ?, 0)",
            (n, f"+1212555{n:04d}", waiting, closed, due, public, owner),
        )
    return conn


async def test_starting_the_wait_leaves_alone_what_it_would_not_change(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Every combination of the columns it reads ends as the unconditional statement
    left it, and only the conversations that change are written."""
    paths = []
    for name in ("new", "old"):
        db = await open_database(tmp_path / f"{name}.sqlite3", clock)
        await db.close()
        paths.append(tmp_path / f"{name}.sqlite3")
    ids = list(range(1, len(_STATES) + 1))
    params = {"now": 5_000, "due": 9_000, "ids": str(ids)}
    columns = "id, waiting_since, closed_at, public_due_at, is_public, owner_id"
    ends = []
    changed = []
    for path, statement in zip(paths, (_START_WAIT, _UNCONDITIONAL), strict=True):
        conn = _conversations(path)
        changed.append(conn.execute(statement, params).rowcount)
        ends.append(conn.execute(f"SELECT {columns} FROM conversations ORDER BY id").fetchall())
        conn.close()
    assert ends[0] == ends[1]
    assert changed[1] == len(_STATES)
    # Rewritten only where a value differs: waiting_since unset, closed, or public_due_at off.
    differing = sum(
        1
        for before, after in zip(
            [(n, *state[:3], state[3], state[4]) for n, state in enumerate(_STATES, start=1)],
            ends[0],
            strict=True,
        )
        if before != tuple(after)
    )
    assert changed[0] == differing < len(_STATES)
