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

from collections.abc import Sequence

from core.sms import inbound

_ROUTE = (
    "UPDATE conversations SET queue_id = n.queue_id, route_due_at = :now, is_public = 0,"
    " public_due_at = coalesce(public_due_at, :due)"
    " FROM numbers n WHERE conversations.id = :id AND n.id = conversations.number_id"
    " AND n.queue_id IS NOT NULL AND conversations.owner_id IS NULL"
    " AND conversations.queue_id IS NULL AND conversations.route_due_at IS NULL"
)


def _params(message: inbound.Inbound) -> dict[str, int]:
    now = message.tx.now_ms
    return {
        "now": now,
        "due": now + message.settings.public_minutes * 60_000,
        "id": message.conversation_id,
    }


async def _route(message: inbound.Inbound) -> None:
    if message.keyword is None:  # a keyword is answered automatically: nobody has to
        await message.tx.execute(_ROUTE, _params(message))


async def _route_many(messages: Sequence[inbound.Inbound]) -> list[inbound.HookResult | None]:
    waiting = [m for m in messages if m.keyword is None]
    if waiting:
        await waiting[0].tx.executemany(_ROUTE, [_params(m) for m in waiting])
    return [None] * len(messages)


ROUTING = inbound.Hook("routing", _route, _route_many)
