"""cases contacts|note|quick|link|revoke: who is on a case, and what they are sent (C1, C2).

Acts as the local operator, as the rest of `cases`. Contacts are named by
their id (`switchboard cases show CASE` lists them). Names and notes are
printed literally.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

from console.options import db_option, emit_json, json_option, with_db
from console.safe_text import printable
from console.times import zoned_stamp
from core.people.authz import SYSTEM
from core.text import counted

if TYPE_CHECKING:
    from core.cases.case_contacts import CaseContact
    from core.cases.notes import Note, Posted
    from core.cases.sending import Delivery
    from core.db import Database

OPERATOR = SYSTEM
CLI = "cli"
QUICK = {
    "checked-in": "checked_in",
    "request-approval": "request_approval",
    "asset-ready": "asset_ready",
    "asset-in-service": "asset_in_service",
}


def contact_json(c: CaseContact) -> dict[str, Any]:
    return {
        "contact_id": c.contact_id,
        "name": c.name,
        "job_title": c.job_title,
        "email": c.email,
        "sms": c.sms_enabled,
        "phone": c.phone,
        "invited_at": None if c.invited_at is None else c.invited_at.isoformat(),
    }


def contact_line(c: CaseContact) -> str:
    sms = f"SMS to {c.phone}" if c.sms_enabled else "SMS off"
    return f"{c.contact_id:>5}  {printable(c.name) or '-':<24} {sms}"


def note_json(n: Note) -> dict[str, Any]:
    return {
        "id": n.id,
        "kind": n.kind,
        "subject": n.subject,
        "source": n.source,
        "author": n.author,
        "author_agent_id": n.author_agent_id,
        "author_contact_id": n.author_contact_id,
        "body": n.body,
        "reply_to": n.reply_to,
        "created_at": n.created_at.isoformat(),
        "recipients": [
            {"contact_id": r.contact_id, "name": r.name, "message_id": r.message_id,
             "skipped": r.skipped}
            for r in n.recipients
        ],
    }  # fmt: skip


def note_lines(n: Note, zone: ZoneInfo) -> list[str]:
    author = printable(n.author) or "operator"
    to = ", ".join(printable(r.name) for r in n.recipients) or "nobody"
    lines = [
        f"#{n.id} {zoned_stamp(n.created_at, zone)}  {n.subject}  {author} -> {to} ({n.source})"
    ]
    lines.append("    " + printable(n.body))
    lines += [f"    {printable(r.name)}: {printable(r.skipped)}" for r in n.recipients if r.skipped]
    return lines


def _delivery_json(d: Delivery) -> dict[str, Any]:
    return {"contact_id": d.contact_id, "name": d.name, "message_id": d.message_id,
            "skipped": d.skipped}  # fmt: skip


def _delivery_line(d: Delivery) -> str:
    what = f"texted (message {d.message_id})" if d.message_id else printable(d.skipped or "")
    return f"  {printable(d.name) or d.contact_id}: {what}"


def _show_posted(posted: Posted, as_json: bool) -> None:
    if as_json:
        emit_json(
            {
                "note_id": posted.note_id,
                "recipients": [_delivery_json(d) for d in posted.deliveries],
            }
        )
        return
    click.echo(f"added note #{posted.note_id}")
    for d in posted.deliveries:
        click.echo(_delivery_line(d))


@click.group("contacts")
def contacts_group() -> None:
    """The customer contacts on a case, and whether each is texted."""


@contacts_group.command("add")
@click.argument("case")
@click.argument("contact_id", type=int)
@click.option("--sms", is_flag=True, help="Text them too (sends the invitation).")
@json_option
@db_option
@with_db
async def contacts_add(db: Database, case: str, contact_id: int, sms: bool, as_json: bool) -> None:
    """Put contact CONTACT_ID on CASE."""
    from core.cases import case_contacts

    added = await case_contacts.add(db, OPERATOR, case, contact_id)
    invitation = None
    if sms:
        changed = await case_contacts.set_sms(db, OPERATOR, case, contact_id, True, source=CLI)
        added, invitation = changed.contact, changed.invitation
    if as_json:
        emit_json({**contact_json(added), "invitation": _json_or_none(invitation)})
        return
    click.echo(contact_line(added))
    if invitation is not None:
        click.echo("invited:" + _delivery_line(invitation)[1:])


def _json_or_none(d: Delivery | None) -> dict[str, Any] | None:
    return None if d is None else _delivery_json(d)


@contacts_group.command("remove")
@click.argument("case")
@click.argument("contact_id", type=int)
@json_option
@db_option
@with_db
async def contacts_remove(db: Database, case: str, contact_id: int, as_json: bool) -> None:
    """Take contact CONTACT_ID off CASE; their links stop working."""
    from core.cases import case_contacts

    revoked = await case_contacts.remove(db, OPERATOR, case, contact_id)
    if as_json:
        emit_json({"contact_id": contact_id, "links_revoked": revoked})
        return
    click.echo(f"removed contact {contact_id}; {counted(revoked, 'link')} revoked")


@contacts_group.command("sms")
@click.argument("case")
@click.argument("contact_id", type=int)
@click.argument("state", type=click.Choice(["on", "off"]))
@json_option
@db_option
@with_db
async def contacts_sms(db: Database, case: str, contact_id: int, state: str, as_json: bool) -> None:
    """Text contact CONTACT_ID about CASE (on: the first time, the invitation goes), or stop."""
    from core.cases import case_contacts

    changed = await case_contacts.set_sms(db, OPERATOR, case, contact_id, state == "on", source=CLI)
    if as_json:
        emit_json(
            {**contact_json(changed.contact), "invitation": _json_or_none(changed.invitation)}
        )
        return
    click.echo(contact_line(changed.contact))
    if changed.invitation is not None:
        click.echo("invited:" + _delivery_line(changed.invitation)[1:])


def _recipients(raw: tuple[int, ...]) -> list[int] | None:
    return list(raw) if raw else None


@click.command("note")
@click.argument("case")
@click.argument("text")
@click.option("--to", "to", type=int, multiple=True, metavar="CONTACT_ID", help="A recipient.")
@json_option
@db_option
@with_db
async def note_command(
    db: Database, case: str, text: str, to: tuple[int, ...], as_json: bool
) -> None:
    """Add note TEXT to CASE; each --to contact with SMS on is texted with their link."""
    from core.cases import notes

    posted = await notes.add(db, OPERATOR, case, text, _recipients(to), source=CLI)
    _show_posted(posted, as_json)


@click.command("quick")
@click.argument("action", type=click.Choice(sorted(QUICK)))
@click.argument("case")
@click.option("--text", default="", help="The note (default: the action's subject).")
@click.option(
    "--to", "to", type=int, multiple=True, metavar="CONTACT_ID",
    help="A recipient (default: every contact with SMS on).",
)  # fmt: skip
@json_option
@db_option
@with_db
async def quick_command(
    db: Database, action: str, case: str, text: str, to: tuple[int, ...], as_json: bool
) -> None:
    """A quick action on CASE: checked-in, request-approval, asset-ready, asset-in-service."""
    from core.cases import notes

    posted = await notes.quick(
        db, OPERATOR, case, QUICK[action], _recipients(to), body=text, source=CLI
    )
    _show_posted(posted, as_json)


@click.command("link")
@click.argument("case")
@click.argument("contact_id", type=int)
@json_option
@db_option
@with_db
async def link_command(db: Database, case: str, contact_id: int, as_json: bool) -> None:
    """Print a new signed link to CASE's page for contact CONTACT_ID."""
    from core.cases import case_contacts

    url = await case_contacts.issue_link(db, OPERATOR, case, contact_id)
    if as_json:
        emit_json({"url": url})
        return
    click.echo(url)


@click.command("revoke")
@click.argument("case")
@click.argument("contact_id", type=int)
@click.option("--link", "link_id", type=int, help="Only this link (default: all of theirs).")
@json_option
@db_option
@with_db
async def revoke_command(
    db: Database, case: str, contact_id: int, link_id: int | None, as_json: bool
) -> None:
    """Withdraw contact CONTACT_ID's links to CASE's page."""
    from core.cases import case_contacts

    revoked = await case_contacts.revoke_links(db, OPERATOR, case, contact_id, link_id)
    if as_json:
        emit_json({"revoked": revoked})
        return
    click.echo(f"{counted(revoked, 'link')} revoked")


COMMANDS = (contacts_group, note_command, quick_command, link_command, revoke_command)
