"""Time, injected. Services and the worker take a Clock; tests move a FakeClock.

The database stores instants as integer milliseconds since the Unix epoch
(UTC): they compare and index cheaply, and due-time sweeps are one range scan.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | None = None, /, **kwargs: float) -> datetime:
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now

    def set(self, instant: datetime) -> None:
        self._now = instant


def to_ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    """The instant in a NOT NULL column. A NULL there is a damaged row: say so."""
    if ms is None:
        raise ValueError("a time the database must hold is missing (NULL)")
    return datetime.fromtimestamp(ms / 1000, UTC)


def from_ms_or_none(ms: int | None) -> datetime | None:
    """The instant in a nullable column (sent_at, public_due_at ...), None when unset."""
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)
