"""Staff shifts (A3): add, remove and list a person's weekly and one-off shifts.

A weekly shift is wall time in a named zone, read with the on-call
schedules' arithmetic (``core.weektime``): 'mon 18:00 to tue 08:00', an end
before the start running into the next week. A one-off shift is two
instants, at most a week apart; one already over is refused.

One person's shifts of one kind never overlap (compared as real instants,
``core.shifts.spans``): the refusal names the other shift. A normal and an
on-call shift of the same person may overlap: the seed's on-call/support
worker need not be on a messaging shift, and a supervisor on a messaging
shift can be the on-call at the same time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from core.account_zone import account_zone
from core.clock import from_ms, to_ms
from core.db import Database, Tx
from core.errors import AlreadyTaken, InvalidInput, LimitExceeded, NotFound
from core.people.authz import Action, Actor, authorize
from core.permissions import values
from core.shifts.model import KINDS, ONCALL, SELECT, Shift, describe, shift_from
from core.shifts.spans import Shape, first_overlap
from core.weektime import WEEK, check_zone, length_of, parse_at, parse_span, wall_instant

MAX_ONE_OFF: Final = timedelta(days=7)
"""The longest one-off shift: longer is a weekly shift, or a typing mistake."""
MAX_SHIFTS: Final = 200
"""The most shifts one person has (each new one is compared with all of them)."""
SOURCES: Final = ("console", "cli", "ics")

Querier = Database | Tx


# --- checking what is asked -------------------------------------------------------------


def check_kind(kind: str) -> str:
    shown = values.text("a shift's kind", kind, longest=20, required=True).lower()
    if shown in ("on-call", "on_call", "support"):
        shown = ONCALL
    if shown not in KINDS:
        raise InvalidInput(f"{kind!r} is not a kind of shift: it is 'normal' or 'oncall'")
    return shown


async def default_zone(q: Querier) -> str:
    """The account's time zone setting (UTC unless a manager set one)."""
    return (await account_zone(q)).key


async def agent_in(q: Querier, agent: str | int) -> sqlite3.Row:
    """The staff member by username or id."""
    if isinstance(agent, int):
        row = await q.fetchone("SELECT id, username, name FROM agents WHERE id = ?", (agent,))
        if row is None:
            raise NotFound(f"no agent with id {agent}")
        return row
    username = values.text("a username", agent, longest=32, required=True)
    row = await q.fetchone("SELECT id, username, name FROM agents WHERE username = ?", (username,))
    if row is None:
        raise NotFound(f"no agent with username {username!r}")
    return row


def instant(value: str | datetime, zone: ZoneInfo) -> datetime:
    """An ISO date and time or a datetime; without an offset it is ``zone``'s wall time
    (in the hour skipped when the clocks go forward: the instant of the jump)."""
    at = parse_at(value) if isinstance(value, str) else value
    if at.tzinfo is None:
        return wall_instant(at.replace(second=0, microsecond=0), zone)
    return at.astimezone(UTC)


def one_off_shape(zone: str, start: datetime, end: datetime, now: datetime) -> Shape:
    """Two instants as a one-off shift, or refused naming the rule."""
    shape = Shape(zone, starts_at=start, ends_at=end)
    if end <= start:
        raise InvalidInput(f"the shift {describe(shape)} ends before it starts")
    if end - start > MAX_ONE_OFF:
        raise InvalidInput(
            f"the shift {describe(shape)} is longer than 7 days: a one-off shift is at most a week"
            " (make a weekly one instead)"
        )
    if end <= now:
        raise InvalidInput(
            f"the shift {describe(shape)} is already over: a past shift is not added"
        )
    return shape


def weekly_shape(zone: str, span: str | tuple[int, int]) -> Shape:
    first, last = parse_span(span) if isinstance(span, str) else span
    for minute in (first, last):
        if not 0 <= minute < WEEK:
            raise InvalidInput(f"{minute} is not a minute of the week (0 to {WEEK - 1})")
    return Shape(zone, first, length_of(first, last))


async def refuse_overlap_in(
    tx: Tx,
    agent: sqlite3.Row,
    kind: str,
    shape: Shape,
    replacing: Collection[int] = (),
) -> None:
    """Refuse ``shape`` when it overlaps another of the person's ``kind`` shifts
    (those in ``replacing`` aside), naming that shift and when they first meet."""
    rows = await tx.fetchall(SELECT + " WHERE s.agent_id = ? ORDER BY s.id", (agent["id"],))
    if len(rows) - len([r for r in rows if r["id"] in replacing]) >= MAX_SHIFTS:
        raise LimitExceeded(f"a person has at most {MAX_SHIFTS} shifts")
    now = from_ms(tx.now_ms)
    for row in rows:
        if row["id"] in replacing or row["kind"] != kind:
            continue
        other = shift_from(row)
        met = first_overlap(shape, other.shape, now)
        if met is not None:
            zone = ZoneInfo(shape.time_zone)
            raise AlreadyTaken(
                f"the {kind} shift {describe(shape)} ({shape.time_zone}) overlaps"
                f" {agent['username']}'s shift {other.id}, {other.when},"
                f" from {met.astimezone(zone).strftime('%Y-%m-%d %H:%M %Z')}:"
                " one person's shifts of one kind cannot overlap"
            )


async def insert_in(
    tx: Tx,
    actor: Actor,
    agent_id: int,
    kind: str,
    shape: Shape,
    source: str,
    ics_uid: str | None = None,
) -> int:
    shift_id = await tx.insert(
        "INSERT INTO shifts (agent_id, kind, time_zone, start_minute, minutes, starts_at,"
        " ends_at, source, ics_uid, created_by, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            agent_id,
            kind,
            shape.time_zone,
            shape.start_minute,
            shape.minutes,
            None if shape.starts_at is None else to_ms(shape.starts_at),
            None if shape.ends_at is None else to_ms(shape.ends_at),
            source,
            ics_uid,
            actor.id,
            tx.now_ms,
        ),
    )
    await tx.emit("shift.added", "shift", shift_id, actor_id=actor.id, agent_id=agent_id)
    return shift_id


def _source(source: str) -> str:
    if source not in SOURCES:
        raise InvalidInput(f"{source!r} is not where a shift comes from: {', '.join(SOURCES)}")
    return source


async def _get_in(q: Querier, shift_id: int) -> Shift:
    row = await q.fetchone(SELECT + " WHERE s.id = ?", (shift_id,))
    if row is None:
        raise NotFound(f"no shift {shift_id}")
    return shift_from(row)


# --- services ---------------------------------------------------------------------------


async def add_weekly(
    db: Database,
    actor: Actor,
    agent: str | int,
    kind: str,
    span: str | tuple[int, int],
    time_zone: str | None = None,
    *,
    source: str = "console",
) -> Shift:
    """A weekly shift: ``span`` 'mon 18:00 to tue 08:00' (or two minutes of the week)
    on the clock of ``time_zone`` (default: the account's time zone, else UTC)."""
    authorize(actor, Action.MANAGE_SHIFTS)
    kind, source = check_kind(kind), _source(source)
    zone = check_zone(time_zone if time_zone is not None else await default_zone(db))
    shape = weekly_shape(zone, span)
    async with db.transaction() as tx:
        person = await agent_in(tx, agent)
        await refuse_overlap_in(tx, person, kind, shape)
        shift_id = await insert_in(tx, actor, person["id"], kind, shape, source)
        return await _get_in(tx, shift_id)


async def add_once(
    db: Database,
    actor: Actor,
    agent: str | int,
    kind: str,
    start: str | datetime,
    end: str | datetime,
    time_zone: str | None = None,
    *,
    source: str = "console",
) -> Shift:
    """A one-off shift from ``start`` to ``end`` (ISO; without an offset, wall times of
    ``time_zone``, default the account's): after its start, at most 7 days, not over."""
    authorize(actor, Action.MANAGE_SHIFTS)
    kind, source = check_kind(kind), _source(source)
    zone = check_zone(time_zone if time_zone is not None else await default_zone(db))
    first = instant(start, ZoneInfo(zone))
    last = instant(end, ZoneInfo(zone))
    async with db.transaction() as tx:
        shape = one_off_shape(zone, first, last, from_ms(tx.now_ms))
        person = await agent_in(tx, agent)
        await refuse_overlap_in(tx, person, kind, shape)
        shift_id = await insert_in(tx, actor, person["id"], kind, shape, source)
        return await _get_in(tx, shift_id)


async def remove(db: Database, actor: Actor, shift_id: int) -> Shift:
    """Remove a shift; the one removed is returned, to say what it was."""
    authorize(actor, Action.MANAGE_SHIFTS)
    async with db.transaction() as tx:
        found = await _get_in(tx, shift_id)
        await tx.execute("DELETE FROM shifts WHERE id = ?", (shift_id,))
        await tx.emit(
            "shift.removed", "shift", shift_id, actor_id=actor.id, agent_id=found.agent_id
        )
    return found


async def get(db: Database, actor: Actor, shift_id: int) -> Shift:
    authorize(actor, Action.VIEW_SHIFTS)
    return await _get_in(db, shift_id)


async def list_shifts(db: Database, actor: Actor, agent: str | int | None = None) -> list[Shift]:
    """Shifts by person (username), weekly ones first in week order, then one-offs by start."""
    authorize(actor, Action.VIEW_SHIFTS)
    where: str = ""
    params: tuple[int, ...] = ()
    if agent is not None:
        person = await agent_in(db, agent)
        where, params = " WHERE s.agent_id = ?", (person["id"],)
    rows = await db.fetchall(
        SELECT + where + " ORDER BY a.username, s.starts_at IS NOT NULL,"
        " s.start_minute, s.starts_at, s.id",
        params,
    )
    return [shift_from(r) for r in rows]
