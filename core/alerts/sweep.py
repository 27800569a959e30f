"""A3: the "staff_alerts" job, which sends each timeline's due steps.

One run takes the conversations whose ``alert_due_at`` has passed, in
chunks of one short transaction each (at most ``MAX_CONVERSATIONS``
conversations and about ``ROWS_PER_CHUNK`` alerts), so an agent's write
never waits long behind it. Per chunk, set-based: one read of the due
conversations, one insert of the ``staff_alerts`` rows (their UNIQUE key
refuses a second alert for the same person, step and timeline), the SMS
queued through the outbox (purpose ALERT, from the conversation's number,
one text per conversation and step so the outbox batches its recipients),
and one update advancing every timeline. A run killed between chunks has
lost nothing and, run again, sends nothing twice: each chunk's alerts and
its timelines' progress commit together.

Who is on shift, and of them who may be alerted, is asked once per run and
kind, at the run's start, not per conversation: 10,000 waiting chats are one run. A chat that
was taken, answered or closed meanwhile (``stopping`` normally ends it at
once) has its timeline ended here; with mobile alerts off every due
timeline ends, sending nothing.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from datetime import datetime
from typing import Final

from core import settings
from core.alerts import config, texts, timeline
from core.alerts.consent import alertable_in
from core.alerts.timeline import ESCALATION, Step
from core.clock import from_ms, to_ms
from core.db import Database, Tx
from core.delivery import outbox
from core.scheduling.jobs import Job
from core.shifts.on_shift import NORMAL, ONCALL, staff_on_shift_in

log = logging.getLogger("switchboard.alerts")

EVERY_SECONDS: Final = 1.0
"""The tick; ``next_due`` wakes the job when a step falls due, so this only catches
timelines started by another process (the webhook server's inbound messages)."""
MAX_CONVERSATIONS: Final = 200
ROWS_PER_CHUNK: Final = 2_000
"""Alerts written per transaction, about: each is an outbox row and a staff_alerts row."""

_DUE = (
    "SELECT c.id, c.alert_started_at AS started, c.alert_step AS step,"
    " (c.owner_id IS NULL AND c.waiting_since IS NOT NULL AND c.closed_at IS NULL) AS waiting,"
    " CASE WHEN n.sms = 1 THEN n.e164"
    "   ELSE (SELECT e164 FROM numbers WHERE is_default = 1 AND sms = 1) END AS sender,"
    " CASE WHEN :body THEN (SELECT body FROM messages WHERE id = c.last_inbound_id) END AS body"
    " FROM conversations c JOIN numbers n ON n.id = c.number_id"
    " WHERE c.alert_due_at <= :now ORDER BY c.alert_due_at, c.id LIMIT :limit"
)
_RECORD = (
    "INSERT INTO staff_alerts (conversation_id, agent_id, kind, step, started_at, created_at)"
    " SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, :now"
    " FROM json_each(:rows) WHERE true ON CONFLICT DO NOTHING"
    " RETURNING id, conversation_id, agent_id, step"
)
_LINK = (
    "UPDATE staff_alerts SET message_id = j.value ->> 1 FROM json_each(:pairs) AS j"
    " WHERE staff_alerts.id = j.value ->> 0"
)
_ADVANCE = (
    "UPDATE conversations SET alert_step = j.value ->> 1, alert_due_at = j.value ->> 2"
    " FROM json_each(:rows) AS j WHERE conversations.id = j.value ->> 0"
)


async def _alertable(db: Database, at: datetime, kind: str) -> dict[int, str]:
    return await alertable_in(db, await staff_on_shift_in(db, at, kind))


async def sweep(db: Database) -> int:
    """Send every due step of every running timeline; how many alerts were queued."""
    # Most ticks find nothing due: one read through the partial index, not the shifts.
    if not await db.fetchone(
        "SELECT 1 FROM conversations WHERE alert_due_at <= ? LIMIT 1", (to_ms(db.clock.now()),)
    ):
        return 0
    cfg = config.alert_settings(await settings.load(db))
    steps = timeline.plan(cfg.every, cfg.reminders, cfg.escalate_after)
    staff: dict[str, dict[int, str]] = {NORMAL: {}, ONCALL: {}}
    if cfg.on:
        at = db.clock.now()
        staff[NORMAL] = await _alertable(db, at, NORMAL)
        if any(s.kind == ESCALATION for s in steps):
            staff[ONCALL] = await _alertable(db, at, ONCALL)
    widest = max(len(found) for found in staff.values())
    per_chunk = max(1, min(MAX_CONVERSATIONS, ROWS_PER_CHUNK // max(widest, 1)))
    queued = 0
    while True:
        async with db.transaction() as tx:
            done, sent = await _chunk(tx, cfg, steps, staff, per_chunk)
        queued += sent
        if done < per_chunk:
            return queued


async def _chunk(
    tx: Tx,
    cfg: config.AlertSettings,
    steps: list[Step],
    staff: dict[str, dict[int, str]],
    limit: int,
) -> tuple[int, int]:
    """One chunk: (conversations handled, alerts queued)."""
    now = tx.now_ms
    rows = await tx.fetchall(
        _DUE, {"now": now, "limit": limit, "body": cfg.message_body and not cfg.hipaa}
    )
    progress: list[tuple[int, int, int | None]] = []
    alerts: list[tuple[int, int, str, int, int]] = []
    text_of: dict[tuple[int, int], tuple[str, str]] = {}
    for r in rows:
        started, step = r["started"], r["step"]
        if not (cfg.on and r["waiting"] and started is not None):
            progress.append((r["id"], step, None))
            continue
        due = timeline.due_now(steps, started, step, now)
        for index in timeline.worth_sending(steps, due):
            recipients = staff[ONCALL if steps[index].kind == ESCALATION else NORMAL]
            if not recipients or r["sender"] is None:
                continue
            text = texts.render(
                steps[index],
                conversation_id=r["id"],
                our_number=r["sender"],
                waited_minutes=(now - started) // timeline.MINUTE_MS,
                attempts=timeline.attempts_before(steps, index),
                body=r["body"],
                hipaa=cfg.hipaa,
            )
            text_of[(r["id"], index + 1)] = (r["sender"], text)
            alerts.extend(
                (r["id"], agent, steps[index].kind, index + 1, started) for agent in recipients
            )
        progress.append((r["id"], due.stop, timeline.due_at(steps, started, due.stop)))
    sent = await _send(tx, alerts, text_of, staff) if alerts else 0
    if progress:
        await tx.execute(_ADVANCE, {"rows": json.dumps(progress)})
    return len(rows), sent


async def _send(
    tx: Tx,
    alerts: list[tuple[int, int, str, int, int]],
    text_of: dict[tuple[int, int], tuple[str, str]],
    staff: dict[str, dict[int, str]],
) -> int:
    """Record ``alerts`` and queue one SMS for each recorded; how many were queued."""
    recorded = await tx.fetchall(_RECORD, {"now": tx.now_ms, "rows": json.dumps(alerts)})
    mobiles = {**staff[NORMAL], **staff[ONCALL]}
    by_sender: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    for a in sorted(recorded, key=lambda a: a["id"]):
        sender, text = text_of[(a["conversation_id"], a["step"])]
        by_sender[sender].append((a["id"], mobiles[a["agent_id"]], text))
    pairs: list[tuple[int, int]] = []
    for sender, items in by_sender.items():
        # One event per conversation and step below, not one per message: a chat
        # paging 500 staff would otherwise write 500 feed rows nobody reads apart.
        results = await outbox.queue_many(
            tx, outbox.ALERT, sender, [(mobile, text) for _, mobile, text in items], announce=False
        )
        for (alert_id, _, _), result in zip(items, results, strict=True):
            if isinstance(result, int):
                pairs.append((alert_id, result))
            else:  # a number that opted out since the run began: recorded, not sent
                log.info("staff alert %d not queued: %s", alert_id, result)
    if pairs:
        await tx.execute(_LINK, {"pairs": json.dumps(pairs)})
        sent = {alert_id for alert_id, _ in pairs}
        counts: dict[tuple[int, int], int] = defaultdict(int)
        for a in recorded:
            if a["id"] in sent:
                counts[(a["conversation_id"], a["step"])] += 1
        await tx.emit_many(
            "alert.queued",
            "conversation",
            [(c, {"step": step, "count": n}) for (c, step), n in sorted(counts.items())],
        )
    return len(pairs)


async def next_due(db: Database) -> datetime | None:
    due = await db.scalar(
        "SELECT min(alert_due_at) FROM conversations WHERE alert_due_at IS NOT NULL"
    )
    return None if due is None else from_ms(due)


def job(db: Database) -> Job:
    return Job("staff_alerts", EVERY_SECONDS, lambda: sweep(db), next_due=lambda: next_due(db))
