"""stats: per agent or per queue over a period (issue #10, item 8), for scripts too."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import click

from console.figures import COLUMNS, cell, days_ending, midnight
from console.options import as_option, db_option, emit_json, json_option, resolve_actor, with_db
from console.safe_text import clipped
from core import statistics
from core.account_zone import account_zone
from core.db import Database
from core.statistics import By

DEFAULT_DAYS = 7
NAME_WIDTH = 24


def _day(ctx: click.Context, param: click.Parameter, value: datetime | None) -> date | None:
    """A --from or --to day we can compute with; checked as the options are read, so a
    bad one is a usage error (exit 2) like any other bad option value."""
    if value is None:
        return None
    # Year 1 or 9999 is a date click reads but no instant we can compute with: the default
    # --from, the day after and any zone's offset must stay inside the calendar.
    if (
        not date.min + timedelta(days=DEFAULT_DAYS + 2)
        <= value.date()
        <= date.max - timedelta(days=2)
    ):
        raise click.BadParameter(f"{value.date().isoformat()} is out of range")
    return value.date()


@click.command("stats")
@click.option(
    "--from",
    "start",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    metavar="DATE",
    callback=_day,
    help=f"First day (YYYY-MM-DD, local time; default: {DEFAULT_DAYS} days ending with --to).",
)
@click.option(
    "--to",
    "end",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    metavar="DATE",
    callback=_day,
    help="Last day, included (YYYY-MM-DD, local time; default: today).",
)
@click.option(
    "--by",
    type=click.Choice([b.value for b in By]),
    default=By.AGENT.value,
    show_default=True,
    help="One row per agent or per queue.",
)
@as_option
@json_option
@db_option
@with_db(reads_only=True)
async def stats_command(
    db: Database,
    start: date | None,
    end: date | None,
    by: str,
    as_user: str | None,
    as_json: bool,
) -> None:
    """Statistics per agent or queue: offers, handled, first-response times, SMS sent.

    For those whose permission profile has the statistics right. The period
    runs from the start of --from to the end of --to, at most 366 days.
    Response times are in seconds in --json.
    """
    actor = await resolve_actor(db, as_user)
    zone = await account_zone(db)  # the centre's days, not the server's
    last = end or db.clock.now().astimezone(zone).date()
    if start is None:
        first, after_last = days_ending(last, DEFAULT_DAYS, zone)
    else:
        first, after_last = midnight(start, zone), midnight(last + timedelta(days=1), zone)
    found = await statistics.report(db, actor, first, after_last, By(by))
    if as_json:
        emit_json(
            {
                "by": found.by.value,
                "from": found.start.isoformat(),
                "to": found.end.isoformat(),
                "rows": [
                    {
                        "id": row.id,
                        "name": row.name,
                        "offered": row.offered,
                        "accepted": row.accepted,
                        "missed": row.missed,
                        "handled": row.handled,
                        "first_responses": row.responses,
                        "median_first_response_seconds": row.median_first_response,
                        "p90_first_response_seconds": row.p90_first_response,
                        "messages_sent": row.messages_sent,
                        "segments_sent": row.segments_sent,
                    }
                    for row in found.rows
                ],
            }
        )
        return
    shown_from = found.start.astimezone(zone).date()
    shown_to = (found.end.astimezone(zone) - timedelta(days=1)).date()
    click.echo(f"{shown_from.isoformat()} to {shown_to.isoformat()}, by {found.by.value}")
    headings = [found.by.value.capitalize(), *(heading for heading, _ in COLUMNS)]
    widths = [NAME_WIDTH, *(max(len(heading), 6) for heading, _ in COLUMNS)]
    click.echo(_line(headings, widths))
    for row in found.rows:
        cells = [clipped(row.name, NAME_WIDTH), *(cell(row, attr) for _, attr in COLUMNS)]
        click.echo(_line(cells, widths))
    if not found.rows:
        click.echo(f"(no {found.by.value}s)")


def _line(cells: list[str], widths: list[int]) -> str:
    name, *figures = cells
    return "  ".join(
        [name.ljust(widths[0]), *(c.rjust(w) for c, w in zip(figures, widths[1:], strict=True))]
    ).rstrip()
