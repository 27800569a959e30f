"""S1: the "campaigns" job, which moves due campaign targets into the outbox.

A run first makes running the scheduled campaigns whose start has come, then
takes each running campaign's due programmed targets in chunks of one short
transaction each (as ``core.alerts.sweep`` does). A chunk is worked out a
PIECE at a time, and each piece's moves are sent ahead (``Tx.send_ahead``):
SQLite writes one piece while Python works out the next, in the same
transaction; the batch rows they point at are written when the chunk is
done. Per target, at send time:

- a target made from the campaign's live filter must still match it (today:
  its contact is still Ready), else it is skipped, saying so;
- a number that opted out since it was targeted is skipped ("opted out",
  counted by ``progress``);
- outside quiet hours its due time moves to the window's next opening in
  every zone the number may be in (one statement for the chunk), or it is
  skipped (zone unknown and the campaign skips those, or no common window);
- a number that is one of ours, or a text that renders empty, is skipped;
- else its text is rendered (the one renderer; the template compiled once and
  kept while the fields it uses are still found) and its segments counted,
  and it is queued: targets the campaign's template can reach through the
  provider's ``${name}`` placeholders go in batch rows (schema 14: one outbox
  row, purpose CAMPAIGN, for up to BATCH_RECIPIENTS of them, holding each
  one's values; schema 16), each target keeping its segments, the ledger its
  delivery reports land on; any other goes in an outbox row of its own, as
  its rendered text.

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
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from core import settings
from core.campaigns import counting, fields, filters, optouts, quiet_hours
from core.clock import from_ms, to_ms
from core.db import Database, Tx
from core.delivery import outbox, placeholders
from core.errors import InvalidInput, OptedOut
from core.records import record
from core.scheduling.jobs import Job
from core.sms import outgoing, segments
from core.templates import Template

log = logging.getLogger("switchboard.campaigns")

EVERY_SECONDS: Final = 1.0
LOOKAHEAD_SECONDS: Final = 5.0
"""How much of a campaign's rate may wait in the outbox: a pause holds back the rest."""
MAX_AHEAD: Final = 20_000
"""Segments of one campaign in the outbox at most, whatever its rate: with the throttle
off a pause still holds back all but this, and the room is read from this many rows."""
ROWS_PER_CHUNK: Final = 1_000
"""Targets read per transaction, at most."""
PIECE: Final = 250
"""Targets worked out at a time within a chunk: each piece's writes are sent ahead, so
SQLite writes one piece while Python works out the next."""

NO_LONGER_MATCHES: Final = "no longer matches the campaign's filter"
OPTED_OUT: Final = outbox.TARGET_OPTED_OUT
OUR_NUMBER: Final = "{} is one of our own numbers; a message cannot go to it"
EMPTY: Final = "the message is empty"
_NONE: Final = (None,)
"""A move's message, for a target that is not queued."""

# Every row costs at least one segment, so past :ahead rows there is no room whatever
# the rest: the read is bounded by the room, not by the campaign's size.
_QUEUED = (
    "SELECT coalesce(sum(segments), 0) FROM (SELECT segments FROM messages"
    " WHERE campaign_id = :campaign AND status IN ('queued', 'sending') LIMIT :ahead)"
)
# What the chunk needs of the campaign, in one row: still running, the highest message
# ID (the batch rows take the IDs after it), and the room its queued rows leave.
_STATE = (
    "SELECT status, (SELECT coalesce(max(id), 0) FROM messages), (" + _QUEUED + ")"
    " FROM campaigns WHERE id = :campaign"
)


def _due(where: str | None, values: str) -> str:
    """The due targets, each with its values (``fields.Reader.columns``) and what
    decides it at send time: whether its contact
    still matches the live filter (``where``, over contacts ``c``, its parameters named;
    None: no filter), its number's consent, and whether the number is one of ours. The
    due index walked in due order; "+" keeps SQLite from the per-campaign state index,
    which would read every programmed target to find the due ones."""
    # A target without a contact (a CSV row) has nothing to check; one whose contact
    # is gone no longer matches.
    matches = (
        "1"
        if where is None
        else f"CASE WHEN t.contact_id IS NULL THEN 1 WHEN c.id IS NULL THEN 0"
        f" ELSE coalesce(({where}), 0) END"
    )
    return (
        f"SELECT t.id, t.contact_id, t.phone{values},"
        f" {matches} AS matches, coalesce(pc.opted_out, 0) AS opted_out,"
        " pc.notice_sent_at IS NOT NULL AS noticed,"
        " EXISTS (SELECT 1 FROM numbers n WHERE n.e164 = t.phone) AS ours"
        " FROM campaign_targets t LEFT JOIN contacts c ON c.id = t.contact_id"
        " LEFT JOIN phone_consent pc ON pc.phone = t.phone"
        " WHERE t.state = 'programmed' AND t.due_at <= :now AND +t.campaign_id = :campaign"
        # No room (a paced campaign's few seconds are queued): nothing is read.
        " AND (" + _QUEUED + ") < :ahead"
        " ORDER BY t.due_at, t.id LIMIT :limit"
    )


_MOVE = (
    "UPDATE campaign_targets SET state = j.value ->> 1, due_at = j.value ->> 2,"
    " reason = j.value ->> 3, message_id = j.value ->> 4, updated_at = :now"
    " FROM json_each(:rows) AS j"
    " WHERE campaign_targets.id = j.value ->> 0 AND campaign_targets.state = 'programmed'"
)
# Most of a chunk: targets that join one batch row with one segment count, moved by a
# statement that sets the same columns on each (the values are on the batch row).
_JOIN = (
    "UPDATE campaign_targets SET state = 'queued', due_at = NULL, reason = NULL,"
    " message_id = :batch, segments = :segments, updated_at = :now"
    " WHERE id IN (SELECT value FROM json_each(:ids)) AND state = 'programmed'"
)
BATCH_RECIPIENTS: Final = 1_000
"""Targets in one batch row at most: what one Sinch batch (and the sandbox's) takes."""
BATCH_SECONDS: Final = 0.2
"""A batch row carries at most this much of the campaign's (and its sender's) rate, at
least one target: the claim takes a row whole, so a paced campaign goes in small
steps, and with the throttle off a batch is a full provider batch."""

Move = tuple[int, str, int | None, str | None, int | None]
"""A target's move: (id, state, due_at, reason, message_id)."""


@record
class _Sendable:
    target: sqlite3.Row
    used: dict[str, str]
    """The values of the fields the template uses."""
    count: segments.SegmentCount
    """Of the text as sent (the opt-out line included)."""
    line: str | None
    """The opt-out line this number still needs, or None."""


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
    reader: fields.Reader
    """The values of the fields it uses, per target."""
    counter: counting.Counter
    """Its texts' segments, counted once per shape of their values."""


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
    form = "".join(parts)
    # Literal text that reads as a placeholder ("${", or "$" before one) cannot go so.
    return form if placeholders.safe(form) else None


class Dispatcher:
    """The job's state between runs: which consent changes were attributed already."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._attributed_upto: int | None = None
        self._compiled: dict[int, Compiled] = {}
        """Per campaign, its template as last compiled: kept while its text stands and
        the fields it uses are still found (``fields.still_found``)."""

    async def run(self) -> int:
        """One run: start, attribute opt-outs, dispatch, finish; targets handled."""
        db = self.db
        await start_due(db)
        self._attributed_upto = await optouts.attribute(db, self._attributed_upto)
        config = await settings.load(db)
        handled = 0
        for campaign in await _running_with_due(db):
            compiled = await self._compile(campaign)
            if compiled is not None:
                handled += await _dispatch(db, campaign, compiled, config)
        await finish_done(db)
        return handled

    async def next_due(self) -> datetime | None:
        return await next_due(self.db)

    async def _compile(self, campaign: Campaign) -> Compiled | None:
        # Kept: a run then asks one query (still_found) instead of compiling again. When
        # compiling read every key of every contact, that was a third of a dispatch.
        kept = self._compiled.get(campaign.id)
        if (
            kept is not None
            and kept.template.source == campaign.template
            and await fields.still_found(self.db, campaign.id, kept.template.fields_used)
        ):
            return kept
        compiled = await _compile(self.db, campaign)
        if compiled is None:
            self._compiled.pop(campaign.id, None)
        else:
            self._compiled[campaign.id] = compiled
        return compiled


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
        template = await fields.compiled(db, campaign.id, campaign.template)
    except InvalidInput as refused:
        # Checked when the campaign was saved; a CSV column or custom field it used
        # has gone since. Nothing is sent until the template is fixed.
        log.warning("campaign %d not dispatched: its template: %s", campaign.id, refused)
        return None
    counter = counting.Counter(template)
    return Compiled(template, batch_form(template), fields.Reader(counter.names), counter)


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
    # Targets point at batch rows written when the chunk is done: checked at COMMIT.
    tx.defer("PRAGMA defer_foreign_keys = ON")
    # Every row in the outbox holds its place in the campaign's few seconds of room.
    ahead = min(campaign.rate * LOOKAHEAD_SECONDS, MAX_AHEAD)
    where, params = (
        (None, {})
        if campaign.filter is None
        else filters.to_sql(filters.from_json(campaign.filter))
    )
    # Read a full chunk whatever the room (quiet hours may move most of it on), in the
    # trip that reads the campaign's state.
    limit = ROWS_PER_CHUNK
    given = {"campaign": campaign.id, "ahead": math.ceil(ahead), "now": now, "limit": limit}
    due = _due(where, compiled.reader.columns)
    state, rows = await tx.fetchall_each((_STATE, given), (due, {**params, **given}))
    if not state or state[0][0] != "running":  # paused or cancelled since the run began
        return 0, False
    last_id: int = state[0][1]
    room = ahead - state[0][2]
    if room <= 0 or not rows:
        return 0, False
    planner = quiet_hours.Planner(
        campaign.window, campaign.unknown_zone, config.time_zone, from_ms(now)
    )
    cap = max(min(campaign.rate, config.rate_segments_per_second) * BATCH_SECONDS, 1.0)
    queue = _Queue(tx, campaign, compiled, cap, last_id)
    counts = {"queued": 0, "skipped": 0, "deferred": 0}
    spent = 0
    throttled = False
    for first in range(0, len(rows), PIECE):
        moves: list[Move] = []
        sendable: list[_Sendable] = []
        for r in rows[first : first + PIECE]:
            if r["ours"]:
                moves.append((r["id"], "skipped", None, OUR_NUMBER.format(r["phone"]), *_NONE))
                continue
            if not r["matches"]:
                moves.append((r["id"], "skipped", None, NO_LONGER_MATCHES, *_NONE))
                continue
            if r["opted_out"]:
                moves.append((r["id"], "skipped", None, OPTED_OUT, *_NONE))
                continue
            when = planner.due_ms(r["phone"])
            if isinstance(when, quiet_hours.Skip):
                moves.append((r["id"], "skipped", None, when.reason, *_NONE))
                continue
            if when > now:
                moves.append((r["id"], "programmed", when, None, *_NONE))
                continue
            if throttled:
                continue  # stays programmed and due: the next run, when there is room
            used = compiled.reader.values(r)
            # A number not yet told how to opt out gets the line with this text: counted
            # here with it, so the room is what will be queued.
            line = None if r["noticed"] else config.optout_notice
            try:
                count = compiled.counter.count(used, line)
            except InvalidInput as refused:
                moves.append((r["id"], "skipped", None, str(refused), *_NONE))
                continue
            if count is None:
                moves.append((r["id"], "skipped", None, EMPTY, *_NONE))
                continue
            # Rendered length decides: up to the campaign's room, but at least one.
            cost = max(count.segments, 1)
            if spent and spent + cost > room:
                throttled = True
                continue
            spent += cost
            sendable.append(_Sendable(r, used, count, line))
        for batch, cost, ids in queue.queue(sendable):
            tx.defer(_JOIN, {"batch": batch, "segments": cost, "ids": json.dumps(ids), "now": now})
            counts["queued"] += len(ids)
        if moves:
            tx.defer(_MOVE, {"rows": json.dumps(moves), "now": now})
            _tally(counts, moves)
        # SQLite writes this piece while Python works out the next.
        await tx.send_ahead()
    alone = await queue.finish()
    if alone:
        tx.defer(_MOVE, {"rows": json.dumps(alone), "now": now})
        _tally(counts, alone)
    handled = sum(counts.values())
    if handled:
        await tx.emit("campaign.dispatched", "campaign", campaign.id, **counts)
    return handled, len(rows) == limit and not throttled


@dataclass(slots=True)
class _Batch:
    """A batch row of the chunk: its id is taken when it is opened (the chunk's
    transaction holds the write lock, so the ids after the highest are ours), and its
    size and encoding are written once the chunk is done."""

    id: int
    template: str
    members: int = 0
    size: int = 0
    ucs2: bool = False
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    """Each recipient's values, by number (a number is targeted once per campaign)."""


class _Queue:
    """Queues a chunk's sendable targets, a piece at a time; each target's move.

    Targets whose text the provider can make from the campaign's template and their
    values go in batch rows (schema 14) of at most BATCH_RECIPIENTS targets and ``cap``
    segments (at least one target), apart for the numbers that still need the opt-out
    line (their template carries it), each target pointed at its row with its segments,
    the row holding its values (schema 16). A batch stays open from one piece to the
    next, so pieces make no more rows than the chunk would at once. The rest (a
    template or a value the provider's placeholders cannot carry) go one outbox row
    each, as their rendered text.

    A piece's moves are its only statements: the batch rows, sized and with their
    values, and the opt-out lines given are written once the chunk is done
    (``finish``), the chunk's foreign keys checked at its COMMIT (``PRAGMA
    defer_foreign_keys``, set by ``_chunk``).
    """

    def __init__(
        self, tx: Tx, campaign: Campaign, compiled: Compiled, cap: float, last_id: int
    ) -> None:
        self.tx = tx
        self.campaign = campaign
        self.compiled = compiled
        self.cap = cap
        self._next_id = last_id + 1
        self._open: dict[str | None, _Batch] = {}
        self._made: list[_Batch] = []
        self._told: list[str] = []
        self._alone: list[_Sendable] = []

    def queue(self, sendable: list[_Sendable]) -> list[tuple[int, int, list[int]]]:
        """Which of ``sendable``'s targets join which batch row, as (batch ID, segments
        each, target IDs); the others wait for ``finish``."""
        batch_form = self.compiled.batch_form
        joins: dict[tuple[int, int], list[int]] = {}
        for item in sendable:
            if batch_form is None or not placeholders.carries(item.used):
                self._alone.append(item)
                continue
            cost = max(item.count.segments, 1)
            batch = self._open.get(item.line)
            if batch is None or batch.members >= BATCH_RECIPIENTS or batch.size + cost > self.cap:
                # The ids after the highest are ours: the transaction holds the write
                # lock. The rows are written with them, so a wrong guess fails the chunk
                # instead of pointing targets at another row.
                template = outgoing.with_notice(batch_form, item.line)
                batch = self._open[item.line] = _Batch(self._next_id, template)
                self._next_id += 1
                self._made.append(batch)
            batch.members += 1
            batch.size += cost
            batch.ucs2 = batch.ucs2 or item.count.encoding != "GSM-7"
            batch.values[item.target["phone"]] = item.used
            if item.line is not None:
                self._told.append(item.target["phone"])
            joins.setdefault((batch.id, cost), []).append(item.target["id"])
        return [(batch, cost, ids) for (batch, cost), ids in joins.items()]

    async def finish(self) -> list[Move]:
        """Write the batch rows and the opt-out lines given (deferred), then the rows of
        their own; the moves of the targets in those."""
        tx = self.tx
        if self._made:
            tx.defer(
                "INSERT INTO messages (id, conversation_id, direction, purpose, kind, sender,"
                " recipient, body, encoding, segments, status, next_attempt_at, created_at,"
                " updated_at, campaign_id, batch_template, recipients, recipient_values)"
                " SELECT value ->> 0, NULL, 'out', :purpose, :kind, :sender, '', value ->> 1,"
                " value ->> 2, value ->> 3, 'queued', :now, :now, :now, :campaign, value ->> 1,"
                " value ->> 4, value -> 5 FROM json_each(:rows)",
                {"purpose": outbox.CAMPAIGN, "kind": outbox.CHAT, "sender": self.campaign.sender,
                 "now": tx.now_ms, "campaign": self.campaign.id,
                 "rows": json.dumps([[b.id, b.template, "UCS-2" if b.ucs2 else "GSM-7", b.size,
                                      b.members, b.values] for b in self._made])},
            )  # fmt: skip
        if self._told:  # the first SMS to each of these carries the line: it has been given now
            tx.defer(
                "INSERT INTO phone_consent (phone, notice_sent_at)"
                " SELECT value, ? FROM json_each(?) WHERE true"
                " ON CONFLICT(phone) DO UPDATE SET notice_sent_at = excluded.notice_sent_at"
                " WHERE phone_consent.notice_sent_at IS NULL",
                (tx.now_ms, json.dumps(self._told)),
            )
        if not self._alone:
            return []
        # After the batch rows (they went with this trip): these take the ids after them.
        return await _queue_alone(tx, self.campaign, self.compiled, self._alone)


def _tally(counts: dict[str, int], moves: list[Move]) -> None:
    for m in moves:
        counts["deferred" if m[1] == "programmed" else m[1]] += 1


async def _queue_alone(
    tx: Tx, campaign: Campaign, compiled: Compiled, items: list[_Sendable]
) -> list[Move]:
    """One outbox row each (``outbox.queue_many``), as the rendered text."""
    results = await outbox.queue_many(
        tx,
        outbox.CAMPAIGN,
        campaign.sender,
        [(i.target["phone"], compiled.template.render(i.used)) for i in items],
        announce=False,
        campaign_id=campaign.id,
    )
    moves: list[Move] = []
    for item, result in zip(items, results, strict=True):
        target = item.target["id"]
        if isinstance(result, OptedOut):
            moves.append((target, "skipped", None, OPTED_OUT, *_NONE))
        elif not isinstance(result, int):
            moves.append((target, "skipped", None, str(result), *_NONE))
        else:
            moves.append((target, "queued", None, None, result))
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
