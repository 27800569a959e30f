"""agents, numbers, settings: what a manager sets up."""

from __future__ import annotations

import click

from console.options import db_option, emit_json, json_option, none_listed, with_db
from console.safe_text import printable
from core import settings
from core.db import Database
from core.people import agents
from core.people.authz import SYSTEM
from core.sms import numbers

# Admin commands act as the local operator: whoever can write the database
# file already controls everything in it, so asking them to log in as a
# manager would protect nothing and lock out a fresh install.
OPERATOR = SYSTEM


@click.group("agents")
def agents_group() -> None:
    """The people who log in (by operating-system username)."""


@agents_group.command("add")
@click.argument("username")
@click.option("--name", default="", help="Full name (default: the username).")
@click.option(
    "--permission-profile",
    "profile",
    metavar="NAME",
    help="The permission profile they start with (default: Agent).",
)
@click.option(
    "--role",
    type=click.Choice(["agent", "manager"]),
    help="Shortcut for the built-in profiles: --permission-profile Agent or Manager.",
)
@db_option
@with_db
async def agents_add(
    db: Database, username: str, name: str, profile: str | None, role: str | None
) -> None:
    """Add an agent or manager."""
    if profile is not None and role is not None:
        raise click.UsageError("give --permission-profile or --role, not both")
    chosen = profile if profile is not None else (role or "agent").capitalize()
    agent = await agents.add(db, OPERATOR, username, name, chosen)
    click.echo(
        f"added {printable(agent.username)} ({printable(agent.name)})"
        f" with permission profile {printable(agent.profile)}"
    )


@agents_group.command("deactivate")
@click.argument("username")
@db_option
@with_db
async def agents_deactivate(db: Database, username: str) -> None:
    """Stop USERNAME from logging in; their history stays."""
    done = await agents.set_active(db, OPERATOR, username, False)
    click.echo(f"deactivated {printable(done.username)}")


@agents_group.command("reactivate")
@click.argument("username")
@db_option
@with_db
async def agents_reactivate(db: Database, username: str) -> None:
    """Let USERNAME, deactivated before, log in again."""
    done = await agents.set_active(db, OPERATOR, username, True)
    click.echo(f"reactivated {printable(done.username)}")


@agents_group.command("list")
@json_option
@db_option
@with_db(reads_only=True)
async def agents_list(db: Database, as_json: bool) -> None:
    """List agents and managers."""
    found = await agents.list_agents(db)
    if as_json:
        emit_json(
            [
                {
                    "id": a.id,
                    "username": a.username,
                    "name": a.name,
                    "permission_profile": a.profile,
                    "active": a.active,
                }
                for a in found
            ]
        )
        return
    for a in found:
        click.echo(
            f"{printable(a.username):<16} {printable(a.profile):<12}"
            f" {'active' if a.active else 'inactive':<9}"
            f" {printable(a.name)}"
        )


@click.group("numbers")
def numbers_group() -> None:
    """Our numbers: add, assign, change what one sends, remove."""


@numbers_group.command("add")
@click.argument("number")
@click.option("--mms", is_flag=True, help="The number can send MMS.")
@click.option("--default", "default", is_flag=True, help="The account's default sender.")
@click.option("--agent", "username", metavar="USER", help="This agent's caller ID.")
@db_option
@with_db
async def numbers_add(
    db: Database, number: str, mms: bool, default: bool, username: str | None
) -> None:
    """Add one of our numbers."""
    agent_id = (await agents.by_username(db, username)).id if username else None
    added = await numbers.add(db, OPERATOR, number, mms=mms, agent_id=agent_id, default=default)
    click.echo(f"added {added.e164}" + (" (default)" if added.is_default else ""))


@numbers_group.command("assign")
@click.argument("number")
@click.option("--default", "default", is_flag=True, help="The account's default sender.")
@click.option("--agent", "username", metavar="USER", help="This agent's caller ID.")
@click.option("--none", "neither", is_flag=True, help="Neither: no longer either of those.")
@db_option
@with_db
async def numbers_assign(
    db: Database, number: str, default: bool, username: str | None, neither: bool
) -> None:
    """Make NUMBER the account's default sender, an agent's caller ID, or neither."""
    if default + bool(username) + neither != 1:
        raise click.UsageError("give one of --default, --agent USER or --none")
    agent_id = (await agents.by_username(db, username)).id if username else None
    done = await numbers.assign(db, OPERATOR, number, agent_id=agent_id, default=default)
    if done.is_default:
        use = "the default sender"
    elif username:
        use = f"{printable(username)}'s caller ID"
    else:
        use = "neither default nor an agent's caller ID"
    click.echo(f"{done.e164} is now {use}")


@numbers_group.command("change")
@click.argument("number")
@click.option(
    "--mms/--no-mms",
    default=None,
    help="The number can send MMS (the provider enabled it), or no longer can.",
)
@db_option
@with_db
async def numbers_change(db: Database, number: str, mms: bool | None) -> None:
    """Change what NUMBER can send."""
    if mms is None:
        raise click.UsageError("give --mms or --no-mms")
    done = await numbers.change(db, OPERATOR, number, mms=mms)
    click.echo(f"{done.e164} now sends {'SMS and MMS' if done.mms else 'SMS only'}")


@numbers_group.command("remove")
@click.argument("number")
@db_option
@with_db
async def numbers_remove(db: Database, number: str) -> None:
    """Remove NUMBER when nothing uses it (no conversations, nothing to send).

    Texts to it are then ignored (and logged): release it at the provider too.
    """
    gone = await numbers.remove(db, OPERATOR, number)
    click.echo(f"removed {gone.e164}")


@numbers_group.command("list")
@json_option
@db_option
@with_db(reads_only=True)
async def numbers_list(db: Database, as_json: bool) -> None:
    """List our numbers."""
    found = await numbers.list_numbers(db)
    names = {a.id: a.username for a in await agents.list_agents(db)}
    if as_json:
        emit_json(
            [
                {
                    "id": n.id,
                    "number": n.e164,
                    "sms": n.sms,
                    "mms": n.mms,
                    "agent": names.get(n.agent_id),
                    "default": n.is_default,
                }
                for n in found
            ]
        )
        return
    if not found:
        none_listed("numbers yet", "switchboard numbers add NUMBER --default adds one")
    for n in found:
        use = "default" if n.is_default else (names.get(n.agent_id, "") if n.agent_id else "")
        click.echo(f"{n.e164:<14} {'SMS+MMS' if n.mms else 'SMS':<8} {use}")


@click.group("settings")
def settings_group() -> None:
    """Account settings (public minutes, opt-out keywords and texts...)."""


@settings_group.command("list")
@json_option
@db_option
@with_db(reads_only=True)
async def settings_list(db: Database, as_json: bool) -> None:
    """Show every setting and its value."""
    current = await settings.load(db)
    values = {name: getattr(current, name) for name in settings.SETTING_NAMES}
    if as_json:
        emit_json({**values, "always_on_keywords": settings.ALWAYS_ON})
        return
    for name, value in values.items():
        click.echo(f"{name:<26} {_shown(name, value)}")


def _shown(name: str, value: object) -> str:
    if name in settings.ALWAYS_ON:
        # The CTIA keywords are not part of the setting but must be visible:
        # someone reading an empty list must not think STOP is off.
        added = ", ".join(value) if isinstance(value, tuple) and value else "none"
        always = ", ".join(settings.ALWAYS_ON[name])
        return f"always on: {always}; added: {printable(added)}"
    return printable(str(value))


_RULES = "\n".join(f"  {name}: {settings.describe(name)}" for name in settings.SETTING_NAMES)


@settings_group.command(
    "set",
    # A value may start with "-" (a refused negative number must reach the rule
    # that explains it, not be taken for an option).
    context_settings={"ignore_unknown_options": True},
    epilog=f"\b\nWhat each setting accepts:\n{_RULES}",
)
@click.argument("name")
@click.argument("value")
@db_option
@with_db
async def settings_set(db: Database, name: str, value: str) -> None:
    """Set NAME to VALUE (keyword lists are comma-separated and add to the CTIA ones)."""
    await settings.update(db, OPERATOR, **{name: value})
    current = await settings.load(db)
    click.echo(f"{name} = {_shown(name, getattr(current, name))}")
    if name == "hipaa_mode" and current.hipaa_mode:
        # P6: switching it on lists the saved templates that must change (as `notify hipaa on`).
        from core.notify import hipaa

        for problem in await hipaa.check(db, OPERATOR):
            click.echo(f"must change: {printable(problem.alias)}: {printable(problem.reason)}")
