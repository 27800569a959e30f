"""The `switchboard` command: one entry point, a subcommand per job.

This module only registers the commands; what they share (options, opening
the database, one-line refusals) is in console/options.py. A command's
module is imported when that command runs (or when --help lists it), never
at start-up: `switchboard status` then loads neither Textual nor the worker
nor a provider SDK, and a script that runs it a thousand times does not pay
for them a thousand times (issue #9).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import sys
import threading
from pathlib import Path
from typing import Any, NoReturn

import click

from console.options import OneLineGroup, as_option, db_option

COMMANDS: dict[str, tuple[str, str]] = {
    # name: (module, attribute) - the module is imported only when the command is used.
    "activity": ("console.commands.routing", "activity_command"),
    "agents": ("console.commands.admin", "agents_group"),
    "alerts": ("console.commands.alerts", "alerts_group"),
    "campaigns": ("console.commands.campaigns", "campaigns_group"),
    "cases": ("console.commands.cases", "cases_group"),
    "config": ("console.commands.config", "config_group"),
    "contacts": ("console.commands.contacts", "contacts_group"),
    "conversations": ("console.commands.conversations", "conversations_group"),
    "demo": ("console.commands.demo", "demo_command"),
    "email": ("console.commands.email", "email_group"),
    "notify": ("console.commands.notify", "notify_group"),
    "numbers": ("console.commands.admin", "numbers_group"),
    "offers": ("console.commands.routing", "offers_group"),
    "permissions": ("console.commands.permissions", "permissions_group"),
    "sandbox": ("console.commands.sandbox", "sandbox_group"),
    "screenshots": ("console.commands.demo", "screenshots_command"),
    "segments": ("console.commands.messages", "segments_command"),
    "send": ("console.commands.messages", "send"),
    "settings": ("console.commands.admin", "settings_group"),
    "shifts": ("console.commands.shifts", "shifts_group"),
    "stats": ("console.commands.stats", "stats_command"),
    "status": ("console.commands.status", "status_command"),
    "transfer": ("console.commands.routing", "transfer_command"),
    "worker": ("console.commands.worker", "worker_command"),
}


SUMMARIES: dict[str, str] = {
    # name: the first line of its help, for `switchboard --help`, which would otherwise
    # import every command's module (and the worker's scheduler) just to list them.
    # tests/test_layering.py checks that the list reads as click's own would.
    "activity": "Show your activity, or change it to NAME (Available, Away, Lunch...).",
    "agents": "The people who log in (by operating-system username).",
    "alerts": "Mobile alerts to staff: settings, consent, readiness, preview, status.",
    "campaigns": "SMS campaigns: create, targets, pool, estimate, start, pause, status, results.",
    "cases": "Cases with customer contacts: locations, contacts, notes, quick actions, links.",
    "config": "The providers' configuration (config.toml and SWITCHBOARD_* variables).",
    "contacts": "Contacts: import, export, list, tag, delete.",
    "conversations": "SMS conversations: list them, or read one with its messages.",
    "demo": "Create demo data (once) and open the console on it, with the sandbox provider.",
    "email": "Email through the mail server set in config.toml ([smtp]).",
    "notify": "Notification profiles: who is told, by SMS and email, when a conversation closes.",
    "numbers": "Our numbers: add, assign, change what one sends, remove.",
    "offers": "Conversations offered to you: list them, accept or refuse one.",
    "permissions": "Permission profiles: what each user may do, and what they reach.",
    "sandbox": "Play the contact's phone against the built-in sandbox provider.",
    "screenshots": "Regenerate screenshots of the main screens and the case page from demo data.",
    "segments": "Count the SMS segments TEXT needs, and suggest a cheaper GSM-7 rewrite.",
    "send": "Queue TEXT to a contact; the worker delivers it.",
    "settings": "Account settings (public minutes, opt-out keywords and texts...).",
    "shifts": "Staff shifts: normal and on-call, weekly or one-off, and who is on now.",
    "stats": "Statistics per agent or queue: offers, handled, first-response times, SMS sent.",
    "status": (
        "Who holds the worker lease, outbox and email depths, the oldest queued message, errors."
    ),
    "transfer": "Hand CONVERSATION to a queue (it is offered again) or to a named agent.",
    "worker": (
        "Run the worker headless: deliver messages, take callbacks, make due conversations public."
    ),
}


QUICK_EXIT = frozenset({"send", "status"})
"""Commands that end their process without the interpreter's teardown (see _Main.__call__).

Each closes what it opens (the database by with_db; it writes no file), so
freeing every module and object one by one on the way out only costs time:
some 10 ms of the 100 a script pays per `send` (issue #9)."""


class _Main(OneLineGroup):
    """The top group, whose subcommands are imported on demand from COMMANDS."""

    ran: str | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # The console script calls main(); tests call main.main() or click's runner,
        # and keep their process.
        try:
            return self.main(*args, **kwargs)
        except SystemExit as exc:
            code = 0 if exc.code is None else exc.code
            if self.ran in QUICK_EXIT and isinstance(code, int):
                # As the interpreter's own shutdown does: wait for the threads that
                # are still ending (the database's, closed a moment ago). Deciding by
                # whether they happen to be gone yet would depend on the machine's load.
                for thread in threading.enumerate():
                    if thread is not threading.current_thread() and not thread.daemon:
                        thread.join()
                _quick_exit(code)
            raise

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # click's own lists each command by importing it; this lists SUMMARIES the same way.
        limit = formatter.width - 6 - max(map(len, COMMANDS))
        rows = [
            (name, click.Command(name, help=SUMMARIES[name]).get_short_help_str(limit))
            for name in COMMANDS
        ]
        with formatter.section("Commands"):
            formatter.write_dl(sorted(rows))

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = COMMANDS.get(cmd_name)
        if where is None:
            return None  # click says "No such command", in one line
        module, attribute = where
        command: click.Command = getattr(importlib.import_module(module), attribute)
        self.ran = cmd_name
        return command


def _quick_exit(code: int) -> NoReturn:
    """End the process now, as sys.exit would but without the teardown."""
    atexit._run_exitfuncs()  # what sys.exit runs: logging's flush, a test's probe
    for stream in (sys.stdout, sys.stderr):
        # The reader went away (`| head`) or the stream is closed: nothing left to keep.
        with contextlib.suppress(BrokenPipeError, ValueError):
            stream.flush()
    os._exit(code)


@click.group(
    cls=_Main,
    context_settings={"help_option_names": ["-h", "--help"]},
    invoke_without_command=True,
)
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
        # Textual is imported here, by the console's own module, and nowhere on the way.
        from console.commands.console import open_console

        open_console(db_path, as_user)
