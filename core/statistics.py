"""Statistics (issue #10, item 8): per agent or per queue over a period.

At the top of core, not in core/routing/: the figures read across
capabilities (routing's offers, the conversations and messages of sms/, the
outbox's sent rows) and write nothing, like core/status.py does for the
worker. Only principals with the statistics right see them
(``Action.VIEW_STATISTICS``).

What each figure counts, in the period [start, end):

- offered, accepted, missed: offers made in the period (``offered_at``) and
  what became of them; missed is refused plus expired (a withdrawn offer is
  nobody's miss). By queue, an offer belongs to its own queue.
- handled: distinct conversations an agent replied in (an outbound
  conversation message they wrote, created in the period).
- first response: for each agent reply in the period that answers waiting
  messages, the time from the first inbound message since the previous agent
  reply (the first unanswered one) to that reply. Automatic messages
  (no author: opt-out confirmations, notices) answer nothing. Median (the
  mean of the two middle values when their number is even) and p90
  (nearest rank: the smallest value at least 90 % of them do not exceed).
- messages and segments sent: outbound messages an agent wrote (any
  purpose) that the provider took in the period (``sent_at``); by queue,
  those from the queue's conversations or numbers.

A conversation's queue is its own (routing sets it) or else its number's.
Rows with no queue are grouped under ``queue_id`` None ("no queue").

Each figure is one set-based statement; no Python loop walks conversations.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from core.clock import to_ms
from core.db import Database
from core.errors import InvalidInput
from core.people.authz import Action, Actor, authorize
from core.records import record

MAX_PERIOD = timedelta(days=366)
"""The longest period one report covers: a year, leap day included."""


class By(StrEnum):
    AGENT = "agent"
    QUEUE = "queue"


@record
class Figures:
    """One row: an agent's or a queue's figures over the period."""

    id: int | None
    """The agent's or queue's id; None is "no queue" when grouping by queue."""
    name: str
    offered: int = 0
    accepted: int = 0
    missed: int = 0
    handled: int = 0
    responses: int = 0
    """How many first responses the median and p90 are taken over."""
    median_first_response: float | None = None
    """Seconds; None when there was no first response in the period."""
    p90_first_response: float | None = None
    messages_sent: int = 0
    segments_sent: int = 0


@record
class Report:
    by: By
    start: datetime
    end: datetime
    rows: list[Figures]


def check_period(start: datetime, end: datetime) -> None:
    """Refuse a period that ends before it starts or is longer than MAX_PERIOD."""
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("a statistics period needs times with a time zone")
    if start >= end:
        raise InvalidInput(
            f"a statistics period must start before it ends (from {start:%Y-%m-%d %H:%M}"
            f" is not before to {end:%Y-%m-%d %H:%M})"
        )
    if end - start > MAX_PERIOD:
        raise InvalidInput(
            f"a statistics period is at most {MAX_PERIOD.days} days"
            f" (this one is {(end - start).days} days)"
        )


# A conversation's queue: the one routing gave it, else its number's.
_CONVERSATION_QUEUE = "coalesce(c.queue_id, n.queue_id)"

# Offers made in the period, by agent or by their queue (else the conversation's).
_OFFERS = """
SELECT {key} AS key, count(*) AS offered,
    sum(o.status = 'accepted') AS accepted,
    sum(o.status IN ('refused', 'expired')) AS missed
FROM offers o
JOIN conversations c ON c.id = o.conversation_id
JOIN numbers n ON n.id = c.number_id
WHERE o.offered_at >= :start AND o.offered_at < :end
GROUP BY key
"""
_OFFER_KEYS = {By.AGENT: "o.agent_id", By.QUEUE: f"coalesce(o.queue_id, {_CONVERSATION_QUEUE})"}

# Conversations answered: an agent's own outbound conversation message in the period.
_HANDLED = """
SELECT {key} AS key, count(DISTINCT m.conversation_id) AS handled
FROM messages m
JOIN conversations c ON c.id = m.conversation_id
JOIN numbers n ON n.id = c.number_id
WHERE m.direction = 'out' AND m.purpose = 'conversation' AND m.author_id IS NOT NULL
    AND m.created_at >= :start AND m.created_at < :end
GROUP BY key
"""
_KEYS = {By.AGENT: "m.author_id", By.QUEUE: _CONVERSATION_QUEUE}

# First responses: each agent reply in the period, the agent reply before it
# in its conversation, and the first inbound message between the two. Both
# lookups walk the index messages_conversation(conversation_id, id).
# The median is the mean of the middle one or two; p90 the nearest rank
# ceil(0.9 n), written (9n + 9) / 10 in integer arithmetic.
_FIRST_RESPONSES = """
WITH replies AS (
    SELECT m.id, m.conversation_id, m.author_id, m.created_at,
        (SELECT max(p.id) FROM messages p
         WHERE p.conversation_id = m.conversation_id AND p.id < m.id
           AND p.direction = 'out' AND p.author_id IS NOT NULL) AS previous_reply
    FROM messages m
    WHERE m.direction = 'out' AND m.purpose = 'conversation' AND m.author_id IS NOT NULL
        AND m.created_at >= :start AND m.created_at < :end
),
answered AS (
    SELECT r.*,
        (SELECT min(i.id) FROM messages i
         WHERE i.conversation_id = r.conversation_id AND i.direction = 'in'
           AND i.id > coalesce(r.previous_reply, 0) AND i.id < r.id) AS first_inbound
    FROM replies r
),
waits AS (
    SELECT {key} AS key, (m.created_at - i.created_at) / 1000.0 AS wait
    FROM answered a
    JOIN messages i ON i.id = a.first_inbound
    JOIN messages m ON m.id = a.id
    JOIN conversations c ON c.id = a.conversation_id
    JOIN numbers n ON n.id = c.number_id
),
ranked AS (
    SELECT key, wait,
        row_number() OVER (PARTITION BY key ORDER BY wait) AS rank,
        count(*) OVER (PARTITION BY key) AS total
    FROM waits
)
SELECT key, count(*) AS responses,
    avg(CASE WHEN rank IN ((total + 1) / 2, (total + 2) / 2) THEN wait END) AS median,
    max(CASE WHEN rank = (9 * total + 9) / 10 THEN wait END) AS p90
FROM ranked
GROUP BY key
"""
_RESPONSE_KEYS = {By.AGENT: "a.author_id", By.QUEUE: _CONVERSATION_QUEUE}

# What the provider took in the period, written by an agent. A message with no
# conversation (an alert, a campaign send) belongs to its sender number's queue.
_SENT = """
SELECT {key} AS key, count(*) AS messages, sum(m.segments) AS segments
FROM messages m
LEFT JOIN conversations c ON c.id = m.conversation_id
LEFT JOIN numbers n ON n.id = c.number_id
LEFT JOIN numbers s ON s.e164 = m.sender
WHERE m.direction = 'out' AND m.author_id IS NOT NULL
    AND m.sent_at >= :start AND m.sent_at < :end
GROUP BY key
"""
_SENT_KEYS = {By.AGENT: "m.author_id", By.QUEUE: "coalesce(c.queue_id, n.queue_id, s.queue_id)"}

NO_QUEUE = "(no queue)"


async def report(db: Database, actor: Actor, start: datetime, end: datetime, by: By) -> Report:
    """The figures of every agent (or queue) over [start, end), for one with the right."""
    authorize(actor, Action.VIEW_STATISTICS)
    check_period(start, end)
    period = {"start": to_ms(start), "end": to_ms(end)}
    names: dict[int | None, str] = {None: NO_QUEUE}
    rows: dict[int | None, Figures] = {}
    for row in await db.fetchall(_NAMES[by]):
        names[row["id"]] = row["name"]
        if row["shown"]:
            rows[row["id"]] = Figures(row["id"], row["name"])

    def merge(key: int | None, **figures: Any) -> None:
        found = rows.get(key) or Figures(key, names.get(key, f"#{key}"))
        rows[key] = replace(found, **figures)

    for row in await db.fetchall(_OFFERS.format(key=_OFFER_KEYS[by]), period):
        merge(row["key"], offered=row["offered"], accepted=row["accepted"], missed=row["missed"])
    for row in await db.fetchall(_HANDLED.format(key=_KEYS[by]), period):
        merge(row["key"], handled=row["handled"])
    for row in await db.fetchall(_FIRST_RESPONSES.format(key=_RESPONSE_KEYS[by]), period):
        merge(
            row["key"],
            responses=row["responses"],
            median_first_response=row["median"],
            p90_first_response=row["p90"],
        )
    for row in await db.fetchall(_SENT.format(key=_SENT_KEYS[by]), period):
        merge(row["key"], messages_sent=row["messages"], segments_sent=row["segments"])
    ordered = sorted(rows.values(), key=lambda f: (f.id is None, f.name.casefold(), f.id or 0))
    return Report(by, start, end, ordered)


# Names, and the rows shown even with nothing to count: active agents (an
# inactive one appears only with figures in the period), every queue.
_NAMES = {
    By.AGENT: "SELECT id, name, active AS shown FROM agents",
    By.QUEUE: "SELECT id, name, 1 AS shown FROM queues",
}
