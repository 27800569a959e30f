"""send, segments: writing SMS from the command line."""

from __future__ import annotations

from pathlib import Path

import click

from console.options import (
    as_option,
    db_option,
    emit_json,
    json_option,
    resolve_actor,
    with_db,
)
from core.db import Database
from core.sms import segments


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
    # Imported here: the messaging rules (phone numbers, settings, the outbox) are what
    # `send` needs, and neither `segments` nor `send --help` should load them.
    from core.sms import sending

    actor = await resolve_actor(db, as_user)
    limits = None
    media = []
    if attachments:
        # Imported here: the configuration and the providers matter only for an MMS, and
        # a plain `send` should start without them (issue #9: scripts send in loops).
        from core import settings
        from core.sms.mms import media_from_file
        from providers import wiring

        # What the provider can carry is checked before anything is queued.
        limits = (await wiring.sms_gateway(db, wiring.load_config())).mms_limits
        max_bytes = (await settings.load(db)).mms_max_bytes
        media = [media_from_file(p, max_bytes) for p in attachments]
    result = await sending.send(db, actor, to, text, sender=sender, media=media, mms_limits=limits)
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
