"""notify profiles / notify groups: notification profiles (P1, P5, P7) and profile groups."""

from __future__ import annotations

import click


@click.group("profiles")
def profiles_group() -> None:
    """Notification profiles: contact numbers, email and SMS, hold my calls."""


@click.group("groups")
def groups_group() -> None:
    """Groups of notification profiles (up to 50 members)."""
