"""A table of records keyed by id, brought up to date in place.

Live panes re-read a short list when the feed names one of its rows; laying
the table again would move the cursor and flicker. ``show`` changes only the
cells that differ, drops the rows that went and adds the new ones, and lays
the rows again only when the order changed, keeping the cursor on its row.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable

T = TypeVar("T")

Column = tuple[str, str, int | None]
"""(label, key, width); no width: what is left of the line."""


class KeyedTable(DataTable[Text], Generic[T]):
    def __init__(
        self,
        columns: tuple[Column, ...],
        cells: Callable[[T], dict[str, Text]],
        key: Callable[[T], Hashable],
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id=id)
        self.columns_shown = columns
        self.cells_of = cells
        self.key_of = key
        self.shown: list[T] = []

    def on_mount(self) -> None:
        for label, key, width in self.columns_shown:
            self.add_column(label, key=key, width=width)

    def _row_key(self, item: T) -> str:
        return str(self.key_of(item))

    def show(self, found: list[T], *, recheck: bool = False) -> None:
        """Bring the rows up to ``found``; ``recheck``: compare every kept row's cells,
        not only those of changed items (cells that also depend on the time)."""
        old = {self._row_key(i): i for i in self.shown}
        new = [self._row_key(i) for i in found]
        present = set(new)
        kept = [k for k in old if k in present]
        # Nothing kept (another page): one clear beats removing every row.
        if new[: len(kept)] != kept or (old and not kept):
            chosen = self.selected()
            self.clear()
            self.shown = []
            self.show(found)
            if chosen is not None and self._row_key(chosen) in new:
                self.move_cursor(row=self.get_row_index(self._row_key(chosen)))
            return
        for gone in set(old) - present:
            self.remove_row(gone)
        for item in found:
            key = self._row_key(item)
            if key not in old:
                self.add_row(*self.cells_of(item).values(), key=key)
            elif recheck or old[key] != item:
                # Against what the row shows, which is what matters when cells
                # also depend on something other than the item (the time).
                for column, value in self.cells_of(item).items():
                    if self.get_cell(key, column) != value:
                        self.update_cell(key, column, value)
        self.shown = list(found)

    def selected(self) -> T | None:
        if self.row_count == 0:
            return None
        row = min(max(self.cursor_row, 0), self.row_count - 1)
        key = self.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value
        return next((i for i in self.shown if self._row_key(i) == key), None)

    def select(self, key: Hashable) -> None:
        if any(self._row_key(i) == str(key) for i in self.shown):
            self.move_cursor(row=self.get_row_index(str(key)))
