"""S1: a campaign itself: name, sender, template, throttle and quiet hours, who sees it.

Everything a campaign is made of is checked when it is saved, so nothing
can fail for a reason a manager could have been told before start:

- the name is unique (case-insensitive) and plain text;
- the sender is one of our SMS numbers and one the creator's profile may
  send from (the same rule as an agent's SMS, ``Action.SEND_SMS``);
- the template is compiled by the one renderer against the fields the
  campaign can fill (``fields.fields_in``): an unknown field is refused by
  name. Its longest render must fit ``max_message_parts``; "longest" uses the
  longest value each field has in the data today (capped at the field's
  declared limit), because a custom field may hold 2,000 characters and the
  declared worst case would refuse every template that uses one. The
  estimate before start renders every target and counts what will go;
- the rate is above 0 and at most the sender's own limit
  (``rate_segments_per_second``): a campaign runs inside it;
- quiet hours are one window ``HH:MM-HH:MM`` in the recipient's local time.

Which campaigns a person sees is their permission profile's list
(``permission_profile_campaigns``); a profile that manages the account sees
all. The creator's active profile gets the new campaign, so they see it.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

from core import settings
from core.campaigns import fields, filters
from core.clock import from_ms_or_none
from core.db import Database, Tx
from core.errors import InvalidInput, LimitExceeded, NotFound, WrongStatus
from core.merging import field_name
from core.people.authz import Action, Actor, CampaignAccess, NumberAccess, allows, authorize
from core.permissions import profiles, values
from core.records import record
from core.sms import numbers, outgoing, phones
from core.templates import (
    Field,
    Fields,
    Template,
    UnknownField,
    compile_template,
    longest_count,
)
from core.text import segment_rate
from core.weektime import parse_at, wall_instant

MAX_NAME: Final = 100
DEFAULT_WINDOW: Final = "08:00-21:00"
ACCOUNT: Final = "account"
SKIP: Final = "skip"
UNKNOWN_ZONE: Final = (ACCOUNT, SKIP)

DRAFT: Final = "draft"
SCHEDULED: Final = "scheduled"
RUNNING: Final = "running"
PAUSED: Final = "paused"
FINISHED: Final = "finished"
CANCELLED: Final = "cancelled"
EDITABLE: Final = (DRAFT, SCHEDULED, PAUSED)
"""A running campaign is paused before it is changed: what is being sent stays as it was."""

_WINDOW: Final = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")
WINDOW_FORM: Final = "two times such as 08:00-21:00 (start before end, 00:00-24:00)"

Querier = Database | Tx


@record
class Campaign:
    id: int
    name: str
    sender: str
    template: str
    status: str
    filter: str | None
    rate: float
    """Segments per second."""
    window_start: int
    """Minutes of the day, recipient's local time: sending in [start, end)."""
    window_end: int
    unknown_zone: str
    starts_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    created_by: int | None

    @property
    def window(self) -> str:
        return f"{_hhmm(self.window_start)}-{_hhmm(self.window_end)}"


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def from_row(row: sqlite3.Row) -> Campaign:
    return Campaign(
        row["id"],
        row["name"],
        row["sender"],
        row["template"],
        row["status"],
        row["filter"],
        float(row["rate_segments_per_second"]),
        row["window_start"],
        row["window_end"],
        row["unknown_zone"],
        from_ms_or_none(row["starts_at"]),
        from_ms_or_none(row["started_at"]),
        from_ms_or_none(row["finished_at"]),
        row["created_by"],
    )


def parse_window(text: str) -> tuple[int, int]:
    """'08:00-21:00' as (480, 1260); refused naming the form."""
    shown = values.text("the quiet-hours window", text, longest=20, required=True)
    found = _WINDOW.fullmatch(shown)
    if found is None:
        raise InvalidInput(f"the sending window {shown!r} is not {WINDOW_FORM}")
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if m1 > 59 or m2 > 59 or start > 1439 or end > 1440:
        raise InvalidInput(f"the sending window {shown!r} is not {WINDOW_FORM}")
    if start >= end:
        raise InvalidInput(
            f"the sending window {shown!r} must start before it ends; a window across"
            " midnight is not supported"
        )
    return start, end


def parse_start(text: str, zone_name: str) -> datetime:
    """A start typed as ISO 8601; without an offset, a wall time in the account's zone
    (``zone_name``); a time the clocks skip is the instant of the jump."""
    at = parse_at(text)
    if at.tzinfo is not None:
        return at
    return wall_instant(at, ZoneInfo(zone_name))


def check_name(name: object) -> str:
    return values.text("a campaign's name", name, longest=MAX_NAME, required=True)


def check_filter(text: str) -> str:
    """A live filter, written as ``core.campaigns.filters`` reads it (or as it stores
    it, JSON), in the stored form; refused naming the part that is wrong."""
    stripped = text.strip()
    found = filters.from_json(stripped) if stripped.startswith("[") else filters.parse(stripped)
    return found.to_json()


def check_unknown_zone(value: object) -> str:
    if not isinstance(value, str) or value.strip().lower() not in UNKNOWN_ZONE:
        raise InvalidInput(
            f"unknown_zone must be {' or '.join(UNKNOWN_ZONE)}, not {value!r}: for a number"
            " whose time zone is unknown, follow the account's zone or skip it"
        )
    return value.strip().lower()


def check_rate(rate: object, sender_limit: float) -> float:
    if isinstance(rate, bool) or not isinstance(rate, int | float | str):
        raise InvalidInput(f"the rate must be a number of segments per second, not {rate!r}")
    try:
        value = float(rate)
    except ValueError:
        raise InvalidInput(
            f"the rate must be a number of segments per second, not {rate!r}"
        ) from None
    if not value > 0 or value != value:
        raise InvalidInput(f"the rate must be above 0 segments per second, not {rate!r}")
    if value > sender_limit:
        raise LimitExceeded(
            f"the rate {segment_rate(value)} is above the sender's rate limit of"
            f" {segment_rate(sender_limit)} (setting rate_segments_per_second);"
            " a campaign runs inside it"
        )
    return value


async def check_sender(q: Querier, actor: Actor, raw: str, region: str) -> str:
    """The sender in E.164: one of our SMS numbers, and one ``actor``'s profile may use."""
    number = await numbers.by_e164(q, phones.normalise(raw, region))
    if not number.sms:
        raise InvalidInput(f"{number.e164} is not SMS-enabled, so it cannot send a campaign")
    authorize(actor, Action.SEND_SMS, NumberAccess(number.id, number.e164))
    return number.e164


async def observed_fields(q: Querier, campaign_id: int | None) -> Fields:
    """The campaign's fields, each limited to the longest value it has in the data today
    (at least 1, at most its declared limit): what the save check renders with."""
    declared = await fields.fields_in(q, campaign_id)
    longest: dict[str, int] = {}
    row = await q.fetchone(
        "SELECT max(length(name)) AS name, max(length(job_title)) AS job_title,"
        " max(length(email)) AS email FROM contacts"
    )
    if row is not None:
        for key in ("name", "job_title", "email"):
            longest[key] = int(row[key] or 0)
        longest["first_name"] = longest["last_name"] = longest["name"]
    for r in await q.fetchall(
        "SELECT j.key, max(length(j.value)) AS n FROM contacts c, json_each(c.custom) j"
        " GROUP BY j.key"
        " UNION ALL SELECT j.key, max(length(j.value)) FROM campaign_targets t,"
        " json_each(t.merge_values) j WHERE t.campaign_id = ? GROUP BY j.key",
        (campaign_id,),
    ):
        name = field_name(str(r["key"]))
        if name is not None:
            longest[name] = max(longest.get(name, 0), int(r["n"] or 0))
    return Fields(
        Field(
            f.name,
            f.label,
            max(1, min(f.max_length, longest.get(f.name, f.max_length))),
            f.phi,
            f.gsm7_only,
        )
        for f in declared
    )


async def check_template(q: Querier, campaign_id: int | None, source: str, max_parts: int) -> None:
    outgoing.check_text(source, "the campaign's text")
    try:
        template = compile_template(source, await fields.fields_in(q, campaign_id))
    except UnknownField as refused:
        if campaign_id is not None:
            raise
        # A new campaign has no CSV yet: the field the user means may be one of its columns.
        raise UnknownField(
            f"{refused}. A CSV's columns are fields once its rows are targets: create the"
            " campaign with its CSV (the new campaign form's CSV file, or campaigns create"
            " --csv FILE), or add the CSV, then edit the text"
        ) from None
    worst = longest_count(compile_template(source, await observed_fields(q, campaign_id)))
    if worst.segments > max_parts:
        raise LimitExceeded(
            f"with the longest values its fields hold today, this text would go as"
            f" {worst.segments} SMS parts and the most allowed is {max_parts}"
            f" (setting max_message_parts); shorten it"
            + (
                f" or use fewer of {', '.join(f.name for f in template.fields_used)}"
                if template.fields_used
                else ""
            )
        )


async def compiled(q: Querier, campaign: Campaign) -> Template:
    """The campaign's template, compiled for rendering."""
    return await fields.compiled(q, campaign.id, campaign.template)


async def create(
    db: Database,
    actor: Actor,
    name: str,
    sender: str,
    template: str,
    *,
    rate: float = 1.0,
    window: str = DEFAULT_WINDOW,
    unknown_zone: str = ACCOUNT,
    filter: str | None = None,
    targets: Callable[[Tx, int], Awaitable[object]] | None = None,
) -> Campaign:
    """A new draft campaign; see the module for what is checked. ``targets`` adds the
    draft's first targets in its transaction (given the campaign's id), before the text is
    checked: the text may use their CSV columns, and a text refused leaves nothing."""
    authorize(actor, Action.MANAGE_CAMPAIGN, None)
    name = check_name(name)
    if filter is not None:
        filter = check_filter(filter)
    start, end = parse_window(window)
    zone = check_unknown_zone(unknown_zone)
    async with db.transaction() as tx:
        config = await settings.load_in(tx)
        rate = check_rate(rate, config.rate_segments_per_second)
        e164 = await check_sender(tx, actor, sender, config.default_region)
        await _ensure_name_free(tx, name, None)
        if targets is None:
            await check_template(tx, None, template, config.max_message_parts)
        campaign_id = await tx.insert(
            "INSERT INTO campaigns (name, sender, template, filter, rate_segments_per_second,"
            " window_start, window_end, unknown_zone, created_by, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (name, e164, template, filter, rate, start, end, zone, actor.id, tx.now_ms, tx.now_ms),
        )
        if actor.profile_id is not None:
            await tx.execute(
                "INSERT OR IGNORE INTO permission_profile_campaigns (profile_id, campaign_id)"
                " VALUES (?, ?)",
                (actor.profile_id, campaign_id),
            )
            # The creator's console reloads its principal, and so sees the campaign.
            await profiles.changed(tx, actor, actor.profile_id)
        await tx.emit("campaign.created", "campaign", campaign_id, actor_id=actor.id)
        if targets is not None:
            await targets(tx, campaign_id)
            await check_template(tx, campaign_id, template, config.max_message_parts)
        return from_row(await _row_in(tx, campaign_id))


async def edit(
    db: Database,
    actor: Actor,
    campaign: int | str,
    *,
    name: str | None = None,
    sender: str | None = None,
    template: str | None = None,
    rate: float | None = None,
    window: str | None = None,
    unknown_zone: str | None = None,
) -> Campaign:
    """Change what is given; only a draft, scheduled or paused campaign."""
    async with db.transaction() as tx:
        row = await row_in(tx, campaign)
        authorize(actor, Action.MANAGE_CAMPAIGN, CampaignAccess(row["id"]))
        ensure_status(row, EDITABLE, "changed")
        config = await settings.load_in(tx)
        changes: dict[str, object] = {}
        if name is not None:
            changes["name"] = check_name(name)
            await _ensure_name_free(tx, str(changes["name"]), row["id"])
        if sender is not None:
            changes["sender"] = await check_sender(tx, actor, sender, config.default_region)
        if template is not None:
            await check_template(tx, row["id"], template, config.max_message_parts)
            changes["template"] = template
        if rate is not None:
            changes["rate_segments_per_second"] = check_rate(rate, config.rate_segments_per_second)
        if window is not None:
            changes["window_start"], changes["window_end"] = parse_window(window)
        if unknown_zone is not None:
            changes["unknown_zone"] = check_unknown_zone(unknown_zone)
        if changes:
            sets = ", ".join(f"{column} = ?" for column in changes)
            await tx.execute(
                f"UPDATE campaigns SET {sets}, updated_at = ? WHERE id = ?",
                (*changes.values(), tx.now_ms, row["id"]),
            )
            await tx.emit("campaign.changed", "campaign", row["id"], actor_id=actor.id)
        return from_row(await _row_in(tx, row["id"]))


async def get(db: Querier, actor: Actor, campaign: int | str) -> Campaign:
    row = await row_in(db, campaign)
    authorize(actor, Action.VIEW_CAMPAIGN, CampaignAccess(row["id"]))
    return from_row(row)


async def list_campaigns(db: Database, actor: Actor) -> list[Campaign]:
    """The campaigns ``actor`` may see, newest first."""
    rows = await db.fetchall("SELECT * FROM campaigns ORDER BY id DESC")
    return [
        from_row(r) for r in rows if allows(actor, Action.VIEW_CAMPAIGN, CampaignAccess(r["id"]))
    ]


async def delete(db: Database, actor: Actor, campaign: int | str) -> None:
    """Delete a draft campaign and its targets; one that has started is cancelled instead."""
    async with db.transaction() as tx:
        row = await row_in(tx, campaign)
        authorize(actor, Action.MANAGE_CAMPAIGN, CampaignAccess(row["id"]))
        if row["status"] != DRAFT:
            raise WrongStatus(
                f"campaign {row['name']!r} is {row['status']}; only a draft can be deleted"
                " (cancel it instead: what was sent stays on record)"
            )
        await tx.execute("DELETE FROM campaigns WHERE id = ?", (row["id"],))
        await tx.emit("campaign.deleted", "campaign", row["id"], actor_id=actor.id)


def ensure_status(row: sqlite3.Row, allowed: tuple[str, ...], doing: str) -> None:
    """Refuse naming the campaign's status: "campaign 'Spring' is finished; it cannot be paused"."""
    if row["status"] not in allowed:
        raise WrongStatus(
            f"campaign {row['name']!r} is {row['status']}; it cannot be {doing}"
            f" (only when {' or '.join(allowed)})"
        )


async def row_in(q: Querier, campaign: int | str) -> sqlite3.Row:
    """A campaign by id or by name (case-insensitive); NotFound naming what was asked."""
    if isinstance(campaign, int):
        return await _row_in(q, campaign)
    text = campaign.strip()
    row = await q.fetchone("SELECT * FROM campaigns WHERE name = ?", (text,))
    if row is None and text.isdigit():
        row = await q.fetchone("SELECT * FROM campaigns WHERE id = ?", (int(text),))
    if row is None:
        raise NotFound(f"no campaign named {text!r}")
    return row


async def _row_in(q: Querier, campaign_id: int) -> sqlite3.Row:
    row = await q.fetchone("SELECT * FROM campaigns WHERE id = ?", (campaign_id,))
    if row is None:
        raise NotFound(f"no campaign with id {campaign_id}")
    return row


async def _ensure_name_free(tx: Tx, name: str, campaign_id: int | None) -> None:
    row = await tx.fetchone(
        "SELECT id, name FROM campaigns WHERE name = ? AND id IS NOT ?", (name, campaign_id)
    )
    if row is not None:
        raise InvalidInput(
            f"there is already a campaign named {row['name']!r} (names are compared without"
            " case); choose another name"
        )
