"""notify fields / outcomes / hipaa / close: collected data (P2), outcomes (P3),
HIPAA mode (P6) and closing a conversation with an outcome (P4)."""

from __future__ import annotations

import click


@click.group("fields")
def fields_group() -> None:
    """The data an agent collects when closing: the merge fields of every notice."""


@click.group("outcomes")
def outcomes_group() -> None:
    """Closing outcomes and who each notifies."""


@click.group("hipaa")
def hipaa_group() -> None:
    """HIPAA mode: no PHI leaves by SMS or email."""


@click.command("close")
def close_command() -> None:
    """Close a conversation with an outcome and the collected data."""
    raise click.UsageError("not built yet")
