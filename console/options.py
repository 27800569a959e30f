"""What every `switchboard` command shares: its options, the database, one-line refusals.

The commands (console/commands/) import this module, never console/cli.py,
which only registers them: so there is no import cycle between the two, and
running one command loads only what that command needs. Keep this module's
imports light: every command pays for them at start-up, and `switchboard
status` is meant to start in a blink (issue #9). asyncio and the database
driver are imported where a command first needs them, so that `--version`
and a command's `--help` load neither.
"""

from __future__ import annotations

import functools
import getpass
import json
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from console.safe_text import json_printable, printable
from core.errors import NotAllowed, SwitchboardError

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from core.db import Database
    from core.people.authz import Actor

T = TypeVar("T")

EXIT_REFUSED = 1
EXIT_BUG = 70

MAX_LIST = 1000
"""The most rows one list command prints; page with --after for more."""
ROW_ID = click.IntRange(0, 2**63 - 1)
"""An id option (--after): SQLite's integers stop at 2**63 - 1."""


class _DbOption(click.Option):
    """--db, whose help names the default file only when help is shown: finding that
    file loads platformdirs, which a command given --db never needs."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        from core.paths import DB_ENV, default_db_path

        self.help = f"Database file (default: ${DB_ENV}, else {default_db_path()})."
        return super().get_help_record(ctx)


def db_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--db",
        "db_path",
        cls=_DbOption,
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
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


def run(coro: Awaitable[T], *, server: bool = False) -> T:
    """Run ``coro``; a SwitchboardError becomes one line on stderr and exit 1.

    ``server``: on the serving processes' loop (console.server_loop), for the worker.
    """
    import asyncio

    try:
        if server:
            from console import server_loop

            return server_loop.run(coro)  # type: ignore[arg-type]
        return asyncio.run(coro)  # type: ignore[arg-type]
    except SwitchboardError as exc:
        # Messages can quote contact-supplied text (names, numbers).
        click.echo(f"error: {printable(str(exc))}", err=True)
        sys.exit(EXIT_REFUSED)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        raise  # the reader went away (`| head`): click's main ends quietly, see OneLineGroup
    except (click.ClickException, click.Abort):
        # click's own: a usage error raised by the command (exit 2, naming the rule), a
        # question left unanswered (no terminal, Ctrl-D: "Aborted!", exit 1).
        raise
    except Exception as exc:
        if os.environ.get("SWITCHBOARD_DEBUG"):
            raise
        click.echo(
            f"error: unexpected {type(exc).__name__}: {printable(str(exc))} (a bug; run again with "
            "SWITCHBOARD_DEBUG=1 to see where)",
            err=True,
        )
        sys.exit(EXIT_BUG)


def given_db_path(db_path: Path | None) -> Path | None:
    """The command's --db, else the one given before the command (`switchboard --db F cmd`)."""
    if db_path is not None:
        return db_path
    ctx = click.get_current_context(silent=True)
    given = ctx.find_root().params.get("db_path") if ctx is not None else None
    return given if isinstance(given, Path) else None


async def open_db(db_path: Path | None, *, reads_only: bool = False) -> Database:
    """The database for a command; ``reads_only`` commands also work where it may not be written."""
    from core.clock import SystemClock
    from core.db import open_database

    path = given_db_path(db_path)
    if path is None:
        from core.paths import default_db_path

        path = default_db_path()
    return await open_database(path, SystemClock(), read_if_not_writable=reads_only)


def with_db(
    func: Callable[..., Awaitable[T]] | None = None,
    *,
    reads_only: bool = False,
    server: bool = False,
) -> Any:
    """Open the database for an async command body and close it afterwards.

    ``@with_db(reads_only=True)`` for a command that only reads: it opens a
    database this user may not write, read-only, instead of refusing it.
    ``@with_db(server=True)``: the body runs on the serving loop (``run``).
    """

    def decorate(func: Callable[..., Awaitable[T]]) -> Callable[..., T]:
        @functools.wraps(func)
        def wrapper(*args: Any, db_path: Path | None, **kwargs: Any) -> T:
            async def body() -> T:
                db = await open_db(db_path, reads_only=reads_only)
                try:
                    return await func(db, *args, **kwargs)
                finally:
                    await db.close()

            return run(body(), server=server)

        return wrapper

    return decorate if func is None else decorate(func)


async def resolve_actor(db: Database, as_user: str | None) -> Actor:
    """The person running the command: their login, or --as on a demo database."""
    from core.db import is_demo
    from core.people import agents

    if as_user is not None:
        if not await is_demo(db):
            raise NotAllowed(
                "--as works only on a demo database; on a real one you act as your own login"
            )
        return (await agents.by_username(db, as_user)).as_actor()
    return (await agents.by_username(db, getpass.getuser())).as_actor()


def emit_json(value: Any) -> None:
    click.echo(json_printable(json.dumps(value, indent=2, default=str, ensure_ascii=False)))


def none_listed(what: str, hint: str = "") -> None:
    """Say a list came out empty, and how to add to it: on stderr, so that what a
    script reads stays one line per item (none)."""
    click.echo(printable(f"no {what}" + (f"; {hint}" if hint else "")), err=True)


class UsageRefused(click.UsageError):
    """A usage error (bad option value, unknown option) as one line, like every refusal."""

    def show(self, file: Any = None) -> None:
        hint = f" (see: {self.ctx.command_path} --help)" if self.ctx is not None else ""
        click.echo(f"error: {printable(self.format_message())}{hint}", err=True)


def has_surrogates(text: str) -> bool:
    # Python hands bytes that are not UTF-8 over as lone surrogates (surrogateescape).
    return any("\udc80" <= ch <= "\udcff" for ch in text)


class OneLineGroup(click.Group):
    """A group whose usage errors are one line, and whose arguments must be UTF-8 text.

    The top `switchboard` group is one, so this covers every command.
    Arguments that are not UTF-8 would otherwise reach the database, or fail
    deep inside as "unexpected". A
    closed pipe on stdout (``| head``) is left to click, which ends quietly.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        for position, arg in enumerate(args, start=1):
            if has_surrogates(arg):
                raw = arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
                raise UsageRefused(
                    f"argument {position} ({raw[:60]}) is not valid UTF-8 text;"
                    " Switchboard takes text and file names in UTF-8",
                    ctx,
                )
        return self._one_line(ctx, super().parse_args, ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        return self._one_line(ctx, super().invoke, ctx)

    @staticmethod
    def _one_line(ctx: click.Context, call: Callable[..., T], *args: Any) -> T:
        try:
            return call(*args)
        except (UsageRefused, click.exceptions.NoArgsIsHelpError):
            raise  # the latter is a group's help, asked for by giving no command
        except click.UsageError as exc:
            raise UsageRefused(exc.format_message(), exc.ctx or ctx) from None


def instant(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """A click callback: an ISO date and time read while the line is parsed, so a typo
    is a usage error like any other."""
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        hint = param.opts[0] if param.opts else None
        raise click.BadParameter(
            f"{value!r} is not a date and time such as 2026-03-01T17:30", param_hint=hint
        ) from None
    # Without an offset it is a wall time on the account's clock: the command reads it
    # there (``in_zone``), once it has the database.
    return at


def in_zone(at: datetime | None, zone: ZoneInfo) -> datetime | None:
    """A time typed without an offset, read as a wall time in ``zone``: the account's,
    which the command then shows times in, so it reads the zone once for both (a time
    the clocks skip is the instant of the jump)."""
    if at is None or at.tzinfo is not None:
        return at
    from core.weektime import wall_instant

    return wall_instant(at, zone)
