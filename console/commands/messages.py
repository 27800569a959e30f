"""send, segments, sandbox: writing and receiving SMS from the command line."""

from __future__ import annotations

from pathlib import Path

import click

from console.cli import (
    MAX_LIST,
    as_option,
    db_option,
    emit_json,
    json_option,
    resolve_actor,
    with_db,
)
from console.safe_text import printable
from core import messaging, segments, settings
from core.db import Database
from core.mms import media_from_file
from providers import sandbox, wiring


@click.command()
@click.argument("text")
@click.option("--to", "to", required=True, metavar="NUMBER", help="The contact's mobile number.")
@click.option("--from", "sender", metavar="NUMBER", help="One of our numbers (default: yours).")
@click.option(
    "--attach",
    "attachments",
    multiple=True,
    metavar="FILE",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Send FILE by MMS (repeatable).",
)
@as_option
@json_option
@db_option
@with_db
async def send(
    db: Database,
    text: str,
    to: str,
    sender: str | None,
    attachments: tuple[Path, ...],
    as_user: str | None,
    as_json: bool,
) -> None:
    """Queue TEXT to a contact; the worker delivers it."""
    actor = await resolve_actor(db, as_user)
    limits = None
    media = []
    if attachments:
        # What the provider can carry is checked before anything is queued.
        limits = await wiring.mms_limits(db, wiring.load_config())
        max_bytes = (await settings.load(db)).mms_max_bytes
        media = [media_from_file(p, max_bytes) for p in attachments]
    result = await messaging.send(
        db, actor, to, text, sender=sender, media=media, mms_limits=limits
    )
    if as_json:
        emit_json(
            {
                "message_id": result.message_id,
                "conversation_id": result.conversation_id,
                "status": "queued",
                "segments": result.segments,
                "body": result.body,
                "ready_changed": result.ready_changed,
            }
        )
        return
    click.echo(f"queued message {result.message_id} ({result.segments} segment(s))")
    if result.ready_changed:
        click.echo("the contact was Ready and is now not ready (an SMS was sent to them)")


@click.command("segments")
@click.argument("text")
@json_option
def segments_command(text: str, as_json: bool) -> None:
    """Count the SMS segments TEXT needs, and suggest a cheaper GSM-7 rewrite."""
    count = segments.count(text)
    offer = segments.smart_encoding(text)
    if as_json:
        result = count.to_dict()
        result["smart_encoding"] = (
            None
            if offer is None
            else {
                "text": offer.text,
                "segments": offer.count.segments,
                "segments_saved": offer.segments_saved,
                "replaced": offer.replaced,
            }
        )
        emit_json(result)
        return
    click.echo(
        f"{count.encoding}: {count.characters} characters, {count.units} {count.unit_name}, "
        f"{count.segments} segment(s), {count.units_left} left in this segment"
    )
    if offer is not None:
        click.echo(
            f"replacing {offer.replaced} look-alike character(s) makes it GSM-7: "
            f"{offer.count.segments} segment(s), saving {offer.segments_saved}"
        )


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
    click.echo(
        f"received as message {result.message_id} in conversation "
        f"{result.conversation_id} ({result.intent})"
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
    for m in found:
        state = "delivered" if m.delivered else "on its way"
        click.echo(f"{m.accepted_at:%H:%M:%S} {m.sender} -> {m.recipient} [{state}]")
        click.echo("    " + printable(m.body, keep_newlines=True).replace("\n", "\n    "))


def register(group: click.Group) -> None:
    group.add_command(send)
    group.add_command(segments_command)
    group.add_command(sandbox_group)
