"""campaigns status and results: a campaign's progress, and what became of each target."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import click

from console.options import MAX_LIST, db_option, emit_json, json_option, with_db
from console.safe_text import printable
from console.times import zoned_stamp
from core.account_zone import account_zone
from core.people.authz import SYSTEM
from core.text import counted

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from core.campaigns.progress import Progress
    from core.db import Database

# As the other set-up commands: the local operator, who can write the file anyway.
OPERATOR = SYSTEM

TARGET_STATES = ("waiting", "programmed", "queued", "skipped", "removed")


def _left(seconds: float | None) -> str:
    if seconds is None:
        return "nothing left to send"
    minutes = round(seconds / 60)
    return (
        f"about {minutes // 60} h {minutes % 60:02d} min"
        if minutes >= 60
        else (f"about {max(minutes, 1)} min")
    )


def _lines(p: Progress, zone: ZoneInfo) -> list[str]:
    return [
        f"{printable(p.name)}: {p.status}, {counted(p.total, 'target')}",
        f"  waiting {p.waiting}, programmed {p.programmed}, queued {p.queued},"
        f" skipped {p.skipped}, removed {p.removed}",
        f"  of the queued: in the outbox {p.in_outbox}, sent {p.sent},"
        f" delivered {p.delivered}, failed {p.failed}",
        f"  replied {p.replied}, opted out {p.opted_out}",
        f"  rate {counted(p.sent_last_minute, 'message')}"
        f" ({counted(p.segments_last_minute, 'segment')})"
        " in the last minute",
        f"  started {zoned_stamp(p.started_at, zone)}, finished {zoned_stamp(p.finished_at, zone)};"
        f" left: {_left(p.seconds_left)}",
    ]


@click.command("status")
@click.argument("name")
@json_option
@db_option
@with_db(reads_only=True)
async def status_command(db: Database, name: str, as_json: bool) -> None:
    """Progress of campaign NAME: targets by state, sent, delivered, failed, replies,
    opt-outs, the rate over the last minute and the time left."""
    from core.campaigns import progress

    found = await progress.progress(db, OPERATOR, await progress.campaign_id(db, OPERATOR, name))
    if as_json:
        emit_json({**dataclasses.asdict(found), "rate_per_second": found.rate_per_second})
        return
    for line in _lines(found, await account_zone(db)):
        click.echo(line)


@click.command("results")
@click.argument("name")
@click.option("--state", type=click.Choice(TARGET_STATES), help="Only targets in this state.")
@click.option(
    "--limit", type=click.IntRange(1, None), default=MAX_LIST, show_default=True,
    help="At most this many targets.",
)  # fmt: skip
@json_option
@db_option
@with_db(reads_only=True)
async def results_command(
    db: Database, name: str, state: str | None, limit: int, as_json: bool
) -> None:
    """Per target of campaign NAME: number, state and why, the message's status, replies."""
    from core.campaigns import progress

    cid = await progress.campaign_id(db, OPERATOR, name)
    found = await progress.results(db, OPERATOR, cid, state=state, limit=limit)
    if as_json:
        emit_json([dataclasses.asdict(r) for r in found])
        return
    zone = await account_zone(db)
    for r in found:
        status = r.message_status or "-"
        if r.error:
            status += f" ({r.error})"
        note = f" ({r.reason})" if r.reason else ""
        if r.state == "programmed":
            note = f" for {zoned_stamp(r.due_at, zone)}"
        extra = ""
        if r.replied_at is not None:
            extra += f"  replied {zoned_stamp(r.replied_at, zone)}"
        if r.opted_out_at is not None:
            extra += f"  opted out {zoned_stamp(r.opted_out_at, zone)}"
        click.echo(
            f"{printable(r.phone):<16} {r.state}{printable(note)}  message: {printable(status)}"
            + extra
        )
