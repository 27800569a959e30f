"""A3: the inbound hook that starts a chat's alert timeline.

A message a person must answer that begins a wait (the timing hook before
this one set ``waiting_since`` to this transaction's time) in a
conversation nobody owns, with no timeline running: the timeline starts now
and its first step, the new-chat alert, is due now (``sweep`` sends it). A
new conversation, one reopened after its close and one routed but not yet
accepted all count. A message in a chat that is already waiting starts
nothing: its timeline (or its finished one) stands.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from core.alerts import config
from core.sms import inbound

_START = (
    "UPDATE conversations SET alert_started_at = :now, alert_step = 0, alert_due_at = :now"
    " WHERE id IN (SELECT value FROM json_each(:ids)) AND waiting_since = :now"
    " AND owner_id IS NULL AND closed_at IS NULL AND alert_due_at IS NULL"
)


async def _start(message: inbound.Inbound) -> None:
    await _start_many([message])


async def _start_many(messages: Sequence[inbound.Inbound]) -> list[inbound.HookResult | None]:
    """One statement for a group: it shares its transaction's time and settings."""
    waiting = [m for m in messages if m.keyword is None]
    if waiting and config.alert_settings(waiting[0].settings).on:
        tx = waiting[0].tx
        tx.defer(
            _START, {"now": tx.now_ms, "ids": json.dumps([m.conversation_id for m in waiting])}
        )
    return [None] * len(messages)


STAFF_ALERTS = inbound.Hook("staff_alerts", _start, _start_many)
