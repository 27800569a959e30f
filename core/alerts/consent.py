"""A2: a staff member's mobile number and their own consent to alerts on it."""

from __future__ import annotations

import json
from collections.abc import Sequence

from core.db import Database, Tx


async def alertable_in(q: Database | Tx, agent_ids: Sequence[int]) -> dict[int, str]:
    """Of ``agent_ids``, those who may be alerted now, with their mobile number:
    active, a mobile number, "I permit SMS to this phone" ticked, the New Chat
    alert on, and the number not opted out (STOP from that phone still wins)."""
    if not agent_ids:
        return {}
    rows = await q.fetchall(
        "SELECT a.id, a.mobile FROM agents a"
        " WHERE a.id IN (SELECT value FROM json_each(?)) AND a.active = 1"
        " AND a.mobile IS NOT NULL AND a.sms_permitted_at IS NOT NULL AND a.new_chat_alerts = 1"
        " AND NOT EXISTS (SELECT 1 FROM phone_consent p WHERE p.phone = a.mobile"
        "   AND p.opted_out = 1)",
        (json.dumps(list(agent_ids)),),
    )
    return {r["id"]: r["mobile"] for r in rows}
