"""alerts: mobile alerts to staff (A1 settings, A2 consent, A5 am I set up?, A6 preview).

One function per command; `alerts preview` and `alerts status` (A6, the
timeline) live in ``alerts_timeline`` and join the group at the foot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

from console.commands.alerts_timeline import preview_command, status_command
from console.options import as_option, db_option, emit_json, json_option, resolve_actor, with_db
from console.safe_text import printable
from console.times import zoned_stamp
from core.account_zone import account_zone
from core.people.authz import SYSTEM

if TYPE_CHECKING:
    from core.alerts.consent import StaffView
    from core.db import Database
    from core.settings import Settings

# As `switchboard settings set`: the local operator, who can write the file anyway.
OPERATOR = SYSTEM

ALERT_SETTINGS = (
    "staff_sms",
    "mobile_alerts",
    "alert_every_minutes",
    "alert_reminders",
    "alert_escalate_after",
    "alert_message_body",
    "time_zone",
    "bundle_segments",
    "bundle_warn_percent",
    "bundle_when_full",
)
"""What `alerts settings` shows and sets, in this order (core.settings holds the rules)."""

NEVER_SETTINGS = ("alert_every_minutes", "alert_reminders", "alert_escalate_after")


@click.group("alerts")
def alerts_group() -> None:
    """Mobile alerts to staff: settings, consent, readiness, preview, status."""


def _shown(name: str, value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if name in NEVER_SETTINGS and value == 0:
        return "never"
    if name == "bundle_segments" and value == 0:
        return "none"
    return printable(str(value))


def _settings_json(current: Settings) -> dict[str, Any]:
    return {name: getattr(current, name) for name in ALERT_SETTINGS}


@alerts_group.command("settings")
@click.option("--staff-sms", metavar="on|off", help="System SMS to staff.")
@click.option("--mobile-alerts", metavar="on|off", help="Mobile alerts (needs --staff-sms on).")
@click.option(
    "--every",
    "--alert-every-minutes",
    "every",
    metavar="MINUTES|never",
    help="Minutes between alerts (1-30).",
)
@click.option(
    "--reminders",
    "--alert-reminders",
    "reminders",
    metavar="N|never",
    help="Reminders after the first (1-5).",
)
@click.option(
    "--escalate-after",
    "--alert-escalate-after",
    "escalate_after",
    metavar="N|never",
    help="Attempts before on-call staff (1-5).",
)
@click.option(
    "--message-body",
    "--alert-message-body",
    "message_body",
    metavar="on|off",
    help="Quote the message (never in HIPAA mode).",
)
@click.option("--time-zone", metavar="ZONE", help="The account's IANA zone, for new shifts.")
@click.option(
    "--bundle",
    "--bundle-segments",
    "bundle",
    metavar="SEGMENTS",
    help="Segments bought per month (0: none).",
)
@click.option(
    "--bundle-warn",
    "--bundle-warn-percent",
    "bundle_warn",
    metavar="PERCENT",
    help="Warn at this share of the bundle.",
)
@click.option(
    "--when-full",
    "--bundle-when-full",
    "when_full",
    metavar="warn|hold",
    help="At 100 %: keep sending, or hold.",
)
@json_option
@db_option
@with_db
async def alerts_settings(db: Database, as_json: bool, **given: str | None) -> None:
    """Show the mobile-alert and bundle settings; set those given (all at once, or none).

    Each option may also be spelt as the setting it sets (--alert-every-minutes for
    --every), as the settings are shown and named in refusals."""
    from core import settings
    from core.delivery import bundle

    names = {
        "staff_sms": "staff_sms",
        "mobile_alerts": "mobile_alerts",
        "every": "alert_every_minutes",
        "reminders": "alert_reminders",
        "escalate_after": "alert_escalate_after",
        "message_body": "alert_message_body",
        "time_zone": "time_zone",
        "bundle": "bundle_segments",
        "bundle_warn": "bundle_warn_percent",
        "when_full": "bundle_when_full",
    }
    changes = {names[k]: v for k, v in given.items() if v is not None}
    if changes:
        current = await settings.update(db, OPERATOR, **changes)
    else:
        current = await settings.load(db)
    use = await bundle.usage(db)
    if as_json:
        emit_json(
            {
                **_settings_json(current),
                "alerts_carry_body": current.alerts_carry_body,
                "bundle_use": {
                    "month": use.month,
                    "used_segments": use.used,
                    "percent": use.percent,
                    "warning": use.warning,
                    "full": use.full,
                    "holding": use.holding,
                },
            }
        )
        return
    from console.commands.status import bundle_line

    for name in ALERT_SETTINGS:
        click.echo(f"{name:<22} {_shown(name, getattr(current, name))}")
    if current.alert_message_body and not current.alerts_carry_body:
        click.echo("note: HIPAA mode is on, so alert texts carry no message body")
    click.echo(f"bundle use             {bundle_line(use, 0)}")


def _on_off(value: bool) -> str:
    return "on" if value else "off"


def _consent_lines(view: StaffView, zone: ZoneInfo) -> list[str]:
    mobile = printable(view.mobile) if view.mobile else "none"
    if view.opted_out:
        mobile += " (replied STOP: nothing is sent to it until it replies START)"
    if view.permitted_at is None:
        permitted = "no"
    else:
        by = printable(view.permitted_by) if view.permitted_by else "the local operator"
        permitted = f"yes, since {zoned_stamp(view.permitted_at, zone)} by {by}"
    return [
        f"{printable(view.username)} ({printable(view.name)})",
        f"mobile        {mobile}",
        f"SMS permitted {permitted}",
        f"New Chat      {_on_off(view.new_chat)}",
    ]


def _consent_json(view: StaffView) -> dict[str, Any]:
    return {
        "agent_id": view.agent_id,
        "username": view.username,
        "mobile": view.mobile,
        "sms_permitted_at": None if view.permitted_at is None else view.permitted_at.isoformat(),
        "sms_permitted_by": view.permitted_by,
        "new_chat": view.new_chat,
        "opted_out": view.opted_out,
    }


async def _target(db: Database, user: str | None, me: int | None) -> int:
    from core.people import agents

    if user is None:
        if me is None:
            raise click.UsageError("the local operator has no phone: name someone with --user")
        return me
    return (await agents.by_username(db, user)).id


@alerts_group.command("consent")
@click.option("--user", metavar="USERNAME", help="Whose (default: you; others: managers only).")
@click.option("--mobile", metavar="NUMBER|none", help="Set the mobile number (none removes it).")
@click.option(
    "--permit/--no-permit", default=None, help='"I permit SMS to this phone" (yours only).'
)
@click.option("--new-chat/--no-new-chat", default=None, help="The New Chat alert (yours only).")
@as_option
@json_option
@db_option
@with_db
async def alerts_consent(
    db: Database,
    user: str | None,
    mobile: str | None,
    permit: bool | None,
    new_chat: bool | None,
    as_user: str | None,
    as_json: bool,
) -> None:
    """Show or change a mobile number and its consent to alerts."""
    from core.alerts import consent

    actor = await resolve_actor(db, as_user)
    agent_id = await _target(db, user, actor.id)
    number: str | None = consent.KEEP
    if mobile is not None:
        number = None if mobile.strip().lower() == "none" else mobile
    view = await consent.change(
        db, actor, agent_id, mobile=number, permit_sms=permit, new_chat=new_chat
    )
    if as_json:
        emit_json(_consent_json(view))
        return
    for line in _consent_lines(view, await account_zone(db)):
        click.echo(line)


@alerts_group.command("me")
@click.option("--user", metavar="USERNAME", help="Ask about someone else (default: you).")
@as_option
@json_option
@db_option
@with_db(reads_only=True)
async def alerts_me(db: Database, user: str | None, as_user: str | None, as_json: bool) -> None:
    """Would you be alerted if a chat came in now? If not, what is missing."""
    from core.alerts.readiness import readiness

    actor = await resolve_actor(db, as_user)
    found = await readiness(db, actor, await _target(db, user, actor.id))
    if as_json:
        emit_json({"configured": found.configured, "missing": list(found.missing)})
        return
    click.echo(found.message)


# The timeline's commands live in their own module (the preview and what was sent).
alerts_group.add_command(preview_command)
alerts_group.add_command(status_command)
