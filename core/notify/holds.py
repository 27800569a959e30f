"""P7 hold my calls: whether a notification profile is held at an instant.

One rule for every place that dispatches to a profile (transfers, on-call),
as Python for one profile and as SQL for a query over many.
"""

from __future__ import annotations

from typing import Final

OFF: Final = "off"
INDEFINITE: Final = "indefinite"
UNTIL: Final = "until"
HOLDS: Final = (OFF, INDEFINITE, UNTIL)


def is_held(hold: str, hold_until: int | None, now_ms: int) -> bool:
    """Held now: indefinitely, or until a time still to come."""
    if hold == INDEFINITE:
        return True
    return hold == UNTIL and hold_until is not None and now_ms < hold_until


def held_sql(alias: str) -> str:
    """``is_held`` for the notification_profiles row ``alias``, with ``:now`` bound."""
    return (
        f"({alias}.hold = '{INDEFINITE}'"
        f" OR ({alias}.hold = '{UNTIL}' AND {alias}.hold_until > :now))"
    )
