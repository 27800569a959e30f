"""permissions: permission profiles (R1-R4), their users, activities, queues and SMS templates."""

from __future__ import annotations

import dataclasses

import click

from console.options import db_option, emit_json, json_option, with_db
from console.safe_text import printable
from core.db import Database
from core.errors import InvalidInput
from core.people.authz import SYSTEM
from core.permissions import configuration, profiles
from core.permissions.principal import SETTING_NAMES

# As the other set-up commands: the local operator, who can write the file anyway.
OPERATOR = SYSTEM


@click.group("permissions")
def permissions_group() -> None:
    """Permission profiles: what each user may do, and what they reach."""


def _setting_pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="SETTING")
        found[name.strip()] = value
    return found


def _profile_json(p: profiles.Profile) -> dict[str, object]:
    return {
        "id": p.id,
        "name": p.name,
        "alias": p.alias,
        "reference": p.reference,
        "description": p.description,
        "users": p.users,
        "settings": dataclasses.asdict(p.settings),
    }


@permissions_group.group("profiles")
def profiles_group() -> None:
    """List, show, add, edit and delete permission profiles (at most 50)."""


@profiles_group.command("list")
@click.option("--search", default="", help="Name or reference contains this.")
@json_option
@db_option
@with_db(reads_only=True)
async def profiles_list(db: Database, search: str, as_json: bool) -> None:
    """Every permission profile, by name."""
    found = await profiles.list_profiles(db, search)
    if as_json:
        emit_json([_profile_json(p) for p in found])
        return
    for p in found:
        click.echo(f"{printable(p.name):<24} {p.users:>3} users  {printable(p.reference)}")


@profiles_group.command("show")
@click.argument("name")
@json_option
@db_option
@with_db(reads_only=True)
async def profiles_show(db: Database, name: str, as_json: bool) -> None:
    """A profile's settings and configuration."""
    p = await profiles.get(db, name)
    users = await profiles.holders(db, name)
    activities = await configuration.profile_activities(db, name)
    queues = await configuration.profile_queues(db, name)
    numbers = await configuration.profile_numbers(db, name)
    templates = await configuration.list_templates(db, name)
    campaigns = await configuration.profile_campaigns(db, name)
    shown = {
        **_profile_json(p),
        "user_list": [
            {"username": u.username, "active": u.active, "distribution_score": u.distribution_score}
            for u in users
        ],
        "activities": [{"name": a.name, "default": d} for a, d in activities],
        "queues": [{"name": q, "messaging": m, "score": s} for q, m, s in queues],
        "numbers": numbers,
        "templates": [t.name for t in templates],
        "campaigns": campaigns,
    }
    if as_json:
        emit_json(shown)
        return
    click.echo(f"{printable(p.name)} ({printable(p.alias)}) {printable(p.description)}")
    for key, value in dataclasses.asdict(p.settings).items():
        click.echo(f"  {key:<28} {value}")
    for key in ("user_list", "activities", "queues", "numbers", "templates", "campaigns"):
        click.echo(f"  {key}: {printable(str(shown[key]))}")


@profiles_group.command("add", context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("settings", nargs=-1, metavar="[SETTING=VALUE]...")
@db_option
@with_db
async def profiles_add(db: Database, name: str, settings: tuple[str, ...]) -> None:
    """Add a permission profile; every right is off unless set (supervision=yes...)."""
    made = await profiles.add(db, OPERATOR, name, **_setting_pairs(settings))
    click.echo(f"added permission profile {printable(made.name)}")


@profiles_group.command(
    "edit",
    context_settings={"ignore_unknown_options": True},
    epilog="\b\nSettings: name alias reference description "
    + " ".join(n if n != "missed_activity_id" else "missed_activity" for n in SETTING_NAMES),
)
@click.argument("name")
@click.argument("settings", nargs=-1, required=True, metavar="SETTING=VALUE...")
@db_option
@with_db
async def profiles_edit(db: Database, name: str, settings: tuple[str, ...]) -> None:
    """Change settings of permission profile NAME (name=... renames it)."""
    changed = await profiles.edit(db, OPERATOR, name, **_setting_pairs(settings))
    click.echo(f"changed permission profile {printable(changed.name)}")


@profiles_group.command("delete")
@click.argument("name")
@db_option
@with_db
async def profiles_delete(db: Database, name: str) -> None:
    """Delete a profile (refused while it is someone's only one)."""
    await profiles.delete(db, OPERATOR, name)
    click.echo(f"deleted permission profile {printable(name)}")


@permissions_group.command("assign")
@click.argument("profile")
@click.argument("username")
@click.option("--activate", is_flag=True, help="Make it their active profile now.")
@click.option("--distribution-score", type=int, help="0-100: who is offered first in a tie.")
@db_option
@with_db
async def assign(
    db: Database, profile: str, username: str, activate: bool, distribution_score: int | None
) -> None:
    """Give USERNAME permission profile PROFILE."""
    await profiles.assign(
        db, OPERATOR, profile, username, activate=activate, distribution_score=distribution_score
    )
    click.echo(f"{printable(username)} holds {printable(profile)}")


@permissions_group.command("unassign")
@click.argument("profile")
@click.argument("username")
@db_option
@with_db
async def unassign(db: Database, profile: str, username: str) -> None:
    """Take PROFILE from USERNAME (not their only one)."""
    await profiles.unassign(db, OPERATOR, profile, username)
    click.echo(f"{printable(username)} no longer holds {printable(profile)}")


@permissions_group.command("activate")
@click.argument("profile")
@click.argument("username")
@db_option
@with_db
async def activate(db: Database, profile: str, username: str) -> None:
    """Make PROFILE the active permission profile of USERNAME (at once)."""
    await profiles.activate(db, OPERATOR, username, profile)
    click.echo(f"{printable(username)} is now working as {printable(profile)}")


@permissions_group.group("activities")
def activities_group() -> None:
    """Activities (Available, Away...) and those of each profile."""


@activities_group.command("list")
@json_option
@db_option
@with_db(reads_only=True)
async def activities_list(db: Database, as_json: bool) -> None:
    """Every activity."""
    found = await configuration.list_activities(db)
    if as_json:
        emit_json([dataclasses.asdict(a) for a in found])
        return
    for a in found:
        click.echo(f"{printable(a.name):<20} {'available' if a.available else ''}")


@activities_group.command("add")
@click.argument("name")
@click.option("--available", is_flag=True, help="Agents in it may be offered conversations.")
@db_option
@with_db
async def activities_add(db: Database, name: str, available: bool) -> None:
    """Add an activity."""
    await configuration.add_activity(db, OPERATOR, name, available=available)
    click.echo(f"added activity {printable(name)}")


@activities_group.command("edit")
@click.argument("name")
@click.option("--rename", metavar="NEW", help="Its new name.")
@click.option(
    "--available/--unavailable",
    default=None,
    help="Whether agents in it are offered conversations.",
)
@json_option
@db_option
@with_db
async def activities_edit(
    db: Database, name: str, rename: str | None, available: bool | None, as_json: bool
) -> None:
    """Rename activity NAME or say whether agents in it are offered conversations
    (not the built-in ones)."""
    if rename is None and available is None:
        raise InvalidInput("nothing to change: give --rename NEW, --available or --unavailable")
    edited = await configuration.edit_activity(
        db, OPERATOR, name, rename=rename, available=available
    )
    if as_json:
        emit_json(dataclasses.asdict(edited))
        return
    offered = "offered conversations" if edited.available else "not offered conversations"
    click.echo(f"activity {printable(edited.name)}: agents in it are {offered}")


@activities_group.command("set")
@click.argument("profile")
@click.argument("activities", nargs=-1, required=True)
@click.option("--default", "default", required=True, help="The activity at login.")
@db_option
@with_db
async def activities_set(
    db: Database, profile: str, activities: tuple[str, ...], default: str
) -> None:
    """The activities PROFILE may use, one of them the default."""
    await configuration.set_profile_activities(db, OPERATOR, profile, activities, default)
    click.echo(f"{printable(profile)}: {printable(', '.join(activities))}")


@permissions_group.group("queues")
def queues_group() -> None:
    """Queues: numbers, messaging on or off, and each profile's score."""


@queues_group.command("list")
@json_option
@db_option
@with_db(reads_only=True)
async def queues_list(db: Database, as_json: bool) -> None:
    """Every queue with its numbers."""
    found = await configuration.list_queues(db)
    if as_json:
        emit_json([dataclasses.asdict(q) for q in found])
        return
    for q in found:
        state = "messaging" if q.messaging else "off"
        click.echo(f"{printable(q.name):<20} {state:<10} {' '.join(q.numbers)}")


@queues_group.command("add")
@click.argument("name")
@click.argument("numbers", nargs=-1)
@click.option("--messaging/--no-messaging", default=True, show_default=True)
@db_option
@with_db
async def queues_add(db: Database, name: str, numbers: tuple[str, ...], messaging: bool) -> None:
    """Add queue NAME taking the messages of NUMBERS."""
    await configuration.add_queue(db, OPERATOR, name, numbers, messaging=messaging)
    click.echo(f"added queue {printable(name)}")


@queues_group.command("edit")
@click.argument("name")
@click.option("--rename", metavar="NEW")
@click.option("--messaging/--no-messaging", default=None)
@db_option
@with_db
async def queues_edit(db: Database, name: str, rename: str | None, messaging: bool | None) -> None:
    """Rename a queue or turn its messaging on or off."""
    await configuration.edit_queue(db, OPERATOR, name, rename=rename, messaging=messaging)
    click.echo(f"changed queue {printable(rename or name)}")


@queues_group.command("number")
@click.argument("number")
@click.argument("queue", required=False)
@db_option
@with_db
async def queues_number(db: Database, number: str, queue: str | None) -> None:
    """Put NUMBER in QUEUE (no QUEUE: in none)."""
    await configuration.set_number_queue(db, OPERATOR, number, queue)
    click.echo(f"{printable(number)} → {printable(queue or 'no queue')}")


@queues_group.command("grant")
@click.argument("profile")
@click.argument("queue")
@click.option("--score", default="50", show_default=True, help="0-100: higher is offered first.")
@click.option("--messaging/--no-messaging", default=True, show_default=True)
@db_option
@with_db
async def queues_grant(db: Database, profile: str, queue: str, score: str, messaging: bool) -> None:
    """Give PROFILE the QUEUE with a score."""
    await configuration.set_profile_queue(
        db, OPERATOR, profile, queue, messaging=messaging, score=score
    )
    click.echo(f"{printable(profile)} takes {printable(queue)}")


@queues_group.command("revoke")
@click.argument("profile")
@click.argument("queue")
@db_option
@with_db
async def queues_revoke(db: Database, profile: str, queue: str) -> None:
    """Take QUEUE from PROFILE."""
    await configuration.remove_profile_queue(db, OPERATOR, profile, queue)
    click.echo(f"{printable(profile)} no longer takes {printable(queue)}")


@permissions_group.command("numbers")
@click.argument("profile")
@click.argument("numbers", nargs=-1)
@db_option
@with_db
async def profile_numbers(db: Database, profile: str, numbers: tuple[str, ...]) -> None:
    """The numbers PROFILE may send from (none: every number)."""
    await configuration.set_profile_numbers(db, OPERATOR, profile, numbers)
    click.echo(f"{printable(profile)} sends from {printable(' '.join(numbers) or 'every number')}")


@permissions_group.group("templates")
def templates_group() -> None:
    """SMS templates (canned replies) and the profiles that may use them."""


@templates_group.command("list")
@click.option("--profile", help="Only those of this permission profile.")
@json_option
@db_option
@with_db(reads_only=True)
async def templates_list(db: Database, profile: str | None, as_json: bool) -> None:
    """SMS templates."""
    found = await configuration.list_templates(db, profile)
    if as_json:
        emit_json([dataclasses.asdict(t) for t in found])
        return
    for t in found:
        click.echo(f"{printable(t.name):<20} {printable(t.body)}")


@templates_group.command("save")
@click.argument("name")
@click.argument("body")
@db_option
@with_db
async def templates_save(db: Database, name: str, body: str) -> None:
    """Add or replace template NAME (fields: {{contact_name}}, {{agent_name}}, {{our_number}})."""
    await configuration.save_template(db, OPERATOR, name, body)
    click.echo(f"saved template {printable(name)}")


@templates_group.command("grant")
@click.argument("profile")
@click.argument("template")
@click.option("--revoke", is_flag=True, help="Take it away instead.")
@db_option
@with_db
async def templates_grant(db: Database, profile: str, template: str, revoke: bool) -> None:
    """Let PROFILE use TEMPLATE."""
    await configuration.set_profile_template(db, OPERATOR, profile, template, granted=not revoke)
    click.echo(
        f"{printable(profile)} {'no longer uses' if revoke else 'uses'} {printable(template)}"
    )


@permissions_group.command("campaign")
@click.argument("profile")
@click.argument("campaign")
@click.option("--revoke", is_flag=True, help="Take it away instead.")
@db_option
@with_db
async def profile_campaign(db: Database, profile: str, campaign: str, revoke: bool) -> None:
    """Let PROFILE see and work on SMS campaign CAMPAIGN (its rights say what it may do)."""
    await configuration.set_profile_campaign(db, OPERATOR, profile, campaign, granted=not revoke)
    click.echo(
        f"{printable(profile)} {'no longer sees' if revoke else 'sees'} campaign"
        f" {printable(campaign)}"
    )
