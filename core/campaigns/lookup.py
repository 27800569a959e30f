"""Finding the campaign a targeting request names, and whether its targets may change."""

from __future__ import annotations

import sqlite3
from typing import Final

from core.db import Database, Tx
from core.errors import InvalidInput, NotFound
from core.people.authz import Action, Actor, CampaignAccess, authorize
from core.records import record

OPEN_STATES: Final = ("draft", "scheduled", "running", "paused")
"""A campaign whose targets may still be added to and moved."""


@record
class CampaignRef:
    id: int
    name: str
    status: str
    filter: str | None


CampaignName = int | str
"""A campaign by id, or by name (any case)."""


async def find_in(q: Database | Tx, campaign: CampaignName) -> CampaignRef:
    if isinstance(campaign, int):
        row = await q.fetchone(
            "SELECT id, name, status, filter FROM campaigns WHERE id = ?", (campaign,)
        )
    else:
        row = await q.fetchone(
            "SELECT id, name, status, filter FROM campaigns WHERE name = ?", (campaign.strip(),)
        )
    if row is None:
        raise NotFound(f"no SMS campaign {campaign!r}")
    return _ref(row)


def _ref(row: sqlite3.Row) -> CampaignRef:
    return CampaignRef(row["id"], row["name"], row["status"], row["filter"])


async def authorized_in(
    q: Database | Tx, actor: Actor, action: Action, campaign: CampaignName
) -> CampaignRef:
    """The campaign, once ``actor`` may do ``action`` on it."""
    ref = await find_in(q, campaign)
    authorize(actor, action, CampaignAccess(ref.id))
    return ref


def ensure_open(ref: CampaignRef) -> None:
    """Refuse a change to the targets of a finished or cancelled campaign."""
    if ref.status not in OPEN_STATES:
        raise InvalidInput(
            f"campaign {ref.name!r} is {ref.status}: its targets can no longer change"
        )
