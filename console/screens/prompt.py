"""A one-line question whose answer core acts on (a group's name, the end of a hold).

Enter hands the text to ``submit``; a refusal is shown under the field in
core's words and the prompt stays open with what was typed, so the person
can correct it or leave with Esc. Success closes it and says what was done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from console.text import literal
from console.widgets.editing import Input
from core.errors import SwitchboardError


class PromptScreen(ModalScreen[str | None]):
    """Dismissed with the text submitted (after ``submit`` succeeded), or None on Esc."""

    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical {
        width: 64; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    PromptScreen #prompt-title { margin-bottom: 1; }
    PromptScreen #prompt-error { color: $text-error; margin-top: 1; display: none; }
    PromptScreen #prompt-hint { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Close", id="prompt.close", tooltip="Leave it as it is"),
    ]

    def __init__(
        self,
        title: Text,
        submit: Callable[[str], Awaitable[str]],
        *,
        value: str = "",
        placeholder: str = "",
    ) -> None:
        super().__init__()
        self.title_text = title
        self.submit = submit
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, id="prompt-title")
            yield Input(self.value, placeholder=self.placeholder, id="prompt-input", compact=True)
            yield Static(id="prompt-error")
            yield Static("Enter done · Esc close", id="prompt-hint")

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.focus()
        field.cursor_position = len(field.value)  # a name to correct is typed onto

    @property
    def error(self) -> str:
        return str(self.query_one("#prompt-error", Static).render())

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#prompt-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit(event.value)

    @work(exclusive=True, group="prompt", exit_on_error=False, description="do what was asked")
    async def _submit(self, value: str) -> None:
        shown = self.query_one("#prompt-error", Static)
        try:
            done = await self.submit(value)
        except SwitchboardError as exc:
            shown.update(literal(str(exc), one_line=False))
            shown.display = True
            return
        self.app.notify(done)
        self.dismiss(value)
