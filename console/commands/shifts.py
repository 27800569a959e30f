"""shifts list | add | remove | now | week | import: staff shifts (A3)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from console import files
from console.options import db_option, emit_json, json_option, none_listed, with_db
from console.safe_text import printable
from core.people.authz import SYSTEM
from core.text import counted

if TYPE_CHECKING:
    from core.db import Database
    from core.shifts.ics import EventNote
    from core.shifts.model import Shift
    from core.shifts.on_shift import OnShift

# As the other set-up commands: the local operator, who can write the file anyway.
OPERATOR = SYSTEM
SHOWN = "%a %Y-%m-%d %H:%M %Z"
KIND = click.Choice(["normal", "oncall"], case_sensitive=False)


@click.group("shifts")
def shifts_group() -> None:
    """Staff shifts: normal and on-call, weekly or one-off, and who is on now."""


def _shift_json(shift: Shift) -> dict[str, object]:
    return {
        "id": shift.id,
        "username": shift.username,
        "name": shift.name,
        "kind": shift.kind,
        "time_zone": shift.time_zone,
        "weekly": shift.weekly,
        "start_minute": shift.start_minute,
        "minutes": shift.minutes,
        "starts_at": None if shift.starts_at is None else shift.starts_at.isoformat(),
        "ends_at": None if shift.ends_at is None else shift.ends_at.isoformat(),
        "when": shift.when,
        "source": shift.source,
        "ics_uid": shift.ics_uid,
    }


def _shift_line(shift: Shift) -> str:
    return (
        f"{shift.id:>5}  {printable(shift.username):<12} {shift.kind:<6}  "
        f"{printable(shift.when)}" + (f"  [{shift.source}]" if shift.source != "cli" else "")
    )


@shifts_group.command("list")
@click.option("--user", metavar="USERNAME", help="Only this person's shifts.")
@json_option
@db_option
@with_db(reads_only=True)
async def shifts_list(db: Database, user: str | None, as_json: bool) -> None:
    """Every shift, by person: weekly ones in week order, then one-offs."""
    from core.shifts import shifts

    found = await shifts.list_shifts(db, OPERATOR, user)
    if as_json:
        emit_json([_shift_json(s) for s in found])
        return
    if not found:
        none_listed(
            "shifts", "switchboard shifts add USERNAME KIND DAY HH:MM to DAY HH:MM adds one"
        )
    for shift in found:
        click.echo(_shift_line(shift))


@shifts_group.command("add")
@click.argument("user", metavar="USERNAME")
@click.argument("kind", type=KIND)
@click.argument("span", nargs=-1, metavar="[DAY HH:MM to DAY HH:MM]")
@click.option("--from", "start", metavar="ISO", help="A one-off shift's start (2026-03-08T18:00).")
@click.option("--to", "end", metavar="ISO", help="A one-off shift's end.")
@click.option(
    "--zone", metavar="ZONE", help="The IANA time zone of its times (default: the account's)."
)
@db_option
@with_db
async def shifts_add(
    db: Database,
    user: str,
    kind: str,
    span: tuple[str, ...],
    start: str | None,
    end: str | None,
    zone: str | None,
) -> None:
    """Add a weekly shift (`mon 18:00 to tue 08:00`, local time; an end before the start
    runs into the next week) or a one-off one (--from and --to) for USERNAME.

    KIND is normal (new-chat alerts and reminders) or oncall (escalations).
    """
    from core.errors import InvalidInput
    from core.shifts import shifts

    one_off = start is not None or end is not None
    if one_off and span:
        raise InvalidInput("give a weekly span or --from and --to, not both")
    if one_off:
        if start is None or end is None:
            raise InvalidInput("a one-off shift needs both --from and --to")
        made = await shifts.add_once(db, OPERATOR, user, kind, start, end, zone, source="cli")
    elif span:
        made = await shifts.add_weekly(db, OPERATOR, user, kind, " ".join(span), zone, source="cli")
    else:
        raise InvalidInput("give a weekly span (mon 18:00 to tue 08:00) or --from and --to")
    click.echo(f"added shift {made.id}: {printable(made.username)}, {made.kind}, {made.when}")


@shifts_group.command("remove")
@click.argument("shift_id", metavar="SHIFT", type=click.IntRange(1, 2**63 - 1))
@db_option
@with_db
async def shifts_remove(db: Database, shift_id: int) -> None:
    """Remove shift SHIFT (its id in `shifts list`)."""
    from core.shifts import shifts

    gone = await shifts.remove(db, OPERATOR, shift_id)
    click.echo(f"removed shift {gone.id}: {printable(gone.username)}, {gone.kind}, {gone.when}")


def _at(text: str | None, zone: str | None) -> datetime | None:
    """--at: ISO; without an offset, the wall time of --zone (else UTC)."""
    if text is None:
        return None
    from zoneinfo import ZoneInfo

    from core.weektime import check_zone, parse_at

    at = parse_at(text)
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo(check_zone(zone or "UTC")))
    return at


def _on_json(entry: OnShift) -> dict[str, object]:
    return {
        "shift": _shift_json(entry.shift),
        "starts_at": entry.starts_at.isoformat(),
        "ends_at": None if entry.ends_at is None else entry.ends_at.isoformat(),
    }


@shifts_group.command("now")
@click.option("--at", "at_text", metavar="ISO", help="At this instant instead of now.")
@click.option("--zone", metavar="ZONE", help="Show times (and read --at) in this zone.")
@json_option
@db_option
@with_db(reads_only=True)
async def shifts_now(db: Database, at_text: str | None, zone: str | None, as_json: bool) -> None:
    """Who is on a normal and an on-call shift now and until when, and who is next."""
    from zoneinfo import ZoneInfo

    from core.shifts import on_shift
    from core.shifts.shifts import default_zone
    from core.weektime import check_zone

    shown_zone = ZoneInfo(check_zone(zone or await default_zone(db)))
    board = await on_shift.now_and_next(db, OPERATOR, _at(at_text, shown_zone.key))
    if as_json:
        emit_json(
            {
                "at": board.at.isoformat(),
                "on_now": [_on_json(e) for e in board.on_now],
                "next": [_on_json(e) for e in board.next],
            }
        )
        return

    def when(instant: datetime | None) -> str:
        return (
            "never (all week)"
            if instant is None
            else instant.astimezone(shown_zone).strftime(SHOWN)
        )

    click.echo(board.at.astimezone(shown_zone).strftime(SHOWN))
    for kind in ("normal", "oncall"):
        on = [e for e in board.on_now if e.shift.kind == kind]
        if not on:
            click.echo(f"{kind}: nobody on shift")
        for e in on:
            who = f"{printable(e.shift.username)} (shift {e.shift.id})"
            click.echo(f"{kind}: {who} until {when(e.ends_at)}")
    for e in board.next:
        click.echo(
            f"next {e.shift.kind}: {printable(e.shift.username)} (shift {e.shift.id})"
            f" from {when(e.starts_at)}"
        )


@shifts_group.command("week")
@click.option("--zone", metavar="ZONE", help="The viewer's zone (default: the account's).")
@click.option("--at", "at_text", metavar="ISO", help="The week holding this instant.")
@json_option
@db_option
@with_db(reads_only=True)
async def shifts_week(db: Database, zone: str | None, at_text: str | None, as_json: bool) -> None:
    """The week's shifts, Monday to Sunday, in the viewer's zone."""
    import dataclasses

    from core.shifts import on_shift
    from core.shifts.shifts import default_zone

    zone = zone or await default_zone(db)
    rows = await on_shift.week(db, OPERATOR, zone, _at(at_text, zone))
    if as_json:
        emit_json([dataclasses.asdict(r) for r in rows])
        return
    for r in rows:
        span = f"{r.day} {r.start} to {r.end_day} {r.end}"
        click.echo(
            f"{r.id:>5}  {span:<24} {r.kind:<6}  {printable(r.who)}"
            + ("  (once)" if r.once else "")
        )


@shifts_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", metavar="USERNAME", required=True, help="Whose shifts the file holds.")
@click.option(
    "--kind",
    type=KIND,
    default="normal",
    show_default=True,
    help="The events' kind (CATEGORIES on-call makes one on-call).",
)
@click.option("--zone", metavar="ZONE", help="The zone of floating times (default: the account's).")
@json_option
@db_option
@with_db
async def shifts_import(
    db: Database, file: Path, user: str, kind: str, zone: str | None, as_json: bool
) -> None:
    """Import USERNAME's shifts from an iCalendar FILE: all or nothing, every problem
    reported by event; importing again replaces the shifts of the same UIDs."""
    import dataclasses

    from core.shifts.ics import MAX_BYTES, import_ics

    data = files.read_at_most(file, MAX_BYTES)
    report = await import_ics(db, OPERATOR, user, data, kind=kind, time_zone=zone)

    if as_json:
        emit_json(
            {
                "saved": report.saved,
                "added": report.added,
                "replaced": report.replaced,
                "skipped": [dataclasses.asdict(n) for n in report.skipped],
                "problems": [dataclasses.asdict(n) for n in report.problems],
            }
        )
    else:
        if report.saved:
            summary = f"imported {counted(report.added, 'shift')}"
            if report.replaced:
                summary += f", replacing {report.replaced} from an earlier import"
        else:
            summary = f"imported nothing: {counted(len(report.problems), 'problem')}, listed below"
        click.echo(summary)
        for what, found in (("problem", report.problems), ("skipped", report.skipped)):
            for note in found:
                click.echo(f"{_event(note)}: {what}: {printable(note.reason)}", err=True)
    if not report.saved:
        sys.exit(1)


def _event(note: EventNote) -> str:
    uid = f"UID {printable(note.uid)}" if note.uid else "no UID"
    summary = f", {printable(note.summary)}" if note.summary else ""
    return f"line {note.line} ({uid}{summary})"
