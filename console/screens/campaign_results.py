"""A campaign's results per target (R): state, due time, contact, number, result.

The result is the message's status and error for a target handed to the
outbox, the reason for a skipped one, and whether it replied or opted out.
The first ``SHOWN`` targets, in the order they were added; the CLI's
``campaigns targets list`` pages through any number.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from console.context import ConsoleContext
from console.screens.campaign_pool import when
from console.text import literal
from console.widgets.keyed_table import KeyedTable
from core import settings
from core.campaigns import pool
from core.campaigns.campaigns import Campaign
from core.campaigns.pool import MAX_PAGE, Target

SHOWN = MAX_PAGE


def result(t: Target) -> str:
    if t.state == "skipped":
        return t.reason or ""
    parts = [t.message_status or ""] if t.message_id is not None else []
    if t.error:
        parts.append(t.error)
    if t.replied_at is not None:
        parts.append("replied")
    if t.opted_out_at is not None:
        parts.append("opted out")
    return ", ".join(p for p in parts if p)


class ResultsScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    ResultsScreen { align: center middle; }
    ResultsScreen > Vertical {
        width: 100; max-width: 100%; height: 100%; max-height: 30;
        border: round $accent; background: $surface; padding: 0 1;
    }
    ResultsScreen #results-title { height: auto; }
    ResultsScreen #results-list { height: 1fr; }
    ResultsScreen #results-hint { color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape", "close", "Close", id="results.close", tooltip="Back to the campaigns"),
    ]

    def __init__(self, context: ConsoleContext, campaign: Campaign) -> None:
        super().__init__(id="campaign-results")
        self.context = context
        self.campaign = campaign

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Text.assemble(("Results of ", "bold"), literal(self.campaign.name)),
                id="results-title",
            )
            yield KeyedTable[Target](
                (
                    ("Id", "id", 5),
                    ("State", "state", 10),
                    ("Due", "due", 16),
                    ("Contact", "contact", 14),
                    ("Phone", "phone", 13),
                    ("Result", "result", None),
                ),
                self._cells,
                lambda t: t.id,
                id="results-list",
            )
            yield Static(f"The first {SHOWN} targets · Esc close", id="results-hint")

    async def on_mount(self) -> None:
        db, actor = self.context.db, self.context.actor
        self.zone = ZoneInfo((await settings.load(db)).time_zone)
        found = await pool.targets(db, actor, self.campaign.id, limit=SHOWN)
        table = self.query_one("#results-list", KeyedTable)
        table.show(found)
        table.focus()

    def _cells(self, t: Target) -> dict[str, Text]:
        return {
            "id": Text(str(t.id), justify="right"),
            "state": Text(t.state),
            "due": Text(when(t.due_at, self.zone)),
            "contact": literal(t.contact_name),
            "phone": literal(t.phone),
            "result": literal(result(t)),
        }

    def action_close(self) -> None:
        self.dismiss(None)
