"""notify fields / outcomes / hipaa / close: collected data (P2), outcomes (P3),
HIPAA mode (P6) and closing a conversation with an outcome (P4)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import click

from console.options import as_option, db_option, emit_json, json_option, resolve_actor, with_db
from console.safe_text import printable
from core.db import Database
from core.people.authz import SYSTEM
from core.text import counted

if TYPE_CHECKING:
    from core.notify.hipaa import Problem

# As the other set-up commands: the local operator, who can write the file anyway.
OPERATOR = SYSTEM

FIELD_TYPES = ("text", "long_text", "phone", "email", "datetime", "number")


def _pairs(_ctx: click.Context, _param: click.Parameter, pairs: tuple[str, ...]) -> dict[str, str]:
    # A click callback: a bad pair is a usage error before the database is opened.
    found: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r} is not FIELD=VALUE", param_hint="--set")
        found[name.strip()] = value
    return found


# --- fields ---------------------------------------------------------------------------------


@click.group("fields")
def fields_group() -> None:
    """The data an agent collects when closing: the merge fields of every notice."""


@fields_group.command("list")
@json_option
@db_option
@with_db(reads_only=True)
async def fields_list(db: Database, as_json: bool) -> None:
    """Every field, the system ones (filled at close) included."""
    from core.notify import fields

    found = await fields.list_fields(db, OPERATOR)
    if as_json:
        emit_json([dataclasses.asdict(f) for f in found])
        return
    for f in found:
        marks = " ".join(
            m
            for m, on in (
                ("PHI", f.phi),
                ("required", f.required),
                ("system", not f.collected),
                ("built-in", f.builtin),
            )
            if on
        )
        click.echo(
            f"{{{{{f.name}}}}}".ljust(24)
            + f" {printable(f.label):<20} {f.type:<9} {f.max_length:>6}  {marks}"
        )


@fields_group.command("add")
@click.argument("name")
@click.option("--label", required=True, help="What the close form and the editor show.")
@click.option("--type", "kind", type=click.Choice(FIELD_TYPES), default="text", show_default=True)
@click.option("--max-length", type=int, default=None, help="Characters (default: by type).")
@click.option("--phi/--no-phi", default=False, help="Protected health information.")
@click.option("--required/--optional", default=False, help="The close form refuses without it.")
@json_option
@db_option
@with_db
async def fields_add(
    db: Database,
    name: str,
    label: str,
    kind: str,
    max_length: int | None,
    phi: bool,
    required: bool,
    as_json: bool,
) -> None:
    """Add a custom field NAME (a merge field: {{NAME}})."""
    from core.notify import fields

    made = await fields.add(
        db, OPERATOR, name, label, kind, max_length=max_length, phi=phi, required=required
    )
    if as_json:
        emit_json(dataclasses.asdict(made))
        return
    click.echo(f"added field {made.name}")


@fields_group.command("edit")
@click.argument("name")
@click.option("--rename", default=None, help="A new name (refused while a template uses it).")
@click.option("--label", default=None)
@click.option("--type", "kind", type=click.Choice(FIELD_TYPES), default=None)
@click.option("--max-length", type=int, default=None)
@click.option("--phi/--no-phi", default=None)
@click.option("--required/--optional", default=None)
@json_option
@db_option
@with_db
async def fields_edit(
    db: Database,
    name: str,
    rename: str | None,
    label: str | None,
    kind: str | None,
    max_length: int | None,
    phi: bool | None,
    required: bool | None,
    as_json: bool,
) -> None:
    """Change field NAME; a built-in one only changes its label and PHI flag."""
    from core.notify import fields

    changed = await fields.edit(
        db,
        OPERATOR,
        name,
        rename=rename,
        label=label,
        type=kind,
        max_length=max_length,
        phi=phi,
        required=required,
    )
    if as_json:
        emit_json(dataclasses.asdict(changed))
        return
    click.echo(f"changed field {changed.name}")


@fields_group.command("delete")
@click.argument("name")
@db_option
@with_db
async def fields_delete(db: Database, name: str) -> None:
    """Delete custom field NAME (refused while a saved template uses it)."""
    from core.notify import fields

    await fields.delete(db, OPERATOR, name)
    click.echo(f"deleted field {printable(name)}")


# --- outcomes -------------------------------------------------------------------------------


@click.group("outcomes")
def outcomes_group() -> None:
    """Closing outcomes and who each notifies."""


@outcomes_group.command("list")
@click.option("--archived", is_flag=True, help="Include the archived ones.")
@json_option
@db_option
@with_db(reads_only=True)
async def outcomes_list(db: Database, archived: bool, as_json: bool) -> None:
    """The outcomes, in the close form's order, with how many each notifies."""
    from core.notify import outcomes

    found = [
        (o, await outcomes.recipients(db, OPERATOR, o.name))
        for o in await outcomes.list_outcomes(db, OPERATOR, archived=archived)
    ]
    if as_json:
        emit_json(
            [
                {**dataclasses.asdict(o), "recipients": [dataclasses.asdict(r) for r in rs]}
                for o, rs in found
            ]
        )
        return
    for o, rs in found:
        who = ", ".join(f"{r.kind} {printable(r.name)}" for r in rs)
        flag = " (archived)" if o.archived else ""
        click.echo(f"{printable(o.name):<24} {o.kind:<11}{flag} {who}")


@outcomes_group.command("add")
@click.argument("name")
@click.option(
    "--kind", type=click.Choice(("message", "non_message")), default="message", show_default=True
)
@db_option
@with_db
async def outcomes_add(db: Database, name: str, kind: str) -> None:
    """Add outcome NAME."""
    from core.notify import outcomes

    made = await outcomes.add(db, OPERATOR, name, kind)
    click.echo(f"added outcome {printable(made.name)}")


@outcomes_group.command("rename")
@click.argument("name")
@click.argument("new_name")
@db_option
@with_db
async def outcomes_rename(db: Database, name: str, new_name: str) -> None:
    """Rename outcome NAME to NEW_NAME."""
    from core.notify import outcomes

    made = await outcomes.rename(db, OPERATOR, name, new_name)
    click.echo(f"renamed outcome to {printable(made.name)}")


@outcomes_group.command("archive")
@click.argument("name")
@click.option("--undo", is_flag=True, help="Offer it on the close form again.")
@db_option
@with_db
async def outcomes_archive(db: Database, name: str, undo: bool) -> None:
    """Archive outcome NAME: no longer offered when closing; history keeps it."""
    from core.notify import outcomes

    made = await outcomes.archive(db, OPERATOR, name, archived=not undo)
    click.echo(f"{'archived' if made.archived else 'restored'} outcome {printable(made.name)}")


@outcomes_group.command("switch")
@click.argument("outcome")
@click.argument("profile")
@click.argument("state", type=click.Choice(("on", "off")), default="on")
@db_option
@with_db
async def outcomes_switch(db: Database, outcome: str, profile: str, state: str) -> None:
    """Switch OUTCOME on (or off) for notification profile PROFILE."""
    from core.notify import outcomes

    await outcomes.switch(db, OPERATOR, outcome, profile, on=state == "on")
    click.echo(f"{printable(profile)}: {printable(outcome)} {state}")


def _recipients(
    _ctx: click.Context, param: click.Parameter, items: tuple[str, ...]
) -> list[tuple[str, str]]:
    found = []
    for item in items:
        kind, sep, name = item.partition(":")
        if not sep:
            raise click.BadParameter(
                f"{item!r} is not KIND:NAME (profile:, group: or schedule:)", param=param
            )
        found.append((kind.strip(), name))
    return found


@outcomes_group.command("recipients")
@click.argument("outcome")
@click.option(
    "--add",
    "added",
    metavar="KIND:NAME",
    multiple=True,
    callback=_recipients,
    help="profile:NAME, group:NAME or schedule:NAME.",
)
@click.option("--remove", "removed", metavar="KIND:NAME", multiple=True, callback=_recipients)
@json_option
@db_option
@with_db
async def outcomes_recipients(
    db: Database,
    outcome: str,
    added: list[tuple[str, str]],
    removed: list[tuple[str, str]],
    as_json: bool,
) -> None:
    """Who OUTCOME notifies (at most 10; a group or a schedule counts as one)."""
    from core.notify import outcomes

    for on, items in ((False, removed), (True, added)):
        for kind, name in items:
            await outcomes.set_recipient(db, OPERATOR, outcome, kind, name, on)
    found = await outcomes.recipients(db, OPERATOR, outcome)
    if as_json:
        emit_json([dataclasses.asdict(r) for r in found])
        return
    for r in found:
        click.echo(f"{r.kind:<9} {printable(r.name)}")


# --- hipaa ----------------------------------------------------------------------------------


@click.group("hipaa")
def hipaa_group() -> None:
    """HIPAA mode: no PHI leaves by SMS or email."""


def _problems(found: list[Problem], as_json: bool) -> None:
    if as_json:
        emit_json([dataclasses.asdict(p) for p in found])
        return
    if not found:
        click.echo("every saved template is fine in HIPAA mode")
    for p in found:
        click.echo(f"{printable(p.alias)}: {printable(p.reason)}")


@hipaa_group.command("on")
@json_option
@db_option
@with_db
async def hipaa_on(db: Database, as_json: bool) -> None:
    """Turn HIPAA mode on; lists the saved templates that must change."""
    from core.notify import hipaa

    found = await hipaa.switch(db, OPERATOR, True)
    if not as_json:
        click.echo("HIPAA mode is on: PHI fields are withheld from every notice")
    _problems(found, as_json)


@hipaa_group.command("off")
@db_option
@with_db
async def hipaa_off(db: Database) -> None:
    """Turn HIPAA mode off."""
    from core.notify import hipaa

    await hipaa.switch(db, OPERATOR, False)
    click.echo("HIPAA mode is off")


@hipaa_group.command("check")
@json_option
@db_option
@with_db(reads_only=True)
async def hipaa_check(db: Database, as_json: bool) -> None:
    """The saved templates HIPAA mode refuses (whether or not it is on)."""
    from core.notify import hipaa

    _problems(await hipaa.check(db, OPERATOR), as_json)


# --- close ----------------------------------------------------------------------------------


@click.command("close")
@click.argument("conversation", type=click.IntRange(1, 2**63 - 1))
@click.option("--outcome", required=True, help="The outcome's name.")
@click.option(
    "--set",
    "values",
    metavar="FIELD=VALUE",
    multiple=True,
    callback=_pairs,
    help="Collected data.",
)
@click.option("--comment", default="", help="The agent comment.")
@as_option
@json_option
@db_option
@with_db
async def close_command(
    db: Database,
    conversation: int,
    outcome: str,
    values: dict[str, str],
    comment: str,
    as_user: str | None,
    as_json: bool,
) -> None:
    """Close CONVERSATION with an outcome and the collected data; notify its recipients."""
    from core.notify import closing

    actor = await resolve_actor(db, as_user)
    closure = await closing.close(db, actor, conversation, outcome, values, comment)
    if as_json:
        emit_json(dataclasses.asdict(closure))
        return
    click.echo(
        f"closed conversation {conversation} as {printable(closure.outcome)};"
        f" {counted(len(closure.notices), 'notice')}"
    )
    for n in closure.notices:
        reason = f" ({printable(n.error)})" if n.error else ""
        click.echo(f"  {n.channel:<5} {printable(n.recipient):<28} {n.status}{reason}")
