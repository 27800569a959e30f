"""The messages of one conversation, drawn with the line API.

A thread can hold tens of thousands of messages; the pane loads them in
pages of 200 and this widget only draws the lines in view. Each message is
rendered once per width into strips and cached, so a status change
(queued → sent → delivered) re-renders that one message, not the thread.
Bodies and contact names are the contact's own text: always ``literal``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from rich.segment import Segment
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from console.text import literal
from console.widgets.formatting import clock_text
from core.sms.conversations import Message

STATUS_STYLES = {
    "queued": "yellow",
    "sending": "yellow",
    "sent": "cyan",
    "delivered": "green",
    "failed": "bold red",
    "received": "dim",
}
AUTO_KINDS = {
    "optout_confirmation": "opt-out confirmation",
    "optin_confirmation": "opt-in confirmation",
    "help_reply": "help reply",
}


def message_text(message: Message, *, contact: str, now: datetime, can_decide: bool = True) -> Text:
    """A message as the agent reads it: a header line, the body, its attachments."""
    out = message.direction == "out"
    head = Text()
    if out:
        head.append("▶ out ", style="bold green")
        if message.author:
            head.append_text(literal(message.author, style="bold"))
        else:
            head.append("auto", style="bold magenta")
            if message.kind in AUTO_KINDS:
                head.append(f" ({AUTO_KINDS[message.kind]})", style="magenta")
    else:
        head.append("◀ in ", style="bold cyan")
        head.append_text(literal(contact or "contact", style="bold"))
    head.append(f" · {clock_text(message.created_at, now)} · ", style="dim")
    head.append(message.status, style=STATUS_STYLES.get(message.status, ""))
    if message.status == "failed" and message.error:
        head.append(": ", style="bold red")
        head.append_text(literal(message.error, style="red", one_line=False))
    parts = message.segments
    head.append(f" · {parts} seg{'' if parts == 1 else 's'}", style="dim")
    if message.optout_flag == "pending":
        hint = ": o confirms, x dismisses" if can_decide else ", waiting for an agent"
        head.append(f"\n⚠ possible opt-out{hint}", style="bold reverse yellow")
    elif message.optout_flag in ("confirmed", "dismissed"):
        head.append(f"\nopt-out {message.optout_flag}", style="dim italic")
    body = literal(message.body, one_line=False)
    text = Text()
    text.append_text(head)
    if message.body:
        text.append("\n")
        text.append_text(body)
    for name in message.attachments:
        text.append("\n📎 ", style="bold")
        text.append_text(literal(name))
    return text


class MessageList(ScrollView, can_focus=True):
    """Oldest at the top, newest at the bottom; only the visible lines are drawn."""

    DEFAULT_CSS = """
    MessageList { height: 1fr; scrollbar-gutter: stable; scrollbar-size-vertical: 1; }
    MessageList:focus { background-tint: $foreground 4%; }
    """

    def __init__(
        self, *, now: Callable[[], datetime], can_decide: bool = True, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self._now = now
        self._can_decide = can_decide
        self.contact = ""
        self.messages: list[Message] = []
        self._rendered: dict[int, tuple[tuple[object, ...], list[Strip]]] = {}
        self._lines: list[Strip] = []
        self._width = 0

    # --- content ----------------------------------------------------------

    def set_messages(self, messages: Iterable[Message], *, contact: str) -> None:
        """Show a new thread, scrolled to its end."""
        self.contact = contact
        self.messages = sorted(messages, key=lambda m: m.id)
        self._rendered.clear()
        self._relayout()
        self.scroll_end(animate=False, immediate=True)
        self.call_after_refresh(self.scroll_end, animate=False)

    def merge(self, messages: Iterable[Message]) -> list[Message]:
        """Add new messages and update changed ones in place; returns the new ones.

        Older pages already loaded stay; the view follows the end only when
        it was already there, so reading history is not interrupted.
        """
        by_id = {m.id: m for m in self.messages}
        added = []
        changed = False
        for message in messages:
            known = by_id.get(message.id)
            if known is None:
                added.append(message)
            elif known != message:
                changed = True
            else:
                continue
            by_id[message.id] = message
        if not added and not changed:
            return []
        following = self.is_at_end
        self.messages = sorted(by_id.values(), key=lambda m: m.id)
        self._relayout()
        if following and added:
            self.scroll_end(animate=False, immediate=True)
            self.call_after_refresh(self.scroll_end, animate=False)
        return added

    def prepend(self, earlier: Iterable[Message]) -> int:
        """Put an earlier page above, keeping the lines in view where they are."""
        known = {m.id for m in self.messages}
        fresh = [m for m in earlier if m.id not in known]
        if not fresh:
            return 0
        before = len(self._lines)
        self.messages = sorted([*fresh, *self.messages], key=lambda m: m.id)
        self._relayout()
        self.scroll_to(y=self.scroll_y + len(self._lines) - before, animate=False, immediate=True)
        return len(fresh)

    def clear(self) -> None:
        self.messages = []
        self._rendered.clear()
        self._relayout()

    @property
    def is_at_end(self) -> bool:
        return self.scroll_y >= self.max_scroll_y - 1

    def plain_text(self) -> str:
        """What the thread reads as, all loaded lines (for tests and copy)."""
        return "\n".join(strip.text.rstrip() for strip in self._lines)

    # --- drawing ----------------------------------------------------------

    def _wrap_width(self) -> int:
        return max(self.scrollable_content_region.width, 10)

    def _render_message(self, message: Message, width: int) -> list[Strip]:
        now = self._now()
        key = (message, width, clock_text(message.created_at, now), self.contact)
        cached = self._rendered.get(message.id)
        if cached is not None and cached[0] == key:
            return cached[1]
        console = self.app.console
        options = console.options.update_width(width)
        text = message_text(message, contact=self.contact, now=now, can_decide=self._can_decide)
        lines = console.render_lines(text, options, pad=False)
        strips = [Strip(line) for line in lines]
        strips.append(Strip([Segment("")], 0))
        self._rendered[message.id] = (key, strips)
        return strips

    def _relayout(self) -> None:
        width = self._wrap_width()
        self._width = width
        lines: list[Strip] = []
        if not self.messages:
            lines.append(Strip([Segment("No messages yet.", self.app.console.get_style("dim"))]))
        for message in self.messages:
            lines.extend(self._render_message(message, width))
        self._lines = lines
        self.virtual_size = Size(width, len(lines))
        self.refresh()

    def on_resize(self) -> None:
        if self._wrap_width() != self._width:
            following = self.is_at_end
            self._relayout()
            if following:
                self.scroll_end(animate=False, immediate=True)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        style = self.rich_style
        if index >= len(self._lines):
            return Strip.blank(width, style)
        return self._lines[index].crop_extend(scroll_x, scroll_x + width, style).apply_style(style)
