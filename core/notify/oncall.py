"""On-call schedules: weekly slots in a named time zone; who is on call at an instant.

A slot is local wall time: minutes of the local week (Monday 00:00 is 0),
``start_minute`` and ``minutes`` long, possibly running past Sunday midnight
into Monday. An instant is on call in a slot while the schedule's local clock
reads a minute inside it. So across a daylight-saving change a slot keeps its
wall times: on the fall-back night both passes of the repeated hour are in a
slot that holds that hour, and a slot starting in the skipped hour starts
when the clocks jump past its start.

P7: a held profile (``core.notify.holds``) is skipped. When nobody a slot
names may be dispatched to, the next slot in time order with someone who is
not held is used instead, looking at most one week ahead.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from core.account_zone import account_zone, zoned
from core.clock import from_ms, to_ms
from core.db import Database, Tx
from core.errors import AlreadyTaken, InvalidInput, LimitExceeded, NotAllowed, NotFound
from core.notify import links
from core.notify.holds import INDEFINITE, held_sql, is_held
from core.people.authz import Action, Actor, authorize
from core.permissions import values
from core.records import record
from core.weektime import (
    WEEK,
    WHEN_FORM,
    check_zone,
    length_of,
    minute_of_week,
    occurrences,
    overlaps,
    parse_when,
    week_time,
)

MAX_SLOTS: Final = 500
"""The most slots one schedule holds (a minute-by-minute week is not a schedule)."""

Querier = Database | Tx


@record
class Schedule:
    id: int
    name: str
    time_zone: str
    slots: int
    """How many slots it has."""


@record
class SlotView:
    """A slot as the week grid and the CLI show it."""

    id: int
    start_minute: int
    minutes: int
    day: str
    """The start's day: mon ... sun."""
    start: str
    """The start's local time, HH:MM."""
    end_day: str
    end: str
    """The end's local time, HH:MM (the slot holds up to, not including, it)."""
    who: str
    """The profile's alias or the group's name, as stored (outside text: show it literally)."""
    profile_id: int | None
    group_id: int | None
    held: bool
    """Nobody it names may be dispatched to now: the profile, or every group member, is held."""


@record
class OnCallProfile:
    id: int
    alias: str
    contact_numbers: tuple[str, ...]
    """E.164, in the order given: the numbers an agent transfers to."""


@record
class OnCall:
    """Who is on call on a schedule at an instant, for display."""

    schedule: Schedule
    at: datetime
    """The instant asked about, in UTC."""
    local: datetime
    """The same instant in the schedule's zone."""
    slot: SlotView | None
    """The slot holding the instant; None: the schedule names nobody then."""
    profiles: tuple[OnCallProfile, ...]
    """Who takes calls: the slot's, or the stand-in's when the slot's are all held."""
    stand_in: SlotView | None
    """The later slot whose profiles are used because those of ``slot`` are held."""
    next: SlotView | None
    """The next slot to start after ``at`` (not the current one)."""
    next_at: datetime | None
    """When ``next`` starts, in UTC."""


# --- reading ----------------------------------------------------------------------------


_SCHEDULE_SQL = (
    "SELECT s.id, s.name, s.time_zone,"
    " (SELECT count(*) FROM oncall_slots x WHERE x.schedule_id = s.id) AS slots"
    " FROM oncall_schedules s"
)


async def _schedule_in(q: Querier, schedule: str | int) -> Schedule:
    if isinstance(schedule, int):
        row = await q.fetchone(_SCHEDULE_SQL + " WHERE s.id = ?", (schedule,))
        if row is None:
            raise NotFound(f"no on-call schedule {schedule}")
    else:
        name = values.text("a schedule's name", schedule, required=True)
        row = await q.fetchone(_SCHEDULE_SQL + " WHERE s.name = ?", (name,))
        if row is None:
            raise NotFound(f"no on-call schedule called {name!r}")
    return _schedule(row)


def _schedule(row: sqlite3.Row) -> Schedule:
    return Schedule(row["id"], row["name"], row["time_zone"], row["slots"])


@record
class _Member:
    profile_id: int
    alias: str
    held: bool


@record
class _Slot:
    id: int
    start: int
    minutes: int
    profile_id: int | None
    group_id: int | None
    who: str
    members: tuple[_Member, ...]
    """The profile, or the group's members by alias: the stable order dispatch uses."""

    def holds(self, minute: int) -> bool:
        return (minute - self.start) % WEEK < self.minutes

    @property
    def free(self) -> tuple[_Member, ...]:
        return tuple(m for m in self.members if not m.held)

    def view(self) -> SlotView:
        day, start = week_time(self.start)
        end_day, end = week_time(self.start + self.minutes)
        held = bool(self.members) and not self.free
        return SlotView(
            self.id,
            self.start,
            self.minutes,
            day,
            start,
            end_day,
            end,
            self.who,
            self.profile_id,
            self.group_id,
            held,
        )


async def _slots_in(q: Querier, schedule_id: int, now_ms: int) -> list[_Slot]:
    """The schedule's slots in time order, each with who it names and who is held now."""
    rows = await q.fetchall(
        "SELECT s.id, s.start_minute, s.minutes, s.profile_id, s.group_id,"
        " coalesce(p.alias, g.name) AS who FROM oncall_slots s"
        " LEFT JOIN notification_profiles p ON p.id = s.profile_id"
        " LEFT JOIN notification_groups g ON g.id = s.group_id"
        " WHERE s.schedule_id = ? ORDER BY s.start_minute, s.id",
        (schedule_id,),
    )
    held = held_sql("p")
    member_rows = await q.fetchall(
        f"SELECT s.id AS slot_id, p.id AS profile_id, p.alias, {held} AS held"
        " FROM oncall_slots s JOIN notification_profiles p ON p.id = s.profile_id"
        " WHERE s.schedule_id = :schedule"
        f" UNION ALL SELECT s.id, p.id, p.alias, {held}"
        " FROM oncall_slots s JOIN notification_group_members m ON m.group_id = s.group_id"
        " JOIN notification_profiles p ON p.id = m.profile_id WHERE s.schedule_id = :schedule"
        " ORDER BY 1, 3 COLLATE NOCASE, 2",
        {"schedule": schedule_id, "now": now_ms},
    )
    members: dict[int, list[_Member]] = {}
    for m in member_rows:
        members.setdefault(m["slot_id"], []).append(
            _Member(m["profile_id"], m["alias"], bool(m["held"]))
        )
    return [
        _Slot(
            r["id"],
            r["start_minute"],
            r["minutes"],
            r["profile_id"],
            r["group_id"],
            r["who"] or "",
            tuple(members.get(r["id"], ())),
        )
        for r in rows
    ]


@record
class _Resolution:
    local: datetime
    minute: int
    current: _Slot | None
    chosen: _Slot | None
    """The slot whose free members take calls: ``current``, or a stand-in after it."""
    following: list[_Slot]
    """The other slots in the order they start after the instant."""


def _resolve(slots: Sequence[_Slot], zone: ZoneInfo, at: datetime) -> _Resolution:
    local = at.astimezone(zone)
    minute = minute_of_week(local)
    current = next((s for s in slots if s.holds(minute)), None)
    # Slots other than the current one start after ``minute``, none of them at it.
    following = sorted(
        (s for s in slots if s is not current), key=lambda s: (s.start - minute) % WEEK
    )
    chosen = None
    if current is not None:
        chosen = next((s for s in (current, *following) if s.free), None)
    return _Resolution(local, minute, current, chosen, following)


async def on_call_profiles_in(tx: Querier, schedule_id: int, at: datetime) -> list[int]:
    """Who is on call on the schedule at ``at``: the slot's profile, or its group's
    members (by alias), held ones skipped; when all are held, those of the next slot
    in time order that has someone not held. Nobody when no slot holds ``at``."""
    if at.tzinfo is None:
        raise ValueError("on-call resolution needs an aware instant, not a wall time")
    row = await tx.fetchone("SELECT time_zone FROM oncall_schedules WHERE id = ?", (schedule_id,))
    if row is None:
        raise NotFound(f"no on-call schedule {schedule_id}")
    slots = await _slots_in(tx, schedule_id, to_ms(at))
    found = _resolve(slots, ZoneInfo(row["time_zone"]), at)
    return [] if found.chosen is None else [m.profile_id for m in found.chosen.free]


async def _contacts_in(q: Querier, profile_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    if not profile_ids:
        return {}
    rows = await q.fetchall(
        "SELECT profile_id, value FROM notification_profile_contacts"
        f" WHERE kind = 'contact_number' AND profile_id IN ({', '.join('?' * len(profile_ids))})"
        " ORDER BY profile_id, position",
        tuple(profile_ids),
    )
    found: dict[int, list[str]] = {}
    for r in rows:
        found.setdefault(r["profile_id"], []).append(r["value"])
    return {k: tuple(v) for k, v in found.items()}


def _starts_after(slot: _Slot, found: _Resolution, zone: ZoneInfo, at: datetime) -> datetime:
    """The first instant after ``at`` when ``slot`` starts holding."""
    floor = found.local.replace(second=0, microsecond=0, tzinfo=None)
    ahead = (slot.start - found.minute) % WEEK
    # Its start on the wall clock this week; last week's too, which the hour repeated
    # when the clocks go back can bring round again, and next week's, when the clocks
    # jump over the whole slot this week.
    starts = [
        instant
        for weeks in (-1, 0, 1)
        for instant in occurrences(floor + timedelta(minutes=ahead + weeks * WEEK), zone)
        if instant > at and slot.holds(minute_of_week(instant.astimezone(zone)))
    ]
    return min(starts)


def _upcoming(
    following: Sequence[_Slot], found: _Resolution, zone: ZoneInfo, at: datetime
) -> tuple[_Slot | None, datetime | None]:
    """The slot (other than the current one) that starts next, and when."""
    starts = [(_starts_after(s, found, zone, at), s.start, s) for s in following]
    if not starts:
        return None, None
    when, _, slot = min(starts, key=lambda t: (t[0], t[1]))
    return slot, when


async def on_call_now(
    db: Database, actor: Actor, schedule: str | int, at: datetime | None = None
) -> OnCall:
    """Who is on call (with the numbers to transfer to) and who is next, at ``at``
    (default now; a naive ``at`` is the schedule's local wall time)."""
    authorize(actor, Action.VIEW_ON_CALL)
    found_schedule = await _schedule_in(db, schedule)
    zone = ZoneInfo(found_schedule.time_zone)
    if at is None:
        at = db.clock.now()
    elif at.tzinfo is None:
        at = at.replace(tzinfo=zone)
    at = at.astimezone(UTC)
    slots = await _slots_in(db, found_schedule.id, to_ms(at))
    found = _resolve(slots, zone, at)
    free = found.chosen.free if found.chosen is not None else ()
    numbers = await _contacts_in(db, [m.profile_id for m in free])
    upcoming, next_at = _upcoming(found.following, found, zone, at)
    return OnCall(
        found_schedule,
        at,
        found.local,
        None if found.current is None else found.current.view(),
        tuple(OnCallProfile(m.profile_id, m.alias, numbers.get(m.profile_id, ())) for m in free),
        None if found.chosen is found.current or found.chosen is None else found.chosen.view(),
        None if upcoming is None else upcoming.view(),
        next_at,
    )


async def transfer_target(db: Database, actor: Actor, profile_id: int) -> OnCallProfile:
    """The profile and its contact numbers to transfer a call to; a held profile is
    refused with the reason (P7: transfers to a held profile are refused)."""
    authorize(actor, Action.VIEW_ON_CALL)
    row = await db.fetchone(
        "SELECT id, alias, hold, hold_until FROM notification_profiles WHERE id = ?",
        (profile_id,),
    )
    if row is None:
        raise NotFound(f"no notification profile {profile_id}")
    if is_held(row["hold"], row["hold_until"], to_ms(db.clock.now())):
        if row["hold"] == INDEFINITE:
            why = "held indefinitely"
        else:
            until = zoned(from_ms(row["hold_until"]), await account_zone(db))
            why = f"held until {until}"
        raise NotAllowed(
            f"notification profile {row['alias']!r} is {why} (hold my calls):"
            " transfers to a held profile are refused"
        )
    numbers = await _contacts_in(db, [profile_id])
    return OnCallProfile(row["id"], row["alias"], numbers.get(profile_id, ()))


async def list_schedules(db: Database, actor: Actor) -> list[Schedule]:
    authorize(actor, Action.VIEW_ON_CALL)
    rows = await db.fetchall(_SCHEDULE_SQL + " ORDER BY s.name COLLATE NOCASE")
    return [_schedule(r) for r in rows]


async def get(db: Database, actor: Actor, schedule: str | int) -> Schedule:
    authorize(actor, Action.VIEW_ON_CALL)
    return await _schedule_in(db, schedule)


async def week(db: Database, actor: Actor, schedule: str | int) -> list[SlotView]:
    """The schedule's slots in the order of the week (the console's week grid), each
    with whether it is held now."""
    authorize(actor, Action.VIEW_ON_CALL)
    found = await _schedule_in(db, schedule)
    return [s.view() for s in await _slots_in(db, found.id, to_ms(db.clock.now()))]


# --- changing --------------------------------------------------------------------------


def _checked_name(name: str) -> str:
    return values.text("a schedule's name", name, required=True)


async def add_schedule(db: Database, actor: Actor, name: str, time_zone: str) -> Schedule:
    authorize(actor, Action.MANAGE_NOTIFICATIONS)
    name = _checked_name(name)
    zone = check_zone(time_zone)
    async with db.transaction() as tx:
        if await tx.fetchone("SELECT 1 FROM oncall_schedules WHERE name = ?", (name,)):
            raise AlreadyTaken(f"an on-call schedule named {name!r} already exists")
        schedule_id = await tx.insert(
            "INSERT INTO oncall_schedules (name, time_zone, created_at) VALUES (?, ?, ?)",
            (name, zone, tx.now_ms),
        )
        await tx.emit("oncall_schedule.added", "oncall_schedule", schedule_id, actor_id=actor.id)
    return Schedule(schedule_id, name, zone, 0)


async def edit_schedule(
    db: Database,
    actor: Actor,
    schedule: str | int,
    *,
    rename: str | None = None,
    time_zone: str | None = None,
) -> Schedule:
    """Rename a schedule or move it to another zone (its slots keep their wall times)."""
    authorize(actor, Action.MANAGE_NOTIFICATIONS)
    new_name = None if rename is None else _checked_name(rename)
    zone = None if time_zone is None else check_zone(time_zone)
    async with db.transaction() as tx:
        found = await _schedule_in(tx, schedule)
        if new_name is not None:
            other = await tx.fetchone("SELECT id FROM oncall_schedules WHERE name = ?", (new_name,))
            if other is not None and other["id"] != found.id:
                raise AlreadyTaken(f"an on-call schedule named {new_name!r} already exists")
        await tx.execute(
            "UPDATE oncall_schedules SET name = coalesce(?, name),"
            " time_zone = coalesce(?, time_zone) WHERE id = ?",
            (new_name, zone, found.id),
        )
        await tx.emit("oncall_schedule.changed", "oncall_schedule", found.id, actor_id=actor.id)
        return await _schedule_in(tx, found.id)


async def delete_schedule(db: Database, actor: Actor, schedule: str | int) -> None:
    """Delete a schedule and its slots; refused while an outcome notifies it, listing them."""
    authorize(actor, Action.MANAGE_NOTIFICATIONS)
    async with db.transaction() as tx:
        found = await _schedule_in(tx, schedule)
        used = await links.schedule_links(tx, found.id)
        if used:
            raise links.in_use(
                f"on-call schedule {found.name!r}", used, "take it off those outcomes first"
            )
        await tx.execute("DELETE FROM oncall_schedules WHERE id = ?", (found.id,))
        await tx.emit("oncall_schedule.deleted", "oncall_schedule", found.id, actor_id=actor.id)


async def _target_in(
    tx: Tx, profile: str | None, group: str | None
) -> tuple[int | None, int | None]:
    if (profile is None) == (group is None):
        raise InvalidInput("a slot names one notification profile or one group, not both or none")
    if profile is not None:
        alias = values.text("a notification profile's alias", profile, required=True)
        row = await tx.fetchone("SELECT id FROM notification_profiles WHERE alias = ?", (alias,))
        if row is None:
            raise NotFound(f"no notification profile called {alias!r}")
        return int(row["id"]), None
    assert group is not None
    name = values.text("a group's name", group, required=True)
    row = await tx.fetchone("SELECT id FROM notification_groups WHERE name = ?", (name,))
    if row is None:
        raise NotFound(f"no notification group called {name!r}")
    return None, int(row["id"])


def _minute(value: str | int, what: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value < WEEK:
            raise InvalidInput(f"{what} must be a minute of the week, 0-{WEEK - 1}, not {value}")
        return value
    if isinstance(value, str):
        return parse_when(value)
    raise InvalidInput(f"{what} must be {WHEN_FORM}")


async def _refuse_overlap_in(
    tx: Tx, schedule_id: int, start: int, minutes: int, other_than: int | None = None
) -> None:
    rows = await tx.fetchall(
        "SELECT s.id, s.start_minute, s.minutes, coalesce(p.alias, g.name) AS who"
        " FROM oncall_slots s LEFT JOIN notification_profiles p ON p.id = s.profile_id"
        " LEFT JOIN notification_groups g ON g.id = s.group_id"
        " WHERE s.schedule_id = ? ORDER BY s.start_minute",
        (schedule_id,),
    )
    for r in rows:
        if r["id"] != other_than and overlaps(start, minutes, r["start_minute"], r["minutes"]):
            raise AlreadyTaken(
                f"the slot {_span(start, minutes)} overlaps slot {r['id']}"
                f" ({_span(r['start_minute'], r['minutes'])}, {r['who']}):"
                " slots of one schedule cannot overlap"
            )
    if other_than is None and len(rows) >= MAX_SLOTS:
        raise LimitExceeded(f"a schedule has at most {MAX_SLOTS} slots")


def _span(start: int, minutes: int) -> str:
    return f"{' '.join(week_time(start))} to {' '.join(week_time(start + minutes))}"


async def add_slot(
    db: Database,
    actor: Actor,
    schedule: str | int,
    start: str | int,
    end: str | int,
    *,
    profile: str | None = None,
    group: str | None = None,
) -> SlotView:
    """A weekly slot from ``start`` to ``end`` ('mon 18:00', or a minute of the week;
    an end before the start runs into the next week; the same time twice is the
    whole week), naming a notification profile or a group by name."""
    authorize(actor, Action.MANAGE_NOTIFICATIONS)
    first, last = _minute(start, "a slot's start"), _minute(end, "a slot's end")
    minutes = length_of(first, last)
    async with db.transaction() as tx:
        found = await _schedule_in(tx, schedule)
        profile_id, group_id = await _target_in(tx, profile, group)
        await _refuse_overlap_in(tx, found.id, first, minutes)
        slot_id = await tx.insert(
            "INSERT INTO oncall_slots (schedule_id, start_minute, minutes, profile_id, group_id)"
            " VALUES (?, ?, ?, ?, ?)",
            (found.id, first, minutes, profile_id, group_id),
        )
        await tx.emit(
            "oncall_schedule.changed", "oncall_schedule", found.id, actor_id=actor.id, slot=slot_id
        )
        return await _slot_view_in(tx, found.id, slot_id)


async def edit_slot(
    db: Database,
    actor: Actor,
    schedule: str | int,
    slot_id: int,
    *,
    start: str | int | None = None,
    end: str | int | None = None,
    profile: str | None = None,
    group: str | None = None,
) -> SlotView:
    """Move a slot or give it to another profile or group; what is not given stays."""
    authorize(actor, Action.MANAGE_NOTIFICATIONS)
    async with db.transaction() as tx:
        found = await _schedule_in(tx, schedule)
        row = await _slot_row_in(tx, found, slot_id)
        first = row["start_minute"] if start is None else _minute(start, "a slot's start")
        old_end = (row["start_minute"] + row["minutes"]) % WEEK
        last = old_end if end is None else _minute(end, "a slot's end")
        minutes = row["minutes"] if start is None and end is None else length_of(first, last)
        if profile is None and group is None:
            profile_id, group_id = row["profile_id"], row["group_id"]
        else:
            profile_id, group_id = await _target_in(tx, profile, group)
        await _refuse_overlap_in(tx, found.id, first, minutes, other_than=slot_id)
        await tx.execute(
            "UPDATE oncall_slots SET start_minute = ?, minutes = ?, profile_id = ?, group_id = ?"
            " WHERE id = ?",
            (first, minutes, profile_id, group_id, slot_id),
        )
        await tx.emit(
            "oncall_schedule.changed", "oncall_schedule", found.id, actor_id=actor.id, slot=slot_id
        )
        return await _slot_view_in(tx, found.id, slot_id)


async def remove_slot(db: Database, actor: Actor, schedule: str | int, slot_id: int) -> None:
    authorize(actor, Action.MANAGE_NOTIFICATIONS)
    async with db.transaction() as tx:
        found = await _schedule_in(tx, schedule)
        await _slot_row_in(tx, found, slot_id)
        await tx.execute("DELETE FROM oncall_slots WHERE id = ?", (slot_id,))
        await tx.emit(
            "oncall_schedule.changed", "oncall_schedule", found.id, actor_id=actor.id, slot=slot_id
        )


async def _slot_row_in(tx: Tx, schedule: Schedule, slot_id: int) -> sqlite3.Row:
    row = await tx.fetchone(
        "SELECT start_minute, minutes, profile_id, group_id FROM oncall_slots"
        " WHERE id = ? AND schedule_id = ?",
        (slot_id, schedule.id),
    )
    if row is None:
        raise NotFound(f"on-call schedule {schedule.name!r} has no slot {slot_id}")
    return row


async def _slot_view_in(tx: Tx, schedule_id: int, slot_id: int) -> SlotView:
    return next(s.view() for s in await _slots_in(tx, schedule_id, tx.now_ms) if s.id == slot_id)
