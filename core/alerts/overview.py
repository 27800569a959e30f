"""A6 and the alerts' status, for the CLI (and the console): previews and counts.

Both are open to anyone (``VIEW_SHIFTS``: who gets mobile alerts is not
secret among staff) and carry no contact data: numbers of staff, minutes,
counts of alerts by kind.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Final
from zoneinfo import ZoneInfo

from core import settings
from core.alerts import config, timeline
from core.alerts.consent import alertable_in
from core.clock import from_ms, to_ms
from core.db import Database
from core.errors import InvalidInput
from core.people.authz import Action, Actor, authorize
from core.records import record
from core.shifts.on_shift import NORMAL, ONCALL, staff_on_shift_in
from core.weektime import wall_instant

MAX_EVERY: Final = 30
MAX_REMINDERS: Final = 5
MAX_ESCALATE_AFTER: Final = 5
MAX_STAFF: Final = 100_000


def check(every: int, reminders: int, escalate_after: int) -> None:
    """A1's ranges; InvalidInput naming the one broken."""
    for name, value, top in (
        ("the reminder frequency", every, MAX_EVERY),
        ("the number of reminders", reminders, MAX_REMINDERS),
        ("escalate after", escalate_after, MAX_ESCALATE_AFTER),
    ):
        if not 0 <= value <= top:
            raise InvalidInput(f"{name} must be between 0 (never) and {top}, not {value}")
    if every == 0 and (reminders or escalate_after):
        raise InvalidInput(
            "reminders and the escalation need a reminder frequency of 1 to 30 minutes"
        )


@record
class PreviewReport:
    every: int
    reminders: int
    escalate_after: int
    normal_staff: int
    oncall_staff: int
    preview: timeline.Preview
    chart: timeline.Chart


async def preview(
    db: Database,
    actor: Actor,
    *,
    every: int | None = None,
    reminders: int | None = None,
    escalate_after: int | None = None,
    normal_staff: int | None = None,
    oncall_staff: int | None = None,
) -> PreviewReport:
    """A6 for the current settings and the staff alertable on shift now, or for the
    values given instead."""
    authorize(actor, Action.VIEW_SHIFTS)
    current = config.alert_settings(await settings.load(db))
    f = current.every if every is None else every
    r = current.reminders if reminders is None else reminders
    n = current.escalate_after if escalate_after is None else escalate_after
    check(f, r, n)
    for name, given in (("normal staff", normal_staff), ("on-call staff", oncall_staff)):
        if given is not None and not 0 <= given <= MAX_STAFF:
            raise InvalidInput(f"{name} must be between 0 and {MAX_STAFF:,}, not {given}")
    now = db.clock.now()
    if normal_staff is None:
        normal_staff = len(await alertable_in(db, await staff_on_shift_in(db, now, NORMAL)))
    if oncall_staff is None:
        oncall_staff = len(await alertable_in(db, await staff_on_shift_in(db, now, ONCALL)))
    return PreviewReport(
        f,
        r,
        n,
        normal_staff,
        oncall_staff,
        timeline.preview(f, r, n, normal_staff, oncall_staff),
        timeline.chart(n),
    )


@record
class Status:
    on: bool
    running: int
    """Timelines with a step still to come."""
    next_due: datetime | None
    today: dict[str, int]
    """Alerts queued since midnight in the account's time zone, by kind (every kind listed)."""


async def status(db: Database, actor: Actor) -> Status:
    authorize(actor, Action.VIEW_SHIFTS)
    loaded = await settings.load(db)
    current = config.alert_settings(loaded)
    # The account's day, not the server's (its time_zone, as core/account_zone.py reads it).
    zone = ZoneInfo(loaded.time_zone)
    today_there = db.clock.now().astimezone(zone).date()
    midnight = wall_instant(datetime.combine(today_there, time()), zone)
    row = await db.fetchone(
        "SELECT count(*) AS running, min(alert_due_at) AS due FROM conversations"
        " WHERE alert_due_at IS NOT NULL"
    )
    counted = await db.fetchall(
        "SELECT kind, count(*) AS n FROM staff_alerts"
        " WHERE created_at >= ? AND message_id IS NOT NULL GROUP BY kind",
        (to_ms(midnight),),
    )
    today = dict.fromkeys(timeline.KINDS, 0) | {r["kind"]: r["n"] for r in counted}
    assert row is not None
    due = None if row["due"] is None else from_ms(row["due"])
    return Status(current.on, row["running"], due, today)
