"""notify schedules: on-call schedules, weekly slots in a time zone, who is on call now."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import click

from console.options import db_option, emit_json, json_option, with_db
from console.safe_text import printable
from core.people.authz import SYSTEM

if TYPE_CHECKING:
    from core.db import Database
    from core.notify.oncall import OnCall, SlotView

# As the other set-up commands: the local operator, who can write the file anyway.
OPERATOR = SYSTEM


@click.group("schedules")
def schedules_group() -> None:
    """On-call schedules: who is on call, week by week, in a time zone."""


def _span(slot: SlotView) -> str:
    return f"{slot.day} {slot.start} to {slot.end_day} {slot.end}"


def _who(slot: SlotView) -> str:
    return printable(slot.who) + (" (group)" if slot.group_id is not None else "")


def _slot_line(slot: SlotView) -> str:
    return f"{slot.id:>5}  {_span(slot):<24} {_who(slot)}" + ("  held" if slot.held else "")


@schedules_group.command("list")
@json_option
@db_option
@with_db(reads_only=True)
async def schedules_list(db: Database, as_json: bool) -> None:
    """Every on-call schedule, by name."""
    from core.notify import oncall

    found = await oncall.list_schedules(db, OPERATOR)
    if as_json:
        emit_json([dataclasses.asdict(s) for s in found])
        return
    for s in found:
        click.echo(f"{printable(s.name):<24} {printable(s.time_zone):<24} {s.slots:>3} slots")


@schedules_group.command("add")
@click.argument("name")
@click.argument("time_zone", metavar="TIME_ZONE")
@db_option
@with_db
async def schedules_add(db: Database, name: str, time_zone: str) -> None:
    """Add schedule NAME in TIME_ZONE, a named IANA zone (America/New_York)."""
    from core.notify import oncall

    made = await oncall.add_schedule(db, OPERATOR, name, time_zone)
    click.echo(f"added on-call schedule {printable(made.name)} ({printable(made.time_zone)})")


@schedules_group.command("rename")
@click.argument("name")
@click.argument("new_name", metavar="NEW")
@db_option
@with_db
async def schedules_rename(db: Database, name: str, new_name: str) -> None:
    """Rename schedule NAME to NEW."""
    from core.notify import oncall

    changed = await oncall.edit_schedule(db, OPERATOR, name, rename=new_name)
    click.echo(f"renamed on-call schedule {printable(name)} to {printable(changed.name)}")


@schedules_group.command("delete")
@click.argument("name")
@db_option
@with_db
async def schedules_delete(db: Database, name: str) -> None:
    """Delete schedule NAME and its slots (refused while an outcome notifies it)."""
    from core.notify import oncall

    await oncall.delete_schedule(db, OPERATOR, name)
    click.echo(f"deleted on-call schedule {printable(name)}")


@schedules_group.command("slots")
@click.argument("name")
@json_option
@db_option
@with_db(reads_only=True)
async def schedules_slots(db: Database, name: str, as_json: bool) -> None:
    """The slots of schedule NAME through the week, with their ids."""
    from core.notify import oncall

    found = await oncall.week(db, OPERATOR, name)
    if as_json:
        emit_json([dataclasses.asdict(s) for s in found])
        return
    for slot in found:
        click.echo(_slot_line(slot))


@schedules_group.command("add-slot")
@click.argument("name")
@click.argument("span", nargs=-1, required=True, metavar="DAY HH:MM to DAY HH:MM")
@click.option("--profile", metavar="ALIAS", help="The notification profile on call.")
@click.option("--group", metavar="NAME", help="The notification group on call.")
@db_option
@with_db
async def schedules_add_slot(
    db: Database, name: str, span: tuple[str, ...], profile: str | None, group: str | None
) -> None:
    """Add a weekly slot to schedule NAME: `mon 18:00 to tue 08:00` (local time;
    an end before the start runs into the next week)."""
    from core.notify import oncall
    from core.weektime import parse_span

    start, end = parse_span(" ".join(span))
    slot = await oncall.add_slot(db, OPERATOR, name, start, end, profile=profile, group=group)
    click.echo(f"added slot {slot.id}: {_span(slot)}, {_who(slot)}")


@schedules_group.command("edit-slot")
@click.argument("name")
@click.argument("slot_id", metavar="SLOT", type=click.IntRange(1, 2**63 - 1))
@click.argument("span", nargs=-1, metavar="[DAY HH:MM to DAY HH:MM]")
@click.option("--profile", metavar="ALIAS", help="Give the slot to this notification profile.")
@click.option("--group", metavar="NAME", help="Give the slot to this notification group.")
@db_option
@with_db
async def schedules_edit_slot(
    db: Database,
    name: str,
    slot_id: int,
    span: tuple[str, ...],
    profile: str | None,
    group: str | None,
) -> None:
    """Move slot SLOT of schedule NAME, or give it to another profile or group."""
    from core.errors import InvalidInput
    from core.notify import oncall
    from core.weektime import parse_span

    if not span and profile is None and group is None:
        raise InvalidInput("nothing to change: give a new start and end, --profile or --group")
    start, end = parse_span(" ".join(span)) if span else (None, None)
    slot = await oncall.edit_slot(
        db, OPERATOR, name, slot_id, start=start, end=end, profile=profile, group=group
    )
    click.echo(f"slot {slot.id}: {_span(slot)}, {_who(slot)}")


@schedules_group.command("remove-slot")
@click.argument("name")
@click.argument("slot_id", metavar="SLOT", type=click.IntRange(1, 2**63 - 1))
@db_option
@with_db
async def schedules_remove_slot(db: Database, name: str, slot_id: int) -> None:
    """Remove slot SLOT (its id in `slots`) from schedule NAME."""
    from core.notify import oncall

    await oncall.remove_slot(db, OPERATOR, name, slot_id)
    click.echo(f"removed slot {slot_id} from {printable(name)}")


def _now_json(now: OnCall) -> dict[str, object]:
    def slot(s: SlotView | None) -> dict[str, object] | None:
        return None if s is None else dataclasses.asdict(s)

    return {
        "schedule": now.schedule.name,
        "time_zone": now.schedule.time_zone,
        "at": now.at.isoformat(),
        "local": now.local.isoformat(),
        "slot": slot(now.slot),
        "stand_in": slot(now.stand_in),
        "on_call": [dataclasses.asdict(p) for p in now.profiles],
        "next": slot(now.next),
        "next_at": None if now.next_at is None else now.next_at.isoformat(),
    }


@schedules_group.command("now")
@click.argument("name")
@click.option(
    "--at",
    "at_text",
    metavar="ISO",
    help="At this instant instead (2026-03-08T06:30Z; no offset: the schedule's local time).",
)
@json_option
@db_option
@with_db(reads_only=True)
async def schedules_now(db: Database, name: str, at_text: str | None, as_json: bool) -> None:
    """Who is on call on schedule NAME, their contact numbers, and who is next."""
    from zoneinfo import ZoneInfo

    from core.notify import oncall
    from core.weektime import parse_at

    at = None if at_text is None else parse_at(at_text)
    now = await oncall.on_call_now(db, OPERATOR, name, at)
    if as_json:
        emit_json(_now_json(now))
        return
    zone = ZoneInfo(now.schedule.time_zone)
    click.echo(
        f"{printable(now.schedule.name)} ({printable(now.schedule.time_zone)}),"
        f" {now.local.strftime('%a %Y-%m-%d %H:%M %Z')}"
    )
    if now.slot is None:
        click.echo("on call: nobody (no slot holds this time)")
    else:
        click.echo(f"slot {now.slot.id}: {_span(now.slot)}, {_who(now.slot)}")
        if now.stand_in is not None:
            click.echo(
                f"held: the next on call is used, slot {now.stand_in.id}:"
                f" {_span(now.stand_in)}, {_who(now.stand_in)}"
            )
        if not now.profiles:
            click.echo("on call: nobody (everyone the week's slots name is held)")
    for p in now.profiles:
        numbers = ", ".join(printable(n) for n in p.contact_numbers) or "no contact number"
        click.echo(f"on call: {printable(p.alias)}  {numbers}")
    if now.next is not None and now.next_at is not None:
        starts = now.next_at.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z")
        click.echo(f"next: slot {now.next.id}: {_span(now.next)}, {_who(now.next)}, from {starts}")
