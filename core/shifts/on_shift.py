"""Who is on shift at an instant: the question the alert sweep asks each run.

All shifts are read in one statement and resolved in Python: a weekly shift
holds the instant when the instant's minute of the shift's local week falls
inside it (the on-call slots' arithmetic, ``core.weektime``), a
one-off shift when the instant is between its two instants.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from core.clock import to_ms
from core.db import Database, Tx
from core.weektime import WEEK, minute_of_week

NORMAL: Final = "normal"
"""Messaging shifts: the new-chat alert and the reminders."""
ONCALL: Final = "oncall"
"""On-call / support shifts: the escalation."""
KINDS: Final = (NORMAL, ONCALL)


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
