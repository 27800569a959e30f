"""notify schedules: on-call schedules, weekly slots in a time zone, who is on call now."""

from __future__ import annotations

import click


@click.group("schedules")
def schedules_group() -> None:
    """On-call schedules: who is on call, week by week, in a time zone."""
