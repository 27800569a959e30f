"""What a failed attempt does to a row of either outbox (SMS ``messages``, ``emails``).

A failure that counts as an attempt, on a row that has used its attempts, fails
the row ("gave up after N attempts: <reason>"). Any other is queued again: after
the provider's retry_after when it gave one, else after a backoff of
base * 2^(attempts-1) seconds, capped; a failure that does not count (the
row was never handed over: the worker stopped first, or the mail server was down
for another email of the batch) gives its attempt back and keeps the row's last
error.
Both outboxes follow this one rule, set-based: two statements for a whole batch.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from functools import cache
from typing import Literal

from core.db import Tx
from core.records import record

Outbox = Literal["messages", "emails"]


@record
class Failure:
    """One failed attempt at a row being sent."""

    row_id: int
    reason: str
    retry_after: float | None
    counts_as_attempt: bool


@record
class Applied:
    """What ``apply`` did."""

    gave_up: list[sqlite3.Row]
    """Rows failed for good, with ``id`` and the columns asked for."""
    retrying: list[sqlite3.Row]
    """Rows queued again after a failure that counted, with ``id``, the columns asked
    for, ``attempts`` and ``next_attempt_at``."""


@cache
def _give_up(table: Outbox, returning: str) -> str:
    return f"""WITH r(id, reason) AS (SELECT value ->> 0, value ->> 1 FROM json_each(:batch)
    WHERE value ->> 3)
 UPDATE {table} SET status = 'failed',
  error = 'gave up after ' || {table}.attempts || ' attempts: ' || r.reason,
  lease_until = NULL, next_attempt_at = NULL, updated_at = :now
 FROM r WHERE {table}.id = r.id AND {table}.status = 'sending'
  AND {table}.attempts >= :max_attempts
 RETURNING {table}.id, {returning}"""


@cache
def _requeue(table: Outbox, returning: str) -> str:
    return f"""WITH r(id, reason, after, counts) AS (SELECT value ->> 0, value ->> 1,
    value ->> 2, value ->> 3 FROM json_each(:batch))
 UPDATE {table} SET status = 'queued', attempts = {table}.attempts - 1 + r.counts,
  next_attempt_at = :now + CAST(1000 * coalesce(r.after, min(:cap,
    :base * (1 << min(max({table}.attempts - 2 + r.counts, 0), 40)))) AS INTEGER),
  lease_until = NULL, error = CASE WHEN r.counts THEN r.reason ELSE error END,
  updated_at = :now
 FROM r WHERE {table}.id = r.id AND {table}.status = 'sending'
 RETURNING {table}.id, {returning}, attempts, next_attempt_at"""


async def apply(
    tx: Tx,
    table: Outbox,
    failures: Sequence[Failure],
    *,
    now: int,
    max_attempts: int,
    base: float,
    cap: float,
    returning: str,
) -> Applied:
    """Fail or requeue the rows of ``failures`` (see the module's doc); ``returning``
    names the further columns the caller's events need."""
    if not failures:
        return Applied([], [])
    batch = json.dumps(
        [[f.row_id, f.reason, f.retry_after, int(f.counts_as_attempt)] for f in failures]
    )
    params = {"batch": batch, "now": now, "max_attempts": max_attempts, "base": base, "cap": cap}
    gave_up = await tx.fetchall(_give_up(table, returning), params)
    counted = {f.row_id for f in failures if f.counts_as_attempt}
    requeued = await tx.fetchall(_requeue(table, returning), params)
    return Applied(gave_up, [r for r in requeued if r["id"] in counted])
