"""campaigns: SMS campaigns (S1): the campaigns themselves, their targets, sending.

Each part lives in its own module (campaigns_<part>.py); this one only gathers
them under `campaigns`.
"""

from __future__ import annotations

import click

from console.commands import campaigns_model, campaigns_targets
from console.commands.campaigns_sending import results_command, status_command


@click.group("campaigns")
def campaigns_group() -> None:
    """SMS campaigns: create, targets, pool, estimate, start, pause, status, results."""


for command in (
    *campaigns_model.COMMANDS,
    *campaigns_targets.COMMANDS,
    status_command,
    results_command,
):
    campaigns_group.add_command(command)
