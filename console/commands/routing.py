"""offers, activity, transfer: routing from the command line (issue #10 items 6-7)."""

from __future__ import annotations

import click

from console.options import (
    ROW_ID,
    as_option,
    db_option,
    emit_json,
    json_option,
    none_listed,
    resolve_actor,
    with_db,
)
from console.safe_text import printable
from core.db import Database
from core.errors import InvalidInput
from core.routing import activities, offers, transfers


@click.group("offers", invoke_without_command=True)
@as_option
@json_option
@db_option
@click.pass_context
def offers_group(ctx: click.Context, as_user: str | None, as_json: bool, db_path: object) -> None:
    """Conversations offered to you: list them, accept or refuse one."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(offers_list, as_user=as_user, as_json=as_json, db_path=db_path)


@offers_group.command("list")
@as_option
@json_option
@db_option
@with_db(reads_only=True)
async def offers_list(db: Database, as_user: str | None, as_json: bool) -> None:
    """List the offers waiting for your answer, oldest first."""
    actor = await resolve_actor(db, as_user)
    found = await offers.pending_for(db, actor)
    now = db.clock.now()
    if as_json:
        emit_json(
            [
                {
                    "id": o.id,
                    "conversation_id": o.conversation_id,
                    "queue": o.queue,
                    "offered_at": o.offered_at,
                    "expires_at": o.expires_at,
                    "auto_accept_at": o.auto_accept_at,
                    "seconds_left": max(0, int((o.expires_at - now).total_seconds())),
                }
                for o in found
            ]
        )
        return
    if not found:
        none_listed("offers")
    for o in found:
        left = max(0, int((o.expires_at - now).total_seconds()))
        auto = " (accepted for you then)" if o.auto_accept_at is not None else ""
        click.echo(
            f"{o.id:>6}  conversation {o.conversation_id:<6} {printable(o.queue or '-'):<16}"
            f" {left} s left{auto}"
        )


@offers_group.command("accept")
@click.argument("offer_id", type=ROW_ID, metavar="ID")
@as_option
@db_option
@with_db
async def offers_accept(db: Database, offer_id: int, as_user: str | None) -> None:
    """Accept offer ID: the conversation becomes yours."""
    actor = await resolve_actor(db, as_user)
    offer = await offers.accept(db, actor, offer_id)
    click.echo(f"accepted offer {offer.id}: conversation {offer.conversation_id} is yours")


@offers_group.command("refuse")
@click.argument("offer_id", type=ROW_ID, metavar="ID")
@as_option
@db_option
@with_db
async def offers_refuse(db: Database, offer_id: int, as_user: str | None) -> None:
    """Refuse offer ID (if your permission profile allows it); it counts as missed."""
    actor = await resolve_actor(db, as_user)
    offer = await offers.refuse(db, actor, offer_id)
    click.echo(f"refused offer {offer.id}; it goes to the next agent")


@click.command("activity")
@click.argument("name", required=False)
@as_option
@json_option
@db_option
@with_db
async def activity_command(
    db: Database, name: str | None, as_user: str | None, as_json: bool
) -> None:
    """Show your activity, or change it to NAME (Available, Away, Lunch...)."""
    actor = await resolve_actor(db, as_user)
    if name is not None:
        chosen = await activities.choose(db, actor, name)
        if not as_json:
            click.echo(f"you are now {printable(chosen.name)}")
            return
    now = await activities.current(db, actor)
    if as_json:
        emit_json(
            {
                "activity": None if now.activity is None else now.activity.name,
                "available": bool(now.activity and now.activity.available),
                "since": now.since,
                "missed_offers": now.missed_offers,
                "max_missed_offers": now.max_missed_offers,
                "allowed": [a.name for a in now.allowed],
            }
        )
        return
    shown = "none chosen yet" if now.activity is None else printable(now.activity.name)
    click.echo(f"activity: {shown}")
    limit = "" if now.max_missed_offers is None else f" of {now.max_missed_offers}"
    click.echo(f"missed offers in a row: {now.missed_offers}{limit}")
    click.echo("you may choose: " + ", ".join(printable(a.name) for a in now.allowed))


@click.command("transfer")
@click.argument("conversation_id", type=ROW_ID, metavar="CONVERSATION")
@click.option("--to-queue", "queue", metavar="QUEUE", help="Hand it to this queue.")
@click.option("--to-agent", "agent", metavar="USER", help="Hand it to this agent.")
@as_option
@json_option
@db_option
@with_db
async def transfer_command(
    db: Database,
    conversation_id: int,
    queue: str | None,
    agent: str | None,
    as_user: str | None,
    as_json: bool,
) -> None:
    """Hand CONVERSATION to a queue (it is offered again) or to a named agent."""
    if (queue is None) == (agent is None):
        raise InvalidInput("give one of --to-queue QUEUE or --to-agent USER")
    actor = await resolve_actor(db, as_user)
    if queue is not None:
        done = await transfers.to_queue(db, actor, conversation_id, queue)
    else:
        assert agent is not None
        done = await transfers.to_agent(db, actor, conversation_id, agent)
    if as_json:
        emit_json(
            {
                "id": done.id,
                "conversation_id": done.conversation_id,
                "at": done.at,
                "by": done.by,
                "from": done.from_agent,
                "to_agent": done.to_agent,
                "to_queue": done.to_queue,
            }
        )
        return
    target = f"queue {done.to_queue}" if done.to_queue else done.to_agent or "?"
    click.echo(f"conversation {done.conversation_id} transferred to {printable(target)}")
