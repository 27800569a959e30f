"""The transfers of the open conversation, one line each, above its messages (issue #10 item 7).

Who handed it on, from whom, to which agent or queue, and when, as
``core.routing.transfers.history`` lists them. The thread tells it which
conversation it shows (``follow``); a ``conversation.transferred`` event for
it reads the history again.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import work
from textual.widgets import Static

from console.context import ConsoleContext
from console.live import Changes
from console.text import literal
from console.times import clock_text
from console.widgets import steady
from core.errors import SwitchboardError
from core.routing import transfers
from core.routing.transfers import Transfer

SHOWN = 3
"""The latest transfers shown; older ones are counted."""


def transfer_line(transfer: Transfer, now: datetime) -> Text:
    """'⇄ 14:02 alice → queue Front desk (by dana)'."""
    line = Text(f"⇄ {clock_text(transfer.at, now)} ", style="dim")
    line.append_text(literal(transfer.from_agent or "nobody"))
    line.append(" → ")
    if transfer.to_queue is not None:
        line.append("queue ", style="dim")
        line.append_text(literal(transfer.to_queue, style="bold"))
    else:
        line.append_text(literal(transfer.to_agent or "?", style="bold"))
    if transfer.by != transfer.from_agent:
        line.append(" (by ", style="dim")
        line.append_text(literal(transfer.by or "the system", style="dim"))
        line.append(")", style="dim")
    return line


class TransferHistory(Static):
    DEFAULT_CSS = """
    TransferHistory { height: auto; padding: 0 1; background: $panel; color: $text-muted; }
    """

    def __init__(self, context: ConsoleContext, *, id: str = "thread-transfers") -> None:
        super().__init__(id=id)
        self.context = context
        self.conversation_id: int | None = None
        self.transfers: list[Transfer] = []

    def on_mount(self) -> None:
        self.display = False
        self.app.changes.subscribe(self, self.on_changes)  # type: ignore[attr-defined]

    def follow(self, conversation_id: int | None) -> None:
        """Show the transfers of ``conversation_id`` (None: nothing)."""
        if conversation_id == self.conversation_id:
            return
        self.conversation_id = conversation_id
        self._show([])
        if conversation_id is not None:
            self._load(conversation_id)

    async def on_changes(self, changes: Changes) -> None:
        cid = self.conversation_id
        if cid is not None and (
            changes.missed
            or any(
                e.kind == "conversation.transferred" and e.entity_id == cid for e in changes.events
            )
        ):
            self._load(cid)

    @work(exclusive=True, group="transfer-history", exit_on_error=False)
    async def _load(self, conversation_id: int) -> None:
        try:
            found = await transfers.history(self.context.db, self.context.actor, conversation_id)
        except SwitchboardError:
            return  # no longer visible: the thread says so itself
        if conversation_id == self.conversation_id:
            self._show(found)

    def _show(self, found: list[Transfer]) -> None:
        self.transfers = found
        self.display = bool(found)
        if not found:
            steady.update(self, "")
            return
        now = self.context.now()
        text = Text()
        if len(found) > SHOWN:
            text.append(f"{len(found) - SHOWN} earlier transfers\n", style="dim")
        for index, transfer in enumerate(found[-SHOWN:]):
            if index:
                text.append("\n")
            text.append_text(transfer_line(transfer, now))
        steady.update(self, text)
