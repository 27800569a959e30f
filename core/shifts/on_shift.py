"""Who is on shift: at an instant (the alert sweep's question), now and next, the week.

All shifts are read in one statement and resolved in Python: a weekly shift
holds the instant when the instant's minute of the shift's local week falls
inside it (the on-call slots' arithmetic, ``core.weektime``, shared with the
on-call schedules), a one-off shift when the instant is between its two
instants. ``now_and_next`` and ``week`` work on the same instants, through
``core.shifts.spans``, so the board, the grid and the sweep agree.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from core.clock import to_ms
from core.db import Database, Tx
from core.people.authz import Action, Actor, authorize
from core.records import record
from core.shifts.model import KINDS, NORMAL, ONCALL, SELECT, Shift, shift_from
from core.shifts.spans import Interval, intervals
from core.weektime import WEEK, check_zone, minute_of_week, wall_instant, week_time

__all__ = ["KINDS", "NORMAL", "ONCALL", "ShiftBoard", "now_and_next", "staff_on_shift_in", "week"]


async def staff_on_shift_in(q: Database | Tx, at: datetime, kind: str) -> list[int]:
    """IDs of the active staff on a ``kind`` shift at ``at`` (aware), in ID order."""
    if at.tzinfo is None:
        raise ValueError("who is on shift needs an aware instant, not a wall time")
    rows = await q.fetchall(
        "SELECT s.agent_id, s.time_zone, s.start_minute, s.minutes FROM shifts s"
        " JOIN agents a ON a.id = s.agent_id AND a.active = 1"
        " WHERE s.kind = :kind AND (s.start_minute IS NOT NULL"
        "   OR (s.starts_at <= :at AND s.ends_at > :at))",
        {"kind": kind, "at": to_ms(at)},
    )
    minutes: dict[str, int] = {}
    found: set[int] = set()
    for r in rows:
        if r["start_minute"] is None:
            found.add(r["agent_id"])
            continue
        zone = r["time_zone"]
        if zone not in minutes:
            minutes[zone] = minute_of_week(at.astimezone(ZoneInfo(zone)))
        if (minutes[zone] - r["start_minute"]) % WEEK < r["minutes"]:
            found.add(r["agent_id"])
    return sorted(found)


# --- the board and the week -------------------------------------------------------------


@record
class OnShift:
    """One person's shift as the board shows it."""

    shift: Shift
    starts_at: datetime
    """When this stretch of it started (on the board's ``on_now``) or starts (``next``)."""
    ends_at: datetime | None
    """When it ends; None: a weekly shift the whole week long, which never does."""


@record
class ShiftBoard:
    at: datetime
    on_now: tuple[OnShift, ...]
    """Everyone on a shift at ``at``, normal ones first, by username."""
    next: tuple[OnShift, ...]
    """Per kind, the shift(s) starting soonest after ``at`` (ties together)."""


_AROUND = timedelta(days=8)
"""A weekly shift's stretch holding an instant, and its next start, are within a week
of it (give or take an hour of daylight saving)."""


def _stretches(shift: Shift, lo: datetime, hi: datetime) -> list[Interval]:
    return intervals(shift.shape, lo, hi)


async def now_and_next(db: Database, actor: Actor, at: datetime | None = None) -> ShiftBoard:
    """Who is on a normal and an on-call shift at ``at`` (default now) and until when,
    and the next shift of each kind to start. Deactivated staff are left out."""
    authorize(actor, Action.VIEW_SHIFTS)
    at = db.clock.now() if at is None else at
    if at.tzinfo is None:
        raise ValueError("the shift board needs an aware instant, not a wall time")
    at = at.astimezone(UTC)
    rows = await db.fetchall(
        SELECT + " WHERE a.active = 1 AND (s.ends_at IS NULL OR s.ends_at > ?)"
        " ORDER BY a.username, s.id",
        (to_ms(at),),
    )
    lo, hi = at - _AROUND, at + _AROUND
    on_now: list[OnShift] = []
    soonest: dict[str, list[OnShift]] = {}
    for row in rows:
        shift = shift_from(row)
        whole_week = shift.minutes == WEEK
        for a, b in _stretches(shift, lo, hi):
            if a <= at < b:
                on_now.append(OnShift(shift, a, None if whole_week else b))
            elif a > at and not whole_week:
                found = soonest.get(shift.kind)
                if found is None or a < found[0].starts_at:
                    soonest[shift.kind] = [OnShift(shift, a, b)]
                elif a == found[0].starts_at:
                    found.append(OnShift(shift, a, b))
                break
    on_now.sort(key=lambda o: (KINDS.index(o.shift.kind), o.shift.username, o.shift.id))
    upcoming = tuple(o for kind in KINDS for o in soonest.get(kind, ()))
    return ShiftBoard(at, tuple(on_now), upcoming)


@record
class ShiftSlot:
    """A shift's stretch in the viewer's week, shaped as the on-call week grid's slots."""

    id: int
    """The shift's id (a weekly shift from another zone can give two stretches)."""
    start_minute: int
    """Minute of the viewer's week, Monday 00:00 = 0."""
    minutes: int
    day: str
    start: str
    end_day: str
    end: str
    who: str
    """The person's name, else username, as stored (outside text: show it literally)."""
    agent_id: int
    kind: str
    once: bool
    """A one-off shift (else weekly)."""
    held: bool = False
    """Always False: the grid's mark for held on-call slots does not apply to shifts."""


def _slot(shift: Shift, start_minute: int, minutes: int) -> ShiftSlot:
    day, start = week_time(start_minute)
    end_day, end = week_time(start_minute + minutes)
    return ShiftSlot(
        shift.id,
        start_minute,
        minutes,
        day,
        start,
        end_day,
        end,
        shift.name or shift.username,
        shift.agent_id,
        shift.kind,
        not shift.weekly,
    )


async def week(
    db: Database, actor: Actor, zone: str = "UTC", at: datetime | None = None
) -> list[ShiftSlot]:
    """Every shift in the week holding ``at`` (default now), Monday to Sunday on the
    clock of ``zone`` (the viewer's), in week order. A weekly shift of the same zone
    is its slot as written (running past Sunday as it does); any other is cut to the
    week and given in the viewer's wall time, as many stretches as it has."""
    authorize(actor, Action.VIEW_SHIFTS)
    viewer = ZoneInfo(check_zone(zone))
    at = (db.clock.now() if at is None else at).astimezone(viewer)
    monday = datetime.combine(at.date(), datetime.min.time()) - timedelta(days=at.weekday())
    lo = wall_instant(monday, viewer)
    hi = wall_instant(monday + timedelta(weeks=1), viewer)
    rows = await db.fetchall(
        SELECT + " WHERE s.ends_at IS NULL OR (s.ends_at > ? AND s.starts_at < ?)"
        " ORDER BY a.username, s.id",
        (to_ms(lo), to_ms(hi)),
    )
    found: list[ShiftSlot] = []
    for row in rows:
        shift = shift_from(row)
        if shift.weekly and shift.time_zone == viewer.key:
            assert shift.start_minute is not None
            assert shift.minutes is not None
            found.append(_slot(shift, shift.start_minute, shift.minutes))
            continue
        for a, b in _stretches(shift, lo, hi):
            first = minute_of_week(a.astimezone(viewer))
            last = WEEK if b >= hi else minute_of_week(b.astimezone(viewer))
            # Inside the repeated hour the wall clock can end before it starts: count real minutes.
            minutes = last - first if last > first else int((b - a).total_seconds() // 60)
            found.append(_slot(shift, first, max(minutes, 1)))
    found.sort(key=lambda s: (s.start_minute, s.who, s.id))
    return found
