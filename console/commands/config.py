"""config: where the configuration lives, what it says, and whether each provider works (W5)."""

from __future__ import annotations

import sys

import click

from console.options import run
from console.safe_text import printable
from providers import wiring
from providers.checks import Check
from providers.config import Config, config_path


@click.group("config")
def config_group() -> None:
    """The providers' configuration (config.toml and SWITCHBOARD_* variables)."""


def _verdict(check: Check) -> str:
    if not check.configured:
        return "not configured"
    if check.reachable is False:
        return "NOT REACHABLE"
    if check.accepted is False:
        return "NOT ACCEPTED"
    words = ["configured"]
    if check.reachable:
        words.append("reachable")
    if check.accepted:
        words.append("accepted")
    return ", ".join(words)


@config_group.command("check")
def check_command() -> None:
    """Say, for each provider, whether it is configured, reachable and accepted.

    Exits 1 when a configured provider cannot be reached or refuses us.
    """

    async def body() -> list[Check]:
        config = wiring.load_config()
        click.echo(f"configuration: {_source(config)}")
        return await wiring.checks(config)

    found = run(body())
    width = max(len(c.provider) for c in found)
    for check in found:
        click.echo(f"{check.provider:<{width}}  {_verdict(check)}: {printable(check.detail)}")
    if any(c.configured and not c.ok for c in found):
        sys.exit(1)


@config_group.command("show")
def show_command() -> None:
    """Print the configuration in effect (secrets shown only as set or not set)."""

    async def body() -> Config:
        return wiring.load_config()

    config = run(body())
    click.echo(f"# from {_source(config)}")
    click.echo(f'[sms]\nprovider = "{config.sms_provider}"')
    for name, section in (
        ("sinch", config.sinch),
        ("webhooks", config.webhooks),
        ("smtp", config.smtp),
    ):
        if section is None:
            continue
        click.echo(f"\n[{name}]")
        for key in section.__dataclass_fields__:
            value = getattr(section, key)
            if key in ("api_token", "key_secret", "webhook_secret", "password"):
                click.echo(f"# {key}: {'set' if value else 'not set'}")
            else:
                click.echo(f"{key} = {_toml(value)}")


@config_group.command("path")
def path_command() -> None:
    """Print where the configuration file is read from."""
    click.echo(str(config_path()))


def _source(config: Config) -> str:
    if config.path is not None:
        return str(config.path)
    return f"{config_path()} (no such file; defaults and SWITCHBOARD_* variables)"


def _toml(value: object) -> str:
    if isinstance(value, str):
        return '"' + printable(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)
