"""Why a notification profile or group cannot be deleted: every place that uses it (P5).

Core refuses the delete with ``InUse`` and the links as data
(``core.notify.links.Link``); this dialog lists them, one row each. Enter on
a row closes it with that link, and the section opens the place it names.
For a profile, ``r`` offers "Replace with…": the section then picks another
profile and core moves every link to it and deletes this one.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from console.text import literal
from core.errors import InUse
from core.notify.links import Link

REPLACE = "replace"
"""What the dialog closes with when the person asks to replace the profile."""


class LinksScreen(ModalScreen[Link | str | None]):
    """Dismissed with the Link chosen, ``REPLACE``, or None on Esc."""

    DEFAULT_CSS = """
    LinksScreen { align: center middle; }
    LinksScreen > Vertical {
        width: 72; max-width: 100%; height: auto; max-height: 100%;
        border: round $warning; background: $surface; padding: 0 1;
    }
    LinksScreen #links-title { margin-bottom: 1; }
    LinksScreen OptionList { height: auto; max-height: 12; }
    LinksScreen #links-hint { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Close", id="links.close", tooltip="Leave it as it is"),
        Binding(
            "r",
            "replace",
            "Replace with…",
            id="links.replace",
            tooltip="Move every link to another notification profile, then delete this one",
        ),
    ]

    def __init__(self, what: Text, refusal: InUse, *, replace: bool) -> None:
        super().__init__()
        self.what = what
        self.links = tuple(link for link in refusal.links if isinstance(link, Link))
        self.replace = replace

    def compose(self) -> ComposeResult:
        count = len(self.links)
        with Vertical():
            yield Static(
                Text.assemble(
                    self.what,
                    f" cannot be deleted: it is used in {count} place{'s' if count != 1 else ''}:",
                ),
                id="links-title",
            )
            yield OptionList(
                *(Option(literal(link.text), id=str(i)) for i, link in enumerate(self.links)),
                id="links-list",
            )
            hint = "Enter open the place"
            if self.replace:
                hint += " · r replace with another profile, then delete"
            yield Static(hint + " · Esc close", id="links-hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "replace":
            return self.replace
        return True

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_replace(self) -> None:
        self.dismiss(REPLACE)

    @on(OptionList.OptionSelected, "#links-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.links[int(event.option.id or 0)])
