"""S1: quiet hours in the recipient's local time, from the phone number alone.

A number may be in several zones (a North American toll-free number in any of
forty; a mobile in a country with several) or in none known
(``Etc/Unknown``). A campaign text goes only when the local time is inside
the window ``[start, end)`` (minutes of the day) in EVERY zone the number
may be in: TCPA's 8:00-21:00 must hold wherever the person may be. A number
whose zone is unknown follows the campaign's ``unknown_zone``: the account's
zone ('account'), or never ('skip': the target is skipped, saying so).

The rule is on the local wall clock, minute by minute: on a day the clocks
jump over the window's start the window opens when the clock first reads past
it (``core.weektime.occurrences``), and in an hour the clocks repeat, both
passes count.

Pure: no database. A dispatch chunk asks about thousands of numbers at the
same instant, so zones are cached per number prefix and answers per
(zones, instant) in a :class:`Planner`. The estimate's finish follows the same
rule per zone set (:func:`sending_ends`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

from core.clock import to_ms
from core.records import record
from core.weektime import occurrences

UNKNOWN_ZONE: Final = "Etc/Unknown"
"""What phonenumbers says for a number it cannot place."""
ACCOUNT: Final = "account"
SKIP: Final = "skip"
UNKNOWN_ZONE_CHOICES: Final = (ACCOUNT, SKIP)

HORIZON: Final = timedelta(days=8)
"""How far ahead an opening is looked for: a week and a DST change always hold one,
unless the zones' windows never meet."""
_PREFIX: Final = 1 + 9
"""'+' and nine digits: phonenumbers' longest zone prefix (TIMEZONE_LONGEST_PREFIX)."""

UNKNOWN_SKIPPED: Final = "the number's time zone is unknown and the campaign skips such numbers"
NEVER_OPEN: Final = (
    "no time is inside the quiet-hours window in every time zone the number may be in"
)


@record
class Window:
    """Minutes of the local day: sending from ``start`` until before ``end``. An end
    before the start runs past midnight; the same minute twice is an empty window."""

    start: int
    end: int

    def holds(self, minute: int) -> bool:
        if self.start <= self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end


DEFAULT_WINDOW: Final = Window(8 * 60, 21 * 60)


def _parsed_zones(phone: str) -> tuple[str, ...]:
    # Imported here: its zone tables load only for a campaign that dispatches.
    import phonenumbers
    from phonenumbers import timezone as number_zones

    try:
        parsed = phonenumbers.parse(phone)
    except phonenumbers.NumberParseException:
        return (UNKNOWN_ZONE,)
    return tuple(number_zones.time_zones_for_number(parsed)) or (UNKNOWN_ZONE,)


_zone_cache: dict[str, tuple[str, ...]] = {}
_MAX_CACHED: Final = 65_536


def zone_key(phone: str) -> str:
    """Numbers with the same key are in the same zones (see ``zones_of``)."""
    return phone[:_PREFIX]


def zone_key_sql(phone: str) -> str:
    """:func:`zone_key` in SQL, for the SQL expression ``phone`` (E.164: ASCII)."""
    return f"substr({phone}, 1, {_PREFIX})"


def zones_of(phone: str) -> tuple[str, ...]:
    """The zones ``phone`` (E.164) may be in, or ``(UNKNOWN_ZONE,)``.

    Cached per prefix ('+' and nine digits): phonenumbers places a number by
    its longest matching prefix of at most nine digits, so numbers sharing
    one share their zones, and a 100,000-target campaign parses a few
    hundred numbers, not 100,000. (Its number-type rule, geographic or not,
    can in rare plans look further; a wrong guess there only ever narrows
    to zones of the same country.)
    """
    prefix = phone[:_PREFIX]
    found = _zone_cache.get(prefix)
    if found is None:
        if len(_zone_cache) >= _MAX_CACHED:
            _zone_cache.clear()
        found = _zone_cache[prefix] = _parsed_zones(phone)
    return found


def candidate_zones(phone: str, unknown_zone: str, account_zone: str) -> tuple[str, ...] | None:
    """The zones the window must hold in; None when the number is to be skipped."""
    zones = zones_of(phone)
    if zones == (UNKNOWN_ZONE,):
        return (account_zone,) if unknown_zone == ACCOUNT else None
    return zones


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _local_minute(at: datetime, zone: ZoneInfo) -> int:
    local = at.astimezone(zone)
    return local.hour * 60 + local.minute


def allowed_in(zones: tuple[str, ...], at: datetime, window: Window) -> bool:
    """Inside the window in every one of ``zones`` at ``at``."""
    return all(window.holds(_local_minute(at, _zone(z))) for z in zones)


def allowed(phone: str, at: datetime, window: Window, unknown_zone: str, account_zone: str) -> bool:
    """May a campaign text go to ``phone`` at ``at``? Never for a skipped unknown zone."""
    zones = candidate_zones(phone, unknown_zone, account_zone)
    return zones is not None and allowed_in(zones, at, window)


def _next_in_zone(at: datetime, zone: ZoneInfo, window: Window) -> datetime | None:
    """The first instant ≥ ``at`` inside the window in ``zone`` alone."""
    if window.holds(_local_minute(at, zone)):
        return at
    day = at.astimezone(zone).date()
    for offset in range(3):  # today's opening, tomorrow's, and one more across a DST day
        # A naive wall time: occurrences() reads it on the zone's clock.
        wall = datetime.combine(day, time()) + timedelta(days=offset, minutes=window.start)
        for instant in occurrences(wall, zone):
            if instant >= at and window.holds(_local_minute(instant, zone)):
                return instant
    return None


def next_opening_in(zones: tuple[str, ...], at: datetime, window: Window) -> datetime | None:
    """The first instant ≥ ``at`` inside the window in every zone; None: not within
    :data:`HORIZON` (the zones' windows never meet)."""
    if window.start == window.end:
        return None
    at = at.astimezone(UTC)
    limit = at + HORIZON
    candidate = at
    while candidate <= limit:
        # Each zone's own next opening is a lower bound on the common one: move to the
        # latest of them until every zone agrees.
        latest = candidate
        for name in zones:
            opening = _next_in_zone(candidate, _zone(name), window)
            if opening is None:
                return None
            latest = max(latest, opening)
        if latest == candidate:
            return candidate
        candidate = latest
    return None


def next_opening(
    phone: str, at: datetime, window: Window, unknown_zone: str, account_zone: str
) -> datetime | None:
    """The first instant ≥ ``at`` when a text may go to ``phone``; None: never (a skipped
    unknown zone, or zones whose windows never meet)."""
    zones = candidate_zones(phone, unknown_zone, account_zone)
    return None if zones is None else next_opening_in(zones, at, window)


@record
class Skip:
    reason: str


class Planner:
    """Quiet-hours answers for one campaign at one instant, cached per zones tuple:
    a chunk of targets shares a handful of zone sets."""

    def __init__(self, window: Window, unknown_zone: str, account_zone: str, at: datetime) -> None:
        self.window = window
        self.unknown_zone = unknown_zone
        self.account_zone = account_zone
        self.at = at
        self._by_zones: dict[tuple[str, ...], datetime | Skip] = {}
        self._by_prefix: dict[str, int | Skip] = {}

    def when(self, phone: str) -> datetime | Skip:
        """``self.at`` when it may go now, a later instant when it must wait, or Skip."""
        zones = candidate_zones(phone, self.unknown_zone, self.account_zone)
        if zones is None:
            return Skip(UNKNOWN_SKIPPED)
        found = self._by_zones.get(zones)
        if found is None:
            opening = next_opening_in(zones, self.at, self.window)
            found = self._by_zones[zones] = Skip(NEVER_OPEN) if opening is None else opening
        return found

    def due_ms(self, phone: str) -> int | Skip:
        """``when``, in ms since the epoch: asked per target, so kept per number prefix
        (the zones are the prefix's, see ``zones_of``)."""
        prefix = phone[:_PREFIX]
        found = self._by_prefix.get(prefix)
        if found is None:
            when = self.when(phone)
            found = self._by_prefix[prefix] = when if isinstance(when, Skip) else to_ms(when)
        return found


def sending_ends(
    start: datetime, seconds: Mapping[tuple[str, ...], float], window: Window, limit: datetime
) -> datetime | None:
    """When sending that starts at ``start`` ends: ``seconds`` of sending for the targets
    of each zone set, each set's only while the window holds in every one of its zones.
    Sets open at the same time share the rate, each getting its share of what they have
    left (the dispatcher takes due targets by id, so the sets interleave). None: not by
    ``limit``, or a set whose zones' windows never meet.

    It steps from one opening or closing to the next (of any zone still sending), in Unix
    seconds: a world-wide campaign's months are some ten thousand steps."""
    left = {zones: s for zones, s in seconds.items() if s > 0}
    if any(next_opening_in(zones, start, window) is None for zones in left):
        return None
    clocks = {name: _Clock(name, window, start) for zones in left for name in zones}
    at, end = start.timestamp(), limit.timestamp()
    while left:
        if at > end:
            return None
        sending = [z for z in left if all(clocks[name].holds(at) for name in z)]
        change = min(clocks[name].next_change(at) for zones in left for name in zones)
        if not sending:
            at = change
            continue
        # Until a zone opens or closes, the sets sending share the time as it is.
        need = sum(left[zones] for zones in sending)
        if need <= change - at:
            at += need
            for zones in sending:
                del left[zones]
        else:
            for zones in sending:
                left[zones] -= (change - at) * left[zones] / need
            at = change
    return datetime.fromtimestamp(at, UTC)


class _Clock:
    """One zone's openings and closings of the window, in Unix seconds, from the day
    before ``start`` on, worked out a few days at a time as they are asked for."""

    def __init__(self, name: str, window: Window, start: datetime) -> None:
        self.zone = _zone(name)
        self.window = window
        self._day = start.astimezone(self.zone).date() - timedelta(days=1)
        self._times: list[float] = []
        self._holds: list[bool] = []
        """Whether the window holds from each of ``_times`` until the next."""

    def holds(self, at: float) -> bool:
        index = bisect_right(self._ensure(at), at) - 1
        if index < 0:  # before the first change listed: not asked from ``start`` on
            return self.window.holds(_local_minute(datetime.fromtimestamp(at, UTC), self.zone))
        return self._holds[index]

    def next_change(self, at: float) -> float:
        times = self._ensure(at)
        return times[bisect_right(times, at)]

    def _ensure(self, at: float) -> list[float]:
        """The changes, reaching past ``at`` by a day at least (so its next is among them)."""
        while not self._times or self._times[-1] <= at + 86_400:
            midnight = datetime.combine(self._day, time())
            for instant in sorted(
                {
                    instant
                    for minute in (self.window.start, self.window.end)
                    for instant in occurrences(midnight + timedelta(minutes=minute), self.zone)
                }
            ):
                self._times.append(instant.timestamp())
                self._holds.append(self.window.holds(_local_minute(instant, self.zone)))
            self._day += timedelta(days=1)
        return self._times
