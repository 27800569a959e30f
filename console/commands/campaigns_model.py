"""campaigns create|list|show|edit|delete|estimate|start|pause|resume|cancel (S1).

As the other set-up commands, these act as the local operator, who can write
the file anyway: a campaign made here is listed in no permission profile, so
managers (manage_settings) see it and `switchboard permissions campaign`
gives it to others. Names, templates and numbers are printed literally.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from console.commands.campaigns_targets import csv_json, read_csv, tell_csv
from console.options import db_option, emit_json, json_option, none_listed, with_db
from console.safe_text import printable
from console.times import zoned_stamp
from core.account_zone import account_zone
from core.people.authz import SYSTEM
from core.text import segment_rate

if TYPE_CHECKING:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from core.campaigns.campaigns import Campaign
    from core.db import Database

OPERATOR = SYSTEM


def _json(c: Campaign) -> dict[str, Any]:
    def when(at: datetime | None) -> str | None:
        return None if at is None else at.isoformat()

    return {
        "id": c.id,
        "name": c.name,
        "status": c.status,
        "sender": c.sender,
        "template": c.template,
        "rate": c.rate,
        "window": c.window,
        "unknown_zone": c.unknown_zone,
        "filter": c.filter,
        "starts_at": when(c.starts_at),
        "started_at": when(c.started_at),
        "finished_at": when(c.finished_at),
        "created_by": c.created_by,
    }


def _line(c: Campaign) -> str:
    return f"{c.id:>5}  {printable(c.name):<24} {c.status:<10} {c.sender:<16} {c.rate:g}/s"


async def _show(db: Database, c: Campaign, as_json: bool) -> None:
    if as_json:
        emit_json(_json(c))
        return
    zone = await account_zone(db)
    click.echo(f"{printable(c.name)} (id {c.id}): {c.status}")
    click.echo(f"  from        {c.sender}")
    click.echo(f"  text        {printable(c.template)}")
    click.echo(f"  rate        {segment_rate(c.rate)}")
    click.echo(f"  window      {c.window} (recipient's time; unknown zone: {c.unknown_zone})")
    if c.filter is not None:
        click.echo(f"  filter      {printable(c.filter)}")
    for label, at in (("starts", c.starts_at), ("started", c.started_at), ("ended", c.finished_at)):
        if at is not None:
            click.echo(f"  {label:<11} {zoned_stamp(at, zone)}")


def _settings_options(func: Any) -> Any:
    for option in reversed(
        (
            click.option("--rate", type=float, help="Segments per second (at most the sender's)."),
            click.option(
                "--window", metavar="HH:MM-HH:MM", help="Sending hours, recipient's time."
            ),
            click.option(
                "--unknown-zone",
                type=click.Choice(["account", "skip"]),
                help="A number whose time zone is unknown: the account's zone, or skip it.",
            ),
        )
    ):
        func = option(func)
    return func


@click.command("create")
@click.argument("name")
@click.option("--from", "sender", required=True, metavar="NUMBER", help="One of our numbers.")
@click.option("--text", "template", required=True, help="The text; fields as {{first_name}}.")
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Its first targets from a CSV file, whose columns the text may use.",
)
@_settings_options
@json_option
@db_option
@with_db
async def create_command(
    db: Database,
    name: str,
    sender: str,
    template: str,
    csv_file: Path | None,
    rate: float | None,
    window: str | None,
    unknown_zone: str | None,
    as_json: bool,
) -> None:
    """Create campaign NAME, a draft: add targets, look at the estimate, then start it."""
    from core.campaigns import campaigns, targets_csv

    options = {
        "rate": 1.0 if rate is None else rate,
        "window": window or campaigns.DEFAULT_WINDOW,
        "unknown_zone": unknown_zone or campaigns.ACCOUNT,
    }
    report = None
    if csv_file is None:
        made = await campaigns.create(db, OPERATOR, name, sender, template, **options)
    else:
        made, report = await targets_csv.create_with_csv(
            db, OPERATOR, name, sender, template, await read_csv(csv_file), **options
        )
    if as_json:
        emit_json({**_json(made), **({} if report is None else {"targets": csv_json(report)})})
    else:
        click.echo(f"created campaign {printable(made.name)} (id {made.id}), a draft")
        if report is not None:
            tell_csv(report)
    if report is not None and report.errors and not report.added:
        sys.exit(1)  # as `targets add --csv`: the file gave nothing (the draft is made)


@click.command("list")
@json_option
@db_option
@with_db(reads_only=True)
async def list_command(db: Database, as_json: bool) -> None:
    """Every campaign, newest first."""
    from core.campaigns import campaigns

    found = await campaigns.list_campaigns(db, OPERATOR)
    if as_json:
        emit_json([_json(c) for c in found])
        return
    if not found:
        none_listed(
            "campaigns you may see",
            "switchboard campaigns create NAME --from NUMBER --text TEXT makes one",
        )
    for c in found:
        click.echo(_line(c))


@click.command("show")
@click.argument("name")
@json_option
@db_option
@with_db(reads_only=True)
async def show_command(db: Database, name: str, as_json: bool) -> None:
    """Campaign NAME (or its id): status, sender, text, rate, window."""
    from core.campaigns import campaigns

    await _show(db, await campaigns.get(db, OPERATOR, name), as_json)


@click.command("edit")
@click.argument("name")
@click.option("--name", "new_name", metavar="NEW", help="A new name.")
@click.option("--from", "sender", metavar="NUMBER", help="Another of our numbers.")
@click.option("--text", "template", help="A new text.")
@_settings_options
@json_option
@db_option
@with_db
async def edit_command(
    db: Database,
    name: str,
    new_name: str | None,
    sender: str | None,
    template: str | None,
    rate: float | None,
    window: str | None,
    unknown_zone: str | None,
    as_json: bool,
) -> None:
    """Change campaign NAME (a draft, scheduled or paused one): only what is given."""
    from core.campaigns import campaigns

    changed = await campaigns.edit(
        db,
        OPERATOR,
        name,
        name=new_name,
        sender=sender,
        template=template,
        rate=rate,
        window=window,
        unknown_zone=unknown_zone,
    )
    await _show(db, changed, as_json)


@click.command("delete")
@click.argument("name")
@db_option
@with_db
async def delete_command(db: Database, name: str) -> None:
    """Delete campaign NAME, a draft, and its targets (a started one is cancelled instead)."""
    from core.campaigns import campaigns

    await campaigns.delete(db, OPERATOR, name)
    click.echo(f"deleted campaign {printable(name)}")


def _start_at(at: str | None, zone: ZoneInfo) -> datetime | None:
    if at is None:
        return None
    from core.campaigns import campaigns

    return campaigns.parse_start(at, zone.key)


_AT_HELP = (
    "When it starts: 2026-03-01T09:00 (the account's time zone unless an offset is given);"
    " default now."
)


@click.command("estimate")
@click.argument("name")
@click.option("--at", metavar="WHEN", help=_AT_HELP)
@json_option
@db_option
@with_db
async def estimate_command(db: Database, name: str, at: str | None, as_json: bool) -> None:
    """What campaign NAME would send: targets and skips, segments, cost, time, bundle."""
    from core.campaigns import estimate

    when = None if at is None else _start_at(at, await account_zone(db))
    found = await estimate.estimate(db, OPERATOR, name, when)
    if as_json:
        emit_json(found.to_dict())
        return
    for line in estimate.describe(found):
        click.echo(printable(line))


@click.command("start")
@click.argument("name")
@click.option("--at", metavar="WHEN", help=_AT_HELP)
@click.option("--yes", is_flag=True, help="Start without asking (the estimate is still printed).")
@json_option
@db_option
@with_db
async def start_command(db: Database, name: str, at: str | None, yes: bool, as_json: bool) -> None:
    """Start campaign NAME now or --at a time; prints the estimate and asks first."""
    from core.campaigns import estimate, lifecycle

    if as_json and not yes:
        from core.errors import InvalidInput

        raise InvalidInput("start --json cannot ask: give --yes to start without asking")
    zone = await account_zone(db)
    when = _start_at(at, zone)
    if when is not None:
        # A time in the past: refused before it asks.
        lifecycle.check_start(db, when, zone)
    if not yes:
        for line in estimate.describe(await estimate.estimate(db, OPERATOR, name, when)):
            click.echo(printable(line))
        if not click.confirm(f"Start campaign {printable(name)}?", default=False):
            click.echo("not started")
            return
    started = await lifecycle.start(db, OPERATOR, name, when, confirm=True)
    if as_json:
        emit_json({"campaign": _json(started.campaign), "estimate": started.estimate.to_dict()})
        return
    if yes:
        for line in estimate.describe(started.estimate):
            click.echo(printable(line))
    c = started.campaign
    if c.status == "scheduled" and c.starts_at is not None:
        when = zoned_stamp(c.starts_at, zone)
        click.echo(f"scheduled campaign {printable(c.name)} for {when}")
    else:
        click.echo(f"started campaign {printable(c.name)}")


def _transition(verb: str, done: str) -> click.Command:
    @click.command(verb)
    @click.argument("name")
    @json_option
    @db_option
    @with_db
    async def command(db: Database, name: str, as_json: bool) -> None:
        from core.campaigns import lifecycle

        changed = await getattr(lifecycle, verb)(db, OPERATOR, name)
        if as_json:
            emit_json(_json(changed))
            return
        click.echo(f"{done} campaign {printable(changed.name)}: {changed.status}")

    command.help = {
        "pause": "Pause campaign NAME; every target keeps its state.",
        "resume": "Resume campaign NAME (scheduled again if its start is still ahead).",
        "cancel": "Cancel campaign NAME; targets not yet sent are skipped.",
    }[verb]
    return command


COMMANDS = (
    create_command,
    list_command,
    show_command,
    edit_command,
    delete_command,
    estimate_command,
    start_command,
    _transition("pause", "paused"),
    _transition("resume", "resumed"),
    _transition("cancel", "cancelled"),
)
