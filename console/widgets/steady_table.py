"""A DataTable whose rows keep their renders while the cursor moves and rows come and go.

DataTable (textual==8.2.8) keys every cached render on the cursor's place and
on one counter that adding a row or sorting bumps. Under a busy feed the
conversation list adds and moves rows several times a second, so the frame
after each drew every visible cell anew (20-40 ms, which the agent's next key
waited for). Here a row's render depends on the cursor only when the cursor
is on it, a row added at the end, moved or updated in place forgets only its
own renders, and everything is forgotten only when a column's width changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._two_way_dict import TwoWayDict
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import CellKey, ColumnKey, RowKey

_NOWHERE = Coordinate(-2, -2)
"""Not a row (the header is -1): the cursor as seen from a row it is not on."""


class SteadyTable(DataTable[Text]):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stale_rows: set[RowKey] = set()

    def update_in_place(self, key: str, column: str, value: Text) -> None:
        """``update_cell``, redrawing only this row.

        Not update_cell(): it bumps the one counter every DataTable cache is keyed
        on, so the next frame renders every visible cell again (about 20 ms, which
        the agent's next key waits for). Only this row's renders are stale.
        """
        row = RowKey(key)
        self._data[row][ColumnKey(column)] = value
        self._stale_rows.add(row)
        index = self._row_locations.get(row)
        if index is not None:
            self.refresh_row(index)

    def render_lines(self, crop: Region) -> list[Strip]:
        if self._stale_rows:
            indexes = {self._row_locations.get(key) for key in self._stale_rows}
            self._forget(self._stale_rows, {i for i in indexes if i is not None})
            self._stale_rows = set()
        return super().render_lines(crop)

    def _render_line_in_row(
        self,
        row_key: RowKey,
        line_no: int,
        base_style: Style,
        cursor_location: Coordinate,
        hover_location: Coordinate,
    ) -> tuple[list[list[Segment]], list[list[Segment]]]:
        if self.cursor_type == "row":
            row = self._row_locations.get(row_key)
            if row is None:
                row = -1  # the header
            if cursor_location.row != row:
                cursor_location = _NOWHERE
            if hover_location.row != row:
                hover_location = _NOWHERE
        return super()._render_line_in_row(
            row_key, line_no, base_style, cursor_location, hover_location
        )

    def append_row(self, cells: Sequence[Text], key: str) -> None:
        """``add_row``, keeping the other rows' renders (a row at the end moves none)."""
        count = self._update_count
        self.add_row(*cells, key=key)
        self._update_count = count
        self._row_moved_caches()

    def reorder(self, keys: Sequence[str]) -> None:
        """Order the rows as ``keys`` (every row's key); only the moved ones are drawn anew."""
        old = {key: self._row_locations.get(key) for key in self._data}
        new = {RowKey(key): index for index, key in enumerate(keys)}
        moved = {key for key, index in new.items() if old.get(key) != index}
        if not moved:
            return
        self._row_locations = TwoWayDict(new)
        indexes = {new[key] for key in moved} | {i for k in moved if (i := old.get(k)) is not None}
        self._forget(moved, indexes)
        self._row_moved_caches()
        self.refresh()

    def _row_moved_caches(self) -> None:
        # Keyed on the counter left as it was: what is where.
        self._offset_cache.clear()
        self._ordered_row_cache.clear()
        self._line_cache.clear()

    def _forget(self, rows: set[RowKey], indexes: set[int]) -> None:
        """Drop the cached renders of ``rows``, and the renderables kept by row index."""
        # LRUCache is not iterable: its keys() is the way to read them.
        cells, lines, renderables = (
            self._cell_render_cache,
            self._row_render_cache,
            self._row_renderable_cache,
        )
        for cell in [k for k in cells.keys() if k[0] in rows]:  # noqa: SIM118
            cells.discard(cell)
        for line in [k for k in lines.keys() if k[0] in rows]:  # noqa: SIM118
            lines.discard(line)
        for renderable in [k for k in renderables.keys() if k[1] in indexes]:  # noqa: SIM118
            renderables.discard(renderable)
        self._line_cache.clear()  # keyed by screen line: cheap to build again from the rows

    def _update_column_widths(self, updated_cells: set[CellKey]) -> None:
        widths = self._render_widths()
        super()._update_column_widths(updated_cells)
        self._forget_all_if_wider(widths)

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        widths = self._render_widths()
        super()._update_dimensions(new_rows)
        self._forget_all_if_wider(widths)

    def _render_widths(self) -> list[int]:
        return [column.get_render_width(self) for column in self.ordered_columns]

    def _forget_all_if_wider(self, widths: list[int]) -> None:
        # Cached cells are not keyed on their width: a column that grew or
        # shrank is drawn anew everywhere.
        if self._render_widths() != widths:
            self._update_count += 1
            self.refresh()
