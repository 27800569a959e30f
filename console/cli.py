"""The `switchboard` command: one entry point, a subcommand per job.

This module only registers the commands; what they share (options, opening
the database, one-line refusals) is in console/options.py. A command's
module is imported when that command runs (or when --help lists it), never
at start-up: `switchboard status` then loads neither Textual nor the worker
nor a provider SDK, and a script that runs it a thousand times does not pay
for them a thousand times (issue #9).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import click

from console.options import OneLineGroup, as_option, db_option

COMMANDS: dict[str, tuple[str, str]] = {
    # name: (module, attribute) - the module is imported only when the command is used.
    "agents": ("console.commands.admin", "agents_group"),
    "config": ("console.commands.config", "config_group"),
    "contacts": ("console.commands.contacts", "contacts_group"),
    "conversations": ("console.commands.conversations", "conversations_group"),
    "demo": ("console.commands.demo", "demo_command"),
    "email": ("console.commands.email", "email_group"),
    "numbers": ("console.commands.admin", "numbers_group"),
    "sandbox": ("console.commands.sandbox", "sandbox_group"),
    "screenshots": ("console.commands.demo", "screenshots_command"),
    "segments": ("console.commands.messages", "segments_command"),
    "send": ("console.commands.messages", "send"),
    "settings": ("console.commands.admin", "settings_group"),
    "status": ("console.commands.status", "status_command"),
    "worker": ("console.commands.worker", "worker_command"),
}


class _Main(OneLineGroup):
    """The top group, whose subcommands are imported on demand from COMMANDS."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = COMMANDS.get(cmd_name)
        if where is None:
            return None  # click says "No such command", in one line
        module, attribute = where
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command


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
