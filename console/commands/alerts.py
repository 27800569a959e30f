"""alerts: mobile alerts to staff (A1-A6).

A minimal group for the timeline's commands; the settings commands join it.
"""

from __future__ import annotations

import click

from console.commands.alerts_timeline import preview_command, status_command


@click.group("alerts")
def alerts_group() -> None:
    """Mobile alerts to staff: preview the timeline, see what was sent."""


alerts_group.add_command(preview_command)
alerts_group.add_command(status_command)
