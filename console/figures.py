"""How the statistics read, the same in `switchboard stats` and the console's pane.

Plain Python (no Textual, no click): the command loads it without the UI.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.statistics import Figures
from core.weektime import wall_instant

COLUMNS: tuple[tuple[str, str], ...] = (
    # (heading, Figures attribute)
    ("Offered", "offered"),
    ("Accepted", "accepted"),
    ("Missed", "missed"),
    ("Handled", "handled"),
    ("Median 1st", "median_first_response"),
    ("p90 1st", "p90_first_response"),
    ("Sent", "messages_sent"),
    ("Segments", "segments_sent"),
)
"""The figure columns after the name; "1st" is the first-response time."""

DURATIONS = {"median_first_response", "p90_first_response"}


def duration(seconds: float | None) -> str:
    """A response time as people read it: 45s, 2m05s, 1h20m; "-" when there was none."""
    if seconds is None:
        return "-"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d{whole % 86400 // 3600:02d}h"


def cell(figures: Figures, attribute: str) -> str:
    value = getattr(figures, attribute)
    return duration(value) if attribute in DURATIONS else str(value)


def midnight(day: date, zone: ZoneInfo) -> datetime:
    """The start of ``day`` in the account's time zone (its days are the centre's)."""
    return wall_instant(datetime.combine(day, time()), zone)


def days_ending(last: date, days: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The ``days`` whole days of ``zone`` ending with ``last`` (included): [start, end)."""
    return (
        midnight(last - timedelta(days=days - 1), zone),
        midnight(last + timedelta(days=1), zone),
    )
