"""Weekly wall time: minutes of the local week, Monday 00:00 = 0, and the zones they are in.

Plain arithmetic shared by on-call schedules (``core.notify.oncall``) and
staff shifts (``core.shifts``), so both read a week the same way: reading
'mon 18:00', slots on the week circle (an end before the start runs into the
next week), and turning a local wall time back into an instant across
daylight-saving changes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo, available_timezones

from core.errors import InvalidInput
from core.permissions import values

WEEK: Final = 7 * 24 * 60
"""Minutes in a week: slots are minutes of the local week, Monday 00:00 = 0."""
MAX_ZONE_NAME: Final = 64

DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES: Final = {
    **{d: i for i, d in enumerate(DAYS)},
    **{
        d: i
        for i, d in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
}
WHEN_FORM: Final = "a day and a time such as 'mon 18:00' (days mon-sun, times 00:00-23:59)"
SPAN_FORM: Final = "a start and an end such as 'mon 18:00 to tue 08:00'"
_WHEN = re.compile(r"([a-z]+)\s+(\d{1,2}):(\d{2})")
_SPAN = re.compile(r"(.+?)\s+(?:to|-|–)\s+(.+)")
# Machine-dependent or placeholder names: a schedule names a real place's zone.
_NOT_PLACES: Final = frozenset({"localtime", "posixrules", "Factory"})


def parse_when(text: str) -> int:
    """'mon 18:00' as a minute of the week; refused naming the form."""
    shown = values.text("a day and time", text, longest=40)
    found = _WHEN.fullmatch(shown.lower())
    if found is None or found.group(1) not in _DAY_NAMES:
        raise InvalidInput(f"{shown!r} is not {WHEN_FORM}")
    hour, minute = int(found.group(2)), int(found.group(3))
    if hour > 23 or minute > 59:
        raise InvalidInput(f"{shown!r} is not {WHEN_FORM}")
    return _DAY_NAMES[found.group(1)] * 1440 + hour * 60 + minute


def parse_span(text: str) -> tuple[int, int]:
    """'mon 18:00 to tue 08:00' as (start minute, end minute) of the week."""
    shown = values.text("a slot's start and end", text, longest=100)
    found = _SPAN.fullmatch(shown)
    if found is None:
        raise InvalidInput(f"{shown!r} is not {SPAN_FORM}")
    return parse_when(found.group(1)), parse_when(found.group(2))


def week_time(minute: int) -> tuple[str, str]:
    """(day, HH:MM) of a minute of the week."""
    minute %= WEEK
    day, rest = divmod(minute, 1440)
    return DAYS[day], f"{rest // 60:02d}:{rest % 60:02d}"


def length_of(start: int, end: int) -> int:
    """Minutes from ``start`` to ``end`` going forward round the week; the same
    minute twice is the whole week."""
    return (end - start) % WEEK or WEEK


def overlaps(start_a: int, minutes_a: int, start_b: int, minutes_b: int) -> bool:
    """Two slots share a minute of the week circle (one starts inside the other)."""
    return (start_b - start_a) % WEEK < minutes_a or (start_a - start_b) % WEEK < minutes_b


def minute_of_week(local: datetime) -> int:
    return local.weekday() * 1440 + local.hour * 60 + local.minute


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones()) - _NOT_PLACES


def check_zone(name: str) -> str:
    """A named IANA time zone (America/New_York), else refused naming the rule."""
    zone = values.text("a time zone", name, longest=MAX_ZONE_NAME, required=True)
    if zone not in _zone_names():
        near = [z for z in _zone_names() if z.lower() == zone.lower()]
        hint = f"; did you mean {near[0]!r}?" if near else " such as 'America/New_York'"
        raise InvalidInput(
            f"{zone!r} is not a time zone: a schedule needs a named IANA time zone{hint}"
        )
    return zone


def occurrences(wall: datetime, zone: ZoneInfo) -> list[datetime]:
    """The instants (UTC) when the clock of ``zone`` reads ``wall`` (naive): one; two in
    the hour repeated when the clocks go back; none when they jump over it, and then
    the instant of the jump, when the clock first reads past it."""
    found = []
    for fold in (0, 1):
        instant = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == wall and instant not in found:
            found.append(instant)
    if found:
        return found
    # Skipped: fold=1 reads the wall time with the offset after the jump (an instant
    # before it), fold=0 with the one before (an instant after it); the jump is between.
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    while high - low > timedelta(minutes=1):
        middle = low + (high - low) / 2
        middle -= timedelta(seconds=middle.second, microseconds=middle.microsecond)
        if middle.astimezone(zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return [high]


def wall_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant the clock of ``zone`` first reads ``wall`` (naive): the earlier of an
    hour the clocks repeat; for a time they jump over, the instant of the jump."""
    return occurrences(wall, zone)[0]


AT_FORM: Final = "an ISO date and time such as '2026-03-08T01:30' or '2026-03-08T06:30Z'"


def parse_at(text: str) -> datetime:
    """An instant typed as ISO 8601; without an offset it is naive (a local wall time)."""
    shown = values.text("a date and time", text, longest=40, required=True)
    try:
        return datetime.fromisoformat(shown)
    except ValueError:
        raise InvalidInput(f"{shown!r} is not {AT_FORM}") from None
