"""A small modal form that saves through core: Ctrl+S or Enter saves, Esc cancels.

Its ``save`` calls core and returns what core stored; a refusal is shown in
the form's ``.form-error`` line, in core's words, and what was typed stays.
The form closes with what ``save`` returned, or None when cancelled.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from console.text import literal
from console.widgets.editing import Input
from core.errors import SwitchboardError


def bindings(prefix: str, what: str) -> list[Binding]:
    """Ctrl+S saves ``what``, Esc cancels: ids ``{prefix}.save`` and ``{prefix}.cancel``."""
    return [
        Binding("ctrl+s", "save", "Save", id=f"{prefix}.save", tooltip=f"Save {what}"),
        Binding(
            "escape", "cancel", "Cancel", id=f"{prefix}.cancel", tooltip="Close, change nothing"
        ),
    ]


class SmallForm(ModalScreen[object]):
    """Ctrl+S or Enter saves, Esc cancels; ``save`` asks core. A subclass names the
    two keys in its own ``BINDINGS`` (``bindings(prefix, what)``) so their ids say whose."""

    def show_error(self, message: str) -> None:
        self.query_one(".form-error", Static).update(literal(message, one_line=False))

    def buttons(self, save: str = "Save") -> ComposeResult:
        """The refusal line, then Cancel and the button that saves, named ``save``."""
        yield Static(classes="form-error")
        with Horizontal():
            yield Button("Cancel", id="form-cancel")
            yield Button(save, variant="primary", id="form-save")

    async def save(self) -> object:
        raise NotImplementedError

    def done(self, saved: object) -> bool:
        """Whether the form closes with what ``save`` returned: a form whose save can
        come back with nothing stored (an import with problems) says no, and shows why."""
        return True

    async def action_save(self) -> None:
        try:
            saved = await self.save()
        except SwitchboardError as exc:
            # Kept here, not in the app's handler: a form shows the refusal under
            # its fields and stays open with what was typed.
            self.show_error(str(exc))
            return
        if self.done(saved):
            self.dismiss(saved)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    async def _submitted(self) -> None:
        await self.action_save()

    @on(Button.Pressed, "#form-save")
    async def _save_pressed(self) -> None:
        await self.action_save()

    @on(Button.Pressed, "#form-cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(None)
