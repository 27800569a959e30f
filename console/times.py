"""How times and waits read, on screen and in the CLI's lines: in the account's time zone
(``core.account_zone``; the console's ``ConsoleContext.zone``), not the machine's, which
over SSH is the server's and not its users'. ``--json`` keeps ISO 8601 in UTC."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.account_zone import zoned


def wait_text(wait: timedelta | None) -> str:
    """'—' when answered, else 45s, 12m, 3h05, 2d."""
    if wait is None:
        return "—"
    seconds = max(int(wait.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}"
    return f"{seconds // 86400}d"


def clock_text(instant: datetime | None, now: datetime) -> str:
    """HH:MM today, else the date; in ``now``'s zone (``ConsoleContext.now``)."""
    if instant is None:
        return ""
    local = instant.astimezone(now.tzinfo)
    return f"{local:%H:%M}" if local.date() == now.date() else f"{local:%b %d %H:%M}"


def stamp(instant: datetime, zone: ZoneInfo) -> str:
    """The date and time, to the minute, in ``zone``."""
    return f"{instant.astimezone(zone):%Y-%m-%d %H:%M}"


def zoned_stamp(instant: datetime | None, zone: ZoneInfo) -> str:
    """``stamp`` and the zone's abbreviation, where a line stands alone (the CLI): "-" for
    no time."""
    return "-" if instant is None else zoned(instant, zone)


def day_stamp(instant: datetime, zone: ZoneInfo) -> str:
    """The day and time without the year (a table's narrow column), in ``zone``."""
    return f"{instant.astimezone(zone):%b %d %H:%M}"
