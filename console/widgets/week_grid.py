"""An on-call schedule's week as a grid: seven day columns, one row per band of time.

A row per hour would need 24 rows and scroll at 80×24 even for a plain
"nights and weekends" schedule. The rows are instead the bands between the
times of day at which any slot starts or ends (08:00, 18:00…): within a band
each day's cell is wholly in one slot or in none, so the grid is exact and a
usual schedule fits in three or four rows. Each cell names who the slot
names; a slot whose people are all held now is marked ‖. The cursor is a
cell: the slot under it is the one ``x`` and Enter act on.

The shifts' week (``console.widgets.shift_grid``) is drawn by the same grid:
its cells may hold several people, so it overrides ``cell_at``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from rich.text import Text
from textual.widgets import DataTable

from console.text import literal
from core.weektime import DAYS, WEEK

DAY = 24 * 60
HELD_MARK = "‖"
DAY_WIDTH = 8
"""Characters of a name in a day's cell: seven of them and the band's time fit 80 columns."""


class Slot(Protocol):
    """What the grid reads of a slot: an on-call slot (``SlotView``) or a shift's stretch."""

    @property
    def id(self) -> int: ...
    @property
    def start_minute(self) -> int: ...
    @property
    def minutes(self) -> int: ...
    @property
    def who(self) -> str: ...
    @property
    def held(self) -> bool: ...


def bands(slots: Sequence[Slot]) -> list[int]:
    """The minutes of the day at which a row starts: midnight and every slot's start and end."""
    edges = {0}
    for slot in slots:
        edges.add(slot.start_minute % DAY)
        edges.add((slot.start_minute + slot.minutes) % DAY)
    return sorted(edges)


def slot_at(slots: Sequence[Slot], minute: int) -> Slot | None:
    """The slot holding ``minute`` of the week (slots of a schedule never overlap)."""
    for slot in slots:
        if (minute - slot.start_minute) % WEEK < slot.minutes:
            return slot
    return None


def clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


class WeekGrid(DataTable[Text]):
    """The week of the selected schedule; ``slots`` as core's ``week`` gave them."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(cursor_type="cell", zebra_stripes=True, id=id)
        self.slots: list[Slot] = []
        self.rows_at: list[int] = []
        self.current: int | None = None
        """The id of the slot on call now, drawn bold."""

    def on_mount(self) -> None:
        self.add_column("from", key="from", width=5)
        for day in DAYS:
            self.add_column(day.capitalize(), key=day, width=DAY_WIDTH)

    def show(self, slots: Sequence[Slot], current: int | None = None) -> None:
        """Draw ``slots``: cells updated in place while the bands stay, the rows laid
        again when they change, the cursor kept on the same cell either way."""
        row, column = self.cursor_coordinate
        self.slots = list(slots)
        self.current = current
        rows_at = bands(self.slots)
        if rows_at != self.rows_at or self.row_count != len(rows_at):
            self.rows_at = rows_at
            self.clear()
            for start in rows_at:
                self.add_row(*self._row(start), key=str(start))
        else:
            for start in rows_at:
                for day, cell in zip(DAYS, self._row(start)[1:], strict=True):
                    self.update_cell(str(start), day, cell)
        if self.row_count:
            self.move_cursor(row=min(row, self.row_count - 1), column=max(column, 1))

    def _row(self, start: int) -> list[Text]:
        cells = [Text(clock(start), style="dim")]
        for day in range(len(DAYS)):
            cells.append(self.cell_at(day * DAY + start))
        return cells

    def cell_at(self, minute: int) -> Text:
        """The cell holding ``minute`` of the week: who its slot names."""
        return self._cell(slot_at(self.slots, minute))

    def _cell(self, slot: Slot | None) -> Text:
        if slot is None:
            return Text("")
        style = "bold" if slot.id == self.current else ""
        if slot.held:
            return Text.assemble((HELD_MARK, "bold yellow"), literal(slot.who, style=style))
        return literal(slot.who, style=style)

    def minute_at_cursor(self) -> int | None:
        """The minute of the week the cursor's cell starts at (None on the time column)."""
        row, column = self.cursor_coordinate
        if not self.rows_at or column == 0:
            return None
        return (column - 1) * DAY + self.rows_at[min(row, len(self.rows_at) - 1)]

    def band_end_at_cursor(self) -> int | None:
        """Where the cursor's band ends, as a minute of the week."""
        start = self.minute_at_cursor()
        if start is None:
            return None
        row = self.cursor_coordinate.row
        following = self.rows_at[row + 1] if row + 1 < len(self.rows_at) else DAY
        return start - self.rows_at[row] + following

    def selected(self) -> Slot | None:
        minute = self.minute_at_cursor()
        return None if minute is None else slot_at(self.slots, minute)
