"""The contacts pane. (Placeholder until built.)"""

from __future__ import annotations

from textual.containers import Vertical
from textual.widgets import Static

from console.context import ConsoleContext


class ContactsPane(Vertical):
    def __init__(self, context: ConsoleContext) -> None:
        super().__init__()
        self.context = context

    def compose(self):
        yield Static("Contacts")

    def focus_default(self) -> None:
        pass
