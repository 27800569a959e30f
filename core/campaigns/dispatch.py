"""S1: the "campaigns" job, which moves due campaign targets into the outbox.

A run first makes running the scheduled campaigns whose start has come, then
takes each running campaign's due programmed targets in chunks of one short
transaction each (as ``core.alerts.sweep`` does). Per target, at send time:

- a target made from the campaign's live filter must still match it (today:
  its contact is still Ready), else it is skipped, saying so;
- a number that opted out since it was targeted is skipped ("opted out",
  counted by ``progress``);
- outside quiet hours its due time moves to the window's next opening in
  every zone the number may be in (one statement for the chunk), or it is
  skipped (zone unknown and the campaign skips those, or no common window);
- else its text is rendered (the one renderer, the template compiled once per
  run) and queued in the outbox, purpose CAMPAIGN, with ``campaign_id`` and,
  for provider batches, the template in Sinch's ``${name}`` form and this
  recipient's values.

The throttle itself is the outbox's (a campaign's budget in its claim). This
job only keeps the outbox short: it moves in about ``LOOKAHEAD_SECONDS`` of
the campaign's rate (never more than ``MAX_AHEAD`` segments, however fast the
rate), at least one message, so a pause takes effect within that time. A
campaign row still queued when its campaign stops running stays queued; the
claim leaves it until the campaign runs again.

Crash safety: a chunk's target states and outbox rows commit together, and a
target leaves 'programmed' in the transaction that queues it, so a run killed
between chunks, run again, queues nothing twice.

A running campaign with nothing left to dispatch (no target waiting or
programmed) and nothing left in the outbox (no row queued or sending)
finishes; its delivery reports keep coming in after that.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
from datetime import datetime
from typing import Final

from core import settings
from core.campaigns import fields, filters, optouts, quiet_hours
from core.clock import from_ms, to_ms
from core.db import Database, Tx
from core.delivery import outbox, placeholders
from core.errors import InvalidInput, OptedOut
from core.records import record
from core.scheduling.jobs import Job
from core.sms import outgoing, segments
from core.templates import Template, compile_template

log = logging.getLogger("switchboard.campaigns")

EVERY_SECONDS: Final = 1.0
LOOKAHEAD_SECONDS: Final = 5.0
"""How much of a campaign's rate may wait in the outbox: a pause holds back the rest."""
MAX_AHEAD: Final = 20_000
"""Segments of one campaign in the outbox at most, whatever its rate: with the throttle
off a pause still holds back all but this, and the room is read from this many rows."""
ROWS_PER_CHUNK: Final = 1_000
"""Targets read per transaction, at most."""

NO_LONGER_MATCHES: Final = "no longer matches the campaign's filter"
OPTED_OUT: Final = "opted out"

# Every row costs at least one segment, so past :ahead rows there is no room whatever
# the rest: the read is bounded by the room, not by the campaign's size.
_NEEDS_ROOM = (
    "SELECT coalesce(sum(segments), 0) FROM (SELECT segments FROM messages"
    " WHERE campaign_id = :campaign AND status IN ('queued', 'sending') LIMIT :ahead)"
)
# The due index walked in due order; "+" keeps SQLite from the per-campaign state
# index, which would read every programmed target to find the due ones.
_DUE = (
    "SELECT t.id, t.contact_id, t.phone, t.merge_values,"
    " c.name, c.job_title, c.email, c.custom"
    " FROM campaign_targets t LEFT JOIN contacts c ON c.id = t.contact_id"
    " WHERE t.state = 'programmed' AND t.due_at <= :now AND +t.campaign_id = :campaign"
    " ORDER BY t.due_at, t.id LIMIT :limit"
)
_MOVE = (
    "UPDATE campaign_targets SET state = j.value ->> 1, due_at = j.value ->> 2,"
    " reason = j.value ->> 3, message_id = j.value ->> 4, updated_at = :now"
    " FROM json_each(:rows) AS j"
    " WHERE campaign_targets.id = j.value ->> 0 AND campaign_targets.state = 'programmed'"
)


@record
class Campaign:
    """What dispatch needs of a running campaign."""

    id: int
    sender: str
    template: str
    filter: str | None
    rate: float
    window: quiet_hours.Window
    unknown_zone: str


@record
class Compiled:
    template: Template
    batch_form: str | None
    """The template in Sinch's ``${name}`` form; None when its text cannot be put so."""


def batch_form(template: Template) -> str | None:
    """``template`` with each field in the provider's placeholder form
    (``core.delivery.placeholders``); None when a field's name cannot be one. The
    outbox checks each row's template and values against its body, so a text whose
    own characters would read as a placeholder is sent alone, never garbled."""
    parts: list[str] = []
    for piece in template.pieces:
        if isinstance(piece, str):
            parts.append(piece)
        else:
            try:
                parts.append(placeholders.placeholder(piece.name))
            except ValueError:
                return None
    return "".join(parts)


class Dispatcher:
    """The job's state between runs: which consent changes were attributed already."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._attributed_upto: int | None = None

    async def run(self) -> int:
        """One run: start, attribute opt-outs, dispatch, finish; targets handled."""
        db = self.db
        await start_due(db)
        self._attributed_upto = await optouts.attribute(db, self._attributed_upto)
        config = await settings.load(db)
        handled = 0
        for campaign in await _running_with_due(db):
            compiled = await _compile(db, campaign)
            if compiled is not None:
                handled += await _dispatch(db, campaign, compiled, config)
        await finish_done(db)
        return handled

    async def next_due(self) -> datetime | None:
        return await next_due(self.db)


async def start_due(db: Database) -> list[int]:
    """Scheduled campaigns whose start has come are running now."""
    async with db.transaction() as tx:
        rows = await tx.fetchall(
            "UPDATE campaigns SET status = 'running', started_at = coalesce(started_at, :now),"
            " updated_at = :now WHERE status = 'scheduled' AND starts_at <= :now RETURNING id",
            {"now": tx.now_ms},
        )
        await tx.emit_many("campaign.started", "campaign", [(r[0], {}) for r in rows])
    return [r[0] for r in rows]


async def finish_done(db: Database) -> list[int]:
    """Running campaigns with nothing left to dispatch or send are finished."""
    # Set-based, over every running campaign: the job asks once a run, not per campaign.
    async with db.transaction() as tx:
        rows = await tx.fetchall(
            "UPDATE campaigns SET status = 'finished', finished_at = :now, updated_at = :now"
            " WHERE status = 'running' AND NOT EXISTS (SELECT 1 FROM campaign_targets t"
            "   WHERE t.campaign_id = campaigns.id AND t.state IN ('waiting', 'programmed'))"
            " AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.campaign_id = campaigns.id"
            "   AND m.status IN ('queued', 'sending')) RETURNING id",
            {"now": tx.now_ms},
        )
        await tx.emit_many("campaign.finished", "campaign", [(r[0], {}) for r in rows])
    return [r[0] for r in rows]


async def _running_with_due(db: Database) -> list[Campaign]:
    rows = await db.fetchall(
        "SELECT id, sender, template, filter, rate_segments_per_second AS rate, window_start,"
        " window_end, unknown_zone FROM campaigns c WHERE status = 'running'"
        " AND EXISTS (SELECT 1 FROM campaign_targets t WHERE t.state = 'programmed'"
        "   AND t.due_at <= :now AND +t.campaign_id = c.id) ORDER BY id",
        {"now": to_ms(db.clock.now())},
    )
    return [
        Campaign(
            r["id"],
            r["sender"],
            r["template"],
            r["filter"],
            r["rate"],
            quiet_hours.Window(r["window_start"], r["window_end"]),
            r["unknown_zone"],
        )
        for r in rows
    ]


async def _compile(db: Database, campaign: Campaign) -> Compiled | None:
    try:
        template = compile_template(campaign.template, await fields.fields_in(db, campaign.id))
    except InvalidInput as refused:
        # Checked when the campaign was saved; a CSV column or custom field it used
        # has gone since. Nothing is sent until the template is fixed.
        log.warning("campaign %d not dispatched: its template: %s", campaign.id, refused)
        return None
    return Compiled(template, batch_form(template))


async def _dispatch(
    db: Database, campaign: Campaign, compiled: Compiled, config: settings.Settings
) -> int:
    handled = 0
    while True:
        async with db.transaction() as tx:
            done, more = await _chunk(tx, campaign, compiled, config)
        handled += done
        if not more:
            return handled


async def _chunk(
    tx: Tx, campaign: Campaign, compiled: Compiled, config: settings.Settings
) -> tuple[int, bool]:
    """One chunk: (targets handled, whether more may be due)."""
    now = tx.now_ms
    status = await tx.scalar("SELECT status FROM campaigns WHERE id = ?", (campaign.id,))
    if status != "running":  # paused or cancelled since the run began
        return 0, False
    # Every row in the outbox holds its place in the campaign's few seconds of room.
    ahead = min(campaign.rate * LOOKAHEAD_SECONDS, MAX_AHEAD)
    queued = await tx.scalar(_NEEDS_ROOM, {"campaign": campaign.id, "ahead": math.ceil(ahead)})
    room = ahead - queued
    if room <= 0:
        return 0, False
    # Read a full chunk whatever the room: quiet hours may move most of it on.
    limit = ROWS_PER_CHUNK
    rows = await tx.fetchall(_DUE, {"now": now, "campaign": campaign.id, "limit": limit})
    if not rows:
        return 0, False
    moves: list[tuple[int, str, int | None, str | None, int | None]] = []
    matching: set[int] | None = None
    if campaign.filter is not None:
        ids = [r["contact_id"] for r in rows if r["contact_id"] is not None]
        # A campaign with a live filter: every contact target must still match it when
        # due, however it was added (a CSV row without a contact has nothing to check).
        matching = await filters.matches_in(tx, filters.from_json(campaign.filter), ids)
    consented = await tx.fetchall(
        "SELECT phone, opted_out FROM phone_consent WHERE (opted_out = 1"
        " OR notice_sent_at IS NOT NULL) AND phone IN (SELECT value FROM json_each(?))",
        (json.dumps([r["phone"] for r in rows]),),
    )
    opted = {r[0] for r in consented if r[1]}
    # A number not yet told how to opt out gets the line with this text (the
    # outbox adds it): counted here with it, so the room is what will be queued
    # and the outbox need not count the text again.
    noticed = {r[0] for r in consented if not r[1]}
    counted: dict[str, segments.SegmentCount] = {}
    planner = quiet_hours.Planner(
        campaign.window, campaign.unknown_zone, config.time_zone, from_ms(now)
    )
    # Read once a chunk: the property walks the template each time it is asked.
    used_names = [f.name for f in compiled.template.fields_used]
    sendable: list[tuple[sqlite3.Row, str, dict[str, str]]] = []
    spent = 0
    throttled = False
    for r in rows:
        if matching is not None and r["contact_id"] is not None and r["contact_id"] not in matching:
            moves.append((r["id"], "skipped", None, NO_LONGER_MATCHES, None))
            continue
        if r["phone"] in opted:
            moves.append((r["id"], "skipped", None, OPTED_OUT, None))
            continue
        when = planner.when(r["phone"])
        if isinstance(when, quiet_hours.Skip):
            moves.append((r["id"], "skipped", None, when.reason, None))
            continue
        if to_ms(when) > now:
            moves.append((r["id"], "programmed", to_ms(when), None, None))
            continue
        if throttled:
            continue  # stays programmed and due: the next run, when there is room
        values = fields.values_for(
            r if r["contact_id"] is not None else None, r["phone"], r["merge_values"]
        )
        try:
            text = compiled.template.render(values)
        except InvalidInput as refused:
            moves.append((r["id"], "skipped", None, str(refused), None))
            continue
        # Rendered length decides: up to the campaign's room, but at least one.
        line = None if r["phone"] in noticed else config.optout_notice
        sent_as = outgoing.with_notice(text, line)
        count = counted[sent_as] = segments.count(sent_as)
        cost = max(count.segments, 1)
        if sendable and spent + cost > room:
            throttled = True
            continue
        spent += cost
        used = {name: values.get(name, "") for name in used_names}
        sendable.append((r, text, used))
    if sendable:
        moves.extend(await _queue(tx, campaign, compiled, sendable, counted))
    if moves:
        await tx.execute(_MOVE, {"rows": json.dumps(moves), "now": now})
        counts = {"queued": 0, "skipped": 0, "deferred": 0}
        for m in moves:
            counts["deferred" if m[1] == "programmed" else m[1]] += 1
        await tx.emit("campaign.dispatched", "campaign", campaign.id, **counts)
    return len(moves), len(rows) == limit and not throttled


async def _queue(
    tx: Tx,
    campaign: Campaign,
    compiled: Compiled,
    sendable: list[tuple[sqlite3.Row, str, dict[str, str]]],
    counted: dict[str, segments.SegmentCount],
) -> list[tuple[int, str, int | None, str | None, int | None]]:
    """Queue ``sendable`` (target row, text, the values its fields used); each target's
    move. Rows sharing the campaign's template go to the provider as one batch with
    per-recipient values (``outbox.queue_many``'s ``batch``)."""
    batch = None
    if compiled.batch_form is not None:
        batch = (compiled.batch_form, [used for _, _, used in sendable])
    results = await outbox.queue_many(
        tx,
        outbox.CAMPAIGN,
        campaign.sender,
        [(r["phone"], text) for r, text, _ in sendable],
        announce=False,
        campaign_id=campaign.id,
        batch=batch,
        counted=counted,
    )
    moves: list[tuple[int, str, int | None, str | None, int | None]] = []
    for (target, _, _), result in zip(sendable, results, strict=True):
        if isinstance(result, OptedOut):
            moves.append((target["id"], "skipped", None, OPTED_OUT, None))
        elif not isinstance(result, int):
            moves.append((target["id"], "skipped", None, str(result), None))
        else:
            moves.append((target["id"], "queued", None, None, result))
    return moves


async def next_due(db: Database) -> datetime | None:
    """The earliest due target of a running campaign, or start of a scheduled one."""
    due = await db.scalar(
        "SELECT min(at) FROM (SELECT min(starts_at) AS at FROM campaigns"
        "   WHERE status = 'scheduled'"
        " UNION ALL SELECT * FROM (SELECT t.due_at FROM campaign_targets t"
        "   WHERE t.state = 'programmed' AND +t.campaign_id IN"
        "   (SELECT id FROM campaigns WHERE status = 'running') ORDER BY t.due_at LIMIT 1))"
    )
    return None if due is None else from_ms(due)


def job(db: Database) -> Job:
    dispatcher = Dispatcher(db)
    return Job("campaigns", EVERY_SECONDS, dispatcher.run, next_due=dispatcher.next_due)
