"""The open conversation: its messages and the composer. (Placeholder until built.)"""

from __future__ import annotations

from textual.containers import Vertical
from textual.widgets import Static

from console.context import ConsoleContext


class ThreadPane(Vertical):
    def __init__(
        self, context: ConsoleContext, *, read_only: bool = False, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.context = context
        self.read_only = read_only
        self.conversation_id: int | None = None

    def compose(self):
        yield Static("Select a conversation", id="thread-placeholder")

    async def show(self, conversation_id: int | None) -> None:
        self.conversation_id = conversation_id

    async def compose_to(self, contact_id: int) -> None:
        """Start writing to a contact, choosing which of their mobiles to text."""
