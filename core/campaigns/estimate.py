"""S1: what a campaign will do, shown before it starts: targets, segments, cost, time, bundle.

- Targets: those waiting in the pool or programmed, and, for a draft with a
  live filter, the contacts it matches now (made into targets inside a
  transaction that is then rolled back: the same rows start would make).
- Skipped at start: numbers that opted out (``phone_consent``) and numbers
  that are not mobiles by the contact's phone kind. A number no contact has
  (a CSV row) was read and checked as a mobile when it entered (the CSV
  import refuses the row otherwise); it is not read again here, as
  phonenumbers takes some 90 µs a number: 9 s for 100,000. A number is
  targeted once per campaign (the schema's unique index), so there are no
  duplicates left to skip.
- Segments: every target's text with the opt-out line the first SMS to a
  number carries, counted as dispatch counts it (``core.campaigns.counting``:
  one render per shape of the values, a value of GSM-7 basic characters
  standing for its length): 100,000 targets make few distinct texts. SQLite
  reads the values (``fields.Reader``) and groups each page of targets by
  zone key, opt-out line and shape, so Python counts a few dozen groups a
  page instead of every target.
- Skipped when due, for their time zone (``core.campaigns.quiet_hours``): a
  number whose zone is unknown when the campaign skips those, and a number
  whose zones' windows never meet. They are not counted in what is sent.
- Duration: total segments at the campaign's rate; the finish follows each
  recipient's window as dispatch does, per set of zones its number may be
  in (``quiet_hours.sending_ends``), the sets open at once sharing the rate.
- Bundle: this month's use plus the campaign's segments against the monthly
  bundle; passing the warning share or the bundle is a warning, and start
  asks for confirmation.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections import Counter
from collections.abc import AsyncGenerator
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from core import settings
from core.campaigns import campaigns, counting, fields, quiet_hours, targets
from core.clock import from_ms, to_ms
from core.db import Database, Tx
from core.delivery import bundle
from core.errors import InvalidInput
from core.people.authz import Action, Actor, CampaignAccess, authorize
from core.records import record
from core.templates import Template, longest_count
from core.text import counted, segment_rate

MAX_DAYS: Final = 366
"""How far the finish is followed (zone by zone, each opening and closing: a year of a
world-wide campaign is some 30,000 steps, under half a second); past it none is shown."""

Querier = Database | Tx


@record
class Estimate:
    campaign_id: int
    targets: int
    """Waiting and programmed targets (and a draft's live-filter matches)."""
    opted_out: int
    not_mobile: int
    no_sending_time: int
    """Targets dispatch will skip for their time zone: unknown (and the campaign skips
    those), or zones whose windows never meet."""
    eligible: int
    """What will be sent to: targets less those skipped at start or for their zone."""
    segments_per_message: int
    """The most segments one of these messages takes, with the longest values present."""
    segments_worst_case: int
    """The most any render can take within the fields' declared limits."""
    total_segments: int
    cost: float
    currency: str
    rate: float
    sending_seconds: float
    """Total segments at the rate, without the nights."""
    starts_at: datetime
    finishes_at: datetime | None
    """With the nights, in each recipient's zones; None beyond MAX_DAYS."""
    time_zone: str
    """The account's, the one times are shown in (and an unknown zone's, unless skipped)."""
    window: str
    bundle_used: int
    bundle_after: int
    bundle_segments: int
    """0: no bundle."""
    warnings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "campaign_id": self.campaign_id,
            "targets": self.targets,
            "opted_out": self.opted_out,
            "not_mobile": self.not_mobile,
            "no_sending_time": self.no_sending_time,
            "eligible": self.eligible,
            "segments_per_message": self.segments_per_message,
            "segments_worst_case": self.segments_worst_case,
            "total_segments": self.total_segments,
            "cost": round(self.cost, 4),
            "currency": self.currency,
            "rate": self.rate,
            "sending_seconds": round(self.sending_seconds, 1),
            "starts_at": self.starts_at.isoformat(),
            "finishes_at": None if self.finishes_at is None else self.finishes_at.isoformat(),
            "time_zone": self.time_zone,
            "window": self.window,
            "bundle_used": self.bundle_used,
            "bundle_after": self.bundle_after,
            "bundle_segments": self.bundle_segments,
            "warnings": list(self.warnings),
        }


class _Discard(Exception):
    """Leaves the estimate's transaction without keeping the live filter's rows."""


async def estimate(
    db: Database, actor: Actor, campaign: int | str, at: datetime | None = None
) -> Estimate:
    """The estimate of ``campaign`` if it started at ``at`` (default now)."""
    row = await campaigns.row_in(db, campaign)
    authorize(actor, Action.VIEW_CAMPAIGN, CampaignAccess(row["id"]))
    start_ms = to_ms(at) if at is not None else to_ms(db.clock.now())
    if row["filter"] is None or row["status"] != campaigns.DRAFT:
        return await estimate_in(db, row, start_ms)
    found: list[Estimate] = []
    try:
        async with db.transaction() as tx:
            await targets.materialise_in(tx, row["id"])
            found.append(await estimate_in(tx, row, start_ms))
            raise _Discard
    except _Discard:
        pass
    return found[0]


_TARGETS: Final = """
    FROM campaign_targets t
    LEFT JOIN contacts c ON c.id = t.contact_id
    LEFT JOIN phone_consent pc ON pc.phone = t.phone
    WHERE t.campaign_id = :campaign AND t.state IN ('waiting', 'programmed')
"""
_PAGE: Final = 5_000
"""Targets read at a time to count their segments (SQLite groups them)."""
# 1: one of the contact's (or, for a CSV row, anyone's) phones with this number
# is a mobile; 0: known and not a mobile; NULL: no contact has it (checked at import).
MOBILE_SQL: Final = """(SELECT max(cp.kind = 'mobile') FROM contact_phones cp
    WHERE cp.e164 = t.phone AND (t.contact_id IS NULL OR cp.contact_id = t.contact_id))"""


@record
class Skips:
    opted_out: int
    not_mobile: int
    total: int


async def skips_in(q: Querier, campaign_id: int) -> Skips:
    """Who start would skip: opted out first, then not a mobile."""
    row = await q.fetchone(
        f"SELECT count(*) AS total, coalesce(sum(coalesce(pc.opted_out, 0)), 0) AS opted_out,"
        f" coalesce(sum(NOT coalesce(pc.opted_out, 0) AND {MOBILE_SQL} = 0), 0) AS not_mobile"
        f" {_TARGETS}",
        {"campaign": campaign_id},
    )
    assert row is not None
    return Skips(int(row["opted_out"]), int(row["not_mobile"]), int(row["total"]))


async def estimate_in(
    q: Querier, row: sqlite3.Row, start_ms: int, skipped: Skips | None = None
) -> Estimate:
    """The estimate over the targets as they are in ``q``. ``skipped``: those start has
    just skipped in ``q`` (its transaction), as ``skips_in`` would have counted them
    before; every target left waiting or programmed is then eligible."""
    config = await settings.load(q)
    campaign = campaigns.from_row(row)
    template = await campaigns.compiled(q, campaign)
    skips = await skips_in(q, campaign.id) if skipped is None else skipped
    start = from_ms(start_ms)
    window = quiet_hours.Window(campaign.window_start, campaign.window_end)
    by_number = await _segments_in(
        q, campaign.id, template, config.optout_notice, eligible_only=skipped is not None
    )
    # Each number stands for those that share its zones: a few hundred for 100,000.
    counts: Counter[int] = Counter()
    by_zones: dict[tuple[str, ...], Counter[int]] = {}
    no_time = 0
    for phone, found in by_number.items():
        zones = quiet_hours.candidate_zones(phone, campaign.unknown_zone, config.time_zone)
        if zones is None or quiet_hours.next_opening_in(zones, start, window) is None:
            no_time += found.total()
            continue
        by_zones.setdefault(zones, Counter()).update(found)
        counts.update(found)
    total = sum(n * parts for parts, n in counts.items())
    eligible = sum(counts.values())
    seconds = total / campaign.rate
    finish = quiet_hours.sending_ends(
        start,
        {
            zones: sum(n * parts for parts, n in found.items()) / campaign.rate
            for zones, found in by_zones.items()
        },
        window,
        start + timedelta(days=MAX_DAYS),
    )
    month = bundle.month_of(start_ms)
    used = await bundle.used_in(q, month)
    limits = await bundle.limits(q)
    return Estimate(
        campaign_id=campaign.id,
        targets=skips.total,
        opted_out=skips.opted_out,
        not_mobile=skips.not_mobile,
        no_sending_time=no_time,
        eligible=eligible,
        segments_per_message=max(counts, default=0),
        segments_worst_case=longest_count(template).segments,
        total_segments=total,
        cost=total * config.cost_per_segment,
        currency=config.currency,
        rate=campaign.rate,
        sending_seconds=seconds,
        starts_at=start,
        finishes_at=finish,
        time_zone=config.time_zone,
        window=campaign.window,
        bundle_used=used,
        bundle_after=used + total,
        bundle_segments=limits.segments,
        warnings=tuple(bundle_warnings(used, total, limits)),
    )


async def _segments_in(
    q: Querier,
    campaign_id: int,
    template: Template,
    notice: str,
    eligible_only: bool = False,
) -> dict[str, Counter[int]]:
    """How many eligible targets take each number of segments, per group of numbers in
    the same time zones (``quiet_hours.zone_key``), by one number of each group.
    ``eligible_only``: the targets left are the eligible ones (start skipped the others),
    so they are not checked again (a look-up of the number's kind per target)."""
    eligible = (
        "" if eligible_only else f" AND NOT coalesce(pc.opted_out, 0) AND coalesce({MOBILE_SQL}, 1)"
    )
    counter = counting.Counter(template)
    reader = fields.Reader(counter.names)
    groups: dict[str, Counter[int]] = {}
    by_number: dict[str, Counter[int]] = {}
    zone_key = quiet_hours.zone_key
    async with contextlib.aclosing(_pages(q, campaign_id, eligible, reader, counter)) as pages:
        async for rows in pages:
            # A row stands for the page's targets of one zone key, opt-out line and shape
            # of values: its values (each the least of its group's) are counted for all.
            for r in rows:
                try:
                    found = counter.count(reader.values(r), notice if r["notice_due"] else None)
                except InvalidInput:
                    found = None  # a value refused: skipped when due, saying why
                # A text that renders empty (or is refused) is skipped when due; counted
                # here as one.
                parts = 1 if found is None else max(found.segments, 1)
                key = zone_key(r["phone"])
                group = groups.get(key)
                if group is None:
                    group = groups[key] = by_number[r["phone"]] = Counter()
                group[parts] += r["targets"]
    return by_number


async def _pages(
    q: Querier, campaign_id: int, eligible: str, reader: fields.Reader, counter: counting.Counter
) -> AsyncGenerator[list[sqlite3.Row], None]:
    """The targets a page at a time, by target id, one state at a time (so the state
    index walks in id order and a page reads only its rows), each page grouped by SQLite
    into its targets of one zone key, opt-out line and shape of values (a few dozen rows
    for _PAGE targets, whatever their number): memory stays two pages' groups. The next
    page is read while the caller counts this one."""
    values = [f"v{i}" for i in range(len(reader.names))]
    keys = ", ".join([quiet_hours.zone_key_sql("phone"), "notice_due", *counter.group_sql(values)])
    sql = (
        "WITH page AS MATERIALIZED (SELECT t.id, t.phone,"
        f" coalesce(pc.notice_sent_at IS NULL, 1) AS notice_due{reader.columns}"
        f" {_TARGETS}{eligible}"
        " AND t.state = :state AND t.id > :after ORDER BY t.id LIMIT :page)"
        " SELECT max(id) AS last, count(*) AS targets, min(phone) AS phone, notice_due"
        + "".join(f", min({v}) AS {v}" for v in values)
        + f" FROM page GROUP BY {keys}"
    )

    def read(state: str, after: int) -> asyncio.Future[list[sqlite3.Row]]:
        return asyncio.ensure_future(
            q.fetchall(
                sql, {"campaign": campaign_id, "state": state, "after": after, "page": _PAGE}
            )
        )

    for state in ("waiting", "programmed"):
        pending: asyncio.Future[list[sqlite3.Row]] | None = read(state, 0)
        try:
            while pending is not None:
                rows = await pending
                full = sum(r["targets"] for r in rows) == _PAGE
                pending = read(state, max(r["last"] for r in rows)) if full else None
                yield rows
        finally:
            if pending is not None:  # the caller stopped: the read ahead is not wanted
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending


def bundle_warnings(used: int, total: int, limits: bundle.Limits) -> list[str]:
    if limits.segments <= 0 or total <= 0:
        return []
    after = used + total
    share = 100 * after / limits.segments
    shown = (
        f"this campaign's {counted(total, 'segment')} would take this month's bundle from {used:,}"
        f" to {after:,} of {limits.segments:,} segments ({share:.0f} %)"
    )
    if after > limits.segments:
        over = after - limits.segments
        if limits.when_full == bundle.HOLD:
            return [
                f"{shown}: {over:,} over. With bundle_when_full=hold, the rest (about"
                f" {counted(over, 'segment')}) would be held until the month turns or the bundle"
                " grows"
            ]
        return [f"{shown}: {over:,} over, sent and billed beyond the bundle"]
    if after * 100 >= limits.segments * limits.warn_percent:
        return [f"{shown}, past the warning at {limits.warn_percent} %"]
    return []


def describe(e: Estimate) -> list[str]:
    """The estimate as lines for a person (the CLI prints them; warnings last)."""
    lines = [
        f"targets: {e.targets:,} ({e.opted_out:,} opted out and {e.not_mobile:,} not mobile"
        f" will be skipped): {counted(e.eligible, 'message')}",
        f"segments: {e.segments_per_message} per message at most"
        f" (up to {e.segments_worst_case} with the longest values the fields allow),"
        f" {e.total_segments:,} in all",
        f"cost: about {e.cost:.2f} {e.currency}",
        f"time: {_duration(e.sending_seconds)} of sending at {segment_rate(e.rate)};"
        f" inside {e.window} in each recipient's time zone"
        + (
            f", done about {e.finishes_at.astimezone(ZoneInfo(e.time_zone)):%Y-%m-%d %H:%M}"
            f" ({e.time_zone})"
            if e.finishes_at is not None
            else ", not done within a year"
        ),
    ]
    if e.no_sending_time:
        lines.insert(
            1,
            f"skipped when due: {e.no_sending_time:,} whose time zone is unknown (the campaign"
            " skips those) or never inside the window",
        )
    if e.bundle_segments:
        lines.append(
            f"bundle: {e.bundle_used:,} used, {e.bundle_after:,} after, of {e.bundle_segments:,}"
        )
    lines.extend(f"warning: {w}" for w in e.warnings)
    return lines


def _duration(seconds: float) -> str:
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"
