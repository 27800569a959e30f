"""send, segments: writing SMS from the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import click

from console.options import (
    EXIT_REFUSED,
    as_option,
    db_option,
    emit_json,
    json_option,
    resolve_actor,
    with_db,
)
from console.safe_text import printable
from core.errors import SwitchboardError
from core.sms import segments
from core.text import counted

if TYPE_CHECKING:
    from core.db import Database
    from core.sms.sending import SendResult


@click.command()
@click.argument("text", required=False)
@click.option("--to", "to", metavar="NUMBER", help="The contact's mobile number.")
@click.option("--from", "sender", metavar="NUMBER", help="One of our numbers (default: yours).")
@click.option(
    "--attach",
    "attachments",
    multiple=True,
    metavar="FILE",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Send FILE by MMS (repeatable).",
)
@click.option(
    "--batch",
    "batch",
    type=click.File("rb"),
    metavar="FILE",
    help='Send the messages in FILE (- for stdin), a JSON object a line: {"to": .., "text": ..}',
)
@as_option
@json_option
@db_option
def send(
    text: str | None,
    to: str | None,
    sender: str | None,
    attachments: tuple[Path, ...],
    batch: BinaryIO | None,
    as_user: str | None,
    as_json: bool,
    db_path: Path | None,
) -> None:
    """Queue TEXT to a contact; the worker delivers it."""
    if batch is not None:
        if text is not None or to is not None or attachments:
            raise click.UsageError(
                "--batch takes every message from its file: no TEXT, --to, --attach"
            )
        from core.sms.batch import MAX_BYTES

        _send_batch(batch.read(MAX_BYTES + 1), sender, as_user, as_json, db_path=db_path)
    elif text is None or to is None:
        raise click.UsageError("give --to NUMBER and TEXT, or --batch FILE")
    else:
        _send_one(text, to, sender, attachments, as_user, as_json, db_path=db_path)


@with_db
async def _send_one(
    db: Database,
    text: str,
    to: str,
    sender: str | None,
    attachments: tuple[Path, ...],
    as_user: str | None,
    as_json: bool,
) -> None:
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
        emit_json(_queued(result))
        return
    click.echo(f"queued message {result.message_id} ({counted(result.segments, 'segment')})")
    if result.ready_changed:
        click.echo("the contact was Ready and is now not ready (an SMS was sent to them)")


def _queued(result: SendResult) -> dict[str, Any]:
    return {
        "message_id": result.message_id,
        "conversation_id": result.conversation_id,
        "status": "queued",
        "segments": result.segments,
        "body": result.body,
        "ready_changed": result.ready_changed,
    }


@with_db
async def _send_batch(
    db: Database, data: bytes, sender: str | None, as_user: str | None, as_json: bool
) -> None:
    """Every line is sent or refused, and said so with its line number.

    A malformed line refuses the whole batch before anything is queued; a
    message the sending rules refuse (opted out, not a mobile...) is reported
    on stderr and the rest are sent; the exit status is then 1.
    """
    from core.sms import batch, sending

    messages = batch.read(data)
    actor = await resolve_actor(db, as_user)
    results: list[dict[str, Any]] = []
    refusals = 0
    for m in messages:
        try:
            result = await sending.send(db, actor, m.to, m.text, sender=m.sender or sender)
        except SwitchboardError as exc:
            refusals += 1
            click.echo(f"error: line {m.line}: {printable(str(exc))}", err=True)
            results.append({"line": m.line, "status": "refused", "error": str(exc)})
            continue
        if as_json:
            results.append({"line": m.line, **_queued(result)})
        else:
            click.echo(
                f"line {m.line}: queued message {result.message_id}"
                f" ({counted(result.segments, 'segment')})"
            )
    if as_json:
        emit_json(results)
    if refusals:
        click.echo(
            f"error: {refusals} of {counted(len(messages), 'message')} refused"
            " (see the lines above);"
            " the others are queued",
            err=True,
        )
        sys.exit(EXIT_REFUSED)


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
        f"{counted(count.segments, 'segment')}, {count.units_left} left in this segment"
    )
    if offer is not None:
        click.echo(
            f"replacing {counted(offer.replaced, 'look-alike character')} makes it GSM-7: "
            f"{counted(offer.count.segments, 'segment')}, saving {offer.segments_saved}"
        )
