"""A3: a chat that is taken, answered or closed stops its alerts at once.

Its timeline ends (no step falls due any more) and the alerts it queued that
have not gone yet fail, saying why: a staff member paged for a chat that is
already taken would go looking for it. Set-based, in the caller's
transaction; every hand-over (``conversations.take_in``), an agent's reply
(``sending``) and a close (``notify.closing``) call it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Final

from core.db import Tx

TAKEN: Final = "not sent: the chat was taken"
ANSWERED: Final = "not sent: the chat was answered"
CLOSED: Final = "not sent: the chat was closed"


async def stop_in(tx: Tx, conversation_ids: Sequence[int], *, reason: str = TAKEN) -> int:
    """End the timelines of ``conversation_ids`` and fail their alerts still queued;
    how many alerts were failed."""
    if not conversation_ids:
        return 0
    ids = json.dumps(list(conversation_ids))
    await tx.execute(
        "UPDATE conversations SET alert_due_at = NULL"
        " WHERE id IN (SELECT value FROM json_each(?)) AND alert_due_at IS NOT NULL",
        (ids,),
    )
    failed = await tx.fetchall(
        "UPDATE messages SET status = 'failed', error = :reason, lease_until = NULL,"
        " next_attempt_at = NULL, updated_at = :now"
        " WHERE status = 'queued' AND id IN (SELECT a.message_id FROM staff_alerts a"
        "   WHERE a.conversation_id IN (SELECT value FROM json_each(:ids))"
        "   AND a.message_id IS NOT NULL)"
        " RETURNING id, purpose",
        {"reason": reason, "now": tx.now_ms, "ids": ids},
    )
    # The outbox's own failure event (ids and kinds only): consoles and audits see why.
    await tx.emit_many(
        "message.failed",
        "message",
        [(r["id"], {"conversation_id": None, "purpose": r["purpose"]}) for r in failed],
    )
    return len(failed)
