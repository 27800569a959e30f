"""demo: a database full of demo data, then the worker, with nothing to configure."""

from __future__ import annotations

from pathlib import Path

import click

from console.cli import open_db, run
from console.commands.worker import serve
from core import demo, settings
from core.paths import demo_db_path
from core.worker import WorkerOptions
from providers.wiring import sms_gateway


@click.command("demo")
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"Demo database file (default: {demo_db_path()}).",
)
@click.option("--seed-only", is_flag=True, help="Create the demo data and exit.")
@click.option(
    "--contacts",
    "contacts_count",
    default=300,
    show_default=True,
    help="How many demo contacts to create.",
)
def demo_command(db_path: Path | None, seed_only: bool, contacts_count: int) -> None:
    """Create demo data (once) and run Switchboard on it with the sandbox provider."""
    path = db_path or demo_db_path()

    async def body() -> None:
        if not path.exists():
            await _create(path, contacts_count)
        db = await open_db(path)
        try:
            if not (await settings.load(db)).demo:
                click.echo(
                    f"error: {path} holds real data, not a demo; choose another --db", err=True
                )
                raise SystemExit(1)
            if seed_only:
                click.echo(f"demo data is in {path}")
                return
            click.echo(_how_to_talk(path), err=True)
            await serve(db, WorkerOptions())
        finally:
            await db.close()

    run(body())


async def _create(path: Path, contacts_count: int) -> None:
    """Seed into a scratch file and move it into place, so a failure leaves nothing half-made."""
    click.echo(f"creating demo data in {path} ...", err=True)
    scratch = path.with_name(path.name + ".partial")
    scratch.unlink(missing_ok=True)
    db = await open_db(scratch)
    try:
        await demo.seed(db, sms_gateway(db), contacts_count=contacts_count)
    except BaseException:
        await db.close()
        scratch.unlink(missing_ok=True)
        raise
    await db.close()  # closing checkpoints the WAL into the file
    scratch.replace(path)


def _how_to_talk(path: Path) -> str:
    db = f"--db {path}"
    return f"""
Switchboard demo, sandbox provider, database {path}
The worker is running here (Ctrl-C stops it). In another terminal try:
  switchboard conversations list --unanswered {db}
  switchboard send --as alice --to +12125550105 "Hello from the demo" {db}
  switchboard sandbox reply --from +12125550105 "Thanks! STOP" {db}
  switchboard sandbox inbox --to +12125550105 {db}
  switchboard segments "Curly “quotes” cost more"
"""


def register(group: click.Group) -> None:
    group.add_command(demo_command)
