"""worker: the headless worker (W1, W2), stopped cleanly by SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal

import click

from console.cli import db_option, with_db
from core import lease
from core.db import Database
from core.worker import Worker, WorkerOptions
from providers.wiring import sms_gateway


async def serve(db: Database, options: WorkerOptions) -> None:
    """Run the worker until SIGTERM or SIGINT, then stop between ticks."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def lease_changed(held: bool) -> None:
        if held:
            click.echo("worker: acting (holds the lease)", err=True)
        else:
            click.echo("worker: waiting (another worker holds the lease)", err=True)

    worker = Worker(db, sms_gateway(db), options, on_lease_change=lease_changed)
    holder = await lease.current(db)
    if holder is not None:
        click.echo(
            f"worker: another worker (pid {holder.pid} on {holder.host}) holds the lease;"
            " this one takes over if it stops",
            err=True,
        )
    worker.start()
    try:
        await stop.wait()
    finally:
        click.echo("worker: stopping", err=True)
        await worker.stop()
        click.echo("worker: stopped", err=True)


@click.command("worker")
@click.option(
    "--lease-seconds",
    type=float,
    default=WorkerOptions().lease_seconds,
    show_default=True,
    help="How soon another worker takes over if this one dies.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log what the worker does.")
@db_option
@with_db
async def worker_command(db: Database, lease_seconds: float, verbose: bool) -> None:
    """Run the worker headless: deliver messages, make due conversations public."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    click.echo(f"worker: database {db.path}", err=True)
    await serve(db, WorkerOptions(lease_seconds=lease_seconds))


def register(group: click.Group) -> None:
    group.add_command(worker_command)
