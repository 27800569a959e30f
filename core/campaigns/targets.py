"""S1: a campaign's targets from contacts, chosen one by one or by its live filter.

A contact is targeted once per campaign, at its first mobile (the lowest
position among its ``mobile`` numbers): SMS goes to mobiles only, and one
person gets one text whatever their number of phones. A contact with no
mobile is reported, not added. New targets wait in the pool until someone
programs them (``core.campaigns.pool``).

Adding needs Action.MANAGE_CAMPAIGN, and the campaign must not be finished
or cancelled. Each call writes one change-feed event, whatever the number of
targets it added.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Final

from core.campaigns import filters
from core.campaigns.filters import Filter
from core.campaigns.lookup import CampaignName, authorized_in, ensure_open
from core.db import Database, Tx
from core.errors import InvalidInput
from core.people.authz import Action, Actor
from core.records import record

MAX_CONTACT_IDS: Final = 100_000
_CHUNK: Final = 500

FIRST_MOBILE: Final = (
    "(SELECT p.e164 FROM contact_phones p WHERE p.contact_id = c.id AND p.kind = 'mobile'"
    " ORDER BY p.position, p.id LIMIT 1)"
)
"""The number a contact ``c`` is texted at: its first mobile."""


@record
class Added:
    added: int
    """New targets, waiting in the pool."""
    already: int = 0
    """Contacts that were targets of the campaign already (or whose number a CSV row is)."""
    no_mobile: tuple[int, ...] = ()
    """Contacts left out: they have no mobile number (ids)."""
    unknown: tuple[int, ...] = ()
    """Ids that are no contact."""


async def add_contacts(
    db: Database, actor: Actor, campaign: CampaignName, contact_ids: Iterable[int]
) -> Added:
    """Target these contacts at their first mobile; see ``Added`` for what is reported."""
    ids = list(dict.fromkeys(contact_ids))
    if not ids:
        raise InvalidInput("name at least one contact")
    if len(ids) > MAX_CONTACT_IDS:
        raise InvalidInput(f"at most {MAX_CONTACT_IDS:,} contacts at once; use a filter instead")
    async with db.transaction() as tx:
        ref = await authorized_in(tx, actor, Action.MANAGE_CAMPAIGN, campaign)
        ensure_open(ref)
        added = already = 0
        no_mobile: list[int] = []
        unknown: list[int] = []
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            rows = await tx.fetchall(
                f"SELECT c.id, {FIRST_MOBILE} AS phone,"
                " EXISTS (SELECT 1 FROM campaign_targets t WHERE t.campaign_id = ?"
                "         AND t.contact_id = c.id) AS targeted"
                f" FROM contacts c WHERE c.id IN ({', '.join('?' * len(chunk))})",
                (ref.id, *chunk),
            )
            found = {r["id"] for r in rows}
            unknown.extend(i for i in chunk if i not in found)
            no_mobile.extend(r["id"] for r in rows if r["phone"] is None)
            already += sum(1 for r in rows if r["phone"] is not None and r["targeted"])
            fresh = [(r["id"], r["phone"]) for r in rows if r["phone"] and not r["targeted"]]
            inserted = await _insert(tx, ref.id, fresh)
            # A number a CSV row of the campaign targets already: that row is the target.
            already += len(fresh) - inserted
            added += inserted
        await _emit(tx, actor, ref.id, added)
    return Added(added, already, tuple(no_mobile), tuple(unknown))


async def _insert(tx: Tx, campaign_id: int, rows: list[tuple[int, str]]) -> int:
    # OR IGNORE: a number a CSV row already targets is not targeted twice.
    return await tx.executemany(
        "INSERT OR IGNORE INTO campaign_targets"
        " (campaign_id, contact_id, phone, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        [(campaign_id, cid, phone, tx.now_ms, tx.now_ms) for cid, phone in rows],
    )


async def _emit(tx: Tx, actor: Actor, campaign_id: int, added: int) -> None:
    if added:
        await tx.emit(
            "campaign.targets_added", "campaign", campaign_id, actor_id=actor.id, added=added
        )


@record
class FilterAdded:
    filter: str
    """The filter as ``filters.parse`` reads it."""
    added: int
    no_mobile: int
    """Contacts it matches that have no mobile, so are not targeted."""


async def add_filter(
    db: Database, actor: Actor, campaign: CampaignName, flt: Filter | str
) -> FilterAdded:
    """Set the campaign's live filter (replacing any earlier one) and target every contact
    it matches now. Contacts that match later are targeted when the campaign starts
    (``materialise_in``); each target is checked against the filter again when due."""
    parsed = filters.parse(flt) if isinstance(flt, str) else flt
    async with db.transaction() as tx:
        ref = await authorized_in(tx, actor, Action.MANAGE_CAMPAIGN, campaign)
        ensure_open(ref)
        await tx.execute(
            "UPDATE campaigns SET filter = ?, updated_at = ? WHERE id = ?",
            (parsed.to_json(), tx.now_ms, ref.id),
        )
        added = await _materialise(tx, ref.id, parsed)
        no_mobile = await _no_mobile(tx, parsed)
        await tx.emit("campaign.updated", "campaign", ref.id, actor_id=actor.id)
        await _emit(tx, actor, ref.id, added)
    return FilterAdded(parsed.written(), added, no_mobile)


async def materialise_in(tx: Tx, campaign_id: int, programmed_for: int | None = None) -> int:
    """Target every contact the campaign's filter matches now and is not a target yet:
    the targets added (none without a filter). The new targets wait in the pool, or with
    ``programmed_for`` (ms) are programmed for then: the start writes each target once,
    and records the moves itself."""
    text = await tx.scalar("SELECT filter FROM campaigns WHERE id = ?", (campaign_id,))
    if not text:
        return 0
    added = await _materialise(tx, campaign_id, filters.from_json(text), programmed_for)
    if added:
        await tx.emit("campaign.targets_added", "campaign", campaign_id, added=added)
    return added


async def _materialise(
    tx: Tx, campaign_id: int, flt: Filter, programmed_for: int | None = None
) -> int:
    where, params = filters.to_sql(flt)
    # One statement for any number of contacts: 100,000 take well under a second.
    inserted = await tx.execute(
        "INSERT OR IGNORE INTO campaign_targets"
        " (campaign_id, contact_id, phone, state, due_at, created_at, updated_at)"
        " SELECT :campaign, m.id, m.phone, :state, :due, :now, :now FROM"
        f" (SELECT c.id, {FIRST_MOBILE} AS phone FROM contacts c WHERE {where}) m"
        " WHERE m.phone IS NOT NULL AND NOT EXISTS (SELECT 1 FROM campaign_targets t"
        "       WHERE t.campaign_id = :campaign AND t.contact_id = m.id)",
        {
            **params,
            "campaign": campaign_id,
            "state": "waiting" if programmed_for is None else "programmed",
            "due": programmed_for,
            "now": tx.now_ms,
        },
    )
    return inserted.rowcount


async def _no_mobile(tx: Tx, flt: Filter) -> int:
    """Contacts ``flt`` matches that have no mobile, so are not targeted."""
    where, params = filters.to_sql(flt)
    found = await tx.scalar(
        f"SELECT count(*) FROM contacts c WHERE {where} AND NOT EXISTS"
        " (SELECT 1 FROM contact_phones p WHERE p.contact_id = c.id AND p.kind = 'mobile')",
        params,
    )
    return int(found)


def merge_json(values: dict[str, str]) -> str:
    return json.dumps(values, ensure_ascii=False, sort_keys=True)
