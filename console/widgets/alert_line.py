"""A5: one line above the user's conversations saying whether a chat will reach their phone.

The words are core's (``core.alerts.readiness``): configured, or exactly what
is missing. One line at any width: the missing items are named in full when
they fit, in short words when not, then cut. It is read again when the feed
says the account's settings, the user's consent or shifts changed, and every
``CLOCK_SECONDS`` (a one-off shift ending makes it "missing a messaging
shift" with nobody touching anything). A click, or Ctrl+Y, opens My alerts.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.message import Message
from textual.widgets import Static

from console.context import ConsoleContext
from console.live import Changes
from core.alerts import readiness
from core.alerts.readiness import Readiness

CLOCK_SECONDS = 30.0
"""How often the clock is looked at: a shift's end shows within this."""

SHORT = {
    readiness.MOBILE: "number",
    readiness.PERMISSION: "permission",
    readiness.NEW_CHAT: "New Chat",
    readiness.SHIFT: "shift",
    readiness.OPTED_OUT: "phone sent STOP",
    readiness.ESCALATION: "escalation (on call only)",
}
ACCOUNT_OFF = ("off in the account settings", "off in account")
KEY = " (Ctrl+Y)"


def line_for(ready: Readiness, width: int) -> Text:
    """``ready`` in at most ``width`` columns: full words, else short ones, else cut."""
    if ready.configured:
        candidates = [readiness.CONFIGURED + KEY, readiness.CONFIGURED, "Mobile alerts configured"]
        style = "green"
    else:
        own = [m for m in ready.missing if m != readiness.ACCOUNT_OFF]
        off = readiness.ACCOUNT_OFF in ready.missing
        candidates = []
        for words, account in ((None, ACCOUNT_OFF[0]), (SHORT, ACCOUNT_OFF[1])):
            named = [words.get(m, m) if words else m for m in own]
            text = "Mobile alerts " + account if off else "Mobile alerts:"
            if named:
                text += ("; missing " if off else " missing ") + ", ".join(named)
            candidates += [text + KEY, text]
        style = "yellow"
    for candidate in candidates:
        if len(candidate) <= width:
            return Text(candidate, style=style)
    last = candidates[-1]
    return Text(last[: max(width - 1, 0)] + "…", style=style)


class AlertReadinessLine(Static):
    DEFAULT_CSS = """
    AlertReadinessLine { dock: top; height: 1; width: 100%; padding: 0 1; }
    """

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__(id="alert-readiness")
        self.context = context
        self.ready: Readiness | None = None

    async def on_mount(self) -> None:
        if self.context.actor.id is None:
            self.display = False  # the local operator is nobody's staff: no phone to alert
            return
        self.app.changes.subscribe(self, self.on_changes)  # type: ignore[attr-defined]
        self.set_interval(CLOCK_SECONDS, self.reload, name="alert-readiness-clock")
        await self.reload()

    async def reload(self) -> None:
        if self.context.actor.id is None:
            return
        self.ready = await readiness.readiness(self.context.db, self.context.actor)
        self.refresh()

    def touches_me(self, changes: Changes) -> bool:
        me = self.context.actor.id
        return changes.missed or any(
            e.kind == "settings.changed"
            or e.kind.startswith("shift.")
            or (e.entity == "agent" and e.entity_id == me)
            for e in changes.events
        )

    async def on_changes(self, changes: Changes) -> None:
        if self.touches_me(changes):
            await self.reload()

    def render(self) -> Text:
        if self.ready is None:
            return Text()
        return line_for(self.ready, self.content_size.width)

    class Open(Message):
        """The line was clicked: whoever holds it opens My alerts."""

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.post_message(self.Open())
