"""A campaign's results per target (R): state, due time, contact, number, result.

The result is the message's status and error for a target handed to the
outbox, the reason for a skipped one, and whether it replied or opted out.
Pages of ``SHOWN`` targets in the order they were added (PgDn next, PgUp
previous; "rows 1,001-2,000 of 12,345" under the list), read by id from core
(keyset), so the last page costs what the first does.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from console.context import ConsoleContext
from console.failures import ReportsFailures
from console.paging import Pages
from console.removal import gone
from console.screens.campaign_pool import when
from console.text import literal
from console.widgets.keyed_table import KeyedTable
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


class ResultsScreen(ReportsFailures, ModalScreen[None]):
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
        # Priority: the table would scroll within the page instead.
        Binding(
            "pagedown",
            "page(1)",
            "Next page",
            id="results.next_page",
            tooltip="The next targets",
            priority=True,
        ),
        Binding(
            "pageup",
            "page(-1)",
            "Previous page",
            id="results.previous_page",
            tooltip="The targets before",
            priority=True,
        ),
    ]

    def __init__(self, context: ConsoleContext, campaign: Campaign) -> None:
        super().__init__(id="campaign-results")
        self.context = context
        self.campaign = campaign
        self.pages = Pages(SHOWN)
        self.total = 0

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Text.assemble(
                    ("Results of ", "bold"),
                    literal(self.campaign.name),
                    (f" · times in {self.context.zone.key}", "dim"),
                ),
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
            yield Static(id="results-hint")

    @property
    def table(self) -> KeyedTable[Target]:
        return self.query_one("#results-list", KeyedTable)

    async def on_mount(self) -> None:
        await self.reload()
        self.table.focus()

    async def reload(self) -> None:
        db, actor, c = self.context.db, self.context.actor, self.campaign.id
        found = await pool.targets(db, actor, c, after_id=self.pages.after_id, limit=SHOWN)
        self.total = sum((await pool.counts(db, actor, c)).values())
        if gone(self):
            return  # closed while reading (see console/removal.py)
        self.table.show(found)
        hint = self.pages.describe(len(found), self.total)
        if self.pages.has_next(len(found), self.total) or self.pages.first_row > 1:
            hint += " · PgDn/PgUp pages"
        self.query_one("#results-hint", Static).update(Text(f"{hint} · Esc close"))

    @work(exclusive=True, group="results-page", exit_on_error=False, description="turn the page")
    async def action_page(self, step: int) -> None:
        if step > 0:
            shown = self.table.shown
            if not self.pages.has_next(len(shown), self.total):
                return
            self.pages.next(shown[-1].id)
        elif not self.pages.previous():
            return
        await self.reload()
        if not gone(self):
            self.table.move_cursor(row=0)

    def _cells(self, t: Target) -> dict[str, Text]:
        return {
            "id": Text(str(t.id), justify="right"),
            "state": Text(t.state),
            "due": Text(when(t.due_at, self.context.zone)),
            "contact": literal(t.contact_name),
            "phone": literal(t.phone),
            "result": literal(result(t)),
        }

    def action_close(self) -> None:
        self.dismiss(None)
