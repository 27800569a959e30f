"""conversations list and show: who is waiting, who owns what, what was said."""

from __future__ import annotations

import click

from console.options import (
    MAX_LIST,
    as_option,
    db_option,
    emit_json,
    json_option,
    none_listed,
    resolve_actor,
    with_db,
)
from console.safe_text import clipped, printable
from console.times import zoned_stamp
from core.account_zone import account_zone
from core.db import Database
from core.errors import InvalidInput
from core.sms import conversations
from core.sms.conversations import Conversation, Filter


@click.group("conversations")
def conversations_group() -> None:
    """SMS conversations: list them, or read one with its messages."""


@conversations_group.command("list")
@click.option("--unanswered", is_flag=True, help="Waiting for an answer.")
@click.option("--answered", is_flag=True, help="Answered.")
@click.option("--public", is_flag=True, help="Any agent may take these.")
@click.option("--mine", is_flag=True, help="Owned or followed by me.")
@click.option("--limit", type=click.IntRange(1, MAX_LIST), default=200, show_default=True)
@as_option
@json_option
@db_option
@with_db
async def list_conversations(
    db: Database,
    unanswered: bool,
    answered: bool,
    public: bool,
    mine: bool,
    limit: int,
    as_user: str | None,
    as_json: bool,
) -> None:
    """List the conversations you may see, oldest-waiting first.

    Agents see theirs, those they follow and public ones; managers see all.
    One filter at a time: --unanswered, --answered, --public or --mine.
    """
    chosen = {
        Filter.UNANSWERED: unanswered,
        Filter.ANSWERED: answered,
        Filter.PUBLIC: public,
        Filter.MINE: mine,
    }
    views = [view for view, on in chosen.items() if on]
    if len(views) > 1:
        # The filters do not combine: silently keeping the last one would list
        # something other than what was asked for.
        raise InvalidInput(
            f"choose one filter: {' and '.join('--' + str(v) for v in views)} cannot be combined"
        )
    actor = await resolve_actor(db, as_user)
    found = await conversations.list_for(db, actor, views[0] if views else Filter.ALL, limit=limit)
    now = db.clock.now()
    if as_json:
        emit_json(
            [
                {
                    **_about(c),
                    "wait_seconds": None
                    if c.wait(now) is None
                    else int(c.wait(now).total_seconds()),
                    "last_message_at": c.last_message_at,
                    "last_body": c.last_body,
                }
                for c in found
            ]
        )
        return
    if not found:
        none_listed("conversations")
    for c in found:
        wait = c.wait(now)
        waited = f"waiting {int(wait.total_seconds() // 60)} min" if wait else "answered"
        who = printable(c.owner or "nobody")
        flag = " public" if c.is_public else ""
        name = clipped(c.contact_name, 28) or c.phone
        click.echo(f"{c.id:>5} {name:<28} {c.phone:<14} {who:<10} {waited}{flag}")


def _about(c: Conversation) -> dict[str, object]:
    """A conversation's fields in --json, the same in list and show."""
    return {
        "id": c.id,
        "number": c.number,
        "phone": c.phone,
        "contact": c.contact_name,
        "owner": c.owner,
        "public": c.is_public,
        "answered": c.answered,
    }


@conversations_group.command("show")
@click.argument("conversation", type=click.IntRange(1, 2**63 - 1), metavar="ID")
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_LIST),
    default=50,
    show_default=True,
    help="The latest messages shown.",
)
@as_option
@json_option
@db_option
@with_db(reads_only=True)
async def show_conversation(
    db: Database, conversation: int, limit: int, as_user: str | None, as_json: bool
) -> None:
    """Conversation ID and its latest messages, oldest first (reading it marks nothing read).

    Agents see theirs, those they follow and public ones; managers see all.
    """
    actor = await resolve_actor(db, as_user)
    c = await conversations.get(db, actor, conversation)
    messages = await conversations.thread(db, actor, conversation, limit=limit)
    if as_json:
        emit_json(
            {
                **_about(c),
                "closed_at": c.closed_at,
                "messages": [
                    {
                        "id": m.id,
                        "direction": m.direction,
                        "kind": m.kind,
                        "author": m.author,
                        "body": m.body,
                        "status": m.status,
                        "segments": m.segments,
                        "error": m.error,
                        "attachments": list(m.attachments),
                        "created_at": m.created_at,
                        "sent_at": m.sent_at,
                        "delivered_at": m.delivered_at,
                    }
                    for m in messages
                ],
            }
        )
        return
    wait = c.wait(db.clock.now())
    state = (
        "closed"
        if c.closed_at is not None
        else f"waiting {int(wait.total_seconds() // 60)} min"
        if wait
        else "answered"
    )
    who = f"{printable(c.contact_name)} {c.phone}" if c.contact_name else c.phone
    click.echo(
        f"conversation {c.id}: {who} to {c.number}, owner"
        f" {printable(c.owner or 'nobody')}, {state}" + (", public" if c.is_public else "")
    )
    if not messages:
        none_listed("messages")
    zone = await account_zone(db)
    for m in messages:
        way = "in" if m.direction == "in" else f"out {printable(m.author or 'system')}, {m.status}"
        if m.error and m.status == "failed":
            way += f" ({printable(m.error)})"
        attached = f" [{', '.join(map(printable, m.attachments))}]" if m.attachments else ""
        body = printable(m.body, keep_newlines=True).replace("\n", "\n      ")
        click.echo(f"#{m.id} {zoned_stamp(m.created_at, zone)}  {way}{attached}\n      {body}")
