"""Shifts from an iCalendar (.ics) file: one file, one staff member.

Each VEVENT becomes a shift of the person named on import:

- DTSTART and DTEND (or DURATION) with a TZID (an IANA name, or a Windows
  name as Outlook writes them), in UTC (``Z``), or floating (no zone: the
  zone given on import, else the account's). Times are whole minutes.
- The kind is the one given on import, unless CATEGORIES says on-call
  ('on-call', 'oncall', 'on call' or 'support', any case): then on-call.
- No RRULE: a one-off shift (at most 7 days). One already over is skipped
  and reported as skipped: a calendar export holds the past too.
- RRULE ``FREQ=WEEKLY``, optionally with BYDAY (plain days, MO,WE...) and
  WKST, INTERVAL=1: a weekly shift per day (DTSTART's day without BYDAY),
  at DTSTART's wall time, as long as the event. A weekly shift has no end,
  so COUNT and UNTIL are not supported, nor any other FREQ, INTERVAL above 1,
  BY-parts other than BYDAY, RDATE, EXDATE, EXRULE or RECURRENCE-ID (a
  moved occurrence): each is reported by event, which is not imported.
- A cancelled event (STATUS:CANCELLED) is skipped.

All or nothing: every event is checked (including overlaps, with the
person's other shifts and with each other) and every problem is reported by
event (UID, SUMMARY, the line of its BEGIN:VEVENT); when there is any,
nothing is saved. A file that is not an iCalendar file is refused whole.

Importing again is idempotent: the person's shifts imported earlier from a
UID the file holds are replaced by what the file says now; their shifts from
other UIDs, and shifts added by hand, stay.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from icalendar import Calendar, Component
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from core.clock import from_ms
from core.db import Database, Tx
from core.errors import InvalidInput, LimitExceeded
from core.people.authz import Action, Actor, authorize
from core.permissions import values
from core.records import record
from core.shifts.model import NORMAL, ONCALL, SELECT, describe, shift_from
from core.shifts.shifts import (
    MAX_SHIFTS,
    agent_in,
    check_kind,
    default_zone,
    insert_in,
    one_off_shape,
)
from core.shifts.spans import Shape, first_overlap
from core.weektime import WEEK, check_zone, minute_of_week, wall_instant

MAX_BYTES: Final = 1_000_000
MAX_EVENTS: Final = 500
ONCALL_CATEGORIES: Final = frozenset({"on-call", "oncall", "on call", "support"})
_BYDAY: Final = {code: i for i, code in enumerate(("MO", "TU", "WE", "TH", "FR", "SA", "SU"))}
_ALLOWED_RULE_PARTS: Final = frozenset({"FREQ", "BYDAY", "INTERVAL", "WKST"})
_NOT_SUPPORTED: Final = {
    "RDATE": "extra dates (RDATE)",
    "EXDATE": "skipped dates (EXDATE)",
    "EXRULE": "exception rules (EXRULE)",
    "RECURRENCE-ID": "a moved occurrence (RECURRENCE-ID)",
}
_SHOWN: Final = 60
"""Characters of a UID or SUMMARY quoted in a report."""


@record
class EventNote:
    """What happened to one event: a problem (nothing is saved) or why it was skipped."""

    line: int
    """The line of its BEGIN:VEVENT in the file."""
    uid: str
    summary: str
    """Both as the file has them, cut to 60 characters (outside text: show it literally)."""
    reason: str


@record
class IcsReport:
    added: int
    """Shifts saved (0 when there are problems)."""
    replaced: int
    """Shifts from earlier imports of the same UIDs, replaced."""
    skipped: tuple[EventNote, ...]
    problems: tuple[EventNote, ...]

    @property
    def saved(self) -> bool:
        return not self.problems


@record
class _Planned:
    note: EventNote
    uid: str
    """As the file has it (checked): what importing again matches."""
    kind: str
    shape: Shape


class _Problem(Exception):
    """One event's problem, as the report says it."""


class _Skipped(Exception):
    """The event makes no shift, and that is fine (over, cancelled)."""


_MINUTE: Final = timedelta(minutes=1)


def _text(value: object) -> str:
    """A UID or SUMMARY, cut and with control characters made visible, for a report."""
    shown = str(value or "")
    shown = "".join(ch if ch >= " " and ch != "\x7f" else "?" for ch in shown)
    return shown if len(shown) <= _SHOWN else shown[: _SHOWN - 1] + "…"


def _calendar(data: str | bytes) -> Calendar:
    if len(data) > MAX_BYTES:
        raise LimitExceeded(f"the calendar file is larger than {MAX_BYTES:,} bytes")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput("the calendar file is not UTF-8 text") from None
    try:
        found = Calendar.from_ical(data)
    except ValueError as exc:
        raise InvalidInput(f"the file is not an iCalendar file: {_text(exc)}") from None
    if not isinstance(found, Calendar) or found.name != "VCALENDAR":
        raise InvalidInput("the file is not an iCalendar file: it holds no VCALENDAR")
    return found


def _event_lines(data: str | bytes) -> list[int]:
    text = data.decode("utf-8-sig", "replace") if isinstance(data, bytes) else data
    return [
        number
        for number, line in enumerate(re.split(r"\r\n|\n|\r", text), start=1)
        if line.strip().upper() == "BEGIN:VEVENT"
    ]


def _zone_of(prop: Any, fallback: str) -> str:
    """The IANA zone of a DTSTART or DTEND: UTC for 'Z', ``fallback`` when floating."""
    tzid = prop.params.get("TZID")
    if tzid:
        name = str(tzid)
        name = WINDOWS_TO_OLSON.get(name, name)
        try:
            return check_zone(name)
        except InvalidInput:
            raise _Problem(f"its time zone TZID={_text(tzid)!r} is not one we know") from None
    moment = prop.dt
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        if moment.utcoffset() == timedelta(0):
            return "UTC"
        raise _Problem("its time has an offset but no named time zone (TZID)")
    return fallback


def _wall(prop: Any, what: str) -> datetime:
    moment = prop.dt
    if not isinstance(moment, datetime):
        if isinstance(moment, date):
            raise _Problem(f"its {what} is a date without a time: an all-day event is not a shift")
        raise _Problem(f"its {what} is not a date and time")
    return moment.replace(tzinfo=None, second=0, microsecond=0)


def _instant(wall: datetime, zone: str) -> datetime:
    return wall_instant(wall, ZoneInfo(zone))


def _kind(event: Component, default: str) -> str:
    prop = event.get("CATEGORIES")
    props = prop if isinstance(prop, list) else [prop] if prop is not None else []
    names = {str(c).strip().lower() for p in props for c in getattr(p, "cats", [])}
    return ONCALL if names & ONCALL_CATEGORIES else default


def _weekly_days(rule: Any, start: datetime) -> list[int]:
    """The days of a weekly RRULE, or _Problem naming what is not supported."""
    parts = {str(k).upper(): v for k, v in dict(rule).items()}
    freq = [str(f).upper() for f in parts.get("FREQ", [])]
    if freq != ["WEEKLY"]:
        shown = ",".join(freq) or "none"
        raise _Problem(f"its repeat rule is FREQ={shown}: only weekly rules (FREQ=WEEKLY) are")
    unsupported = sorted(set(parts) - _ALLOWED_RULE_PARTS)
    if unsupported:
        hint = " (a weekly shift has no end)" if {"COUNT", "UNTIL"} & set(unsupported) else ""
        raise _Problem(f"its repeat rule uses {', '.join(unsupported)}, not supported{hint}")
    interval = [int(i) for i in parts.get("INTERVAL", [1])]
    if interval != [1]:
        raise _Problem(f"its repeat rule has INTERVAL={interval[0]}: only every week is")
    days = []
    for code in parts.get("BYDAY", []):
        name = str(code).upper()
        if name not in _BYDAY:
            raise _Problem(f"its repeat rule has BYDAY={_text(name)}: only plain days (MO..SU) are")
        days.append(_BYDAY[name])
    return sorted(set(days)) or [start.weekday()]


def _plan(event: Component, zone: str, now: datetime) -> list[Shape]:
    """The shifts one event makes (none: skipped), or _Problem."""
    errors = getattr(event, "errors", None)
    if errors:
        name, why = errors[0]
        raise _Problem(f"its {name} cannot be read: {_text(why)}")
    for name, what in _NOT_SUPPORTED.items():
        if name in event:
            raise _Problem(f"it has {what}, which is not supported")
    if "DTSTART" not in event:
        raise _Problem("it has no start (DTSTART)")
    start_zone = _zone_of(event["DTSTART"], zone)
    start = _wall(event["DTSTART"], "start")
    first = _instant(start, start_zone)
    if "DTEND" in event:
        end_zone = _zone_of(event["DTEND"], start_zone)
        last = _instant(_wall(event["DTEND"], "end"), end_zone)
    elif "DURATION" in event:
        length = getattr(event["DURATION"], "dt", None)
        if not isinstance(length, timedelta):
            raise _Problem("its DURATION is not a length of time")
        last = first + length
    else:
        raise _Problem("it has no end (DTEND or DURATION)")
    if "RRULE" not in event:
        if first < last <= now:
            when = describe(Shape(start_zone, starts_at=first, ends_at=last))
            raise _Skipped(f"it is over ({when} {start_zone}): a past shift is not added")
        try:
            return [one_off_shape(start_zone, first, last, now)]
        except InvalidInput as exc:
            raise _Problem(str(exc)) from None
    rules = event["RRULE"]
    if isinstance(rules, list):
        raise _Problem("it has more than one repeat rule (RRULE)")
    days = _weekly_days(rules, start)
    # Wall minutes, as a weekly shift counts them: the event's end on the start's clock.
    minutes = round((last.astimezone(ZoneInfo(start_zone)).replace(tzinfo=None) - start) / _MINUTE)
    if not 0 < minutes <= WEEK:
        raise _Problem(f"it lasts {minutes} minutes: a weekly shift lasts from 1 minute to a week")
    time_of_day = minute_of_week(start) % 1440
    return [Shape(start_zone, day * 1440 + time_of_day, minutes) for day in days]


def _note(event: Component, line: int, reason: str = "") -> EventNote:
    return EventNote(line, _text(event.get("UID")), _text(event.get("SUMMARY")), reason)


def _plans(
    events: Sequence[Component], lines: Sequence[int], kind: str, zone: str, now: datetime
) -> tuple[list[_Planned], list[EventNote], list[EventNote]]:
    planned: list[_Planned] = []
    skipped: list[EventNote] = []
    problems: list[EventNote] = []
    seen: dict[str, int] = {}
    for index, event in enumerate(events):
        line = lines[index] if index < len(lines) else 0
        note = _note(event, line)
        try:
            if str(event.get("STATUS", "")).upper() == "CANCELLED":
                raise _Skipped("it is cancelled")
            uid = str(event.get("UID") or "")
            try:
                uid = values.text("a UID", uid, longest=255)
            except InvalidInput as exc:
                raise _Problem(f"its UID cannot be used: {exc}") from None
            if not uid:
                raise _Problem("it has no UID, which importing again needs to find it")
            if uid in seen:
                raise _Problem(f"its UID is also the event's on line {seen[uid]}")
            seen[uid] = line
            event_kind = _kind(event, kind)
            for shape in _plan(event, zone, now):
                planned.append(_Planned(note, uid, event_kind, shape))
        except _Skipped as why:
            skipped.append(_note(event, line, str(why)))
        except _Problem as why:
            problems.append(_note(event, line, str(why)))
    return planned, skipped, problems


def _overlaps(
    planned: Sequence[_Planned], kept: Sequence[sqlite3.Row], now: datetime
) -> list[EventNote]:
    """Each planned shift against the person's shifts that stay and the file's earlier ones."""
    problems = []
    others = [shift_from(r) for r in kept]
    for index, plan in enumerate(planned):
        clash = None
        for other in others:
            if other.kind == plan.kind and (met := first_overlap(plan.shape, other.shape, now)):
                clash = f"shift {other.id}, {other.when}", met
                break
        if clash is None:
            for earlier in planned[:index]:
                if earlier.kind != plan.kind:
                    continue
                met = first_overlap(plan.shape, earlier.shape, now)
                if met is not None:
                    clash = (
                        f"the event on line {earlier.note.line} ({describe(earlier.shape)})",
                        met,
                    )
                    break
        if clash is not None:
            what, met = clash
            zone = ZoneInfo(plan.shape.time_zone)
            problems.append(
                EventNote(
                    plan.note.line,
                    plan.note.uid,
                    plan.note.summary,
                    f"its {plan.kind} shift {describe(plan.shape)} ({plan.shape.time_zone})"
                    f" overlaps {what}, from {met.astimezone(zone).strftime('%Y-%m-%d %H:%M %Z')}:"
                    " one person's shifts of one kind cannot overlap",
                )
            )
    return problems


async def _replaced_in(
    tx: Tx, agent_id: int, uids: set[str]
) -> tuple[list[int], list[sqlite3.Row]]:
    """(ids of the person's shifts from these UIDs, the rows of those that stay)."""
    rows = await tx.fetchall(SELECT + " WHERE s.agent_id = ? ORDER BY s.id", (agent_id,))
    replaced = [r["id"] for r in rows if r["source"] == "ics" and r["ics_uid"] in uids]
    return replaced, [r for r in rows if r["id"] not in replaced]


async def import_ics(
    db: Database,
    actor: Actor,
    agent: str | int,
    data: str | bytes,
    *,
    kind: str = NORMAL,
    time_zone: str | None = None,
) -> IcsReport:
    """Import ``agent``'s shifts from the text of an .ics file (see the module's rules).

    ``time_zone`` is where floating times are (default: the account's, else UTC).
    """
    authorize(actor, Action.MANAGE_SHIFTS)
    kind = check_kind(kind)
    zone = check_zone(time_zone if time_zone is not None else await default_zone(db))
    calendar = _calendar(data)
    events = [c for c in calendar.subcomponents if c.name == "VEVENT"]
    if not events:
        raise InvalidInput("the calendar holds no events (VEVENT)")
    if len(events) > MAX_EVENTS:
        raise LimitExceeded(f"a calendar file holds at most {MAX_EVENTS} events")
    lines = _event_lines(data)
    async with db.transaction() as tx:
        now = from_ms(tx.now_ms)
        person = await agent_in(tx, agent)
        planned, skipped, problems = _plans(events, lines, kind, zone, now)
        uids = {p.uid for p in planned}
        replaced, kept = await _replaced_in(tx, person["id"], uids)
        problems += _overlaps(planned, kept, now)
        if len(kept) + len(planned) > MAX_SHIFTS:
            raise LimitExceeded(f"a person has at most {MAX_SHIFTS} shifts")
        if problems:
            problems.sort(key=lambda p: p.line)
            return IcsReport(0, 0, tuple(skipped), tuple(problems))
        for shift_id in replaced:
            await tx.execute("DELETE FROM shifts WHERE id = ?", (shift_id,))
            await tx.emit(
                "shift.removed", "shift", shift_id, actor_id=actor.id, agent_id=person["id"]
            )
        for plan in planned:
            await insert_in(tx, actor, person["id"], plan.kind, plan.shape, "ics", plan.uid)
    return IcsReport(len(planned), len(replaced), tuple(skipped), ())
