"""Why an .ics import saved nothing: each problem by event (line, UID, SUMMARY, reason).

Everything quoted from the file is outside text, shown literally. Events
skipped (over, cancelled) are listed after the problems: they would not
have been imported either way.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from console.text import literal
from core.shifts.ics import EventNote, IcsReport


def event(note: EventNote) -> Text:
    """'line 12 (UID abc, Night desk)'."""
    text = Text(f"line {note.line} (")
    text.append_text(Text.assemble("UID ", literal(note.uid)) if note.uid else Text("no UID"))
    if note.summary:
        text.append(", ")
        text.append_text(literal(note.summary, style="bold"))
    text.append(")")
    return text


def notes_text(report: IcsReport) -> Text:
    count = len(report.problems)
    text = Text(f"Nothing was saved: {count} problem{'s' if count != 1 else ''}.\n")
    for what, notes in (("", report.problems), ("skipped: ", report.skipped)):
        for note in notes:
            text.append("\n• ")
            text.append_text(event(note))
            text.append(f"\n  {what}", style="dim")
            text.append_text(literal(note.reason, one_line=False))
    return text


class IcsProblems(ModalScreen[None]):
    """Dismissed with Enter or Esc."""

    DEFAULT_CSS = """
    IcsProblems { align: center middle; }
    IcsProblems > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: round $error; background: $surface; padding: 0 1;
    }
    IcsProblems VerticalScroll { height: auto; max-height: 1fr; margin: 1 0; }
    IcsProblems Horizontal { height: auto; align-horizontal: right; }
    """
    BINDINGS = [
        Binding("escape", "close", "Close", id="ics_problems.close", tooltip="Back to the form"),
    ]

    def __init__(self, report: IcsReport) -> None:
        super().__init__(id="ics-problems")
        self.report = report

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("The calendar was not imported", style="bold"))
            with VerticalScroll():
                yield Static(notes_text(self.report), id="ics-problem-list")
            with Horizontal():
                yield Button("OK", variant="primary", id="ics-ok")

    def on_mount(self) -> None:
        self.query_one("#ics-ok", Button).focus()

    def action_close(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#ics-ok")
    def _ok(self) -> None:
        self.dismiss(None)
