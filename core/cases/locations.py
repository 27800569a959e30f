"""C3: case locations: where a case is handled, the number its texts go from, and
whether a contact's SMS reply becomes a case note (``direct_reply``).

A location's sender is one of our SMS-enabled numbers (checked as a
campaign's sender is, against the actor's profile too): every case text of
its cases goes from it, so a reply to it finds the case.
"""

from __future__ import annotations

import sqlite3
from typing import Final

from core import settings
from core.db import Database, Tx
from core.errors import InvalidInput, NotFound
from core.people.authz import Action, Actor, NumberAccess, authorize
from core.permissions import values
from core.records import record
from core.sms import numbers, phones

MAX_NAME: Final = 100

Querier = Database | Tx


@record
class Location:
    id: int
    name: str
    sender: str
    direct_reply: bool


def _location(row: sqlite3.Row) -> Location:
    return Location(row["id"], row["name"], row["sender"], bool(row["direct_reply"]))


async def find(q: Querier, ref: str | int) -> Location:
    """A location by id or by name (case-insensitive); NotFound names it."""
    if isinstance(ref, int) or ref.strip().isdigit():
        row = await q.fetchone("SELECT * FROM locations WHERE id = ?", (int(ref),))
    else:
        row = await q.fetchone("SELECT * FROM locations WHERE name = ?", (ref.strip(),))
    if row is None:
        raise NotFound(
            f"no case location {ref!r}; add one with: switchboard cases locations add NAME"
            " --from NUMBER"
        )
    return _location(row)


async def _sender(tx: Tx, actor: Actor, raw: str) -> str:
    region = (await settings.load_in(tx)).default_region
    number = await numbers.by_e164(tx, phones.normalise(raw, region))
    if not number.sms:
        raise InvalidInput(f"{number.e164} is not SMS-enabled, so a location cannot text from it")
    authorize(actor, Action.SEND_SMS, NumberAccess(number.id, number.e164))
    return number.e164


async def _ensure_name_free(tx: Tx, name: str, location_id: int | None) -> None:
    row = await tx.fetchone("SELECT id FROM locations WHERE name = ?", (name,))
    if row is not None and row["id"] != location_id:
        raise InvalidInput(f"there is already a case location named {name!r}; names are unique")


async def create(
    db: Database, actor: Actor, name: str, sender: str, *, direct_reply: bool = True
) -> Location:
    authorize(actor, Action.MANAGE_LOCATIONS)
    shown = values.text("a location's name", name, longest=MAX_NAME, required=True)
    async with db.transaction() as tx:
        await _ensure_name_free(tx, shown, None)
        e164 = await _sender(tx, actor, sender)
        made = await tx.insert(
            "INSERT INTO locations (name, sender, direct_reply, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (shown, e164, int(direct_reply), tx.now_ms, tx.now_ms),
        )
        return await find(tx, made)


async def edit(
    db: Database,
    actor: Actor,
    ref: str | int,
    *,
    name: str | None = None,
    sender: str | None = None,
    direct_reply: bool | None = None,
) -> Location:
    authorize(actor, Action.MANAGE_LOCATIONS)
    async with db.transaction() as tx:
        old = await find(tx, ref)
        new_name = old.name
        if name is not None:
            new_name = values.text("a location's name", name, longest=MAX_NAME, required=True)
            await _ensure_name_free(tx, new_name, old.id)
        new_sender = old.sender if sender is None else await _sender(tx, actor, sender)
        reply = old.direct_reply if direct_reply is None else direct_reply
        await tx.execute(
            "UPDATE locations SET name = ?, sender = ?, direct_reply = ?, updated_at = ?"
            " WHERE id = ?",
            (new_name, new_sender, int(reply), tx.now_ms, old.id),
        )
        return await find(tx, old.id)


async def list_locations(db: Database, actor: Actor) -> list[Location]:
    authorize(actor, Action.VIEW_CASES)
    rows = await db.fetchall("SELECT * FROM locations ORDER BY name COLLATE NOCASE")
    return [_location(r) for r in rows]
