"""Add a closing outcome (name and kind) or rename one.

The form calls core itself, so a refusal (a name taken, too long, the 101st
outcome) is shown under the fields, in core's words, with what was typed
kept. It closes with the outcome as stored, or None when cancelled.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Select, Static

from console.context import ConsoleContext
from console.screens.small_form import SmallForm, bindings
from console.text import literal
from console.widgets.editing import Input
from core.notify import outcomes
from core.notify.outcomes import Outcome

KIND_LABELS = {"message": "message", "non_message": "non-message"}


class OutcomeForm(SmallForm):
    DEFAULT_CSS = """
    OutcomeForm { align: center middle; }
    OutcomeForm > Vertical {
        width: 64; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    OutcomeForm Label { margin-top: 1; }
    OutcomeForm #outcome-form-error { color: $error; height: auto; margin-top: 1; }
    OutcomeForm #outcome-form-hint { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = bindings("outcome_form", "this outcome")

    def __init__(self, context: ConsoleContext, current: Outcome | None = None) -> None:
        super().__init__()
        self.context = context
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            if self.current is None:
                yield Static("[b]Add an outcome[/b]")
            else:
                yield Static(literal(f"Rename the outcome {self.current.name}", style="bold"))
            yield Label("Name")
            yield Input(
                value="" if self.current is None else self.current.name,
                placeholder="e.g. Callback requested",
                id="outcome-name",
                compact=True,
            )
            if self.current is None:
                yield Label("Kind: a message outcome carries the caller's message")
                yield Select(
                    [(label, kind) for kind, label in KIND_LABELS.items()],
                    value="message",
                    allow_blank=False,
                    id="outcome-kind",
                    compact=True,
                )
            yield Static(id="outcome-form-error", classes="form-error")
            yield Static("Ctrl+S or Enter save · Esc cancel", id="outcome-form-hint")

    def on_mount(self) -> None:
        self.query_one("#outcome-name", Input).focus()

    async def save(self) -> Outcome:
        name = self.query_one("#outcome-name", Input).value
        db, actor = self.context.db, self.context.actor
        if self.current is None:
            kind = str(self.query_one("#outcome-kind", Select).value)
            return await outcomes.add(db, actor, name, kind)
        return await outcomes.rename(db, actor, self.current.name, name)
