"""W2: send budgets, token buckets kept in the database.

Providers limit throughput in message parts, not messages, so a budget is
counted in segments: a three-segment SMS costs three tokens. A bucket holds
at most one second's worth (at least one token) and refills at its rate.
Kept in SQLite (table send_budgets, a scope and a key), so a restart or a
second worker spends the same tokens instead of starting full.

Two scopes: SENDER (per number we send from, setting
rate_segments_per_second) and CAMPAIGN (per campaign, its own
rate_segments_per_second, spent besides its sender's: a campaign's pace
inside its number's). The outbox's claim spends them in the transaction that
takes the rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from core.db import Database, Tx

SENDER = "sender"
CAMPAIGN = "campaign"


def capacity(rate: float) -> float:
    """One second's allowance, and never less than one segment."""
    return max(rate, 1.0)


async def levels(db: Database | Tx, scope: str, rate: float, now_ms: int) -> dict[str, float]:
    """Tokens in each stored bucket of ``scope`` at ``now_ms``; a key not stored is full."""
    full = capacity(rate)
    return {
        row["key"]: min(full, row["tokens"] + max(now_ms - row["updated_at"], 0) / 1000 * rate)
        for row in await db.fetchall(
            "SELECT key, tokens, updated_at FROM send_budgets WHERE scope = ?", (scope,)
        )
    }


async def levels_of(
    db: Database | Tx, scope: str, rates: Mapping[str, float], now_ms: int
) -> dict[str, float]:
    """Tokens at ``now_ms`` in the buckets of ``scope`` named in ``rates``, each refilled
    at its own rate; a key not stored is full."""
    if not rates:
        return {}
    found = {key: capacity(rate) for key, rate in rates.items()}
    for row in await db.fetchall(
        "SELECT key, tokens, updated_at FROM send_budgets WHERE scope = ?"
        " AND key IN (SELECT value FROM json_each(?))",
        (scope, json.dumps(list(rates))),
    ):
        rate = rates[row["key"]]
        elapsed = max(now_ms - row["updated_at"], 0) / 1000
        found[row["key"]] = min(capacity(rate), row["tokens"] + elapsed * rate)
    return found


def needed(segments: int, rate: float) -> float:
    """Tokens a message must find in the bucket: a long one goes once the bucket is
    full and leaves it in debt, so it is slowed, never starved."""
    return min(float(segments), capacity(rate))


def wait_seconds(tokens: float, segments: int, rate: float) -> float:
    """Seconds until a bucket holding ``tokens`` can pay for ``segments``."""
    return max(needed(segments, rate) - tokens, 0.0) / rate


async def spend(
    tx: Tx,
    scope: str,
    spent: Mapping[str, float],
    before: Mapping[str, float],
    rate: float,
) -> None:
    """Take ``spent`` tokens from the buckets whose levels were ``before`` (one statement);
    a bucket missing from ``before`` was full at ``rate``."""
    if not spent:
        return
    full = capacity(rate)
    rows = json.dumps([[key, before.get(key, full) - cost] for key, cost in spent.items()])
    await tx.execute(
        "INSERT INTO send_budgets (scope, key, tokens, updated_at)"
        " SELECT ?, value ->> 0, value ->> 1, ? FROM json_each(?) WHERE true"
        " ON CONFLICT (scope, key) DO UPDATE SET tokens = excluded.tokens,"
        " updated_at = excluded.updated_at",
        (scope, tx.now_ms, rows),
    )
