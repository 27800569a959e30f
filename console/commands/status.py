"""status: what the worker is doing (W5), read from the database by any process."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import click

from console.options import MAX_LIST, db_option, emit_json, json_option, with_db
from console.safe_text import printable
from core import status
from core.account_zone import account_zone
from core.db import Database
from core.delivery.bundle import Usage
from core.errors import ConfigProblem
from core.scheduling import lease
from core.text import counted

KIND_WORDS = {
    "message.failed": "failed",
    "message.retrying": "retrying",
    "message.requeued": "requeued",
}


def ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 0:
        return f"in {_span(-seconds)}"
    return f"{_span(seconds)} ago"


def _span(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 90 * 60:
        return f"{seconds // 60} min"
    if seconds < 48 * 3600:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def _clock(at: datetime, zone: ZoneInfo) -> str:
    """To the second, in the account's time zone (console/times.py)."""
    return f"{at.astimezone(zone):%Y-%m-%d %H:%M:%S %Z}"


def _mail_server_configured() -> bool | None:
    """Whether [smtp] is set; None when the configuration cannot be read (config check says why)."""
    from providers import wiring

    try:
        return wiring.load_config().smtp is not None
    except ConfigProblem:
        return None


def bundle_line(use: Usage, held: int) -> str:
    """A4's use of the month, as `status` and `alerts settings` show it."""
    if not use.bundle:
        return f"{counted(use.used, 'segment')} sent in {use.month} (no monthly bundle set)"
    line = f"{use.used} of {use.bundle} segments used in {use.month} ({use.percent:g} %)"
    if use.holding:
        line += f"; full: only alerts and STOP confirmations go, {counted(held, 'message')} held"
    elif use.full:
        line += "; full: sending carries on (bundle_when_full = warn)"
    elif use.warning:
        line += "; nearly used up"
    return line


@click.command("status")
@click.option(
    "--errors",
    type=click.IntRange(0, MAX_LIST),
    default=10,
    show_default=True,
    help="How many recent problems to show.",
)
@json_option
@db_option
@with_db(reads_only=True)
async def status_command(db: Database, errors: int, as_json: bool) -> None:
    """Who holds the worker lease, outbox and email depths, the oldest queued message, errors."""
    found = await status.snapshot(db, errors=errors)
    # Read only when emails wait: a status loop with none pays nothing for it.
    mail_server = _mail_server_configured() if found.emails.queued else None
    if as_json:
        emit_json(
            {
                "now": found.now.isoformat(),
                "worker": None
                if found.holder is None
                else {
                    "holder": found.holder.holder,
                    "pid": found.holder.pid,
                    "host": found.holder.host,
                    "since": found.holder.acquired_at.isoformat(),
                    "lease_until": found.holder.expires_at.isoformat(),
                    "gone": lease.is_gone(found.holder),
                },
                "queued": found.queued,
                "sending": found.sending,
                "sent_awaiting_report": found.sent_awaiting_report,
                "oldest_queued": None
                if found.oldest_queued is None
                else {
                    "message_id": found.oldest_queued.message_id,
                    "recipient": found.oldest_queued.recipient,
                    "due_at": found.oldest_queued.due_at.isoformat(),
                    "attempts": found.oldest_queued.attempts,
                    "last_error": found.oldest_queued.last_error,
                },
                "emails": {
                    "queued": found.emails.queued,
                    "sending": found.emails.sending,
                    "oldest_due_at": None
                    if found.emails.oldest_due_at is None
                    else found.emails.oldest_due_at.isoformat(),
                    "mail_server_configured": mail_server,
                },
                "bundle": {
                    "month": found.bundle.month,
                    "used_segments": found.bundle.used,
                    "bundle_segments": found.bundle.bundle,
                    "percent": found.bundle.percent,
                    "warning": found.bundle.warning,
                    "full": found.bundle.full,
                    "holding": found.bundle.holding,
                    "held": found.held,
                },
                "last_errors": [
                    {
                        "at": e.at.isoformat(),
                        "kind": e.kind,
                        "message_id": e.message_id,
                        "reason": e.reason,
                    }
                    for e in found.last_errors
                ],
            }
        )
        return
    zone = await account_zone(db)
    holder = found.holder
    if holder is None:
        click.echo("worker   nobody holds the lease: no worker is running, so nothing is sent")
    elif lease.is_gone(holder):
        click.echo(
            f"worker   pid {holder.pid} on {holder.host} holds the lease but its process is gone"
            f" (it stopped without giving the lease up); nothing is sent until the lease lapses"
            f" at {_clock(holder.expires_at, zone)} and another worker takes over"
        )
    else:
        click.echo(
            f"worker   pid {holder.pid} on {holder.host} acts"
            f" (since {_clock(holder.acquired_at, zone)};"
            f" lease renewed until {_clock(holder.expires_at, zone)})"
        )
    click.echo(
        f"outbox   {found.queued} queued, {found.sending} sending,"
        f" {found.sent_awaiting_report} sent and awaiting a delivery report"
    )
    oldest = found.oldest_queued
    if oldest is not None:
        line = (
            f"oldest   message {oldest.message_id} to {oldest.recipient}, due"
            f" {ago(found.now - oldest.due_at)}, {counted(oldest.attempts, 'attempt')}"
        )
        if oldest.last_error:
            line += f"; last error: {printable(oldest.last_error)}"
        click.echo(line)
    email = found.emails
    line = f"email    {email.queued} queued, {email.sending} sending"
    if email.oldest_due_at is not None:
        line += f"; oldest due {ago(found.now - email.oldest_due_at)}"
    if mail_server is False:
        line += (
            "; the mail server is not configured ([smtp] in config.toml), so they wait"
            " (`switchboard config check`)"
        )
    click.echo(line)
    click.echo(f"bundle   {bundle_line(found.bundle, found.held)}")
    if not found.last_errors:
        click.echo("errors   none recorded")
        return
    click.echo("recent problems (newest first):")
    for error in found.last_errors:
        target = f"message {error.message_id}" if error.message_id is not None else ""
        click.echo(
            f"  {_clock(error.at, zone)}  {KIND_WORDS.get(error.kind, error.kind):<8}  {target}:"
            f" {printable(error.reason)}"
        )
