"""C1-C4: a case itself: a title, its location, an owner, open or closed, and a code.

The code is short and printed in every case SMS ("Case K7QXM"), so a reply
that quotes it finds its case: five characters from an alphabet without the
look-alikes 0/O and 1/I, drawn at random until one is free (32^5, some 33
million codes, so a draw almost never repeats).
"""

from __future__ import annotations

import secrets
import sqlite3
from datetime import datetime
from typing import Final

from core.clock import from_ms, from_ms_or_none
from core.db import Database, Tx
from core.errors import InvalidInput, NotFound, WrongStatus
from core.people.authz import Action, Actor, authorize
from core.permissions import values
from core.records import record

CODE_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH: Final = 5
MAX_TITLE: Final = 200
OPEN: Final = "open"
CLOSED: Final = "closed"

Querier = Database | Tx


@record
class Case:
    id: int
    code: str
    title: str
    location_id: int
    location: str
    sender: str
    """The location's number: every text of this case goes from it."""
    status: str
    owner_id: int | None
    owner: str
    created_by: int | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.status == OPEN


_SELECT: Final = (
    "SELECT c.*, l.name AS location, l.sender AS sender,"
    " coalesce(nullif(a.name, ''), a.username, '') AS owner"
    " FROM cases c JOIN locations l ON l.id = c.location_id"
    " LEFT JOIN agents a ON a.id = c.owner_id"
)


def _case(row: sqlite3.Row) -> Case:
    return Case(
        row["id"],
        row["code"],
        row["title"],
        row["location_id"],
        row["location"],
        row["sender"],
        row["status"],
        row["owner_id"],
        row["owner"],
        row["created_by"],
        from_ms(row["created_at"]),
        from_ms(row["updated_at"]),
        from_ms_or_none(row["closed_at"]),
    )


def new_code() -> str:
    """A random code with at least one letter: all digits, it would be read as a case's id."""
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if not code.isdigit():
            return code


def check_title(title: object) -> str:
    return values.text("a case's title", title, longest=MAX_TITLE, required=True)


async def find(q: Querier, ref: str | int) -> Case:
    """A case by id or by code (case-insensitive); NotFound names it."""
    row = None
    if isinstance(ref, int) or ref.strip().isdigit():
        row = await q.fetchone(_SELECT + " WHERE c.id = ?", (int(ref),))
    if row is None and isinstance(ref, str):
        # Also digits: a code drawn before codes had to hold a letter.
        row = await q.fetchone(_SELECT + " WHERE c.code = ?", (ref.strip(),))
    if row is None:
        raise NotFound(f"no case {ref!r}")
    return _case(row)


def ensure_open(case: Case) -> None:
    """Refuse a change to a closed case, naming the rule."""
    if not case.is_open:
        raise WrongStatus(
            f"case {case.code} is closed: a closed case can be read but not changed;"
            " reopen it first"
        )


async def _owner(tx: Tx, owner_id: int | None) -> int | None:
    if owner_id is None:
        return None
    if not await tx.fetchone("SELECT 1 FROM agents WHERE id = ? AND active = 1", (owner_id,)):
        raise InvalidInput(f"agent {owner_id} is not an active agent, so cannot own a case")
    return owner_id


async def touch_in(tx: Tx, case_id: int) -> None:
    """The case changed: its time moves and the feed says so (the console re-reads it)."""
    await tx.execute("UPDATE cases SET updated_at = ? WHERE id = ?", (tx.now_ms, case_id))
    await tx.emit("case.changed", "case", case_id, case_id=case_id)


async def create(
    db: Database,
    actor: Actor,
    title: str,
    location: str | int,
    *,
    owner_id: int | None = None,
) -> Case:
    """A new open case; its owner is ``owner_id``, else whoever creates it."""
    authorize(actor, Action.WORK_CASE)
    from core.cases import locations

    shown = check_title(title)
    async with db.transaction() as tx:
        where = await locations.find(tx, location)
        owner = await _owner(tx, owner_id if owner_id is not None else actor.id)
        code = new_code()
        while await tx.fetchone("SELECT 1 FROM cases WHERE code = ?", (code,)):
            code = new_code()
        made = await tx.insert(
            "INSERT INTO cases (code, title, location_id, owner_id, created_by, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (code, shown, where.id, owner, actor.id, tx.now_ms, tx.now_ms),
        )
        await tx.emit("case.changed", "case", made, case_id=made)
        return await find(tx, made)


async def edit(
    db: Database,
    actor: Actor,
    ref: str | int,
    *,
    title: str | None = None,
    owner_id: int | None = None,
) -> Case:
    authorize(actor, Action.WORK_CASE)
    async with db.transaction() as tx:
        case = await find(tx, ref)
        ensure_open(case)
        new_title = case.title if title is None else check_title(title)
        owner = case.owner_id if owner_id is None else await _owner(tx, owner_id)
        await tx.execute(
            "UPDATE cases SET title = ?, owner_id = ? WHERE id = ?", (new_title, owner, case.id)
        )
        await touch_in(tx, case.id)
        return await find(tx, case.id)


async def _set_status(db: Database, actor: Actor, ref: str | int, status: str) -> Case:
    authorize(actor, Action.WORK_CASE)
    async with db.transaction() as tx:
        case = await find(tx, ref)
        if case.status == status:
            raise WrongStatus(f"case {case.code} is already {status}")
        await tx.execute(
            "UPDATE cases SET status = ?, closed_at = ? WHERE id = ?",
            (status, tx.now_ms if status == CLOSED else None, case.id),
        )
        await touch_in(tx, case.id)
        return await find(tx, case.id)


async def close(db: Database, actor: Actor, ref: str | int) -> Case:
    return await _set_status(db, actor, ref, CLOSED)


async def reopen(db: Database, actor: Actor, ref: str | int) -> Case:
    return await _set_status(db, actor, ref, OPEN)


async def get(db: Database, actor: Actor, ref: str | int) -> Case:
    authorize(actor, Action.VIEW_CASES)
    return await find(db, ref)


async def list_cases(
    db: Database, actor: Actor, search: str = "", *, limit: int = 200
) -> list[Case]:
    """Open cases first, then closed ones, most recently changed first; ``search``
    matches the title (substring) or the code, ignoring case."""
    authorize(actor, Action.VIEW_CASES)
    needle = values.text("the search", search, longest=MAX_TITLE)
    pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = await db.fetchall(
        _SELECT + " WHERE (? = '' OR c.title LIKE ? ESCAPE '\\' OR c.code = ?)"
        " ORDER BY c.status = 'closed', c.updated_at DESC, c.id DESC LIMIT ?",
        (needle, pattern, needle, limit),
    )
    return [_case(r) for r in rows]
