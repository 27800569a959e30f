"""demo: a database full of demo data, then the console (or the worker), nothing to configure."""

from __future__ import annotations

import logging
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import click

from console.options import as_option, given_db_path, open_db, resolve_actor, run
from core.db import Database, is_demo
from core.paths import DB_ENV, console_log_path, demo_db_path
from providers.config import Config
from providers.wiring import sms_gateway

if TYPE_CHECKING:
    from providers.case_page import PageServer


@click.command("demo")
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"Demo database file (default: {demo_db_path()}).",
)
@click.option("--seed-only", is_flag=True, help="Create the demo data and exit.")
@click.option("--headless", is_flag=True, help="Run only the worker, no console.")
@as_option
@click.option(
    "--contacts",
    "contacts_count",
    type=click.IntRange(1, 1_000_000),
    default=300,
    show_default=True,
    help="How many demo contacts to create.",
)
def demo_command(
    db_path: Path | None,
    seed_only: bool,
    headless: bool,
    as_user: str | None,
    contacts_count: int,
) -> None:
    """Create demo data (once) and open the console on it, with the sandbox provider.

    The console runs the worker inside it; you are your login (a demo
    manager) unless you pick a demo agent with --as (alice, bob, carol, dana).
    """
    # Imported here, not at the top: `switchboard --help` imports this module to list
    # the command, and should not load Textual and the worker to do so (issue #9).
    from console import logs
    from console.app import make_app
    from console.commands.worker import serve
    from console.context import ConsoleContext
    from core.scheduling.options import WorkerOptions

    path = given_db_path(db_path) or demo_db_path()

    async def body() -> None:
        if not path.exists():
            await _create(path, contacts_count)
        db = await open_db(path)
        try:
            if not await is_demo(db):
                click.echo(
                    f"error: {path} holds real data, not a demo; choose another --db", err=True
                )
                raise SystemExit(1)
            if seed_only:
                click.echo(f"demo data is in {path}")
                return
            pages = await _case_pages(db)
            try:
                if headless:
                    click.echo(_how_to_talk(path), err=True)
                    await serve(db, WorkerOptions(), Config(), webhooks=False)
                    return
                actor = await resolve_actor(db, as_user)
                # Printed before the console takes the screen, so it is in the
                # terminal once the console closes; the console shows the gist.
                click.echo(_how_to_talk(path), err=True)
                context = ConsoleContext(
                    db,
                    actor,
                    await sms_gateway(db, Config()),
                    log_path=logs.setup_console(console_log_path()),
                )
                context.welcome = _welcome(path)
                await make_app(context).run_async()
            finally:
                if pages is not None:
                    await pages.stop()
        finally:
            await db.close()

    run(body())


async def _create(path: Path, contacts_count: int) -> None:
    """Seed into a scratch file and move it into place, so a failure leaves nothing half-made."""
    from core import demo  # the demo's data, loaded only to make a demo database

    click.echo(f"creating demo data in {path} ...", err=True)
    scratch = path.with_name(path.name + ".partial")
    scratch.unlink(missing_ok=True)
    db = await open_db(scratch)
    # The seed fails one message on purpose (the 0199 example): its worker's
    # warning is no news to someone creating a demo, so only errors show.
    switchboard_log = logging.getLogger("switchboard")
    level = switchboard_log.level
    switchboard_log.setLevel(logging.ERROR)
    try:
        await demo.seed(db, await sms_gateway(db, Config()), contacts_count=contacts_count)
    except BaseException:
        await db.close()
        scratch.unlink(missing_ok=True)
        raise
    finally:
        switchboard_log.setLevel(level)
    await db.close()  # closing checkpoints the WAL into the file
    scratch.replace(path)


async def _case_pages(db: Database) -> PageServer | None:
    """The mobile case page on the address the demo's case links name (the setting
    case_page_url's default, the worker's default port); None when it is taken."""
    from providers.case_page import PageServer  # aiohttp and Jinja2: not for `--help`

    config = Config().webhooks
    pages = PageServer(db, config.host, config.port)
    try:
        await pages.start()
    except OSError as exc:
        click.echo(
            f"the mobile case page is not served: {config.host}:{config.port} is in use"
            f" ({exc.strerror or exc})",
            err=True,
        )
        return None
    click.echo(f"the mobile case page: http://{config.host}:{config.port}/c/…", err=True)
    return pages


def _how_to_talk(path: Path) -> str:
    return f"""
Switchboard demo, sandbox provider, database {path}
Try, in another terminal (the console shows it within a second):
  export {DB_ENV}={shlex.quote(str(path))}
  switchboard conversations list --unanswered
  switchboard send --as alice --to +12125550105 "Hello from the demo"
  switchboard sandbox reply --from +12125550105 "Thanks! STOP"
  switchboard sandbox inbox --to +12125550105
  switchboard segments "Curly “quotes” cost more"
"""


def _welcome(path: Path) -> str:
    return (
        "Demo data, sandbox provider. Play a contact from another terminal:\n"
        f"export {DB_ENV}={shlex.quote(str(path))}\n"
        'switchboard sandbox reply --from +12125550105 "Hi"'
    )


@click.command("screenshots")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("screenshots"),
    show_default=True,
    help="Folder for the SVG files (and case-page.png when Chromium is here).",
)
def screenshots_command(out: Path) -> None:
    """Regenerate screenshots of the main screens and the case page from demo data."""
    from console.screenshots import take

    out.mkdir(parents=True, exist_ok=True)
    for path in run(take(out, on_skip=lambda why: click.echo(f"skipped: {why}", err=True))):
        click.echo(f"wrote {path}")
