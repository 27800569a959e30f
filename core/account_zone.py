"""The account's time zone (the ``time_zone`` setting, UTC until a manager sets one).

Every time shown to a person, on screen or in the CLI's lines, is in it, and so is a
time typed without an offset: a server's own zone (``datetime.astimezone()``) is not its
users', who reach it over SSH. Read here, not through ``core.settings``, so that
`switchboard status` stays light (the settings bring phone numbers' metadata with them).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from core.db import Database, Tx

DEFAULT = "UTC"


async def account_zone(q: Database | Tx) -> ZoneInfo:
    """The zone as stored; one that is not a zone (checked when saved) counts as UTC, as
    ``core.settings`` reads a value that breaks its rule as the default."""
    stored = await q.scalar("SELECT value FROM settings WHERE key = 'time_zone'")
    try:
        name = json.loads(stored) if isinstance(stored, str) else DEFAULT
        return ZoneInfo(name if isinstance(name, str) else DEFAULT)
    except (ValueError, KeyError, OSError):  # not JSON, not a zone name, no such zone
        return ZoneInfo(DEFAULT)


def zoned(instant: datetime, zone: ZoneInfo) -> str:
    """``instant`` as a line that stands alone shows it (a refusal, the CLI): the wall
    time in ``zone`` and the zone's abbreviation, "2099-03-02 09:00 CST"."""
    return f"{instant.astimezone(zone):%Y-%m-%d %H:%M %Z}"
