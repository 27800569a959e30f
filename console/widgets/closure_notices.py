"""How the open conversation was closed, and each notice with its live status (P4).

Under the messages: the outcome, who closed it and when, then one line per
notice (status, SMS or email, the profile's alias, the recipient) and, for
one that failed or was skipped, the reason. Once a new message opens the
conversation again the block shrinks to one line about that last closure.
The thread tells it which conversation it shows (``follow``); the feed's
events about notices (an outbox row's ``message.*`` or ``email.*`` of
purpose notice) read the notices again while any of them can still move.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from rich.text import Text
from textual import work
from textual.containers import VerticalScroll
from textual.widgets import Static

from console.context import ConsoleContext
from console.live import Changes
from console.text import literal
from console.times import clock_text
from console.widgets import steady
from core.delivery import outbox
from core.errors import SwitchboardError
from core.events import Event
from core.notify import history
from core.notify.history import LastClosure, NoticeLine

STATUS_STYLES = {
    "queued": "dim",
    "sending": "dim",
    "sent": "cyan",
    "delivered": "green",
    "failed": "bold red",
    "skipped": "yellow",
}
CHANNELS = {"sms": "SMS", "email": "email"}


def closure_line(closure: LastClosure, now: datetime, *, open_again: bool) -> Text:
    """'Closed: Urgent by alice at 14:32'."""
    line = Text("Last closed: " if open_again else "Closed: ", style="bold")
    line.append_text(literal(closure.outcome, style="bold"))
    line.append(" by ", style="dim")
    line.append_text(literal(closure.agent or "a deleted agent"))
    line.append(f" at {clock_text(closure.closed_at, now)}", style="dim")
    return line


def notice_line(notice: NoticeLine) -> Text:
    """'delivered  SMS Dr Hale +12125550160', and the reason of a failed or skipped one."""
    line = Text(f"{notice.status:<9} ", style=STATUS_STYLES.get(notice.status, ""))
    line.append(f"{CHANNELS.get(notice.channel, notice.channel)} ", style="dim")
    line.append_text(literal(notice.profile, style="bold"))
    line.append(" ")
    line.append_text(literal(notice.recipient))
    if notice.reason and notice.status in ("failed", "skipped"):
        line.append("\n          ")
        line.append_text(literal(notice.reason, style="dim"))
    return line


def summary(notices: tuple[NoticeLine, ...]) -> str:
    """'3 notices: 2 delivered, 1 failed'."""
    if not notices:
        return "no notices"
    counts = Counter(n.status for n in notices)
    parts = ", ".join(f"{counts[s]} {s}" for s in STATUS_STYLES if counts[s])
    return f"{len(notices)} notice{'s' if len(notices) != 1 else ''}: {parts}"


def about_notices(event: Event) -> bool:
    """An event that may move a notice's status (ids and kinds only, as every event)."""
    if event.kind.startswith("notice."):
        return True
    if event.kind.startswith(("message.", "email.")):
        return event.data.get("purpose") == outbox.NOTICE
    return False


class ClosureNotices(VerticalScroll):
    DEFAULT_CSS = """
    ClosureNotices {
        height: auto; max-height: 6; padding: 0 1; background: $panel;
        scrollbar-size-vertical: 1;
    }
    ClosureNotices > Static { height: auto; }
    """

    def __init__(self, context: ConsoleContext, *, id: str = "thread-closure") -> None:
        super().__init__(id=id)
        self.context = context
        self.conversation_id: int | None = None
        self.open_again = False
        self.closure: LastClosure | None = None

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(id="closure-text")

    def on_mount(self) -> None:
        self.app.changes.subscribe(self, self.on_changes)  # type: ignore[attr-defined]
        # A thread shown while this was being composed asked for a closure already.
        self._show(self.closure)

    def follow(self, conversation_id: int | None, *, closed: bool) -> None:
        """Show the last closure of ``conversation_id`` (None: nothing); ``closed``: it is
        closed now (else a new message opened it again, or it was never closed)."""
        if conversation_id == self.conversation_id and self.open_again == (not closed):
            return
        if conversation_id != self.conversation_id:
            self._show(None)
        self.conversation_id = conversation_id
        self.open_again = not closed
        if conversation_id is not None:
            self.reload()

    async def on_changes(self, changes: Changes) -> None:
        cid, shown = self.conversation_id, self.closure
        if cid is None:
            return
        # A close of this conversation comes with a conversation event (the thread
        # calls follow); a notice's row moving is followed only while one can move.
        if changes.missed or (
            shown is not None
            and not shown.settled
            and any(about_notices(e) for e in changes.events)
        ):
            self.reload()

    @work(exclusive=True, group="closure-notices", exit_on_error=False)
    async def reload(self) -> None:
        conversation_id = self.conversation_id
        if conversation_id is None:
            return
        try:
            found = await history.last_closure(self.context.db, self.context.actor, conversation_id)
        except SwitchboardError:
            return  # no longer visible: the thread says so itself
        if conversation_id == self.conversation_id:
            self._show(found)

    def _show(self, closure: LastClosure | None) -> None:
        self.closure = closure
        self.display = closure is not None
        text = Text()
        if closure is not None:
            now = self.context.now()
            text.append_text(closure_line(closure, now, open_again=self.open_again))
            if self.open_again:
                text.append(f"  {summary(closure.notices)}", style="dim")
            else:
                if closure.comment:
                    text.append("\n")
                    text.append_text(literal(closure.comment, style="italic"))
                if not closure.notices:
                    text.append("\nNo one is notified of this outcome.", style="dim")
                for notice in closure.notices:
                    text.append("\n")
                    text.append_text(notice_line(notice))
        shown = next(self.query("#closure-text").results(Static), None)
        if shown is not None:  # else not composed yet: on_mount shows it
            steady.update(shown, text)
