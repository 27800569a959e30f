"""M1: our SMS-enabled numbers and which one sends for whom.

A number belongs to the account (the default sender) or to one agent (their
caller ID). An agent texts from their own number when they have one, else
from the account default.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

from core import settings
from core.db import Database, Tx
from core.errors import InUse, InvalidInput, NotFound
from core.people.authz import Action, Actor, authorize
from core.records import record
from core.sms.phones import normalise
from core.text import counted


@record
class Number:
    id: int
    e164: str
    sms: bool
    mms: bool
    agent_id: int | None
    is_default: bool


def _number(row: sqlite3.Row) -> Number:
    return Number(
        row["id"],
        row["e164"],
        bool(row["sms"]),
        bool(row["mms"]),
        row["agent_id"],
        bool(row["is_default"]),
    )


async def add(
    db: Database,
    actor: Actor,
    raw: str,
    *,
    mms: bool = False,
    agent_id: int | None = None,
    default: bool = False,
) -> Number:
    """Add one of our numbers: the account default, an agent's caller ID, or neither."""
    authorize(actor, Action.MANAGE_NUMBERS)
    if default and agent_id is not None:
        raise InvalidInput("a number is either the account default or one agent's caller ID")
    e164 = normalise(raw, (await settings.load(db)).default_region)
    async with db.transaction() as tx:
        if await tx.fetchone("SELECT 1 FROM numbers WHERE e164 = ?", (e164,)):
            raise InvalidInput(f"{e164} is already one of our numbers")
        await _make_room(tx, e164, agent_id, default)
        number_id = await tx.insert(
            "INSERT INTO numbers (e164, sms, mms, agent_id, is_default, created_at)"
            " VALUES (?, 1, ?, ?, ?, ?)",
            (e164, int(mms), agent_id, int(default), tx.now_ms),
        )
        await tx.emit("number.added", "number", number_id, actor_id=actor.id)
    return await get(db, number_id)


async def assign(
    db: Database,
    actor: Actor,
    raw: str,
    *,
    agent_id: int | None = None,
    default: bool = False,
    mms: bool | None = None,
) -> Number:
    """Make one of our numbers the account default (the one before stops being it), one
    agent's caller ID, or neither (its conversations stay as they are); with ``mms``,
    also say whether it sends MMS (``change``), in the same transaction."""
    authorize(actor, Action.MANAGE_NUMBERS)
    if default and agent_id is not None:
        raise InvalidInput("a number is either the account default or one agent's caller ID")
    e164 = normalise(raw, (await settings.load(db)).default_region)
    async with db.transaction() as tx:
        number = await by_e164(tx, e164)
        await _make_room(tx, e164, agent_id, default)
        await tx.execute(
            "UPDATE numbers SET agent_id = ?, is_default = ? WHERE id = ?",
            (agent_id, int(default), number.id),
        )
        await tx.emit("number.assigned", "number", number.id, actor_id=actor.id)
        if mms is not None and mms != number.mms:
            await _set_mms(tx, actor, number, mms)
    return await get(db, number.id)


async def change(db: Database, actor: Actor, raw: str, *, mms: bool) -> Number:
    """Say whether one of our numbers can send MMS (the provider enabled it, or took it
    away). What is already queued from it is sent as it was written."""
    authorize(actor, Action.MANAGE_NUMBERS)
    e164 = normalise(raw, (await settings.load(db)).default_region)
    async with db.transaction() as tx:
        number = await by_e164(tx, e164)
        await _set_mms(tx, actor, number, mms)
    return await get(db, number.id)


async def _set_mms(tx: Tx, actor: Actor, number: Number, mms: bool) -> None:
    await tx.execute("UPDATE numbers SET mms = ? WHERE id = ?", (int(mms), number.id))
    await tx.emit("number.changed", "number", number.id, actor_id=actor.id)


async def remove(db: Database, actor: Actor, raw: str) -> Number:
    """Remove one of our numbers that nothing uses: one added by mistake, or never used.

    A number with conversations stays (they are its history, and their replies go
    from it); so does one a live campaign or a case location sends from, one with
    messages still to send, the only number of a queue with messaging on, the only
    SMS number of a permission profile (a profile that lists none may send from
    every number), and the default sender while another number could take its
    place. Each refusal names what holds it. The permission profiles that list it
    among others lose it. An SMS to it afterwards is not ours: the webhook logs and
    ignores it, as any number's we do not have.
    """
    authorize(actor, Action.MANAGE_NUMBERS)
    e164 = normalise(raw, (await settings.load(db)).default_region)
    async with db.transaction() as tx:
        number = await by_e164(tx, e164)
        uses = await _uses(tx, number)
        if uses:
            raise InUse(f"{e164} cannot be removed: {'; '.join(uses)}")
        await tx.execute("DELETE FROM numbers WHERE id = ?", (number.id,))
        await tx.emit("number.removed", "number", number.id, actor_id=actor.id)
    return number


async def _uses(tx: Tx, number: Number) -> list[str]:
    """What keeps ``number`` from being removed, each in words with what to do."""
    found: list[str] = []
    [[conversations, queued, others]] = await tx.fetchall(
        "SELECT (SELECT count(*) FROM conversations WHERE number_id = :id),"
        " (SELECT count(*) FROM messages WHERE sender = :e164 AND status IN ('queued', 'sending')),"
        " (SELECT count(*) FROM numbers WHERE id != :id)",
        {"id": number.id, "e164": number.e164},
    )
    if conversations:
        found.append(
            f"{counted(conversations, 'conversation')} on it, kept as history"
            f" (give it no use instead: switchboard numbers assign {number.e164} --none)"
        )
    if queued:
        found.append(f"{counted(queued, 'message')} still to send from it")
    campaigns = await tx.fetchall(
        "SELECT name FROM campaigns WHERE sender = ?"
        " AND status NOT IN ('finished', 'cancelled') ORDER BY name",
        (number.e164,),
    )
    if campaigns:
        found.append(
            _senders("campaign", [r[0] for r in campaigns])
            + " (switchboard campaigns edit NAME --from NUMBER changes that while it is not"
            " running; or cancel it)"
        )
    locations = await tx.fetchall(
        "SELECT name FROM locations WHERE sender = ? ORDER BY name", (number.e164,)
    )
    if locations:
        found.append(
            _senders("case location", [r[0] for r in locations])
            + " (switchboard cases locations set LOCATION --from NUMBER changes that)"
        )
    lone = await tx.fetchall(
        "SELECT p.name FROM permission_profile_numbers g"
        " JOIN permission_profiles p ON p.id = g.profile_id WHERE g.number_id = ?"
        " AND NOT EXISTS (SELECT 1 FROM permission_profile_numbers o"
        "  WHERE o.profile_id = g.profile_id AND o.number_id != g.number_id) ORDER BY p.name",
        (number.id,),
    )
    if lone:
        names = ", ".join(repr(r[0]) for r in lone)
        found.append(
            f"it is the only SMS number of permission profile {names}, and a profile that"
            " lists none may send from every number (give it another first)"
        )
    queue = await tx.scalar(
        "SELECT q.name FROM numbers own JOIN queues q ON q.id = own.queue_id"
        " WHERE own.id = :id AND q.messaging = 1"
        " AND NOT EXISTS (SELECT 1 FROM numbers n WHERE n.queue_id = q.id AND n.id != :id)",
        {"id": number.id},
    )
    if queue is not None:
        found.append(
            f"it is the only number of queue {queue!r}, whose messaging is on (give the queue"
            " another number, or turn its messaging off first)"
        )
    if number.is_default and others:
        found.append(
            "it is the default sender (make another number the default first:"
            " switchboard numbers assign NUMBER --default)"
        )
    return found


def _senders(noun: str, names: list[str]) -> str:
    """ "campaign 'Spring' sends from it", or "campaigns 'A', 'B' send from it"."""
    shown = ", ".join(map(repr, names))
    return f"{noun} {shown} sends from it" if len(names) == 1 else f"{noun}s {shown} send from it"


async def _make_room(tx: Tx, e164: str, agent_id: int | None, default: bool) -> None:
    """Refuse an agent who has another caller ID; as the new default, unset the old one."""
    if agent_id is not None:
        if not await tx.fetchone("SELECT 1 FROM agents WHERE id = ?", (agent_id,)):
            raise NotFound(f"no agent with id {agent_id}")
        other = await tx.scalar(
            "SELECT e164 FROM numbers WHERE agent_id = ? AND e164 != ?", (agent_id, e164)
        )
        if other is not None:
            raise InvalidInput(
                f"this agent already has a caller ID number, {other}; an agent has one"
                " (give that one another use first: switchboard numbers assign)"
            )
    if default:
        await tx.execute(
            "UPDATE numbers SET is_default = 0 WHERE is_default = 1 AND e164 != ?", (e164,)
        )


async def get(db: Database, number_id: int) -> Number:
    row = await db.fetchone("SELECT * FROM numbers WHERE id = ?", (number_id,))
    if row is None:
        raise NotFound(f"no number with id {number_id}")
    return _number(row)


async def by_e164(db: Database | Tx, e164: str) -> Number:
    row = await db.fetchone("SELECT * FROM numbers WHERE e164 = ?", (e164,))
    if row is None:
        raise NotFound(f"{e164} is not one of our numbers; add it with: switchboard numbers add")
    return _number(row)


def by_e164_read(e164s: Iterable[str]) -> tuple[str, tuple[str]]:
    """The read of those of ``e164s`` that are our numbers (a group of inbound SMS), to go
    with others in one trip (``Tx.fetchall_each``); ``by_e164_found`` makes its rows."""
    return (
        "SELECT n.* FROM json_each(?) AS j JOIN numbers n ON n.e164 = j.value",
        (json.dumps(sorted(set(e164s))),),
    )


def by_e164_found(rows: Iterable[sqlite3.Row]) -> dict[str, Number]:
    """The numbers ``by_e164_read`` found, by E.164."""
    return {row["e164"]: _number(row) for row in rows}


async def is_ours(db: Database | Tx, e164: str) -> bool:
    """Whether ``e164`` is one of our numbers (any, SMS-enabled or not)."""
    return await db.fetchone("SELECT 1 FROM numbers WHERE e164 = ?", (e164,)) is not None


async def list_numbers(db: Database) -> list[Number]:
    return [_number(r) for r in await db.fetchall("SELECT * FROM numbers ORDER BY id")]


async def sender_for(db: Database | Tx, agent_id: int | None) -> Number:
    """The number an agent texts from: their caller ID, else the account default."""
    if agent_id is not None:
        row = await db.fetchone("SELECT * FROM numbers WHERE agent_id = ? AND sms = 1", (agent_id,))
        if row is not None:
            return _number(row)
    row = await db.fetchone("SELECT * FROM numbers WHERE is_default = 1 AND sms = 1")
    if row is None:
        if await db.fetchone("SELECT 1 FROM numbers WHERE sms = 1"):
            raise NotFound(
                "there is no SMS number to send from: none of ours is the default sender;"
                " make one the default with switchboard numbers assign NUMBER --default"
            )
        raise NotFound(
            "there is no SMS number to send from: add one with "
            "switchboard numbers add +1... --default"
        )
    return _number(row)
