"""P3: closing outcomes, message or non-message, and who each notifies.

An outcome notifies at most 10 recipients: notification profiles, groups
(each counts as one, whatever its members) and on-call schedules ("whoever
is on call now"). A profile "switches an outcome on" by being one of them.
An archived outcome is no longer offered on the close form; the closures
that used it keep it.
"""

from __future__ import annotations

import sqlite3
from typing import Final

from core.db import Database, Tx
from core.errors import InvalidInput, LimitExceeded, NotFound
from core.people.authz import Action, Actor, authorize
from core.records import record
from core.text import is_utf8, refuse_control_characters

KINDS: Final = ("message", "non_message")
MAX_RECIPIENTS: Final = 10
"""Per outcome; a group or a schedule counts as one (P3)."""
MAX_OUTCOMES: Final = 100
MAX_NAME: Final = 60
RECIPIENT_KINDS: Final = ("profile", "group", "schedule")


@record
class Outcome:
    id: int
    name: str
    kind: str
    position: int
    archived: bool


@record
class Recipient:
    id: int
    kind: str
    """profile, group or schedule."""
    target_id: int
    name: str


def _outcome(row: sqlite3.Row) -> Outcome:
    return Outcome(row["id"], row["name"], row["kind"], row["position"], bool(row["archived"]))


_SELECT: Final = "SELECT id, name, kind, position, archived FROM outcomes"


def _name(name: str) -> str:
    text = " ".join(name.split()) if isinstance(name, str) else ""
    if not text:
        raise InvalidInput("an outcome needs a name")
    if len(text) > MAX_NAME:
        raise InvalidInput(f"an outcome's name is at most {MAX_NAME} characters, not {len(text)}")
    if not is_utf8(text):
        raise InvalidInput("an outcome's name must be text (it holds a lone surrogate)")
    refuse_control_characters("an outcome's name", text)
    return text


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidInput(f"an outcome's kind is one of {', '.join(KINDS)}, not {kind!r}")
    return kind


async def by_name_in(db: Database | Tx, name: str) -> Outcome:
    row = await db.fetchone(_SELECT + " WHERE name = ?", (name.strip(),))
    if row is None:
        raise NotFound(f"no outcome named {name!r}")
    return _outcome(row)


async def list_outcomes(db: Database, actor: Actor, *, archived: bool = False) -> list[Outcome]:
    """The outcomes, in the close form's order; ``archived`` includes the archived ones."""
    authorize(actor, Action.VIEW_ON_CALL)
    where = "" if archived else " WHERE archived = 0"
    return [_outcome(r) for r in await db.fetchall(_SELECT + where + " ORDER BY position, id")]


async def add(db: Database, actor: Actor, name: str, kind: str = "message") -> Outcome:
    authorize(actor, Action.MANAGE_NOTIFICATIONS)
    text, checked_kind = _name(name), _kind(kind)
    async with db.transaction() as tx:
        if await tx.fetchone("SELECT 1 FROM outcomes WHERE name = ?", (text,)):
            raise InvalidInput(f"an outcome named {text} exists already")
        if await tx.scalar("SELECT count(*) FROM outcomes WHERE archived = 0") >= MAX_OUTCOMES:
            raise LimitExceeded(f"at most {MAX_OUTCOMES} outcomes; archive one first")
        outcome_id = await tx.insert(
            "INSERT INTO outcomes (name, kind, position, created_at)"
            " VALUES (?, ?, (SELECT coalesce(max(position), 0) + 1 FROM outcomes), ?)",
            (text, checked_kind, tx.now_ms),
        )
        await tx.emit("outcome.added", "outcome", outcome_id, actor_id=actor.id)
        return await by_name_in(tx, text)


async def rename(db: Database, actor: Actor, name: str, new_name: str) -> Outcome:
    authorize(actor, Action.MANAGE_NOTIFICATIONS)
    text = _name(new_name)
    async with db.transaction() as tx:
        current = await by_name_in(tx, name)
        clash = await tx.fetchone(
            "SELECT 1 FROM outcomes WHERE name = ? AND id != ?", (text, current.id)
        )
        if clash:
            raise InvalidInput(f"an outcome named {text} exists already")
        await tx.execute("UPDATE outcomes SET name = ? WHERE id = ?", (text, current.id))
        await tx.emit("outcome.changed", "outcome", current.id, actor_id=actor.id)
        return await by_name_in(tx, text)


async def archive(db: Database, actor: Actor, name: str, archived: bool = True) -> Outcome:
    """Archive (or bring back) an outcome: the close form no longer offers it."""
    authorize(actor, Action.MANAGE_NOTIFICATIONS)
    async with db.transaction() as tx:
        current = await by_name_in(tx, name)
        await tx.execute(
            "UPDATE outcomes SET archived = ? WHERE id = ?", (int(archived), current.id)
        )
        await tx.emit("outcome.changed", "outcome", current.id, actor_id=actor.id)
        return await by_name_in(tx, current.name)


_TARGETS: Final = {
    "profile": ("notification_profiles", "alias", "profile_id", "notification profile"),
    "group": ("notification_groups", "name", "group_id", "notification group"),
    "schedule": ("oncall_schedules", "name", "schedule_id", "on-call schedule"),
}


async def _target_id(tx: Tx, kind: str, name: str) -> int:
    table, column, _, what = _TARGETS[kind]
    found = await tx.scalar(f"SELECT id FROM {table} WHERE {column} = ?", (name.strip(),))
    if found is None:
        raise NotFound(f"no {what} named {name!r}")
    assert isinstance(found, int)
    return found


async def set_recipient(
    db: Database, actor: Actor, outcome: str, kind: str, name: str, on: bool = True
) -> list[Recipient]:
    """Make the profile, group or schedule ``name`` one of ``outcome``'s recipients
    (``on``) or not. The 11th is refused (LimitExceeded). Returns the recipients."""
    authorize(actor, Action.MANAGE_NOTIFICATIONS)
    if kind not in RECIPIENT_KINDS:
        raise InvalidInput(f"a recipient is one of {', '.join(RECIPIENT_KINDS)}, not {kind!r}")
    column = _TARGETS[kind][2]
    async with db.transaction() as tx:
        current = await by_name_in(tx, outcome)
        target = await _target_id(tx, kind, name)
        exists = await tx.fetchone(
            f"SELECT 1 FROM outcome_recipients WHERE outcome_id = ? AND {column} = ?",
            (current.id, target),
        )
        if on and not exists:
            count = await tx.scalar(
                "SELECT count(*) FROM outcome_recipients WHERE outcome_id = ?", (current.id,)
            )
            if count >= MAX_RECIPIENTS:
                raise LimitExceeded(
                    f"outcome {current.name} notifies at most {MAX_RECIPIENTS} recipients"
                    " (a group or an on-call schedule counts as one); remove one first"
                )
            await tx.insert(
                f"INSERT INTO outcome_recipients (outcome_id, {column}) VALUES (?, ?)",
                (current.id, target),
            )
        elif not on and exists:
            await tx.execute(
                f"DELETE FROM outcome_recipients WHERE outcome_id = ? AND {column} = ?",
                (current.id, target),
            )
        if on != bool(exists):
            await tx.emit("outcome.changed", "outcome", current.id, actor_id=actor.id)
        return await _recipients_in(tx, current.id)


async def switch(db: Database, actor: Actor, outcome: str, profile: str, on: bool = True) -> None:
    """A notification profile switches ``outcome`` on (it is notified) or off."""
    await set_recipient(db, actor, outcome, "profile", profile, on)


async def _recipients_in(db: Database | Tx, outcome_id: int) -> list[Recipient]:
    rows = await db.fetchall(
        "SELECT r.id,"
        " CASE WHEN r.profile_id IS NOT NULL THEN 'profile'"
        "   WHEN r.group_id IS NOT NULL THEN 'group' ELSE 'schedule' END AS kind,"
        " coalesce(r.profile_id, r.group_id, r.schedule_id) AS target_id,"
        " coalesce(p.alias, g.name, s.name) AS name"
        " FROM outcome_recipients r"
        " LEFT JOIN notification_profiles p ON p.id = r.profile_id"
        " LEFT JOIN notification_groups g ON g.id = r.group_id"
        " LEFT JOIN oncall_schedules s ON s.id = r.schedule_id"
        " WHERE r.outcome_id = ? ORDER BY r.id",
        (outcome_id,),
    )
    return [Recipient(r["id"], r["kind"], r["target_id"], r["name"]) for r in rows]


async def recipients(db: Database, actor: Actor, outcome: str) -> list[Recipient]:
    """Who ``outcome`` notifies, in the order they were added."""
    authorize(actor, Action.VIEW_ON_CALL)
    return await _recipients_in(db, (await by_name_in(db, outcome)).id)
