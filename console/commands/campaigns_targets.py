"""campaigns targets add|list, pool, program, reprogram, back-to-pool, remove, moves."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from console.options import db_option, emit_json, in_zone, instant, json_option, with_db
from console.safe_text import printable
from console.times import zoned_stamp
from core.account_zone import account_zone
from core.people.authz import SYSTEM
from core.text import counted

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from core.campaigns.pool import Target
    from core.campaigns.targets_csv import CsvAdded
    from core.db import Database

# As the other set-up commands: the local operator, who can write the file anyway.
OPERATOR = SYSTEM


def _ids(ctx: click.Context, param: click.Parameter, value: Any) -> list[int]:
    """Ids as given: `1,2,3`, `1 2 3` or both; a usage error names a word that is not one."""
    words = [value] if isinstance(value, str) else list(value or ())
    found: list[int] = []
    for part in (p.strip() for w in words for p in w.split(",")):
        if not part:
            continue
        if not part.isdigit() or not 0 < int(part) < 2**63:
            raise click.BadParameter(f"{part!r} is not an id", ctx=ctx, param=param)
        found.append(int(part))
    return found


def _at_option(func: Any) -> Any:
    return click.option(
        "--at",
        "at",
        metavar="ISO",
        required=True,
        callback=instant,
        help="When the targets are due (2026-03-01T17:30; the account's time zone unless an"
        " offset is given).",
    )(func)


@click.group("targets")
def targets_group() -> None:
    """A campaign's targets: add contacts, a live filter or a CSV file; list them."""


@targets_group.command("add")
@click.argument("campaign", metavar="NAME")
@click.option("--contacts", "contact_ids", callback=_ids, metavar="IDS", help="Contact ids: 1,2,3.")
@click.option(
    "--filter",
    "filter_text",
    metavar="FILTER",
    help="A live filter: `ready=true tag=vip custom.region=north name~smith`.",
)
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A CSV file with a phone column; other columns are merge fields.",
)
@json_option
@db_option
@with_db
async def targets_add(
    db: Database,
    campaign: str,
    contact_ids: list[int],
    filter_text: str | None,
    csv_file: Path | None,
    as_json: bool,
) -> None:
    """Add targets to campaign NAME: contacts (at their first mobile), every contact a live
    filter matches, or a CSV file's good rows (bad ones are reported by row and column)."""
    from core.errors import InvalidInput

    given = [bool(contact_ids), filter_text is not None, csv_file is not None]
    if sum(given) != 1:
        raise InvalidInput("give one of --contacts, --filter or --csv")
    if contact_ids:
        await _add_contacts(db, campaign, contact_ids, as_json)
    elif filter_text is not None:
        await _add_filter(db, campaign, filter_text, as_json)
    else:
        assert csv_file is not None
        await _add_csv(db, campaign, csv_file, as_json)


async def _add_contacts(db: Database, campaign: str, ids: list[int], as_json: bool) -> None:
    from core.campaigns import targets

    done = await targets.add_contacts(db, OPERATOR, campaign, ids)
    if as_json:
        emit_json(dataclasses.asdict(done))
        return
    already = f", {done.already} already targets" if done.already else ""
    click.echo(f"added {counted(done.added, 'target')}{already}")
    if done.no_mobile:
        click.echo(
            f"not added, no mobile number: {'contact' if len(done.no_mobile) == 1 else 'contacts'} "
            + ", ".join(map(str, done.no_mobile)),
            err=True,
        )
    if done.unknown:
        click.echo("no such contact: " + ", ".join(map(str, done.unknown)), err=True)


async def _add_filter(db: Database, campaign: str, text: str, as_json: bool) -> None:
    from core.campaigns import targets

    done = await targets.add_filter(db, OPERATOR, campaign, text)
    if as_json:
        emit_json(dataclasses.asdict(done))
        return
    click.echo(f"filter {printable(done.filter)}: added {counted(done.added, 'target')}")
    if done.no_mobile:
        click.echo(
            f"{counted(done.no_mobile, 'matching contact')}"
            f" {'has' if done.no_mobile == 1 else 'have'} no mobile number",
            err=True,
        )


async def _add_csv(db: Database, campaign: str, file: Path, as_json: bool) -> None:
    from core.campaigns import targets_csv

    report = await targets_csv.import_csv(db, OPERATOR, campaign, await read_csv(file))
    if as_json:
        emit_json(csv_json(report))
    else:
        tell_csv(report)
    if report.errors and not report.added:
        sys.exit(1)


async def read_csv(file: Path) -> bytes:
    """The file's bytes (``console.files.read_csv``), read off the event loop."""
    from console import files

    return await asyncio.to_thread(files.read_csv, file)


def csv_json(report: CsvAdded) -> dict[str, Any]:
    return {
        "added": report.added,
        "matched_contacts": report.matched_contacts,
        "rejected_rows": report.rejected_rows,
        "errors": [{"row": e.row, "column": e.column, "reason": e.reason} for e in report.errors],
    }


def tell_csv(report: CsvAdded) -> None:
    """What was added on stdout, each bad row's cell on stderr."""
    summary = f"added {counted(report.added, 'target')}"
    if report.errors:
        summary += f", refused {counted(report.rejected_rows, 'row')}"
    click.echo(summary)
    for e in report.errors:
        where = f"row {e.row}, column {printable(e.column)}"
        click.echo(f"{where}: {printable(e.reason)}", err=True)


def _target_line(t: Target, zone: ZoneInfo) -> str:
    result = t.message_status or ""
    if t.error:
        result += f" ({t.error})"
    if t.reason:
        result = t.reason
    who = t.contact_name or (f"contact {t.contact_id}" if t.contact_id else "")
    due = zoned_stamp(t.due_at, zone)
    return printable(
        f"{t.id:>7}  {t.state:<10} {t.phone:<16} {due:<22} {who[:24]:<24} {result}"
    ).rstrip()


def _target_json(t: Target) -> dict[str, Any]:
    return dataclasses.asdict(t)


@targets_group.command("list")
@click.argument("campaign", metavar="NAME")
@click.option(
    "--state",
    type=click.Choice(["waiting", "programmed", "queued", "skipped", "removed"]),
    help="Only targets in this state.",
)
@click.option("--after", "after_id", type=click.IntRange(0, 2**63 - 1), default=0, metavar="ID")
@click.option("--limit", type=click.IntRange(1, 1000), default=100)
@json_option
@db_option
@with_db(reads_only=True)
async def targets_list(
    db: Database, campaign: str, state: str | None, after_id: int, limit: int, as_json: bool
) -> None:
    """Campaign NAME's targets by id: state, number, due time, contact, and the result
    (the message's status and error, or why it was skipped)."""
    from core.campaigns import pool

    found = await pool.targets(db, OPERATOR, campaign, state, after_id=after_id, limit=limit)
    if as_json:
        emit_json([_target_json(t) for t in found])
        return
    zone = await account_zone(db)
    for t in found:
        click.echo(_target_line(t, zone))


@click.command("pool")
@click.argument("campaign", metavar="NAME")
@click.option("--offset", type=click.IntRange(0, 2**31), default=0)
@click.option("--limit", type=click.IntRange(1, 1000), default=100)
@json_option
@db_option
@with_db(reads_only=True)
async def pool_command(db: Database, campaign: str, offset: int, limit: int, as_json: bool) -> None:
    """Campaign NAME's waiting pool: targets not programmed yet, oldest first."""
    from core.campaigns import pool

    found = await pool.pool(db, OPERATOR, campaign, limit, offset)
    if as_json:
        emit_json([_target_json(t) for t in found])
        return
    zone = await account_zone(db)
    for t in found:
        click.echo(_target_line(t, zone))


@click.command("program")
@click.argument("campaign", metavar="NAME")
@click.argument("target_ids", nargs=-1, callback=_ids, metavar="[IDS]")
@click.option("--all", "everyone", is_flag=True, help="Every waiting target.")
@_at_option
@json_option
@db_option
@with_db
async def program_command(
    db: Database,
    campaign: str,
    target_ids: list[int],
    everyone: bool,
    at: datetime,
    as_json: bool,
) -> None:
    """Program waiting targets of campaign NAME (IDS, or --all) for --at."""
    from core.campaigns import pool
    from core.errors import InvalidInput

    if everyone == bool(target_ids):
        raise InvalidInput("give the target ids, or --all for every waiting target")
    due, zone = await _due(db, at)
    done = await pool.program(db, OPERATOR, campaign, "all" if everyone else target_ids, due)
    _moved(done.moved, "programmed for " + zoned_stamp(due, zone), as_json)


@click.command("reprogram")
@click.argument("campaign", metavar="NAME")
@click.argument("target_ids", nargs=-1, required=True, callback=_ids, metavar="IDS")
@_at_option
@json_option
@db_option
@with_db
async def reprogram_command(
    db: Database, campaign: str, target_ids: list[int], at: datetime, as_json: bool
) -> None:
    """Give programmed targets IDS of campaign NAME another due time, --at."""
    from core.campaigns import pool

    due, zone = await _due(db, at)
    done = await pool.reprogram(db, OPERATOR, campaign, target_ids, due)
    _moved(done.moved, "reprogrammed for " + zoned_stamp(due, zone), as_json)


@click.command("back-to-pool")
@click.argument("campaign", metavar="NAME")
@click.argument("target_ids", nargs=-1, required=True, callback=_ids, metavar="IDS")
@json_option
@db_option
@with_db
async def back_to_pool_command(
    db: Database, campaign: str, target_ids: list[int], as_json: bool
) -> None:
    """Programmed targets IDS of campaign NAME wait in the pool again."""
    from core.campaigns import pool

    done = await pool.back_to_pool(db, OPERATOR, campaign, target_ids)
    _moved(done.moved, "back in the pool", as_json)


@click.command("remove")
@click.argument("campaign", metavar="NAME")
@click.argument("target_ids", nargs=-1, required=True, callback=_ids, metavar="IDS")
@json_option
@db_option
@with_db
async def remove_command(db: Database, campaign: str, target_ids: list[int], as_json: bool) -> None:
    """Take waiting or programmed targets IDS out of campaign NAME."""
    from core.campaigns import pool

    done = await pool.remove(db, OPERATOR, campaign, target_ids)
    _moved(done.moved, "removed", as_json)


async def _due(db: Database, at: datetime) -> tuple[datetime, ZoneInfo]:
    """--at as typed (without an offset, on the account's clock), and the account's zone,
    which the answer is shown in."""
    zone = await account_zone(db)
    due = in_zone(at, zone)
    assert due is not None  # --at is required
    return due, zone


def _moved(moved: int, what: str, as_json: bool) -> None:
    if as_json:
        emit_json({"moved": moved})
    else:
        click.echo(f"{counted(moved, 'target')} {what}")


@click.command("moves")
@click.argument("campaign", metavar="NAME")
@click.option("--target", "target_id", type=click.IntRange(1, 2**63 - 1), metavar="ID")
@click.option("--after", "after_id", type=click.IntRange(0, 2**63 - 1), default=0, metavar="ID")
@click.option("--limit", type=click.IntRange(1, 1000), default=100)
@json_option
@db_option
@with_db(reads_only=True)
async def moves_command(
    db: Database,
    campaign: str,
    target_id: int | None,
    after_id: int,
    limit: int,
    as_json: bool,
) -> None:
    """Every move of campaign NAME's targets (or one --target): what, when due, who, when."""
    from core.campaigns import pool

    found = await pool.moves(db, OPERATOR, campaign, target_id, after_id=after_id, limit=limit)
    if as_json:
        emit_json([dataclasses.asdict(m) for m in found])
        return
    zone = await account_zone(db)
    for m in found:
        click.echo(
            printable(
                f"{m.id:>7}  {zoned_stamp(m.at, zone):<22} target {m.target_id:<7} {m.action:<10}"
                f" {zoned_stamp(m.due_at, zone) if m.due_at else '':<22} {m.agent or 'system'}"
            ).rstrip()
        )


COMMANDS = (
    targets_group,
    pool_command,
    program_command,
    reprogram_command,
    back_to_pool_command,
    remove_command,
    moves_command,
)
"""What this part adds to `switchboard campaigns`."""
