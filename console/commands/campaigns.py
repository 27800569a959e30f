"""campaigns: SMS campaigns (S1). Each part's commands live in campaigns_<part>.py."""

from __future__ import annotations

import click

from console.commands import campaigns_targets


@click.group("campaigns")
def campaigns_group() -> None:
    """SMS campaigns: targets, the waiting pool, program, reprogram, remove."""


for _command in campaigns_targets.COMMANDS:
    campaigns_group.add_command(_command)
