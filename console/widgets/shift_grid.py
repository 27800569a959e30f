"""The shifts' week as a grid: the on-call grid's bands and days, several people a cell.

Shifts of different people overlap (that is the point of a rota), so a
cell names the first person on shift there and counts the others ("+2");
an on-call shift's name is marked ``*``. The shift selected in the table is
drawn bold wherever it is, and named first in its cells. The line under the
grid lists everyone in the cell under the cursor.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from console.text import literal
from console.widgets.week_grid import WeekGrid
from core.shifts.model import ONCALL
from core.shifts.on_shift import ShiftSlot
from core.weektime import WEEK

ONCALL_MARK = "*"


def slots_at(slots: Sequence[ShiftSlot], minute: int) -> list[ShiftSlot]:
    """Every shift holding ``minute`` of the week, normal ones first."""
    found = [s for s in slots if (minute - s.start_minute) % WEEK < s.minutes]
    found.sort(key=lambda s: (s.kind == ONCALL, s.who, s.id))
    return found


def name(slot: ShiftSlot, *, style: str = "") -> Text:
    if slot.kind == ONCALL:
        return Text.assemble((ONCALL_MARK, "bold magenta"), literal(slot.who, style=style))
    return literal(slot.who, style=style)


class ShiftGrid(WeekGrid):
    """The week of every shift; ``slots`` as ``core.shifts.on_shift.week`` gave them."""

    def shifts_at_cursor(self) -> list[ShiftSlot]:
        minute = self.minute_at_cursor()
        if minute is None:
            return []
        return slots_at(self.shift_slots, minute)

    @property
    def shift_slots(self) -> list[ShiftSlot]:
        return [s for s in self.slots if isinstance(s, ShiftSlot)]

    def cell_at(self, minute: int) -> Text:
        found = slots_at(self.shift_slots, minute)
        if not found:
            return Text("")
        chosen = [s for s in found if s.id == self.current]
        first = chosen[0] if chosen else found[0]
        cell = name(first, style="bold" if chosen else "")
        if len(found) > 1:
            # The count first: a long name is cut, the count must stay.
            return Text.assemble((f"+{len(found) - 1} ", "dim"), cell)
        return cell
