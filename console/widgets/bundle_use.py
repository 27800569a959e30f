"""A4 in the status bar: this month's use of the SMS bundle.

"Bundle 1,234/10,000 (12%)", in the warning style at or over
``bundle_warn_percent``, "full" (or "full — holding": only alerts and STOP
confirmations go) at 100 %; nothing without a bundle. The feed says when it
may have moved (a message sent, the settings changed); it is read again at
most once every ``EVERY_SECONDS`` however busy the feed, one small query; and
when the clock's month turns, as the count starts again from 0.
"""

from __future__ import annotations

from rich.text import Text

from console.live import Changes
from core.clock import to_ms
from core.db import Database
from core.delivery import bundle
from core.delivery.bundle import Usage

EVERY_SECONDS = 1.0
MOVES = ("message.sent", "campaign.sent", "settings.changed")


def bundle_text(usage: Usage) -> Text:
    if usage.bundle <= 0:
        return Text()
    percent = 100 * usage.used // usage.bundle
    text = f"Bundle {usage.used:,}/{usage.bundle:,} ({percent}%)"
    if usage.full:
        return Text(text + (" full — holding" if usage.holding else " full"), style="bold red")
    return Text(text, style="bold yellow" if usage.warning else "")


class BundleWatch:
    """Remembers that the feed moved the bundle; ``due`` until it is read again."""

    def __init__(self) -> None:
        self.due = True
        self.month = ""
        """The month last read: when the clock's month turns, the count starts again."""

    def note(self, changes: Changes) -> None:
        if changes.missed or any(e.kind in MOVES for e in changes.events):
            self.due = True

    async def read(self, db: Database) -> Text | None:
        """The status bar's text when due (None: nothing new to show)."""
        if not self.due and bundle.month_of(to_ms(db.clock.now())) == self.month:
            return None
        self.due = False
        usage = await bundle.usage(db)
        self.month = usage.month
        return bundle_text(usage)
