"""worker: the headless worker (W1, W2, W3, W5), stopped cleanly by SIGTERM or SIGINT.

It delivers messages, makes due conversations public and, unless told not
to, serves the provider's callbacks, /metrics and /healthz on the webhook port.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
from dataclasses import replace

import click

from console import heap, logs
from console.options import db_option, with_db
from core.db import Database
from core.errors import ConfigProblem, InvalidInput
from core.scheduling import lease
from core.scheduling.options import WorkerOptions
from providers import wiring
from providers.config import Config

log = logging.getLogger("switchboard.worker")


async def serve(
    db: Database,
    options: WorkerOptions,
    config: Config,
    *,
    webhooks: bool,
    stop: asyncio.Event | None = None,
) -> None:
    """Run the worker (and the webhook server) until SIGTERM or SIGINT (or ``stop`` is set)."""
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)

    def lease_changed(held: bool) -> None:
        if held:
            click.echo("worker: acting (holds the lease)", err=True)
        else:
            click.echo("worker: waiting (another worker holds the lease)", err=True)

    gateway = await wiring.sms_gateway(db, config)
    # Imported here: the scheduler is what serving needs, and `worker --help` should not load it.
    from core.scheduling.worker import Worker

    email = wiring.email_gateway(config)
    worker = Worker(db, gateway, options, on_lease_change=lease_changed, email_gateway=email)
    server = wiring.webhook_server(db, config, worker) if webhooks else None
    if server is not None:
        try:
            await server.start()
        except OSError as exc:
            where = f"{config.webhooks.host}:{config.webhooks.port}"
            if exc.errno == errno.EADDRINUSE:
                raise ConfigProblem(
                    f"the webhook port {where} is in use (another worker?); choose another with"
                    " --port or [webhooks] port, or run with --no-webhooks"
                ) from None
            raise ConfigProblem(f"cannot listen on {where}: {exc.strerror or exc}") from None
        click.echo(
            f"worker: webhooks on {server.url} (POST /sinch/events, GET /metrics, GET /healthz)",
            err=True,
        )
    click.echo(f"worker: SMS through {gateway.name}", err=True)
    if email is None:
        click.echo("worker: no email is sent ([smtp] is not configured); emails wait", err=True)
    else:
        click.echo(f"worker: email through {email.name}", err=True)
    log.info(
        "worker started",
        extra={
            "event": "worker.started",
            "provider": gateway.name,
            # "uvloop" or "asyncio": which loop serves (console.server_loop).
            "event_loop": type(asyncio.get_running_loop()).__module__.partition(".")[0],
        },
    )
    holder = await lease.current(db)
    if holder is not None:
        click.echo(
            f"worker: another worker (pid {holder.pid} on {holder.host}) holds the lease;"
            " this one takes over if it stops",
            err=True,
        )
    heap.settle()  # start-up is done: the collector's passes leave what it made
    worker.start()
    try:
        await stop.wait()
    finally:
        click.echo("worker: stopping", err=True)
        await worker.stop()
        if server is not None:
            await server.stop()
        heap.release()
        click.echo("worker: stopped", err=True)


def _lease_seconds(ctx: click.Context, value: float) -> float:
    # Checked before the database is opened: a refused value changes nothing.
    try:
        return lease.check_seconds(value)
    except InvalidInput as exc:
        raise click.UsageError(str(exc), ctx) from None


@click.command("worker")
@click.option(
    "--lease-seconds",
    type=float,
    default=WorkerOptions().lease_seconds,
    show_default=True,
    callback=lambda ctx, _param, value: _lease_seconds(ctx, value),
    help=f"How soon another worker takes over if this one dies ({lease.MIN_SECONDS:g} to"
    f" {lease.MAX_SECONDS:g}).",
)
@click.option("--bind", "host", help="Webhook server address (default: [webhooks] host).")
@click.option(
    "--port", type=click.IntRange(0, 65535), help="Webhook server port; 0 takes a free one."
)
@click.option("--no-webhooks", is_flag=True, help="Do not serve callbacks, /metrics or /healthz.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON object per line, for a log collector.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log what the worker does (INFO).")
@db_option
@with_db(server=True)
async def worker_command(
    db: Database,
    lease_seconds: float,
    host: str | None,
    port: int | None,
    no_webhooks: bool,
    log_format: str,
    verbose: bool,
) -> None:
    """Run the worker headless: deliver messages, take callbacks, make due conversations public."""
    logs.setup(logging.INFO if verbose else logging.WARNING, log_format)  # type: ignore[arg-type]
    config = wiring.load_config()
    if host is not None or port is not None:
        webhooks = replace(
            config.webhooks,
            host=config.webhooks.host if host is None else host,
            port=config.webhooks.port if port is None else port,
        )
        config = replace(config, webhooks=webhooks)
    click.echo(f"worker: database {db.path}", err=True)
    await serve(db, WorkerOptions(lease_seconds=lease_seconds), config, webhooks=not no_webhooks)
