"""campaigns: SMS campaigns (S1). Each part's commands live in campaigns_<part>.py."""

from __future__ import annotations

import click

from console.commands.campaigns_sending import results_command, status_command


@click.group("campaigns")
def campaigns_group() -> None:
    """SMS campaigns: targets, sending inside quiet hours and the throttle, results."""


for command in (status_command, results_command):
    campaigns_group.add_command(command)
