"""Keyset pages over a list ordered by id (a campaign's pool, its results).

Each page is read as "the next ``size`` rows after id X" (core's
``after_id``), so page 20 of 100,000 targets costs what page 1 does. The
pages visited are remembered by the id each started after: previous goes
back to exactly where it was, even when rows moved meanwhile.
"""

from __future__ import annotations


class Pages:
    def __init__(self, size: int) -> None:
        self.size = size
        self._after: list[int] = [0]
        """For each page visited so far, the id it starts after; the last is the one shown."""

    @property
    def after_id(self) -> int:
        return self._after[-1]

    @property
    def first_row(self) -> int:
        """The row number (from 1) of the page's first row."""
        return (len(self._after) - 1) * self.size + 1

    def has_next(self, shown: int, total: int) -> bool:
        return shown == self.size and self.first_row - 1 + shown < total

    def next(self, last_id: int) -> None:
        self._after.append(last_id)

    def previous(self) -> bool:
        """Back one page; False on the first (nothing changes)."""
        if len(self._after) == 1:
            return False
        self._after.pop()
        return True

    def describe(self, shown: int, total: int) -> str:
        """'rows 501-1,000 of 12,345'."""
        if shown == 0:
            return f"no rows on this page of {total:,}" if total else "no rows"
        first = self.first_row
        return f"rows {first:,}-{first + shown - 1:,} of {total:,}"
