"""A small picker: choose one of a few things, and core does it (or says why not).

The activity, the active permission profile and a transfer's destination
are each a short list. Enter asks core (``choose``); a refusal is shown
under the list with core's own words and the picker stays open, so the
person can pick something else or leave with Esc. Success closes it and
says what was done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from console.text import literal
from core.errors import SwitchboardError

T = TypeVar("T")


class ChoiceScreen(ModalScreen[T | None], Generic[T]):
    """Dismissed with the value chosen (after ``choose`` succeeded), or None on Esc."""

    DEFAULT_CSS = """
    ChoiceScreen { align: center middle; }
    ChoiceScreen > Vertical {
        width: 56; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    ChoiceScreen #choice-title { text-style: bold; margin-bottom: 1; }
    ChoiceScreen OptionList { height: auto; max-height: 14; }
    ChoiceScreen #choice-error { color: $text-error; margin-top: 1; display: none; }
    ChoiceScreen #choice-hint { color: $text-muted; margin-top: 1; }
    ChoiceScreen.-with-note > Vertical { width: 78; }
    ChoiceScreen.-with-note OptionList { max-height: 8; }
    ChoiceScreen #choice-note { height: auto; max-height: 7; margin-top: 1; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Close", id="choice.close", tooltip="Leave it as it is"),
    ]

    def __init__(
        self,
        title: Text | str,
        choices: Sequence[tuple[T, Text]],
        choose: Callable[[T], Awaitable[str]],
        *,
        current: int | None = None,
        note: Text | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, classes="-with-note" if note is not None else None)
        self.title_text = title
        self.choices = list(choices)
        self.choose = choose
        self.current = current
        self.note = note
        """Read-only information under the list (the transfer picker's on-call numbers)."""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, id="choice-title")
            yield OptionList(
                *(Option(label, id=str(index)) for index, (_, label) in enumerate(self.choices)),
                id="choice-list",
            )
            if self.note is not None:
                with VerticalScroll(id="choice-note"):
                    yield Static(self.note)
            yield Static(id="choice-error")
            yield Static("↑↓ move · Enter choose · Esc close", id="choice-hint")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        if self.current is not None and self.choices:
            options.highlighted = self.current
        options.focus()

    @property
    def error(self) -> str:
        return str(self.query_one("#choice-error", Static).render())

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(OptionList.OptionSelected, "#choice-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._choose(int(event.option.id or 0))

    @work(exclusive=True, group="choice", exit_on_error=False, description="make the choice")
    async def _choose(self, index: int) -> None:
        value = self.choices[index][0]
        shown = self.query_one("#choice-error", Static)
        try:
            done = await self.choose(value)
        except SwitchboardError as exc:
            # Core's refusal, where the person is looking; the picker stays open.
            shown.update(literal(str(exc), one_line=False))
            shown.display = True
            return
        self.app.notify(done, markup=False)  # it can name what someone typed
        self.dismiss(value)
