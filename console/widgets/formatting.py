"""How times and waits read on screen."""

from __future__ import annotations

from datetime import datetime, timedelta


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
    """HH:MM today, else the date."""
    if instant is None:
        return ""
    local, today = instant.astimezone(), now.astimezone()
    return f"{local:%H:%M}" if local.date() == today.date() else f"{local:%b %d %H:%M}"
