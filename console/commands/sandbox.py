"""sandbox reply, sandbox inbox: playing the contact's phone from the command line."""

from __future__ import annotations

import click

from console.options import MAX_LIST, db_option, emit_json, json_option, none_listed, with_db
from console.safe_text import printable
from core.account_zone import account_zone
from core.db import Database
from core.delivery import outbox
from core.sms.optout import Intent
from providers import sandbox


@click.group("sandbox")
def sandbox_group() -> None:
    """Play the contact's phone against the built-in sandbox provider."""


@sandbox_group.command("reply")
@click.argument("text")
@click.option("--from", "sender", required=True, metavar="NUMBER", help="The phone texting us.")
@click.option(
    "--to",
    "to",
    metavar="NUMBER",
    help="Our number (default: the one that last texted them, else the default).",
)
@json_option
@db_option
@with_db
async def sandbox_reply(
    db: Database, text: str, sender: str, to: str | None, as_json: bool
) -> None:
    """Text TEXT to us from a phone, through the real inbound path."""
    result = await sandbox.reply(db, sender, text, to)
    if as_json:
        emit_json(
            {
                "message_id": result.message_id,
                "conversation_id": result.conversation_id,
                "intent": str(result.intent),
                "automatic_replies": list(result.replies),
            }
        )
        return
    # A keyword's meaning is worth saying; an ordinary message's "none" is not.
    meant = "" if result.intent == Intent.NONE else f" (read as {result.intent})"
    click.echo(
        f"received as message {result.message_id} in conversation {result.conversation_id}" + meant
    )
    if result.replies:
        click.echo(f"{len(result.replies)} automatic reply queued")


@sandbox_group.command("inbox")
@click.option("--to", "to", metavar="NUMBER", help="Only what this phone received.")
@click.option("--limit", type=click.IntRange(1, MAX_LIST), default=20, show_default=True)
@json_option
@db_option
@with_db
async def sandbox_inbox(db: Database, to: str | None, limit: int, as_json: bool) -> None:
    """Show what the sandbox phones received (latest last)."""
    found = await sandbox.inbox(db, to, limit)
    if as_json:
        emit_json(
            [
                {
                    "message_id": m.message_id,
                    "from": m.sender,
                    "to": m.recipient,
                    "body": m.body,
                    "media": m.media,
                    "delivered": m.delivered,
                    "at": m.accepted_at.isoformat(),
                }
                for m in found
            ]
        )
        return
    if not found:
        waiting = (await outbox.depths(db)).queued
        none_listed(
            "texts" + (f" to {to}" if to else "") + " in the sandbox yet",
            f"{waiting} queued: a worker hands them over (switchboard worker, or the console)"
            if waiting
            else "",
        )
    zone = await account_zone(db)
    for m in found:
        state = "delivered" if m.delivered else "on its way"
        click.echo(
            f"{m.accepted_at.astimezone(zone):%H:%M:%S} {m.sender} -> {m.recipient} [{state}]"
        )
        click.echo("    " + printable(m.body, keep_newlines=True).replace("\n", "\n    "))
