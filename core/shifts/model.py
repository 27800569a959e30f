"""A shift as stored and shown: who, which kind, and when (weekly minutes or two instants)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from core.clock import from_ms_or_none
from core.records import record
from core.shifts.spans import Shape
from core.weektime import WEEK, week_time

NORMAL: Final = "normal"
"""Messaging shifts: the new-chat alert and the reminders."""
ONCALL: Final = "oncall"
"""On-call / support shifts: the escalation."""
KINDS: Final = (NORMAL, ONCALL)


@record
class Shift:
    id: int
    agent_id: int
    username: str
    name: str
    """The staff member's full name, as stored (outside text: show it literally)."""
    kind: str
    time_zone: str
    start_minute: int | None
    minutes: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    source: str
    ics_uid: str | None

    @property
    def weekly(self) -> bool:
        return self.start_minute is not None

    @property
    def shape(self) -> Shape:
        return Shape(self.time_zone, self.start_minute, self.minutes, self.starts_at, self.ends_at)

    @property
    def when(self) -> str:
        """'weekly mon 18:00 to tue 08:00 (Europe/Paris)', 'once 2026-03-08 18:00 to ...'."""
        return f"{describe(self.shape)} ({self.time_zone})"


def describe(shape: Shape) -> str:
    if shape.start_minute is not None and shape.minutes is not None:
        start, end = shape.start_minute, shape.start_minute + shape.minutes
        if shape.minutes == WEEK:
            # Written as the same time twice, which reads like an empty shift.
            return f"weekly, the whole week from {' '.join(week_time(start))}"
        return f"weekly {' '.join(week_time(start))} to {' '.join(week_time(end))}"
    assert shape.starts_at is not None
    assert shape.ends_at is not None
    zone = ZoneInfo(shape.time_zone)
    shown = "%Y-%m-%d %H:%M"
    return (
        f"once {shape.starts_at.astimezone(zone).strftime(shown)}"
        f" to {shape.ends_at.astimezone(zone).strftime(shown)}"
    )


SELECT: Final = "SELECT s.*, a.username, a.name FROM shifts s JOIN agents a ON a.id = s.agent_id"


def shift_from(row: sqlite3.Row) -> Shift:
    return Shift(
        row["id"],
        row["agent_id"],
        row["username"],
        row["name"],
        row["kind"],
        row["time_zone"],
        row["start_minute"],
        row["minutes"],
        from_ms_or_none(row["starts_at"]),
        from_ms_or_none(row["ends_at"]),
        row["source"],
        row["ics_uid"],
    )
