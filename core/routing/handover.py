"""What every change of hands does to routing, in the caller's transaction.

A conversation taken (by an agent, a take-over, a reply to a public one, an
accepted offer, a transfer) or gone public (the public minutes) has its
pending offer withdrawn at once, not at the routing sweep's next tick; and
an agent whose last open conversation (owned, not public) left them starts
their idle time (``activities.released_in``: the interaction timeout and
"longest idle" run from it).

Kept apart from ``offers`` so that ``core.sms.conversations``, which
``offers`` builds on, can call it without an import cycle.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Sequence

from core.db import Tx
from core.routing import activities


async def withdraw_in(tx: Tx, conversation_ids: Sequence[int]) -> int:
    """Withdraw the pending offers of ``conversation_ids`` (taken or handed on another way)."""
    if not conversation_ids:
        return 0
    rows = await tx.fetchall(
        "UPDATE offers SET status = 'withdrawn', answered_at = ? WHERE status = 'pending'"
        " AND conversation_id IN (SELECT value FROM json_each(?))"
        " RETURNING id, agent_id, conversation_id",
        (tx.now_ms, json.dumps(list(conversation_ids))),
    )
    await emit_rows(tx, "offer.withdrawn", rows)
    return len(rows)


async def emit_rows(tx: Tx, kind: str, rows: Sequence[sqlite3.Row]) -> None:
    """One ``offer.*`` event per offer row (id, agent_id, conversation_id)."""
    await tx.emit_many(
        kind,
        "offer",
        [
            (r["id"], {"agent_id": r["agent_id"], "conversation_id": r["conversation_id"]})
            for r in rows
        ],
    )


async def handed_over_in(
    tx: Tx, conversation_ids: Sequence[int], previous_owners: Collection[int | None]
) -> None:
    """``conversation_ids`` changed hands: their offers are withdrawn, and each of
    ``previous_owners`` left with no open conversation starts their idle time.

    ``previous_owners`` are those for whom a conversation was open until now
    (owned, not public): one already public had left its owner when it went
    public, and moving their idle time again would restart a rest that runs.
    """
    await withdraw_in(tx, conversation_ids)
    await activities.released_in(tx, {a for a in previous_owners if a is not None})
