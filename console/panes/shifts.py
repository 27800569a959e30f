"""The Alerts section's Shifts sub-tab (A3): who is on shift now and next, the week,
every shift.

At the top the board: per kind, who is on now and until when, and who is
next (``core.shifts.on_shift.now_and_next``); then the shifts as a table
(person, kind, when, zone, source); below, the week as a grid
(``ShiftGrid``, the on-call grid's bands). Times are on the viewer's clock:
the account's time zone, else UTC (``ConsoleContext.zone``).

``n`` adds a shift, ``d`` removes the selected one (asks first), ``i``
imports an .ics file; these keys are there only with the right to manage
shifts (core checks again). The feed keeps it live (shifts, and people's
names and deactivation); the board also follows the clock, re-read when
its minute changes, so a shift that starts or ends shows without an event.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from console.context import ConsoleContext
from console.failures import ReportsFailures
from console.live import Changes
from console.removal import gone
from console.screens.confirm import ConfirmScreen
from console.screens.shift_forms import ImportForm, ShiftForm
from console.text import literal
from console.widgets.keyed_table import KeyedTable
from console.widgets.shift_board import board_text
from console.widgets.shift_grid import ONCALL_MARK, ShiftGrid, name
from console.widgets.status_line import StatusLine
from core.people.authz import Action
from core.shifts import on_shift, shifts
from core.shifts.ics import IcsReport
from core.shifts.model import ONCALL, Shift
from core.text import counted
from core.weektime import week_time

_FEED_KINDS = ("shift.", "agent.", "settings.")
"""Shifts; a person's name or deactivation; the account's time zone."""
TICK_SECONDS = 1.0
"""How often the clock is looked at: the board is re-read when its minute changes."""
HINT = "n add · d remove · i import .ics"
READ_ONLY = "Changing shifts needs the right to manage users"
_ACTIONS = ("add", "remove", "import_ics")


def span(shift: Shift) -> str:
    """'mon 18:00 → tue 08:00', or a one-off's '03-08 18:00 → 03-09 08:00', on the
    shift's clock (a one-off is at most a week and not over: its year goes without saying)."""
    if shift.start_minute is not None and shift.minutes is not None:
        start = " ".join(week_time(shift.start_minute))
        return f"{start} → {' '.join(week_time(shift.start_minute + shift.minutes))}"
    assert shift.starts_at is not None
    assert shift.ends_at is not None
    zone = ZoneInfo(shift.time_zone)
    start, end = shift.starts_at.astimezone(zone), shift.ends_at.astimezone(zone)
    return f"{start:%m-%d %H:%M} → {end:%m-%d %H:%M}"


def _cells(shift: Shift) -> dict[str, Text]:
    return {
        "who": literal(shift.name or shift.username),
        "kind": Text("on call" if shift.kind == ONCALL else "normal"),
        "when": Text(span(shift), no_wrap=True, overflow="ellipsis"),
        "zone": literal(shift.time_zone),
        "source": Text(shift.source, style="dim"),
    }


class ShiftTable(KeyedTable[Shift]):
    """Every shift, by person, weekly first; keyed by id."""

    def __init__(self) -> None:
        super().__init__(
            (
                ("Person", "who", 13),
                ("Kind", "kind", 7),
                ("When", "when", 25),
                ("Time zone", "zone", 13),
                ("From", "source", 7),
            ),
            _cells,
            lambda shift: shift.id,
            id="shift-list",
        )


class ShiftsTab(ReportsFailures, Vertical):
    """The board, the shifts and their week; n, d, i with the right to manage shifts."""

    DEFAULT_CSS = """
    ShiftsTab { height: 1fr; }
    ShiftsTab #shifts-board { height: 2; padding: 0 1; }
    ShiftsTab #shift-list { height: auto; max-height: 6; }
    ShiftsTab #shifts-week { height: 1fr; min-height: 4; }
    ShiftsTab #shifts-cell { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("n", "add", "Add shift", id="shifts.add", tooltip="Add a weekly or one-off shift"),
        Binding(
            "d",
            "remove",
            "Remove shift",
            id="shifts.remove",
            tooltip="Remove the selected shift (asks first)",
        ),
        Binding(
            "i",
            "import_ics",
            "Import .ics",
            id="shifts.import",
            tooltip="Import a person's shifts from an iCalendar file (all or nothing)",
        ),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__(id="shifts-tab")
        self.context = context
        self.minute: datetime | None = None
        """The clock's minute the board was last read at."""

    def compose(self) -> ComposeResult:
        yield StatusLine(lambda: HINT if self.may_change else READ_ONLY, id="shifts-status")
        yield Static(id="shifts-board")
        yield ShiftTable()
        yield ShiftGrid(id="shifts-week")
        yield Static(id="shifts-cell")

    async def on_mount(self) -> None:
        if gone(self):
            return  # taken away before it composed: it has no parts
        self.app.changes.subscribe(self, self.on_changes)  # type: ignore[attr-defined]
        self.set_interval(TICK_SECONDS, self._tick)
        self.say(None)
        await self.reload()

    def focus_default(self) -> None:
        self.table.focus()

    @property
    def table(self) -> ShiftTable:
        return self.query_one(ShiftTable)

    @property
    def grid(self) -> ShiftGrid:
        return self.query_one(ShiftGrid)

    @property
    def may_change(self) -> bool:
        return self.context.may(Action.MANAGE_SHIFTS)

    async def reload(self) -> None:
        db, actor = self.context.db, self.context.actor
        zone = self.context.zone
        now = self.context.clock.now()
        self.minute = now.replace(second=0, microsecond=0)
        found = await shifts.list_shifts(db, actor)
        board = await on_shift.now_and_next(db, actor, now)
        week = await on_shift.week(db, actor, zone.key, now)
        if gone(self):
            return  # taken away while reading (see console/removal.py)
        self.table.show(found)
        self.query_one("#shifts-board", Static).update(board_text(board, self.context.zone))
        self._show_week(week)

    def _show_week(self, slots: list[on_shift.ShiftSlot]) -> None:
        chosen = self.table.selected()
        self.grid.show(slots, None if chosen is None else chosen.id)
        self._show_cell()

    def _show_cell(self) -> None:
        line = self.query_one("#shifts-cell", Static)
        found = self.grid.shifts_at_cursor()
        if not self.table.shown:
            line.update(Text("No shift yet" + (": n adds one." if self.may_change else ".")))
            return
        if not found:
            legend = f"{ONCALL_MARK} on call · bold: the selected shift · {self.context.zone.key}"
            line.update(Text(legend))
            return
        # The cell's band, not a shift's span: the people listed share this much.
        start, end = self.grid.minute_at_cursor(), self.grid.band_end_at_cursor()
        assert start is not None
        assert end is not None
        band = f"{' '.join(week_time(start))} to {' '.join(week_time(end))}"
        text = Text(f"{band} ({self.context.zone.key}): ")
        text.append_text(Text(", ").join(name(s) for s in found))
        text.no_wrap, text.overflow = True, "ellipsis"
        line.update(text)

    def _tick(self) -> None:
        # The clock moves with no event: a shift starting or ending shows within the minute.
        if self.context.clock.now().replace(second=0, microsecond=0) != self.minute:
            self._refresh()

    @work(exclusive=True, group="shifts-refresh", exit_on_error=False, description="refresh")
    async def _refresh(self) -> None:
        await self.reload()

    async def on_changes(self, changes: Changes) -> None:
        if changes.missed:
            # Also how a reloaded principal is published: the right to change may have gone.
            self.refresh_bindings()
            self.say(None)
        if changes.about(*_FEED_KINDS):
            await self.reload()

    def say(self, message: str | None, *, error: bool = False) -> None:
        """One line above the board: the keys, or what just happened (core's words)."""
        self.query_one("#shifts-status", StatusLine).say(message, error=error)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Hidden without the right: core refuses anyway, the footer need not offer it.
        if action in _ACTIONS:
            return self.may_change
        return True

    @on(DataTable.RowHighlighted, "#shift-list")
    def _shift_moved(self) -> None:
        chosen = self.table.selected()
        self.grid.show(self.grid.slots, None if chosen is None else chosen.id)
        self._show_cell()

    @on(DataTable.CellHighlighted, "#shifts-week")
    def _cell_moved(self) -> None:
        self._show_cell()

    @on(DataTable.CellSelected, "#shifts-week")
    def _cell_chosen(self) -> None:
        # Enter on a cell: its first shift is selected in the table, for d.
        found = self.grid.shifts_at_cursor()
        if found:
            self.table.select(found[0].id)
            self.focus_default()

    # --- changes ----------------------------------------------------------------------

    def action_add(self) -> None:
        self.app.push_screen(ShiftForm(self.context, self.context.zone.key), self._saved)

    def action_import_ics(self) -> None:
        self.app.push_screen(ImportForm(self.context, self.context.zone.key), self._saved)

    async def _saved(self, saved: object) -> None:
        await self.reload()
        if isinstance(saved, Shift):
            self.table.select(saved.id)
            self.say(f"Added {saved.name or saved.username}'s {saved.kind} shift {saved.when}")
        elif isinstance(saved, IcsReport):
            said = f"Imported {counted(saved.added, 'shift')}"
            if saved.replaced:
                said += f", replacing {saved.replaced} from an earlier import"
            if saved.skipped:
                said += f"; {counted(len(saved.skipped), 'event')} skipped (over or cancelled)"
            self.say(said)
        self.focus_default()

    def action_remove(self) -> None:
        shift = self.table.selected()
        if shift is None:
            self.say("No shift selected.", error=True)
            return
        question = Text.assemble(
            "Remove ",
            literal(shift.name or shift.username, style="bold"),
            f"'s {shift.kind} shift ",
            literal(shift.when),
            "?",
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._remove(shift)

        self.app.push_screen(ConfirmScreen(question, yes_label="Remove"), answered)

    @work(exclusive=True, group="shifts-remove", exit_on_error=False, description="remove a shift")
    async def _remove(self, shift: Shift) -> None:
        gone = await shifts.remove(self.context.db, self.context.actor, shift.id)
        await self.reload()
        self.say(f"Removed {gone.name or gone.username}'s {gone.kind} shift {gone.when}")
