"""The `switchboard` command: one entry point, a subcommand per job.

Every subcommand opens the database the same way (``--db`` or
$SWITCHBOARD_DB, else the XDG data dir) and reports a refusal as one line on
stderr with a non-zero exit, never a traceback.
"""

from __future__ import annotations

import asyncio
import functools
import getpass
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from console.safe_text import json_printable, printable
from core import agents, settings
from core.authz import Actor
from core.clock import SystemClock
from core.db import Database, open_database
from core.errors import NotAllowed, SwitchboardError
from core.paths import DB_ENV, default_db_path

T = TypeVar("T")

EXIT_REFUSED = 1
EXIT_BUG = 70


def db_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--db",
        "db_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help=f"Database file (default: ${DB_ENV}, else {default_db_path()}).",
    )(func)


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


def as_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--as",
        "as_user",
        metavar="USER",
        default=None,
        help="Act as this agent (demo databases only; otherwise you are your login).",
    )(func)


def run(coro: Awaitable[T]) -> T:
    """Run ``coro``; a SwitchboardError becomes one line on stderr and exit 1."""
    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    except SwitchboardError as exc:
        # Messages can quote contact-supplied text (names, numbers).
        click.echo(f"error: {printable(str(exc))}", err=True)
        sys.exit(EXIT_REFUSED)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("SWITCHBOARD_DEBUG"):
            raise
        click.echo(
            f"error: unexpected {type(exc).__name__}: {printable(str(exc))} (a bug; run again with "
            "SWITCHBOARD_DEBUG=1 to see where)",
            err=True,
        )
        sys.exit(EXIT_BUG)


async def open_db(db_path: Path | None) -> Database:
    return await open_database(db_path or default_db_path(), SystemClock())


def with_db(func: Callable[..., Awaitable[T]]) -> Callable[..., T]:
    """Open the database for an async command body and close it afterwards."""

    @functools.wraps(func)
    def wrapper(*args: Any, db_path: Path | None, **kwargs: Any) -> T:
        async def body() -> T:
            db = await open_db(db_path)
            try:
                return await func(db, *args, **kwargs)
            finally:
                await db.close()

        return run(body())

    return wrapper


async def resolve_actor(db: Database, as_user: str | None) -> Actor:
    """The person running the command: their login, or --as on a demo database."""
    if as_user is not None:
        if not (await settings.load(db)).demo:
            raise NotAllowed(
                "--as works only on a demo database; on a real one you act as your own login"
            )
        return (await agents.by_username(db, as_user)).as_actor()
    return (await agents.by_username(db, getpass.getuser())).as_actor()


def emit_json(value: Any) -> None:
    click.echo(json_printable(json.dumps(value, indent=2, default=str, ensure_ascii=False)))


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, invoke_without_command=True)
@click.version_option(package_name="switchboard")
@as_option
@db_option
@click.pass_context
def main(ctx: click.Context, as_user: str | None, db_path: Path | None) -> None:
    """Switchboard: a terminal SMS contact centre.

    With no command, opens the console for you (your login is your agent
    username).
    """
    if ctx.invoked_subcommand is None:
        from console.commands.console import open_console

        open_console(db_path, as_user)


def _register() -> None:
    from console.commands import (
        admin,
        config,
        contacts,
        conversations,
        demo,
        email,
        messages,
        status,
        worker,
    )

    for module in (admin, config, contacts, conversations, demo, email, messages, status, worker):
        module.register(main)


_register()
