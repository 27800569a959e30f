"""campaigns: SMS campaigns (S1): the campaigns themselves, their targets, sending.

Each part lives in its own module; this one only gathers them under `campaigns`.
"""

from __future__ import annotations

import click

from console.commands import campaigns_model


@click.group("campaigns")
def campaigns_group() -> None:
    """SMS campaigns: create, estimate, start, pause, resume, cancel."""


for command in campaigns_model.COMMANDS:
    campaigns_group.add_command(command)
