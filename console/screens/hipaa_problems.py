"""What must change now that HIPAA mode is on: core's recheck of every saved profile (P6).

The templates stay saved (their PHI fields are withheld at every render
until they change); the dialog lists each profile, the part of it and
core's reason, so a manager knows what to edit.
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
from core.notify.hipaa import Problem

PARTS = {
    "sms_body": "SMS template",
    "sms_mode": "SMS mode",
    "email_subject": "email subject",
    "email_body": "email body",
    "email_mode": "email mode",
}


def problem_lines(problems: list[Problem]) -> Text:
    if not problems:
        return Text("No saved notification profile must change.")
    text = Text(
        f"{len(problems)} part{'s' if len(problems) != 1 else ''} of saved notification"
        " profiles must change. Until then their PHI fields are withheld from every notice.\n"
    )
    for problem in problems:
        text.append("\n• ")
        text.append_text(literal(problem.alias, style="bold"))
        text.append(f" — {PARTS.get(problem.part, problem.part)}\n  ", style="dim")
        text.append_text(literal(problem.reason, one_line=False))
    return text


class HipaaProblems(ModalScreen[None]):
    """Dismissed with Enter or Esc."""

    DEFAULT_CSS = """
    HipaaProblems { align: center middle; }
    HipaaProblems > Vertical {
        width: 72; max-width: 100%; height: auto; max-height: 100%;
        border: round $warning; background: $surface; padding: 0 1;
    }
    HipaaProblems VerticalScroll { height: auto; max-height: 1fr; margin: 1 0; }
    HipaaProblems Horizontal { height: auto; align-horizontal: right; }
    """
    BINDINGS = [
        Binding("escape", "dismiss_dialog", "Close", id="hipaa_problems.close", tooltip="Close"),
    ]

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(id="hipaa-problems")
        self.problems = problems

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("HIPAA mode is on", style="bold"))
            with VerticalScroll():
                yield Static(problem_lines(self.problems), id="hipaa-problem-list")
            with Horizontal():
                yield Button("OK", variant="primary", id="hipaa-ok")

    def on_mount(self) -> None:
        self.query_one("#hipaa-ok", Button).focus()

    def action_dismiss_dialog(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#hipaa-ok")
    def _ok(self) -> None:
        self.dismiss(None)
