"""cases: cases with customer contacts (C1-C4): locations, cases, their contacts, notes.

As the other set-up commands, these act as the local operator, who can write
the file anyway. The case commands are here; contacts, notes, quick actions
and links are in cases_notes.py. Titles, names and notes are printed
literally (``printable``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from console.commands import cases_notes
from console.options import db_option, emit_json, json_option, none_listed, with_db
from console.safe_text import printable
from core.account_zone import account_zone
from core.people.authz import SYSTEM

if TYPE_CHECKING:
    from core.cases.cases import Case
    from core.cases.locations import Location
    from core.db import Database

OPERATOR = SYSTEM


def location_json(loc: Location) -> dict[str, Any]:
    return {"id": loc.id, "name": loc.name, "sender": loc.sender, "direct_reply": loc.direct_reply}


def _location_line(loc: Location) -> str:
    reply = "direct reply on" if loc.direct_reply else "direct reply off"
    return f"{loc.id:>4}  {printable(loc.name):<24} {loc.sender:<16} {reply}"


def case_json(c: Case) -> dict[str, Any]:
    return {
        "id": c.id,
        "code": c.code,
        "title": c.title,
        "status": c.status,
        "location": c.location,
        "sender": c.sender,
        "owner_id": c.owner_id,
        "owner": c.owner,
        "created_at": c.created_at.isoformat(),
        "updated_at": c.updated_at.isoformat(),
        "closed_at": None if c.closed_at is None else c.closed_at.isoformat(),
    }


def case_line(c: Case) -> str:
    return f"{c.code}  {c.status:<6}  {printable(c.title)}  ({printable(c.location)})"


@click.group("locations")
def locations_group() -> None:
    """Case locations: the number their texts go from, and whether SMS replies become notes."""


@locations_group.command("add")
@click.argument("name")
@click.option("--from", "sender", required=True, metavar="NUMBER", help="One of our numbers.")
@click.option(
    "--direct-reply/--no-direct-reply",
    default=True,
    help="An SMS reply becomes a case note (default), or gets one notice that it does not.",
)
@json_option
@db_option
@with_db
async def locations_add(
    db: Database, name: str, sender: str, direct_reply: bool, as_json: bool
) -> None:
    """Add location NAME."""
    from core.cases import locations

    made = await locations.create(db, OPERATOR, name, sender, direct_reply=direct_reply)
    if as_json:
        emit_json(location_json(made))
        return
    click.echo(f"added location {printable(made.name)} (id {made.id})")


@locations_group.command("list")
@json_option
@db_option
@with_db(reads_only=True)
async def locations_list(db: Database, as_json: bool) -> None:
    """Every location, by name."""
    from core.cases import locations

    found = await locations.list_locations(db, OPERATOR)
    if as_json:
        emit_json([location_json(loc) for loc in found])
        return
    for loc in found:
        click.echo(_location_line(loc))


@locations_group.command("set")
@click.argument("location")
@click.option("--name", help="A new name.")
@click.option("--from", "sender", metavar="NUMBER", help="Another of our numbers.")
@click.option("--direct-reply/--no-direct-reply", default=None, help="SMS replies become notes.")
@json_option
@db_option
@with_db
async def locations_set(
    db: Database,
    location: str,
    name: str | None,
    sender: str | None,
    direct_reply: bool | None,
    as_json: bool,
) -> None:
    """Change LOCATION (its name or id)."""
    from core.cases import locations

    made = await locations.edit(
        db, OPERATOR, location, name=name, sender=sender, direct_reply=direct_reply
    )
    if as_json:
        emit_json(location_json(made))
        return
    click.echo(_location_line(made))


async def _owner_id(db: Database, username: str | None) -> int | None:
    if username is None:
        return None
    from core.people import agents

    return (await agents.by_username(db, username)).id


@click.command("create")
@click.argument("title")
@click.option("--location", required=True, help="The location's name or id.")
@click.option("--owner", metavar="USERNAME", help="The agent who owns the case.")
@json_option
@db_option
@with_db
async def create_command(
    db: Database, title: str, location: str, owner: str | None, as_json: bool
) -> None:
    """Open a case called TITLE; it gets a short code, printed in every text about it."""
    from core.cases import cases

    made = await cases.create(db, OPERATOR, title, location, owner_id=await _owner_id(db, owner))
    if as_json:
        emit_json(case_json(made))
        return
    click.echo(f"opened case {made.code}: {printable(made.title)}")


@click.command("list")
@click.option("--search", default="", help="Part of the title, or the code.")
@json_option
@db_option
@with_db(reads_only=True)
async def list_command(db: Database, search: str, as_json: bool) -> None:
    """Cases, open ones first, most recently changed first."""
    from core.cases import cases

    found = await cases.list_cases(db, OPERATOR, search)
    if as_json:
        emit_json([case_json(c) for c in found])
        return
    if not found:
        none_listed(
            f"case matches {search!r}" if search else "cases yet",
            "" if search else "switchboard cases create TITLE --location NAME opens one",
        )
    for c in found:
        click.echo(case_line(c))


@click.command("show")
@click.argument("case")
@json_option
@db_option
@with_db(reads_only=True)
async def show_command(db: Database, case: str, as_json: bool) -> None:
    """CASE (its code or id): its contacts and notes, newest first."""
    from core.cases import case_contacts, cases, notes

    found = await cases.get(db, OPERATOR, case)
    people = await case_contacts.list_contacts(db, OPERATOR, found.id)
    written = await notes.list_notes(db, OPERATOR, found.id)
    if as_json:
        emit_json(
            {
                **case_json(found),
                "contacts": [cases_notes.contact_json(p) for p in people],
                "notes": [cases_notes.note_json(n) for n in written],
            }
        )
        return
    click.echo(case_line(found))
    click.echo(f"  owner     {printable(found.owner) or '-'}")
    click.echo(f"  from      {found.sender}")
    click.echo("contacts:")
    for p in people:
        click.echo("  " + cases_notes.contact_line(p))
    click.echo("notes:")
    zone = await account_zone(db)
    for n in written:
        for line in cases_notes.note_lines(n, zone):
            click.echo("  " + line)


async def _set_status(db: Database, case: str, close: bool, as_json: bool) -> None:
    from core.cases import cases

    done = await (cases.close if close else cases.reopen)(db, OPERATOR, case)
    if as_json:
        emit_json(case_json(done))
        return
    click.echo(f"case {done.code} is {done.status}")


@click.command("close")
@click.argument("case")
@json_option
@db_option
@with_db
async def close_command(db: Database, case: str, as_json: bool) -> None:
    """Close CASE: it can still be read, on the page too, but not changed."""
    await _set_status(db, case, True, as_json)


@click.command("reopen")
@click.argument("case")
@json_option
@db_option
@with_db
async def reopen_command(db: Database, case: str, as_json: bool) -> None:
    """Reopen a closed CASE."""
    await _set_status(db, case, False, as_json)


@click.group("cases")
def cases_group() -> None:
    """Cases with customer contacts: locations, contacts, notes, quick actions, links."""


for command in (
    locations_group,
    create_command,
    list_command,
    show_command,
    close_command,
    reopen_command,
    *cases_notes.COMMANDS,
):
    cases_group.add_command(command)
