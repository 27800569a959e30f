"""The real instants a shift holds, so shifts in different zones can be compared.

A weekly shift holds an instant while its zone's clock reads a minute inside
it (as ``staff_on_shift_in`` and the on-call slots decide, with
``core.weektime``). Between two daylight-saving changes a zone's offset is
fixed, so there its clock is the instant plus a constant and a weekly shift's
instants are plain intervals: the timeline is cut at each change of offset,
and each piece is worked out exactly. On the fall-back night a shift holding
the repeated hour gets it twice; one starting in the skipped hour starts
when the clocks jump past its start. No sampling of minutes is involved.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

from core.records import record
from core.weektime import overlaps

Interval = tuple[datetime, datetime]
"""[start, end) in UTC."""

_STEP: Final = timedelta(hours=6)
"""Offsets are sampled this often: no zone changes its offset and back within six hours."""
_AHEAD: Final = timedelta(weeks=53)
"""Weekly shifts in different zones are compared over the coming year: each
zone's daylight-saving changes fall inside it, and no later rule is known."""


@record
class Shape:
    """When a shift is on, whatever else it says: weekly minutes in a zone, or two instants."""

    time_zone: str
    start_minute: int | None = None
    minutes: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None


def _offset(zone: ZoneInfo, at: datetime) -> timedelta:
    offset = at.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


@lru_cache(maxsize=256)
def offset_pieces(zone: ZoneInfo, lo: datetime, hi: datetime) -> tuple[Interval, ...]:
    """[lo, hi) cut where ``zone``'s UTC offset changes: in each piece it is constant.
    Cached: one overlap check asks it for the same zone and window many times."""
    pieces: list[Interval] = []
    start = lo
    at = lo
    current = _offset(zone, lo)
    while at < hi:
        step = min(at + _STEP, hi)
        if _offset(zone, step) != current:
            low, high = at, step
            # The change falls in (low, high]: halve down to the second.
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                middle -= timedelta(microseconds=middle.microsecond)
                if _offset(zone, middle) == current:
                    low = middle
                else:
                    high = middle
            pieces.append((start, high))
            start, current = high, _offset(zone, high)
        at = step
    pieces.append((start, hi))
    return tuple(pieces)


def _merged(found: list[Interval]) -> list[Interval]:
    found.sort()
    merged: list[Interval] = []
    for a, b in found:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def weekly_intervals(
    zone: ZoneInfo, start_minute: int, minutes: int, lo: datetime, hi: datetime
) -> list[Interval]:
    """The instants in [lo, hi) when ``zone``'s clock reads a minute of the weekly
    span ``start_minute`` + ``minutes``, as merged intervals in time order."""
    found: list[Interval] = []
    for piece_lo, piece_hi in offset_pieces(zone, lo, hi):
        offset = _offset(zone, piece_lo)
        local_lo = (piece_lo + offset).replace(tzinfo=None)
        local_hi = (piece_hi + offset).replace(tzinfo=None)
        # A span of last week can run into this piece: start a week earlier.
        monday = datetime.combine(local_lo.date(), datetime.min.time())
        monday -= timedelta(days=local_lo.weekday() + 7)
        while monday + timedelta(minutes=start_minute) < local_hi:
            a = monday + timedelta(minutes=start_minute)
            b = a + timedelta(minutes=minutes)
            a, b = max(a, local_lo), min(b, local_hi)
            if a < b:
                found.append(((a - offset).replace(tzinfo=UTC), (b - offset).replace(tzinfo=UTC)))
            monday += timedelta(weeks=1)
    return _merged(found)


def intervals(shape: Shape, lo: datetime, hi: datetime) -> list[Interval]:
    """The instants in [lo, hi) the shift holds."""
    if shape.starts_at is not None and shape.ends_at is not None:
        a, b = max(shape.starts_at, lo), min(shape.ends_at, hi)
        return [(a, b)] if a < b else []
    assert shape.start_minute is not None
    assert shape.minutes is not None
    return weekly_intervals(ZoneInfo(shape.time_zone), shape.start_minute, shape.minutes, lo, hi)


def _window(shape: Shape) -> Interval | None:
    if shape.starts_at is not None and shape.ends_at is not None:
        return shape.starts_at, shape.ends_at
    return None


def first_overlap(a: Shape, b: Shape, now: datetime) -> datetime | None:
    """The first instant from ``now`` on that both shifts hold, None if none.

    Two weekly shifts in one zone overlap on the week circle or never; in
    different zones they are compared instant by instant over the coming year.
    """
    if a.starts_at is None and b.starts_at is None and a.time_zone == b.time_zone:
        assert a.start_minute is not None
        assert a.minutes is not None
        assert b.start_minute is not None
        assert b.minutes is not None
        if not overlaps(a.start_minute, a.minutes, b.start_minute, b.minutes):
            return None
    windows = [w for w in (_window(a), _window(b)) if w is not None]
    # What is over cannot clash with anything: a one-off of last month against a new weekly.
    lo = max([now, *(w[0] for w in windows)])
    hi = min((w[1] for w in windows), default=now + _AHEAD)
    if lo >= hi:
        return None
    theirs = intervals(b, lo, hi)
    for x0, x1 in intervals(a, lo, hi):
        for y0, y1 in theirs:
            if x0 < y1 and y0 < x1:
                return max(x0, y0)
    return None
