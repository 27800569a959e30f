"""Campaigns and targets written straight into schema 11 (the contract between #13's
parts), for tests of dispatch, replies and progress."""

from __future__ import annotations

import json
from datetime import datetime

from core.clock import to_ms
from core.db import Database
from tests.core.conftest import DEFAULT_NUMBER


async def campaign(
    db: Database,
    name: str = "Spring checkup",
    *,
    template: str = "Hi {{first_name}}, your checkup is due.",
    status: str = "running",
    sender: str = DEFAULT_NUMBER,
    live_filter: str | None = None,
    rate: float = 100.0,
    window: tuple[int, int] = (480, 1260),
    unknown_zone: str = "account",
    starts_at: datetime | None = None,
) -> int:
    now = to_ms(db.clock.now())
    async with db.transaction() as tx:
        return await tx.insert(
            "INSERT INTO campaigns (name, sender, template, status, filter,"
            " rate_segments_per_second, window_start, window_end, unknown_zone, starts_at,"
            " started_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                name,
                sender,
                template,
                status,
                live_filter,
                rate,
                window[0],
                window[1],
                unknown_zone,
                None if starts_at is None else to_ms(starts_at),
                now if status == "running" else None,
                now,
                now,
            ),
        )


async def target(
    db: Database,
    campaign_id: int,
    phone: str,
    *,
    contact_id: int | None = None,
    due: datetime | None = None,
    merge_values: dict[str, str] | None = None,
) -> int:
    """A target, programmed for ``due`` (now by default)."""
    now = to_ms(db.clock.now())
    async with db.transaction() as tx:
        return await tx.insert(
            "INSERT INTO campaign_targets (campaign_id, contact_id, phone, merge_values, state,"
            " due_at, created_at, updated_at) VALUES (?, ?, ?, ?, 'programmed', ?, ?, ?)",
            (
                campaign_id,
                contact_id,
                phone,
                json.dumps(merge_values or {}),
                now if due is None else to_ms(due),
                now,
                now,
            ),
        )


async def set_status(db: Database, campaign_id: int, status: str) -> None:
    async with db.transaction() as tx:
        await tx.execute("UPDATE campaigns SET status = ? WHERE id = ?", (status, campaign_id))


async def targets(db: Database, campaign_id: int) -> dict[str, tuple[str, str | None]]:
    """phone -> (state, reason)."""
    rows = await db.fetchall(
        "SELECT phone, state, reason FROM campaign_targets WHERE campaign_id = ?", (campaign_id,)
    )
    return {r["phone"]: (r["state"], r["reason"]) for r in rows}
