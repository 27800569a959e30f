"""The Notifications section's On-call sub-tab: schedules, each one's week, who is on call.

Above, the schedules (name, time zone, slots, who is on call now); below,
the selected schedule's "now … · next …" line and its week as a grid
(``WeekGrid``: seven day columns, a row per band of time, held slots
marked ‖). ``n`` adds a schedule, ``r`` renames it (or moves it to another
zone), ``d`` deletes it; ``s`` adds a slot (from where the grid's cursor
is), Enter or ``e`` edits the slot under the cursor, ``x`` removes it.
Core decides every change: a form shows core's refusal (an overlap, an
unknown zone) under its fields; a schedule an outcome notifies is refused
with every link listed, and Enter on one opens the Outcomes sub-tab. The
feed keeps it live: schedules and slots, and holds and group members, which
change who is on call.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from console.context import ConsoleContext
from console.failures import ReportsFailures
from console.live import Changes
from console.panes.notify_places import OpenPlace
from console.removal import gone
from console.screens.choice import ChoiceScreen
from console.screens.confirm import ConfirmScreen
from console.screens.oncall_forms import ScheduleForm, SlotForm
from console.text import literal
from console.widgets.keyed_table import KeyedTable
from console.widgets.on_call import now_line, who_now
from console.widgets.status_line import StatusLine
from console.widgets.week_grid import HELD_MARK, WeekGrid
from core.errors import InUse, NotFound
from core.notify import oncall
from core.notify.links import Link
from core.notify.oncall import OnCall, Schedule, SlotView
from core.text import counted
from core.weektime import week_time

_FEED_KINDS = ("oncall_schedule.", "notification_profile.", "notification_group.")
"""Schedules and their slots; holds, aliases and group members change who is on call."""
REFRESH_SECONDS = 20.0
"""Who is on call changes with the clock, with no event: re-read this often."""
HINT = "n new · r rename · d delete · s add slot · e/Enter edit slot · x remove slot"


ScheduleNow = tuple[Schedule, OnCall]
"""A schedule and who is on call on it now: one row."""


def _schedule_cells(row: ScheduleNow) -> dict[str, Text]:
    schedule, now = row
    return {
        "name": literal(schedule.name),
        "zone": literal(schedule.time_zone),
        "slots": Text(str(schedule.slots), justify="right"),
        "now": who_now(now),
    }


class ScheduleTable(KeyedTable[ScheduleNow]):
    """The schedules by name, keyed by id: updated in place, the cursor stays."""

    def __init__(self) -> None:
        super().__init__(
            (
                ("Schedule", "name", 18),
                ("Time zone", "zone", 20),
                ("Slots", "slots", 5),
                ("On call now", "now", 20),
            ),
            _schedule_cells,
            lambda row: row[0].id,
            id="oncall-schedules",
        )

    @property
    def schedules(self) -> list[Schedule]:
        return [schedule for schedule, _ in self.shown]

    def schedule(self) -> Schedule | None:
        """The schedule under the cursor."""
        row = self.selected()
        return None if row is None else row[0]


class OnCallSection(ReportsFailures, Vertical):
    """On-call schedules: the list, the selected one's week, who is on call now and next."""

    DEFAULT_CSS = """
    OnCallSection { height: 1fr; }
    OnCallSection #oncall-schedules { height: auto; max-height: 6; }
    OnCallSection #oncall-now { height: auto; max-height: 3; padding: 0 1; }
    OnCallSection #oncall-week { height: 1fr; min-height: 4; }
    OnCallSection #oncall-slot { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("n", "add", "New schedule", id="oncall.new", tooltip="Add an on-call schedule"),
        Binding(
            "r",
            "rename",
            "Rename",
            id="oncall.rename",
            tooltip="Rename the selected schedule or move it to another time zone",
        ),
        Binding(
            "d",
            "delete",
            "Delete schedule",
            id="oncall.delete",
            tooltip="Delete the selected schedule and its slots (asks first)",
        ),
        Binding(
            "s",
            "add_slot",
            "Add slot",
            id="oncall.add_slot",
            tooltip="Add a weekly slot to the selected schedule, from the grid's cursor",
        ),
        Binding(
            "e",
            "edit_slot",
            "Edit slot",
            id="oncall.edit_slot",
            tooltip="Change the slot under the grid's cursor: times, who (Enter too)",
            show=False,  # the hint line says it; at 80 columns the footer is full
        ),
        Binding(
            "x",
            "remove_slot",
            "Remove slot",
            id="oncall.remove_slot",
            tooltip="Remove the slot under the grid's cursor (asks first)",
        ),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__(id="oncall-section")
        self.context = context
        self.now: OnCall | None = None
        """Who is on call on the selected schedule, as last read."""

    def compose(self) -> ComposeResult:
        yield StatusLine(HINT, id="oncall-status")
        yield ScheduleTable()
        yield Static(id="oncall-now")
        yield WeekGrid(id="oncall-week")
        yield Static(id="oncall-slot")

    async def on_mount(self) -> None:
        if gone(self):
            return  # taken away before it composed: it has no parts
        self.app.changes.subscribe(self, self.on_changes)  # type: ignore[attr-defined]
        self.set_interval(REFRESH_SECONDS, self._refresh)
        await self.reload()

    def focus_default(self) -> None:
        self.query_one(ScheduleTable).focus()

    @property
    def schedules(self) -> ScheduleTable:
        return self.query_one(ScheduleTable)

    @property
    def grid(self) -> WeekGrid:
        return self.query_one(WeekGrid)

    async def reload(self) -> None:
        db, actor = self.context.db, self.context.actor
        found: list[tuple[Schedule, OnCall]] = []
        for schedule in await oncall.list_schedules(db, actor):
            try:
                found.append((schedule, await oncall.on_call_now(db, actor, schedule.id)))
            except NotFound:
                continue  # deleted since it was listed: the event that says so follows
        if gone(self):
            return  # taken away while reading (see console/removal.py)
        self.schedules.show(found)
        await self.show_week()

    @work(exclusive=True, group="oncall-refresh", exit_on_error=False, description="refresh")
    async def _refresh(self) -> None:
        await self.reload()

    async def show_week(self) -> None:
        """The selected schedule's week, now line and slot line."""
        schedule = self.schedules.schedule()
        slots: list[SlotView] = []
        self.now = None
        if schedule is not None:
            db, actor = self.context.db, self.context.actor
            try:
                slots = await oncall.week(db, actor, schedule.id)
                self.now = await oncall.on_call_now(db, actor, schedule.id)
            except NotFound:
                slots = []  # deleted meanwhile: the feed's event reloads the list
        if gone(self):
            return  # taken away while reading (see console/removal.py)
        current = None if self.now is None or self.now.slot is None else self.now.slot.id
        self.grid.show(slots, current)
        shown = self.query_one("#oncall-now", Static)
        if schedule is None:
            shown.update(Text("No on-call schedule yet: n adds one.", style="dim"))
        elif self.now is not None:
            shown.update(now_line(self.now))
        self._show_slot()

    def _show_slot(self) -> None:
        line = self.query_one("#oncall-slot", Static)
        slot = self.grid.selected()
        if self.schedules.schedule() is None:
            line.update("")
        elif slot is None:
            line.update(
                Text(f"No slot here: s adds one · {HELD_MARK} held now · bold: on call now")
            )
        else:
            text = Text(f"{slot.day} {slot.start} to {slot.end_day} {slot.end} · ")
            if slot.group_id is not None:
                text.append("group ")
            text.append_text(literal(slot.who))
            if slot.held:
                text.append(" · held now", style="yellow")
            line.update(text)

    async def on_changes(self, changes: Changes) -> None:
        if changes.about(*_FEED_KINDS):
            await self.reload()

    def say(self, message: str | None, *, error: bool = False) -> None:
        """One line above the list: the keys, or what just happened (core's words)."""
        self.query_one("#oncall-status", StatusLine).say(message, error=error)

    @on(DataTable.RowHighlighted, "#oncall-schedules")
    async def _schedule_moved(self) -> None:
        await self.show_week()

    @on(DataTable.RowSelected, "#oncall-schedules")
    def _schedule_chosen(self) -> None:
        self.grid.focus()

    @on(DataTable.CellHighlighted, "#oncall-week")
    def _cell_moved(self) -> None:
        self._show_slot()

    @on(DataTable.CellSelected, "#oncall-week")
    def _cell_chosen(self) -> None:
        # Enter on a cell: the grid takes the key, so its selection opens the slot.
        self.action_edit_slot()

    def _selected_schedule(self) -> Schedule | None:
        schedule = self.schedules.schedule()
        if schedule is None:
            self.say("No on-call schedule selected: n adds one.", error=True)
        return schedule

    # --- schedules -----------------------------------------------------------------

    def action_add(self) -> None:
        self.app.push_screen(ScheduleForm(self.context), self._schedule_saved)

    def action_rename(self) -> None:
        schedule = self._selected_schedule()
        if schedule is not None:
            self.app.push_screen(ScheduleForm(self.context, schedule), self._schedule_saved)

    async def _schedule_saved(self, saved: object) -> None:
        await self.reload()
        if isinstance(saved, Schedule):
            self.schedules.select(saved.id)
            await self.show_week()
            self.say(f"Saved on-call schedule {saved.name} ({saved.time_zone})")
        self.focus_default()

    def action_delete(self) -> None:
        schedule = self._selected_schedule()
        if schedule is None:
            return
        question = Text.assemble(
            "Delete on-call schedule ",
            literal(schedule.name, style="bold"),
            f" and its {counted(schedule.slots, 'slot')}?",
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(schedule)

        self.app.push_screen(ConfirmScreen(question, yes_label="Delete"), answered)

    @work(exclusive=True, group="oncall-delete", exit_on_error=False, description="delete")
    async def _delete(self, schedule: Schedule) -> None:
        try:
            await oncall.delete_schedule(self.context.db, self.context.actor, schedule.id)
        except InUse as exc:
            # Not a dead end: every link is listed, and each opens the place it names.
            self.say(str(exc), error=True)
            self.app.push_screen(self._links_screen(str(exc), exc.links))
            return
        await self.reload()
        self.say(f"Deleted on-call schedule {schedule.name}")

    def _links_screen(self, refusal: str, found: Sequence[object]) -> ChoiceScreen[Link]:
        links = [link for link in found if isinstance(link, Link)]
        choices = [(link, literal(link.text)) for link in links]

        async def open_link(link: Link) -> str:
            return self.open_link(link)

        title = Text.assemble("Not deleted: ", literal(refusal, one_line=False))
        return ChoiceScreen(title, choices, open_link, id="oncall-links")

    def open_link(self, link: Link) -> str:
        """Show the outcome a link names in its sub-tab (the section's one way, OpenPlace)."""
        self.post_message(OpenPlace(link))
        return f"Outcome {link.place!r} notifies this schedule"

    def select_place(self, schedule_id: int) -> None:
        """Put the cursor on schedule ``schedule_id`` (a link opened from elsewhere)."""
        self.schedules.select(schedule_id)

    # --- slots -----------------------------------------------------------------------

    def action_add_slot(self) -> None:
        schedule = self._selected_schedule()
        if schedule is None:
            return
        start = self.grid.minute_at_cursor()
        end = self.grid.band_end_at_cursor()
        form = SlotForm(
            self.context,
            schedule,
            start="" if start is None else " ".join(week_time(start)),
            end="" if end is None else " ".join(week_time(end)),
        )
        self.app.push_screen(form, self._slot_saved)

    def action_edit_slot(self) -> None:
        schedule = self._selected_schedule()
        if schedule is None:
            return
        slot = self.grid.selected()
        if slot is None:
            self.say("No slot under the cursor: s adds one there.", error=True)
            return
        self.app.push_screen(SlotForm(self.context, schedule, slot), self._slot_saved)

    async def _slot_saved(self, saved: object) -> None:
        await self.reload()
        if isinstance(saved, SlotView):
            self.say(f"Saved the slot {saved.day} {saved.start} to {saved.end_day} {saved.end}")
        self.grid.focus()

    def action_remove_slot(self) -> None:
        schedule = self._selected_schedule()
        slot = self.grid.selected()
        if schedule is None:
            return
        if slot is None:
            self.say("No slot under the cursor.", error=True)
            return
        question = Text.assemble(
            f"Remove the slot {slot.day} {slot.start} to {slot.end_day} {slot.end} (",
            literal(slot.who, style="bold"),
            ") from ",
            literal(schedule.name, style="bold"),
            "?",
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._remove_slot(schedule, slot)

        self.app.push_screen(ConfirmScreen(question, yes_label="Remove"), answered)

    @work(exclusive=True, group="oncall-slot", exit_on_error=False, description="remove a slot")
    async def _remove_slot(self, schedule: Schedule, slot: SlotView) -> None:
        await oncall.remove_slot(self.context.db, self.context.actor, schedule.id, slot.id)
        await self.reload()
        self.say(f"Removed the slot {slot.day} {slot.start} to {slot.end_day} {slot.end}")
