"""The inbound hook that puts a new conversation in line for routing.

A message a person must answer, in a conversation nobody owns, on one of
our numbers that belongs to a queue: the conversation takes the number's
queue and is due for routing now (``jobs`` makes the offer). It is not
public while it is offered, but the public minutes start: if nobody accepts
in time it goes public as any unanswered conversation does, and its pending
offer is withdrawn. A conversation routed once keeps its queue and is not
routed again by a later message (a transfer to a queue routes it again).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from core.sms import inbound

_ROUTE = (
    "UPDATE conversations SET queue_id = n.queue_id, route_due_at = :now, is_public = 0,"
    " public_due_at = coalesce(public_due_at, :due)"
    " FROM numbers n WHERE conversations.id IN (SELECT value FROM json_each(:ids))"
    " AND n.id = conversations.number_id"
    " AND n.queue_id IS NOT NULL AND conversations.owner_id IS NULL"
    " AND conversations.queue_id IS NULL AND conversations.route_due_at IS NULL"
)


async def _route(message: inbound.Inbound) -> None:
    await _route_many([message])


async def _route_many(messages: Sequence[inbound.Inbound]) -> list[inbound.HookResult | None]:
    """One statement for a group: it shares its transaction's time and settings, and
    a conversation routed by one of its messages is not routed again by the next."""
    # A keyword is answered automatically: nobody has to.
    waiting = [m for m in messages if m.keyword is None]
    if waiting:
        first = waiting[0]
        now = first.tx.now_ms
        first.tx.defer(
            _ROUTE,
            {
                "now": now,
                "due": now + first.settings.public_minutes * 60_000,
                "ids": json.dumps([m.conversation_id for m in waiting]),
            },
        )
    return [None] * len(messages)


ROUTING = inbound.Hook("routing", _route, _route_many)
