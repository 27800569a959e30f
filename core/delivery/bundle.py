"""A4: the monthly bundle. Every SMS segment the provider accepts counts, whatever it
is for (conversations, notices, alerts, campaigns, cases), per UTC calendar month.

The count (table bundle_usage) grows in the transaction that records messages
as sent (``outbox._sent``), by one statement per batch. What happens at 100 %
is the setting ``bundle_when_full``: "warn" keeps sending, "hold" makes the
outbox's claim send only staff alerts and STOP confirmations (``hold_in``).

``usage`` reads the three settings itself rather than through core.settings:
`switchboard status` shows the bundle, and stays clear of the settings'
machinery (phone numbers, keyword rules; tests/test_layering.py).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Final

from core.clock import from_ms, to_ms
from core.db import Database, Tx
from core.records import record

WARN: Final = "warn"
HOLD: Final = "hold"
WHEN_FULL: Final = (WARN, HOLD)
MOST_SEGMENTS: Final = 1_000_000_000
DEFAULT_WARN_PERCENT: Final = 80

HELD_PREFIX: Final = "held: the monthly bundle"
"""How a held row's error starts: the claim finds its own notes by it, and only those."""

ALWAYS_SENT_PURPOSE: Final = "alert"
ALWAYS_SENT_KIND: Final = "optout_confirmation"
"""Held back by nothing: a staff alert (someone waits), a STOP confirmation (the law)."""


@record
class Limits:
    segments: int
    """Segments bought per month; 0: no bundle."""
    warn_percent: int = DEFAULT_WARN_PERCENT
    when_full: str = WARN


@record
class Usage:
    month: str
    """'YYYY-MM', UTC."""
    used: int
    bundle: int
    """0: no bundle, so never a warning nor full."""
    percent: float | None
    warning: bool
    full: bool
    holding: bool
    """Full and set to hold: only alerts and STOP confirmations go until the month turns."""


def month_of(ms: int) -> str:
    return from_ms(ms).strftime("%Y-%m")


def next_month_ms(ms: int) -> int:
    """When the month of ``ms`` ends (UTC): when its count starts again from 0."""
    at = from_ms(ms)
    year, month = (at.year + 1, 1) if at.month == 12 else (at.year, at.month + 1)
    return to_ms(datetime(year, month, 1, tzinfo=UTC))


def held_reason(bundle: int, now_ms: int) -> str:
    turns = from_ms(next_month_ms(now_ms)).strftime("%Y-%m-%d")
    return (
        f"{HELD_PREFIX} of {bundle} segments is used up; it goes when the month turns"
        f" ({turns} 00:00 UTC) or the bundle grows"
    )


def compute(month: str, used: int, limits: Limits) -> Usage:
    bundle = limits.segments
    if bundle <= 0:
        return Usage(month, used, 0, None, False, False, False)
    full = used >= bundle
    return Usage(
        month,
        used,
        bundle,
        round(100 * used / bundle, 1),
        used * 100 >= bundle * limits.warn_percent,
        full,
        full and limits.when_full == HOLD,
    )


async def used_in(q: Database | Tx, month: str) -> int:
    row = await q.fetchone("SELECT segments FROM bundle_usage WHERE month = ?", (month,))
    return 0 if row is None else int(row["segments"])


async def count_sent(tx: Tx, segments: int) -> None:
    """Add ``segments`` just accepted by the provider to this month's count."""
    if segments <= 0:
        return
    await tx.execute(
        "INSERT INTO bundle_usage (month, segments) VALUES (?, ?)"
        " ON CONFLICT (month) DO UPDATE SET segments = segments + excluded.segments",
        (month_of(tx.now_ms), segments),
    )


def _read(raw: str | None, default: object) -> object:
    try:
        return default if raw is None else json.loads(raw)
    except ValueError:
        return default


async def limits(q: Database | Tx) -> Limits:
    """The bundle settings as stored. A value that breaks its rule (checked again here,
    as core.settings does on reading) counts as the default, as there."""
    rows = await q.fetchall(
        "SELECT key, value FROM settings"
        " WHERE key IN ('bundle_segments', 'bundle_warn_percent', 'bundle_when_full')"
    )
    stored = {r["key"]: r["value"] for r in rows}
    segments = _read(stored.get("bundle_segments"), 0)
    warn = _read(stored.get("bundle_warn_percent"), DEFAULT_WARN_PERCENT)
    when = _read(stored.get("bundle_when_full"), WARN)

    def whole(value: object, low: int, high: int) -> int | None:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        return value if ok and isinstance(value, int) else None

    return Limits(
        whole(segments, 0, MOST_SEGMENTS) or 0,
        whole(warn, 1, 100) or DEFAULT_WARN_PERCENT,
        when if isinstance(when, str) and when in WHEN_FULL else WARN,
    )


async def usage(db: Database) -> Usage:
    """This month's use of the bundle (the clock's month, UTC)."""
    month = month_of(to_ms(db.clock.now()))
    return compute(month, await used_in(db, month), await limits(db))


async def hold_in(tx: Tx, usage: Usage) -> tuple[list[sqlite3.Row], list[sqlite3.Row]]:
    """Park or release held rows before a claim picks its candidates; one statement.

    Holding: queued rows that are due and neither an alert nor a STOP
    confirmation get the reason in ``error`` and wait until the month turns
    (their due time moves there), so neither the claim nor the worker's
    wake-up (``outbox.next_sendable``) sees them again before then: no busy
    loop, and each row is written once. Not holding (the bundle grew, or
    "warn" chosen): rows parked this month are due again at once. Rows parked
    last month are due already; the claim clears their note when it takes them.

    Returns (held rows, released rows) for the caller's events.
    """
    now = tx.now_ms
    month_end = next_month_ms(now)
    if usage.holding:
        held = await tx.fetchall(
            "UPDATE messages SET next_attempt_at = :until, error = :why, updated_at = :now"
            " WHERE status = 'queued' AND next_attempt_at <= :now"
            " AND purpose != :alert AND kind != :confirmation"
            " RETURNING id, conversation_id, purpose",
            {
                "until": month_end,
                "why": held_reason(usage.bundle, now),
                "now": now,
                "alert": ALWAYS_SENT_PURPOSE,
                "confirmation": ALWAYS_SENT_KIND,
            },
        )
        return list(held), []
    released = await tx.fetchall(
        "UPDATE messages SET next_attempt_at = :now, error = NULL, updated_at = :now"
        " WHERE status = 'queued' AND next_attempt_at = :until AND error LIKE :prefix"
        " RETURNING id, conversation_id, purpose",
        {"until": month_end, "now": now, "prefix": HELD_PREFIX + "%"},
    )
    return [], list(released)
