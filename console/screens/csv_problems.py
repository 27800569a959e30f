"""What an import from a CSV did: a summary, and each refused cell by row and column.

A CSV's bad rows do not stop an import (contacts, a campaign's targets): the
good rows are kept, and this screen lists every refused cell after, each line
shown literally (a header or a cell can hold anything).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from console.text import literal
from core.people.contacts_csv import RowError


@dataclass(frozen=True, slots=True)
class CsvReport:
    summary: str
    problems: tuple[str, ...] = ()
    """The CSV's bad cells, "row 3, column phone: …" (shown literally)."""

    def screen(self) -> ProblemsScreen:
        return ProblemsScreen(self)


def problem_lines(errors: Iterable[RowError]) -> tuple[str, ...]:
    """Core's refused cells, one line each."""
    return tuple(f"row {e.row}, column {e.column}: {e.reason}" for e in errors)


class ProblemsScreen(ModalScreen[None]):
    """A CSV's refused cells, one a line, shown literally; Esc closes."""

    DEFAULT_CSS = """
    ProblemsScreen { align: center middle; }
    ProblemsScreen > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: round $warning; background: $surface; padding: 0 1;
    }
    ProblemsScreen VerticalScroll { height: auto; max-height: 16; }
    ProblemsScreen #problems-hint { color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape,enter", "close", "Close", id="csv_problems.close", tooltip="Close"),
    ]

    def __init__(self, report: CsvReport) -> None:
        super().__init__(id="csv-problems")
        self.report = report

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(literal(self.report.summary, style="bold", one_line=False))
            with VerticalScroll():
                # Each line literal on its own: a CSV header can hold a line break.
                lines = Text("\n").join(literal(line) for line in self.report.problems)
                yield Static(lines, id="problems-list")
            yield Static("Esc close", id="problems-hint")

    def action_close(self) -> None:
        self.dismiss(None)
