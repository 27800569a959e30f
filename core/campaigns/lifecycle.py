"""S1: a campaign's life: draft → scheduled or running → paused → finished or cancelled.

Start is the moment everything is checked once more, in one transaction
with what it writes: the live filter's matches become targets, the estimate
is made on exactly those rows, a campaign with nobody to send to is refused
saying why, and one whose estimate has warnings (the monthly bundle) starts
only with ``confirm=True``: the refusal carries the estimate to show. Then
the targets start would never send to are skipped with the reason (opted
out, not a mobile; dispatch checks opt-outs again at send time), and every
waiting target is programmed for the start, each move recorded with who.

Pause and resume change only the campaign's status: every target keeps its
state and due time, and dispatch sends nothing for a campaign that is not
running. Cancel skips what has not been handed to the outbox yet.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from core.account_zone import account_zone, zoned
from core.campaigns import estimate, targets
from core.campaigns.campaigns import (
    CANCELLED,
    DRAFT,
    PAUSED,
    RUNNING,
    SCHEDULED,
    Campaign,
    ensure_status,
    from_row,
    row_in,
)
from core.campaigns.estimate import Estimate
from core.clock import from_ms, to_ms
from core.db import Database, Tx
from core.delivery import outbox
from core.errors import InvalidInput, NeedsConfirmation, NoEligibleTargets
from core.people.authz import Action, Actor, CampaignAccess, authorize
from core.records import record

OPTED_OUT: str = "opted out"
NOT_MOBILE: str = "not a mobile number"
CANCELLED_REASON: str = "the campaign was cancelled"


@record
class Started:
    campaign: Campaign
    estimate: Estimate


async def start(
    db: Database,
    actor: Actor,
    campaign: int | str,
    at: datetime | None = None,
    confirm: bool = False,
) -> Started:
    """Start ``campaign`` now, or at ``at`` (scheduled). Raises InvalidInput (a start in
    the past), NoEligibleTargets, NeedsConfirmation (with the estimate), WrongStatus."""
    async with db.transaction() as tx:
        row = await row_in(tx, campaign)
        authorize(actor, Action.MANAGE_CAMPAIGN, CampaignAccess(row["id"]))
        ensure_status(row, (DRAFT,), "started")
        now = tx.now_ms
        start_ms = now if at is None else to_ms(at)
        _ensure_ahead(start_ms, now, await account_zone(tx))
        # The filter's new targets are programmed as they are made: one write each.
        newest = await tx.scalar("SELECT coalesce(max(id), 0) FROM campaign_targets")
        await targets.materialise_in(tx, row["id"], programmed_for=start_ms)
        # Skipped first, in this transaction (a refusal below rolls it back): the
        # estimate then reads only the targets left, all eligible.
        skipped = await _skip_at_start(tx, row["id"], newest)
        found = await estimate.estimate_in(tx, row, start_ms, skipped)
        if found.eligible == 0:
            raise NoEligibleTargets(_why_nobody(row["name"], found))
        if found.warnings and not confirm:
            raise NeedsConfirmation(
                f"campaign {row['name']!r} needs confirmation to start: "
                + "; ".join(found.warnings),
                found,
            )
        programmed = await _program_waiting(tx, row["id"], start_ms, actor.id, newest)
        status = SCHEDULED if start_ms > now else RUNNING
        await tx.execute(
            "UPDATE campaigns SET status = ?, starts_at = ?, started_at = ?, updated_at = ?"
            " WHERE id = ?",
            (status, start_ms, now if status == RUNNING else None, now, row["id"]),
        )
        await tx.emit(
            "campaign.started", "campaign", row["id"], actor_id=actor.id, programmed=programmed
        )
        return Started(from_row(await row_in(tx, row["id"])), found)


def check_start(db: Database, at: datetime, zone: ZoneInfo) -> None:
    """Refuse a start in the past before anything is asked (the console's time prompt);
    ``start`` checks again, in its transaction, when it happens. ``zone``: the account's,
    that the refusal's times are shown in."""
    if at.tzinfo is None:
        raise InvalidInput("the start needs a time zone (or UTC offset)")
    _ensure_ahead(to_ms(at), to_ms(db.clock.now()), zone)


def _ensure_ahead(start_ms: int, now: int, zone: ZoneInfo) -> None:
    if start_ms < now:
        raise InvalidInput(
            f"the start {zoned(from_ms(start_ms), zone)} is in the past (it is now"
            f" {zoned(from_ms(now), zone)}); give a later time, or none to start now"
        )


def _why_nobody(name: str, found: Estimate) -> str:
    if found.targets == 0:
        return (
            f"campaign {name!r} has no targets to send to: add contacts, a CSV or a live"
            " filter that matches someone (switchboard campaigns targets add)"
        )
    reasons = []
    if found.opted_out:
        reasons.append(f"{found.opted_out} opted out")
    if found.not_mobile:
        reasons.append(f"{found.not_mobile} not a mobile number")
    if found.no_sending_time:
        reasons.append(f"{found.no_sending_time} with no sending time in their time zone")
    every = "its target is" if found.targets == 1 else f"all {found.targets} targets are"
    return f"campaign {name!r} has nobody to send to: {every} skipped ({', '.join(reasons)})"


async def _skip_at_start(tx: Tx, campaign_id: int, made_after: int) -> estimate.Skips:
    """Skip, with the reason, the targets no message will go to; how many of each,
    among how many targets (as ``estimate.skips_in`` counted them before). The targets
    made since id ``made_after`` are contacts' first mobiles, just read: only the
    others' numbers are looked up again (0.1 s at 100,000 targets)."""
    total = await tx.scalar(
        "SELECT count(*) FROM campaign_targets WHERE campaign_id = ?"
        " AND state IN ('waiting', 'programmed')",
        (campaign_id,),
    )
    opted = await tx.execute(
        "UPDATE campaign_targets SET state = 'skipped', reason = :why, due_at = NULL,"
        " updated_at = :now WHERE campaign_id = :campaign"
        " AND state IN ('waiting', 'programmed')"
        " AND phone IN (SELECT phone FROM phone_consent WHERE opted_out = 1)",
        {"why": OPTED_OUT, "now": tx.now_ms, "campaign": campaign_id},
    )
    not_mobile = await tx.execute(
        "UPDATE campaign_targets AS t SET state = 'skipped', reason = :why, due_at = NULL,"
        " updated_at = :now WHERE t.campaign_id = :campaign"
        f" AND t.state IN ('waiting', 'programmed') AND t.id <= :made_after"
        f" AND {estimate.MOBILE_SQL} = 0",
        {"why": NOT_MOBILE, "now": tx.now_ms, "campaign": campaign_id, "made_after": made_after},
    )
    return estimate.Skips(opted.rowcount, not_mobile.rowcount, int(total))


async def _program_waiting(
    tx: Tx, campaign_id: int, due_ms: int, agent_id: int | None, made_after: int
) -> int:
    """Every waiting target programmed for ``due_ms``, and each move recorded, with those
    of the targets made programmed since id ``made_after``; how many."""
    cursor = await tx.execute(
        "INSERT INTO campaign_moves (campaign_id, target_id, action, due_at, agent_id, at)"
        " SELECT campaign_id, id, 'program', ?, ?, ? FROM campaign_targets"
        " WHERE campaign_id = ? AND (state = 'waiting' OR (state = 'programmed' AND id > ?))",
        (due_ms, agent_id, tx.now_ms, campaign_id, made_after),
    )
    await tx.execute(
        "UPDATE campaign_targets SET state = 'programmed', due_at = ?, updated_at = ?"
        " WHERE campaign_id = ? AND state = 'waiting'",
        (due_ms, tx.now_ms, campaign_id),
    )
    return int(cursor.rowcount)


async def pause(db: Database, actor: Actor, campaign: int | str) -> Campaign:
    """Running or scheduled → paused; every target keeps its state."""
    return await _move(db, actor, campaign, (RUNNING, SCHEDULED), "paused", "campaign.paused")


async def resume(db: Database, actor: Actor, campaign: int | str) -> Campaign:
    """Paused → running, or scheduled when its start is still ahead."""
    return await _move(db, actor, campaign, (PAUSED,), "resumed", "campaign.resumed")


async def cancel(db: Database, actor: Actor, campaign: int | str) -> Campaign:
    """Anything not over → cancelled; targets not yet handed to the outbox are skipped."""
    return await _move(
        db, actor, campaign, (DRAFT, SCHEDULED, RUNNING, PAUSED), "cancelled", "campaign.cancelled"
    )


async def _move(
    db: Database,
    actor: Actor,
    campaign: int | str,
    allowed: tuple[str, ...],
    doing: str,
    event: str,
) -> Campaign:
    async with db.transaction() as tx:
        row = await row_in(tx, campaign)
        authorize(actor, Action.MANAGE_CAMPAIGN, CampaignAccess(row["id"]))
        ensure_status(row, allowed, doing)
        now = tx.now_ms
        if event == "campaign.paused":
            status = PAUSED
        elif event == "campaign.resumed":
            ahead = row["starts_at"] is not None and row["starts_at"] > now
            status = SCHEDULED if ahead else RUNNING
        else:
            status = CANCELLED
            await tx.execute(
                "UPDATE campaign_targets SET state = 'skipped', reason = ?, due_at = NULL,"
                " updated_at = ? WHERE campaign_id = ? AND state IN ('waiting', 'programmed')",
                (CANCELLED_REASON, now, row["id"]),
            )
        await tx.execute(
            "UPDATE campaigns SET status = ?, updated_at = ?,"
            " started_at = CASE WHEN ? = 'running' THEN coalesce(started_at, ?) ELSE started_at"
            " END, finished_at = CASE WHEN ? = 'cancelled' THEN ? ELSE finished_at END"
            " WHERE id = ?",
            (status, now, status, now, status, now, row["id"]),
        )
        if status == CANCELLED:
            await outbox.fail_cancelled_in(tx)  # its rows already in the outbox never go
        await tx.emit(event, "campaign", row["id"], actor_id=actor.id)
        return from_row(await row_in(tx, row["id"]))
