"""notify: notification profiles, groups, outcomes, collected data, on-call schedules
and closing a conversation with an outcome (issue #11, P1-P7).

Each part lives in its own module; this one only gathers them under `notify`.
"""

from __future__ import annotations

import click

from console.commands.notify_outcomes import (
    close_command,
    fields_group,
    hipaa_group,
    outcomes_group,
)
from console.commands.notify_profiles import groups_group, profiles_group
from console.commands.notify_schedules import schedules_group


@click.group("notify")
def notify_group() -> None:
    """Notification profiles: who is told, by SMS and email, when a conversation closes."""


for command in (
    profiles_group,
    groups_group,
    fields_group,
    outcomes_group,
    hipaa_group,
    schedules_group,
    close_command,
):
    notify_group.add_command(command)
