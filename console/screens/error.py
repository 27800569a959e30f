"""The dialog for a failure nobody planned for: what failed, and where the details are."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from console.text import literal


class ErrorScreen(ModalScreen[None]):
    """Says what failed and where the log (with the traceback) is; Esc or Enter closes it.

    A refusal (a SwitchboardError) is a notification, not this: this is for bugs
    and broken environments, which must not pass unseen in a toast.
    """

    DEFAULT_CSS = """
    ErrorScreen { align: center middle; }
    ErrorScreen > Vertical {
        width: 70; max-width: 100%; height: auto;
        border: round $error; background: $surface; padding: 0 1;
    }
    ErrorScreen #error-text { margin: 1 0; }
    ErrorScreen Horizontal { height: auto; align-horizontal: right; }
    """
    BINDINGS = [
        Binding("escape,enter", "close", "Close", id="error.close", tooltip="Close this dialog"),
    ]

    def __init__(self, what: str, error: BaseException, log_path: str) -> None:
        super().__init__()
        self.what = what
        self.error = error
        self.log_path = log_path

    def text(self) -> Text:
        # The exception's text can quote anything (a contact's name, a path): literal.
        return Text.assemble(
            ("Something went wrong", "bold"),
            " while trying to ",
            literal(self.what),
            ":\n",
            literal(f"{type(self.error).__name__}: {self.error}", one_line=False),
            "\n\nThe details are in ",
            literal(self.log_path),
            ".",
        )

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.text(), id="error-text")
            with Horizontal():
                yield Button("Close", variant="error", id="error-close")

    def on_mount(self) -> None:
        self.query_one("#error-close", Button).focus()

    def action_close(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#error-close")
    def _close(self) -> None:
        self.dismiss(None)
