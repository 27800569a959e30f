"""A campaign's waiting pool (o): its waiting and programmed targets, by id.

Pages of ``SHOWN`` rows (PgDn next, PgUp previous, "rows 501-1,000 of
12,345" above the list), read by id from core (keyset), so any number of
targets is reachable. Space marks rows; marks stay while paging, so a move
can gather rows of several pages. A move applies to the marked rows, or to
the row under the cursor when none is marked: p program (asks when, in the account's time
zone), m reprogram (asks when), b back to the pool, x remove (asks first).
Each key is shown only with its right of the profile (campaign_program,
campaign_reprogram, campaign_remove); core checks again, and refuses a move
naming a target in a state it does not apply to. Every move is all or nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

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
from console.screens.confirm import ConfirmScreen
from console.screens.prompt import PromptScreen
from console.text import literal
from console.widgets.keyed_table import KeyedTable
from console.widgets.status_line import StatusLine
from core.campaigns import campaigns, pool
from core.campaigns.campaigns import Campaign
from core.campaigns.pool import Target
from core.people.authz import Action, CampaignAccess, allows
from core.text import counted

SHOWN = 500
"""Rows per page: enough to pick from, few enough to draw at once."""
_RIGHTS: dict[str, Action] = {
    "program": Action.PROGRAM_TARGETS,
    "reprogram": Action.REPROGRAM_TARGETS,
    "back": Action.REPROGRAM_TARGETS,
    "remove": Action.REMOVE_TARGETS,
}


def when(at: datetime | None, zone: ZoneInfo) -> str:
    return "" if at is None else f"{at.astimezone(zone):%Y-%m-%d %H:%M}"


class PoolTable(KeyedTable[Target]):
    def __init__(self, marked: set[int], zone: Callable[[], ZoneInfo]) -> None:
        def cells(t: Target) -> dict[str, Text]:
            return {
                "mark": Text("●" if t.id in marked else " "),
                "id": Text(str(t.id), justify="right"),
                "state": Text(t.state),
                "due": Text(when(t.due_at, zone())),
                "contact": literal(t.contact_name),
                "phone": literal(t.phone),
            }

        super().__init__(
            (
                (" ", "mark", 1),
                ("Id", "id", 5),
                ("State", "state", 10),
                ("Due", "due", 16),
                ("Contact", "contact", 16),
                ("Phone", "phone", 13),
            ),
            cells,
            lambda t: t.id,
            id="pool-list",
        )


class PoolScreen(ReportsFailures, ModalScreen[None]):
    DEFAULT_CSS = """
    PoolScreen { align: center middle; }
    PoolScreen > Vertical {
        width: 90; max-width: 100%; height: 100%; max-height: 30;
        border: round $accent; background: $surface; padding: 0 1;
    }
    PoolScreen #pool-title { height: auto; }
    PoolScreen #pool-status { padding: 0; }
    PoolScreen #pool-page { height: 1; color: $text-muted; }
    PoolScreen #pool-list { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "close", "Close", id="pool.close", tooltip="Back to the campaigns"),
        Binding("space", "mark", "Mark", id="pool.mark", tooltip="Mark or unmark the row"),
        # Priority: the table would scroll within the page instead.
        Binding(
            "pagedown",
            "page(1)",
            "Next page",
            id="pool.next_page",
            tooltip="The next rows",
            priority=True,
        ),
        Binding(
            "pageup",
            "page(-1)",
            "Previous page",
            id="pool.previous_page",
            tooltip="The rows before",
            priority=True,
        ),
        Binding(
            "p",
            "program",
            "Program",
            id="pool.program",
            tooltip="Waiting → programmed, due at a time you give",
        ),
        Binding(
            "m",
            "reprogram",
            "Reprogram",
            id="pool.reprogram",
            tooltip="Programmed → due at another time",
        ),
        Binding("b", "back", "Back to pool", id="pool.back", tooltip="Programmed → waiting"),
        Binding(
            "x",
            "remove",
            "Remove",
            id="pool.remove",
            tooltip="Take the targets out of the campaign (asks first)",
        ),
    ]

    def __init__(self, context: ConsoleContext, campaign: Campaign) -> None:
        super().__init__(id="campaign-pool")
        self.context = context
        self.campaign = campaign
        self.marked: set[int] = set()
        self.pages = Pages(SHOWN)
        self.total = 0
        """Waiting and programmed targets, every page."""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Text.assemble(
                    ("Waiting pool of ", "bold"),
                    literal(self.campaign.name),
                    (f" · times in {self.context.zone.key}", "dim"),
                ),
                id="pool-title",
            )
            yield StatusLine(self._hint, wrapped=True, id="pool-status")
            yield Static(id="pool-page")
            yield PoolTable(self.marked, lambda: self.context.zone)

    async def on_mount(self) -> None:
        self.say(None)
        await self.reload()
        self.table.focus()

    @property
    def table(self) -> PoolTable:
        return self.query_one(PoolTable)

    async def reload(self) -> None:
        db, actor, c = self.context.db, self.context.actor, self.campaign.id
        found = await pool.movable(db, actor, c, after_id=self.pages.after_id, limit=SHOWN)
        while not found and self.pages.previous():
            # The page's rows all moved away: the one before is where the rows are.
            found = await pool.movable(db, actor, c, after_id=self.pages.after_id, limit=SHOWN)
        counts = await pool.counts(db, actor, c)
        if gone(self):
            return  # closed while reading (see console/removal.py)
        self.total = counts["waiting"] + counts["programmed"]
        self.table.show(found, recheck=True)
        self._show_page()

    def _show_page(self) -> None:
        text = self.pages.describe(self.table.row_count, self.total)
        if self.marked:
            here = {t.id for t in self.table.shown}
            elsewhere = len(self.marked - here)
            text += f" · {len(self.marked)} marked" + (
                f" ({elsewhere} on other pages)" if elsewhere else ""
            )
        if self.pages.has_next(self.table.row_count, self.total) or self.pages.first_row > 1:
            text += " · PgDn/PgUp pages"
        self.query_one("#pool-page", Static).update(Text(text))

    @work(exclusive=True, group="pool-page", exit_on_error=False, description="turn the page")
    async def action_page(self, step: int) -> None:
        if step > 0:
            shown = self.table.shown
            if not self.pages.has_next(len(shown), self.total):
                self.say("This is the last page.")
                return
            self.pages.next(shown[-1].id)
        elif not self.pages.previous():
            self.say("This is the first page.")
            return
        await self.reload()
        if gone(self):
            return
        self.table.move_cursor(row=0)
        self.say(None)

    def say(self, message: str | None, *, error: bool = False) -> None:
        self.query_one("#pool-status", StatusLine).say(message, error=error)

    def _hint(self) -> str:
        keys = [
            key
            for key, action in (
                ("p program", "program"),
                ("m reprogram", "reprogram"),
                ("b back to pool", "back"),
                ("x remove", "remove"),
            )
            if self._may(action)
        ]
        return " · ".join(["space mark", *keys, "Esc close"])

    def _may(self, action: str) -> bool:
        access = CampaignAccess(self.campaign.id)
        return allows(self.context.actor, _RIGHTS[action], access)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in _RIGHTS:
            return self._may(action)
        return True

    def chosen(self) -> list[int]:
        """The marked rows, else the row under the cursor."""
        if self.marked:
            return sorted(self.marked)
        row = self.table.selected()
        return [] if row is None else [row.id]

    def action_close(self) -> None:
        self.dismiss(None)

    def action_mark(self) -> None:
        row = self.table.selected()
        if row is None:
            return
        self.marked.symmetric_difference_update({row.id})
        self.table.show(self.table.shown, recheck=True)
        self._show_page()
        self.table.action_cursor_down()

    def _ask_when(self, verb: str, move: Callable[[list[int], datetime], Awaitable[int]]) -> None:
        ids = self.chosen()
        if not ids:
            self.say("No target selected.", error=True)
            return
        zone = self.context.zone

        async def submit(text: str) -> str:
            at = campaigns.parse_start(text, zone.key)
            moved = await move(ids, at)
            self.marked.clear()
            await self.reload()
            said = f"{verb} {counted(moved, 'target')} for {when(at, zone)} ({zone.key})"
            self.say(said)
            return said

        title = Text(f"{verb} {counted(len(ids), 'target')}: when? (YYYY-MM-DD HH:MM, {zone.key})")
        self.app.push_screen(PromptScreen(title, submit, placeholder="2026-03-02T09:00"))

    def action_program(self) -> None:
        async def move(ids: list[int], at: datetime) -> int:
            db, actor = self.context.db, self.context.actor
            return (await pool.program(db, actor, self.campaign.id, ids, at)).moved

        self._ask_when("Programmed", move)

    def action_reprogram(self) -> None:
        async def move(ids: list[int], at: datetime) -> int:
            db, actor = self.context.db, self.context.actor
            return (await pool.reprogram(db, actor, self.campaign.id, ids, at)).moved

        self._ask_when("Reprogrammed", move)

    @work(exclusive=True, group="pool", exit_on_error=False, description="move targets back")
    async def action_back(self) -> None:
        ids = self.chosen()
        if ids:
            db, actor = self.context.db, self.context.actor
            moved = await pool.back_to_pool(db, actor, self.campaign.id, ids)
            self.marked.clear()
            await self.reload()
            self.say(f"{counted(moved.moved, 'target')} back in the pool")

    @work(exclusive=True, group="pool", exit_on_error=False, description="remove targets")
    async def action_remove(self) -> None:
        ids = self.chosen()
        if not ids:
            return
        question = Text(f"Remove {counted(len(ids), 'target')} from the campaign?")
        if not await self.app.push_screen_wait(ConfirmScreen(question, yes_label="Remove")):
            return
        db, actor = self.context.db, self.context.actor
        moved = await pool.remove(db, actor, self.campaign.id, ids)
        self.marked.clear()
        await self.reload()
        self.say(f"Removed {counted(moved.moved, 'target')}")
