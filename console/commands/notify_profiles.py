"""notify profiles / notify groups: notification profiles (P1, P5, P7) and profile groups."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from console.options import (
    db_option,
    emit_json,
    in_zone,
    instant,
    json_option,
    none_listed,
    with_db,
)
from console.safe_text import printable
from console.times import zoned_stamp
from core.account_zone import account_zone
from core.db import Database
from core.notify import groups, links, profiles
from core.notify.links import Link
from core.notify.profiles import HoldStatus, NotificationProfile
from core.people.authz import SYSTEM

# As the other set-up commands: the local operator, who can write the file anyway.
OPERATOR = SYSTEM

LISTS = {"contact-numbers": "contact_numbers", "emails": "emails", "sms": "sms_numbers"}


@click.group("profiles")
def profiles_group() -> None:
    """Notification profiles: contact numbers, email and SMS, hold my calls."""


@click.group("groups")
def groups_group() -> None:
    """Groups of notification profiles (up to 50 members)."""


# --- shown --------------------------------------------------------------------------


def _when(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat(timespec="seconds")


def _profile_json(p: NotificationProfile, now: datetime) -> dict[str, object]:
    d = p.draft
    status = p.status(now)
    return {
        "id": p.id,
        "alias": d.alias,
        "contact_numbers": list(d.contact_numbers),
        "emails": list(d.emails),
        "sms_numbers": list(d.sms_numbers),
        "email": {
            "on": d.email_on,
            "mode": d.email_mode,
            "subject": d.email_subject,
            "body": d.email_body,
        },
        "sms": {"on": d.sms_on, "mode": d.sms_mode, "body": d.sms_body},
        "hold": p.hold,
        "hold_until": _when(p.hold_until),
        "hold_expired_at": _when(p.hold_expired_at),
        "status": status.kind,
        # As the other --json times: UTC (the line's wording is _status_text's).
        "status_text": _status_text(status, ZoneInfo("UTC")),
    }


def _status_text(status: HoldStatus, zone: ZoneInfo) -> str:
    # Core words it in UTC; the person reads the account's time (console/times.py).
    if status.until is not None and status.kind == "held_until":
        return f"held until {zoned_stamp(status.until, zone)}"
    return status.text


def _link_json(link: Link) -> dict[str, object]:
    return {
        "kind": link.kind,
        "place_id": link.place_id,
        "place": link.place,
        "slot_id": link.slot_id,
        "start_minute": link.start_minute,
        "minutes": link.minutes,
        "text": link.text,
    }


def _methods_line(p: NotificationProfile) -> str:
    d = p.draft
    email = f"email {d.email_mode}" if d.email_on else "email off"
    sms = f"SMS {d.sms_mode}" if d.sms_on else "SMS off"
    return f"{email}, {sms}"


# --- profiles -----------------------------------------------------------------------


@profiles_group.command("list")
@click.option("--search", default="", help="Alias contains this (any case).")
@json_option
@db_option
@with_db(reads_only=True)
async def profiles_list(db: Database, search: str, as_json: bool) -> None:
    """Every notification profile, by alias, with its hold status."""
    found = await profiles.list_profiles(db, OPERATOR, search)
    now = db.clock.now()
    if as_json:
        emit_json([_profile_json(p, now) for p in found])
        return
    if not found:
        none_listed(
            f"notification profile matches {search!r}" if search else "notification profiles yet",
            "" if search else "switchboard notify profiles add ALIAS adds one",
        )
    zone = await account_zone(db)
    for p in found:
        held = _status_text(p.status(now), zone)
        click.echo(f"{printable(p.alias):<30} {held:<36} {_methods_line(p)}")


@profiles_group.command("show")
@click.argument("alias")
@json_option
@db_option
@with_db(reads_only=True)
async def profiles_show(db: Database, alias: str, as_json: bool) -> None:
    """A profile's contact methods, templates, hold and every place it is used."""
    p = await profiles.by_alias(db, OPERATOR, alias)
    used = await links.profile_links(db, OPERATOR, p.id)
    shown = {**_profile_json(p, db.clock.now()), "links": [_link_json(k) for k in used]}
    if as_json:
        emit_json(shown)
        return
    d = p.draft
    click.echo(f"{printable(d.alias)} ({shown['status_text']})")
    for label, entries in (
        ("contact numbers", d.contact_numbers),
        ("emails", d.emails),
        ("SMS numbers", d.sms_numbers),
    ):
        click.echo(f"  {label + ':':<17}{printable(', '.join(entries)) or '-'}")
    click.echo(f"  {'notices:':<17}{_methods_line(p)}")
    for label, text in (
        ("email subject", d.email_subject),
        ("email body", d.email_body),
        ("SMS text", d.sms_body),
    ):
        if text is not None:
            click.echo(f"  {label + ':':<17}{printable(text)}")
    click.echo(f"  {'used in:':<17}{printable('; '.join(k.text for k in used)) or 'nothing'}")


def _profile_options(func: Any) -> Any:
    for option in reversed(
        (
            click.option(
                "--contact-number",
                "contact_numbers",
                multiple=True,
                help="For transfers and on-call dispatch (repeat, up to 5).",
            ),
            click.option(
                "--email", "emails", multiple=True, help="Email address (repeat, up to 5)."
            ),
            click.option(
                "--sms",
                "sms_numbers",
                multiple=True,
                help="Mobile number for SMS (repeat, up to 5).",
            ),
            click.option("--email-on/--email-off", "email_on", default=None, help="Email notices."),
            click.option(
                "--email-mode", type=click.Choice(profiles.EMAIL_MODES), help="Template to use."
            ),
            click.option("--email-subject", help="Custom subject ({{field}} merge fields)."),
            click.option("--email-body", help="Custom body ({{field}} merge fields)."),
            click.option("--sms-on/--sms-off", "sms_on", default=None, help="SMS notices."),
            click.option(
                "--sms-mode", type=click.Choice(profiles.SMS_MODES), help="Message to send."
            ),
            click.option("--sms-body", help="Custom SMS text ({{field}} merge fields)."),
        )
    ):
        func = option(func)
    return func


def _given(options: dict[str, Any]) -> dict[str, object]:
    """The fields a command line set: a repeated option given replaces its whole list."""
    changes: dict[str, object] = {}
    for name, value in options.items():
        if isinstance(value, tuple):
            if value:
                changes[name] = value
        elif value is not None:
            changes[name] = value
    return changes


@profiles_group.command("add")
@click.argument("alias")
@_profile_options
@json_option
@db_option
@with_db
async def profiles_add(db: Database, alias: str, as_json: bool, **options: Any) -> None:
    """Add notification profile ALIAS (email and SMS off unless switched on)."""
    made = await profiles.add(db, OPERATOR, profiles.ProfileDraft(alias, **_given(options)))
    if as_json:
        emit_json(_profile_json(made, db.clock.now()))
        return
    click.echo(f"added notification profile {printable(made.alias)}")


@profiles_group.command("edit")
@click.argument("alias")
@click.option("--alias", "new_alias", metavar="NEW", help="Its new alias.")
@click.option(
    "--clear",
    "cleared",
    multiple=True,
    type=click.Choice(tuple(LISTS)),
    help="Empty this list (repeat for several).",
)
@_profile_options
@json_option
@db_option
@with_db
async def profiles_edit(
    db: Database,
    alias: str,
    new_alias: str | None,
    cleared: tuple[str, ...],
    as_json: bool,
    **options: Any,
) -> None:
    """Change what is given of profile ALIAS; a list given (--email ...) replaces the list."""
    p = await profiles.by_alias(db, OPERATOR, alias)
    changes = _given(options)
    for name in cleared:
        changes[LISTS[name]] = ()
    if new_alias is not None:
        changes["alias"] = new_alias
    edited = await profiles.edit(db, OPERATOR, p.id, **changes)
    if as_json:
        emit_json(_profile_json(edited, db.clock.now()))
        return
    click.echo(f"changed notification profile {printable(edited.alias)}")


@profiles_group.command("delete")
@click.argument("alias")
@db_option
@with_db
async def profiles_delete(db: Database, alias: str) -> None:
    """Delete a profile; refused, naming every place, while anything uses it."""
    p = await profiles.by_alias(db, OPERATOR, alias)
    await profiles.delete(db, OPERATOR, p.id)
    click.echo(f"deleted notification profile {printable(p.alias)}")


@profiles_group.command("replace")
@click.argument("old")
@click.argument("new")
@click.option("--delete", "delete_old", is_flag=True, help="Then delete OLD, in the same step.")
@json_option
@db_option
@with_db
async def profiles_replace(
    db: Database, old: str, new: str, delete_old: bool, as_json: bool
) -> None:
    """Move every link of profile OLD (on-call slots, groups, outcomes) to profile NEW."""
    was = await profiles.by_alias(db, OPERATOR, old)
    now = await profiles.by_alias(db, OPERATOR, new)
    done = await links.replace(db, OPERATOR, was.id, now.id, delete_old=delete_old)
    if as_json:
        emit_json({"moved": done.moved, "folded": done.folded, "deleted": done.deleted})
        return
    words = {links.ONCALL_SLOT: "on-call slots", links.GROUP: "groups", links.OUTCOME: "outcomes"}
    moved = ", ".join(f"{words[kind]} {n}" for kind, n in done.moved.items())
    folded = sum(done.folded.values())
    click.echo(
        f"{printable(now.alias)} replaces {printable(was.alias)}: moved {moved}"
        + (f"; {folded} already had {printable(now.alias)}" if folded else "")
        + ("; deleted " + printable(was.alias) if done.deleted else "")
    )


@profiles_group.command("hold")
@click.argument("alias")
@click.option(
    "--until",
    metavar="WHEN",
    callback=instant,
    help="Date and time the hold ends (2026-03-01T17:30, the account's time zone unless an"
    " offset is given); without it, until unheld.",
)
@db_option
@with_db
async def profiles_hold(db: Database, alias: str, until: datetime | None) -> None:
    """Hold my calls: no transfers or on-call dispatch to ALIAS until it ends."""
    p = await profiles.by_alias(db, OPERATOR, alias)
    zone = await account_zone(db)
    held = await profiles.hold(db, OPERATOR, p.id, in_zone(until, zone))
    click.echo(f"{printable(held.alias)}: {_status_text(held.status(db.clock.now()), zone)}")


@profiles_group.command("unhold")
@click.argument("alias")
@db_option
@with_db
async def profiles_unhold(db: Database, alias: str) -> None:
    """Clear the hold: transfers and on-call dispatch reach ALIAS again."""
    p = await profiles.by_alias(db, OPERATOR, alias)
    freed = await profiles.unhold(db, OPERATOR, p.id)
    zone = await account_zone(db)
    click.echo(f"{printable(freed.alias)}: {_status_text(freed.status(db.clock.now()), zone)}")


# --- groups -------------------------------------------------------------------------


@groups_group.command("list")
@json_option
@db_option
@with_db(reads_only=True)
async def groups_list(db: Database, as_json: bool) -> None:
    """Every group, by name, with its members."""
    found = await groups.list_groups(db, OPERATOR)
    if as_json:
        emit_json(
            [
                {
                    "id": g.id,
                    "name": g.name,
                    "members": [{"id": m.profile_id, "alias": m.alias} for m in g.members],
                }
                for g in found
            ]
        )
        return
    for g in found:
        members = ", ".join(m.alias for m in g.members) or "no members"
        click.echo(f"{printable(g.name)} ({len(g.members)}): {printable(members)}")


@groups_group.command("add")
@click.argument("name")
@db_option
@with_db
async def groups_add(db: Database, name: str) -> None:
    """Add an empty group."""
    made = await groups.add(db, OPERATOR, name)
    click.echo(f"added notification group {printable(made.name)}")


@groups_group.command("rename")
@click.argument("name")
@click.argument("new")
@db_option
@with_db
async def groups_rename(db: Database, name: str, new: str) -> None:
    """Rename group NAME to NEW."""
    g = await groups.by_name(db, OPERATOR, name)
    renamed = await groups.rename(db, OPERATOR, g.id, new)
    click.echo(f"renamed notification group {printable(g.name)} to {printable(renamed.name)}")


@groups_group.command("delete")
@click.argument("name")
@db_option
@with_db
async def groups_delete(db: Database, name: str) -> None:
    """Delete a group; refused, naming every place, while a schedule or outcome uses it."""
    g = await groups.by_name(db, OPERATOR, name)
    await groups.delete(db, OPERATOR, g.id)
    click.echo(f"deleted notification group {printable(g.name)}")


@groups_group.command("add-member")
@click.argument("group")
@click.argument("profile")
@db_option
@with_db
async def groups_add_member(db: Database, group: str, profile: str) -> None:
    """Put notification profile PROFILE in GROUP (up to 50 members)."""
    g = await groups.by_name(db, OPERATOR, group)
    p = await profiles.by_alias(db, OPERATOR, profile)
    now = await groups.add_member(db, OPERATOR, g.id, p.id)
    click.echo(f"{printable(p.alias)} is in {printable(now.name)} (members: {len(now.members)})")


@groups_group.command("remove-member")
@click.argument("group")
@click.argument("profile")
@db_option
@with_db
async def groups_remove_member(db: Database, group: str, profile: str) -> None:
    """Take notification profile PROFILE out of GROUP."""
    g = await groups.by_name(db, OPERATOR, group)
    p = await profiles.by_alias(db, OPERATOR, profile)
    now = await groups.remove_member(db, OPERATOR, g.id, p.id)
    click.echo(f"{printable(p.alias)} left {printable(now.name)} (members: {len(now.members)})")
