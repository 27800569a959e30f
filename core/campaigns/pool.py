"""S1, the seed's targeting rights: the waiting pool and every move of a target.

A target waits in the pool until someone programs it for a time (it is then
due: dispatch queues it when the time comes); reprogram gives a programmed
target another time; back to the pool makes it wait again; remove takes a
waiting or programmed target out for good. Each move needs its right of the
active permission profile (campaign_program, campaign_reprogram,
campaign_remove; seeing the pool: campaign_pool) and is recorded in
``campaign_moves`` with who and when, one row per target, in set-based
statements whatever their number.

A move names targets by id, or (program only) "all" the waiting ones. It is
all or nothing: when a named target is not in a state the move applies to
(queued already, removed…), the move is refused listing them, and nothing
moves. A time in the past is refused. Targets of a finished or cancelled
campaign no longer move.
"""

from __future__ import annotations

import collections
import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Final, Literal

from core.campaigns import progress
from core.campaigns.lookup import CampaignName, authorized_in, ensure_open
from core.clock import from_ms, from_ms_or_none, to_ms
from core.db import Database, Tx
from core.errors import InvalidInput, NotFound
from core.people.authz import Action, Actor
from core.records import record

STATES: Final = ("waiting", "programmed", "queued", "skipped", "removed")
MAX_PAGE: Final = 1000
_SHOWN: Final = 10


@record
class Move:
    action: str
    """program, reprogram, remove or pool (back to the pool)."""
    from_states: tuple[str, ...]
    to_state: str
    right: Action
    timed: bool


PROGRAM: Final = Move("program", ("waiting",), "programmed", Action.PROGRAM_TARGETS, True)
REPROGRAM: Final = Move("reprogram", ("programmed",), "programmed", Action.REPROGRAM_TARGETS, True)
REMOVE: Final = Move("remove", ("waiting", "programmed"), "removed", Action.REMOVE_TARGETS, False)
BACK_TO_POOL: Final = Move("pool", ("programmed",), "waiting", Action.REPROGRAM_TARGETS, False)


@record
class Target:
    """One target with its result: the per-target view."""

    id: int
    contact_id: int | None
    contact_name: str
    phone: str
    state: str
    due_at: datetime | None
    reason: str | None
    message_id: int | None
    message_status: str | None
    """For a queued target: its message's status (queued, sent, delivered, failed)."""
    error: str | None
    replied_at: datetime | None
    opted_out_at: datetime | None


@record
class MoveRecord:
    id: int
    target_id: int
    action: str
    due_at: datetime | None
    agent: str
    """Who moved it; empty: the system."""
    at: datetime


@record
class Moved:
    moved: int


# --- reading ------------------------------------------------------------------


_TARGET_SELECT: Final = (
    "SELECT t.id, t.contact_id, coalesce(c.name, '') AS contact_name, t.phone, t.state,"
    f" t.due_at, t.reason, t.message_id, {progress.MESSAGE_STATUS} AS message_status,"
    f" {progress.MESSAGE_ERROR} AS error,"
    " t.replied_at, t.opted_out_at"
    " FROM campaign_targets t LEFT JOIN contacts c ON c.id = t.contact_id"
    " LEFT JOIN messages m ON m.id = t.message_id"
)


def _page(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"a page holds 1 to {MAX_PAGE} targets")
    return limit


async def pool(
    db: Database,
    actor: Actor,
    campaign: CampaignName,
    limit: int = 100,
    offset: int = 0,
    *,
    after_id: int = 0,
) -> list[Target]:
    """The campaign's waiting targets, oldest first, after ``after_id``."""
    ref = await authorized_in(db, actor, Action.VIEW_CAMPAIGN_POOL, campaign)
    rows = await db.fetchall(
        f"{_TARGET_SELECT} WHERE t.campaign_id = ? AND t.state = 'waiting' AND t.id > ?"
        " ORDER BY t.id LIMIT ? OFFSET ?",
        (ref.id, after_id, _page(limit), max(0, offset)),
    )
    return [_target(r) for r in rows]


async def movable(
    db: Database, actor: Actor, campaign: CampaignName, *, after_id: int = 0, limit: int = 100
) -> list[Target]:
    """The targets a move may still apply to (waiting or programmed), by id after
    ``after_id``: keyset pages, so page 100 of 100,000 targets costs what page 1 does."""
    ref = await authorized_in(db, actor, Action.VIEW_CAMPAIGN_POOL, campaign)
    rows = await db.fetchall(
        f"{_TARGET_SELECT} WHERE t.campaign_id = ? AND t.state IN ('waiting', 'programmed')"
        " AND t.id > ? ORDER BY t.id LIMIT ?",
        (ref.id, after_id, _page(limit)),
    )
    return [_target(r) for r in rows]


async def targets(
    db: Database,
    actor: Actor,
    campaign: CampaignName,
    state: str | None = None,
    *,
    after_id: int = 0,
    limit: int = 100,
) -> list[Target]:
    """The campaign's targets (of ``state``), by id after ``after_id``, with their results."""
    ref = await authorized_in(db, actor, Action.VIEW_CAMPAIGN, campaign)
    if state is not None and state not in STATES:
        raise InvalidInput(f"{state!r} is not a target state; use one of {', '.join(STATES)}")
    where = "t.campaign_id = ? AND t.id > ?" + (" AND t.state = ?" if state else "")
    params: tuple[object, ...] = (ref.id, after_id, *((state,) if state else ()), _page(limit))
    rows = await db.fetchall(f"{_TARGET_SELECT} WHERE {where} ORDER BY t.id LIMIT ?", params)
    return [_target(r) for r in rows]


async def counts(db: Database, actor: Actor, campaign: CampaignName) -> dict[str, int]:
    """How many targets are in each state (every state named, 0 included)."""
    ref = await authorized_in(db, actor, Action.VIEW_CAMPAIGN, campaign)
    rows = await db.fetchall(
        "SELECT state, count(*) FROM campaign_targets WHERE campaign_id = ? GROUP BY state",
        (ref.id,),
    )
    found = {r[0]: r[1] for r in rows}
    return {s: int(found.get(s, 0)) for s in STATES}


async def moves(
    db: Database,
    actor: Actor,
    campaign: CampaignName,
    target_id: int | None = None,
    *,
    after_id: int = 0,
    limit: int = 100,
) -> list[MoveRecord]:
    """The campaign's moves (of one target), oldest first, with who made them."""
    ref = await authorized_in(db, actor, Action.VIEW_CAMPAIGN, campaign)
    where = "mv.campaign_id = ? AND mv.id > ?" + (" AND mv.target_id = ?" if target_id else "")
    params = (ref.id, after_id, *((target_id,) if target_id else ()), _page(limit))
    rows = await db.fetchall(
        "SELECT mv.id, mv.target_id, mv.action, mv.due_at, mv.at,"
        " coalesce(a.name, a.username, '') AS agent"
        " FROM campaign_moves mv LEFT JOIN agents a ON a.id = mv.agent_id"
        f" WHERE {where} ORDER BY mv.id LIMIT ?",
        params,
    )
    return [
        MoveRecord(
            r["id"],
            r["target_id"],
            r["action"],
            from_ms_or_none(r["due_at"]),
            r["agent"],
            from_ms(r["at"]),
        )
        for r in rows
    ]


def _target(row: sqlite3.Row) -> Target:
    return Target(
        row["id"],
        row["contact_id"],
        row["contact_name"],
        row["phone"],
        row["state"],
        from_ms_or_none(row["due_at"]),
        row["reason"],
        row["message_id"],
        row["message_status"],
        row["error"],
        from_ms_or_none(row["replied_at"]),
        from_ms_or_none(row["opted_out_at"]),
    )


# --- moving -------------------------------------------------------------------


async def program(
    db: Database,
    actor: Actor,
    campaign: CampaignName,
    target_ids: Sequence[int] | Literal["all"],
    at: datetime,
) -> Moved:
    """Waiting targets (or "all" of them) become programmed, due at ``at``."""
    return await _move(db, actor, campaign, PROGRAM, target_ids, at)


async def reprogram(
    db: Database, actor: Actor, campaign: CampaignName, target_ids: Sequence[int], at: datetime
) -> Moved:
    """Programmed targets become due at ``at`` instead."""
    return await _move(db, actor, campaign, REPROGRAM, target_ids, at)


async def remove(
    db: Database, actor: Actor, campaign: CampaignName, target_ids: Sequence[int]
) -> Moved:
    """Waiting or programmed targets are taken out of the campaign."""
    return await _move(db, actor, campaign, REMOVE, target_ids, None)


async def back_to_pool(
    db: Database, actor: Actor, campaign: CampaignName, target_ids: Sequence[int]
) -> Moved:
    """Programmed targets wait in the pool again (the reprogram right)."""
    return await _move(db, actor, campaign, BACK_TO_POOL, target_ids, None)


async def _move(
    db: Database,
    actor: Actor,
    campaign: CampaignName,
    move: Move,
    target_ids: Sequence[int] | Literal["all"],
    at: datetime | None,
) -> Moved:
    async with db.transaction() as tx:
        ref = await authorized_in(tx, actor, move.right, campaign)
        ensure_open(ref)
        due = _due(tx, at) if move.timed else None
        if target_ids == "all":
            if move is not PROGRAM:
                raise InvalidInput("only program takes every waiting target at once")
            chosen = "SELECT id FROM campaign_targets WHERE campaign_id = ? AND state = 'waiting'"
            chosen_params: tuple[object, ...] = (ref.id,)
        else:
            ids = sorted(set(target_ids))
            if not ids:
                raise InvalidInput("name at least one target")
            await _check_states(tx, ref.id, ids, move)
            # One JSON array parameter: any number of ids in one statement.
            chosen = "SELECT value FROM json_each(?)"
            chosen_params = (json.dumps(ids),)
        states = ", ".join(f"'{s}'" for s in move.from_states)  # constants, not input
        picked = (
            f"campaign_id = ? AND state IN ({states}) AND id IN ({chosen})",
            (ref.id, *chosen_params),
        )
        await tx.execute(
            "INSERT INTO campaign_moves (campaign_id, target_id, action, due_at, agent_id, at)"
            f" SELECT campaign_id, id, ?, ?, ?, ? FROM campaign_targets WHERE {picked[0]}",
            (move.action, due, actor.id, tx.now_ms, *picked[1]),
        )
        cursor = await tx.execute(
            f"UPDATE campaign_targets SET state = ?, due_at = ?, updated_at = ? WHERE {picked[0]}",
            (move.to_state, due, tx.now_ms, *picked[1]),
        )
        moved = max(cursor.rowcount, 0)
        if moved:
            await tx.emit(
                f"campaign.targets_{move.action}",
                "campaign",
                ref.id,
                actor_id=actor.id,
                moved=moved,
            )
    return Moved(moved)


async def remove_contacts_in(tx: Tx, contact_id: int, agent_id: int | None, reason: str) -> int:
    """Take a contact's targets not yet sent out of every campaign (REMOVE, each move
    recorded, ``reason`` on the target), as its contact is deleted: without a contact,
    dispatch would send a target as a CSV row. No campaign right is asked: deleting the
    contact was allowed. How many were removed."""
    states = ", ".join(f"'{s}'" for s in REMOVE.from_states)  # constants, not input
    pending = f"contact_id = :contact AND state IN ({states})"
    params = {"contact": contact_id, "agent": agent_id, "now": tx.now_ms}
    await tx.execute(
        "INSERT INTO campaign_moves (campaign_id, target_id, action, agent_id, at)"
        f" SELECT campaign_id, id, :action, :agent, :now FROM campaign_targets WHERE {pending}",
        {**params, "action": REMOVE.action},
    )
    removed = await tx.fetchall(
        "UPDATE campaign_targets SET state = :to, due_at = NULL, reason = :why,"
        f" updated_at = :now WHERE {pending} RETURNING campaign_id",
        {**params, "to": REMOVE.to_state, "why": reason},
    )
    by_campaign = collections.Counter(r[0] for r in removed)
    for campaign_id, moved in sorted(by_campaign.items()):
        await tx.emit(
            f"campaign.targets_{REMOVE.action}", "campaign", campaign_id, actor_id=agent_id,
            moved=moved,
        )  # fmt: skip
    return len(removed)


def _due(tx: Tx, at: datetime | None) -> int:
    if at is None:
        raise InvalidInput("say when the targets are due")
    if at.tzinfo is None:
        raise InvalidInput("the due time needs a time zone (or UTC offset)")
    due = to_ms(at)
    if due < tx.now_ms:
        raise InvalidInput(
            f"{at.isoformat(timespec='minutes')} is in the past; targets are programmed for"
            " a time to come"
        )
    return due


async def _check_states(tx: Tx, campaign_id: int, ids: list[int], move: Move) -> None:
    rows = await tx.fetchall(
        "SELECT id, state FROM campaign_targets"
        " WHERE campaign_id = ? AND id IN (SELECT value FROM json_each(?))",
        (campaign_id, json.dumps(ids)),
    )
    found = {r[0]: r[1] for r in rows}
    unknown = [i for i in ids if i not in found]
    if unknown:
        raise NotFound(f"no target {_listed(unknown)} in this campaign; nothing was moved")
    wrong = [f"{i} ({found[i]})" for i in ids if found[i] not in move.from_states]
    if wrong:
        raise InvalidInput(
            f"{move.action} applies to {' or '.join(move.from_states)} targets only, not to"
            f" {_listed(wrong)}; nothing was moved"
        )


def _listed(items: Sequence[object]) -> str:
    shown = ", ".join(str(i) for i in items[:_SHOWN])
    return shown + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")
