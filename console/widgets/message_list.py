"""The messages of one conversation, drawn with the line API.

A thread can hold tens of thousands of messages; the pane loads them in
pages of 200 and this widget only renders the messages in view. Opening a
thread must not hold up the next key, so the widget never renders a page to
learn its height: a message's height is estimated from its text until it
comes near the view, is rendered then (into strips, cached per width) and its
estimate replaced by the true height, keeping what is on screen where it is.
A status change (queued → sent → delivered) re-renders that one message.
Bodies and contact names are the contact's own text: always ``literal``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from datetime import datetime
from itertools import accumulate
from typing import Any

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from console.text import literal
from console.times import clock_text
from core.sms.conversations import Message
from core.text import counted

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
    head.append(f" · {counted(parts, 'seg')}", style="dim")
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


HEADER_CELLS = 26
"""The header's own cells besides the name and status: arrow, clock, segments."""


def estimated_height(message: Message, *, contact: str, width: int) -> int:
    """The lines ``message_text`` takes at ``width``, guessed without rendering it.

    Exact for short messages; a long body may wrap one line more or less
    (words wrap, not cells), which the list corrects once it renders it.
    """
    if message.direction == "in":
        who = contact or "contact"
    elif message.author:
        who = message.author
    else:
        who = f"auto ({AUTO_KINDS[message.kind]})" if message.kind in AUTO_KINDS else "auto"
    head = HEADER_CELLS + cell_len(who) + len(message.status)
    if message.status == "failed" and message.error:
        head += 2 + cell_len(message.error)
    lines = -(-head // width)
    if message.optout_flag == "pending":
        lines += -(-40 // width)
    elif message.optout_flag in ("confirmed", "dismissed"):
        lines += 1
    if message.body:
        lines += sum(max(1, -(-cell_len(part) // width)) for part in message.body.split("\n"))
    return lines + len(message.attachments) + 1  # a blank line after each message


class MessageList(ScrollView, can_focus=True):
    """Oldest at the top, newest at the bottom; only the messages in view are rendered."""

    DEFAULT_CSS = """
    MessageList { height: 1fr; scrollbar-gutter: stable; scrollbar-size-vertical: 1; }
    MessageList:focus { background-tint: $foreground 4%; }
    """

    MARGIN = 8
    """Lines rendered beyond each edge of the view, so a line or two of scrolling
    finds its messages measured (their heights true) before they show."""

    def __init__(
        self, *, now: Callable[[], datetime], can_decide: bool = True, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self._now = now
        self._can_decide = can_decide
        self.contact = ""
        self.messages: list[Message] = []
        self._rendered: dict[int, tuple[tuple[object, ...], list[Strip]]] = {}
        """Message id → (what it was rendered from, its strips): one width at a time."""
        self._heights: dict[int, int] = {}
        """Message id → its height at ``_width``: true once rendered, else estimated."""
        self._offsets: list[int] = [0]
        """The first line of each message in ``messages``, then the total."""
        self._width = 0
        self._measuring = False
        self._frame: tuple[int, int, int, Style] | None = None
        self._at_end = True
        """The view shows the end: it stays there as the list grows or the width changes.
        Kept as scrolling happens, since a resize moves the end before it is seen."""

    # --- content ----------------------------------------------------------

    def set_messages(self, messages: Iterable[Message], *, contact: str) -> None:
        """Show a new thread, scrolled to its end."""
        self.contact = contact
        self.messages = sorted(messages, key=lambda m: m.id)
        self._rendered.clear()
        self._heights.clear()
        self._at_end = True
        self._relayout()
        self.scroll_end(animate=False, immediate=True)
        self._measure_view()
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
                self._heights.pop(message.id, None)  # re-estimated, then rendered in view
            else:
                continue
            by_id[message.id] = message
        if not added and not changed:
            return []
        following = self._at_end
        anchor = self._anchor()
        self.messages = sorted(by_id.values(), key=lambda m: m.id)
        self._relayout()
        if following and added:
            self.scroll_end(animate=False, immediate=True)
            self.call_after_refresh(self.scroll_end, animate=False)
        else:
            self._restore(anchor, following=following)
        self._measure_view()
        return added

    def prepend(self, earlier: Iterable[Message]) -> int:
        """Put an earlier page above, keeping the lines in view where they are."""
        known = {m.id for m in self.messages}
        fresh = [m for m in earlier if m.id not in known]
        if not fresh:
            return 0
        anchor = self._anchor()
        self.messages = sorted([*fresh, *self.messages], key=lambda m: m.id)
        self._relayout()
        self._restore(anchor, following=False)
        self._measure_view()
        return len(fresh)

    def clear(self) -> None:
        self.messages = []
        self._rendered.clear()
        self._heights.clear()
        self._relayout()

    @property
    def is_at_end(self) -> bool:
        return self.scroll_y >= self.max_scroll_y - 1

    def plain_text(self) -> str:
        """What the thread reads as, all loaded messages (for tests and copy).

        Renders every loaded message: fine for a test or a copy, not for a frame.
        """
        if not self.messages:
            return "No messages yet."
        width = self._width or self._wrap_width()
        strips = [self._render_message(message, width) for message in self.messages]
        if width == self._width:
            self._correct({m.id: len(s) for m, s in zip(self.messages, strips, strict=True)})
        return "\n".join(strip.text.rstrip() for lines in strips for strip in lines)

    # --- layout -----------------------------------------------------------

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
        """Lay the messages out from their known heights, estimating the others.

        Cheap (no rendering): arithmetic over the loaded messages.
        """
        width = self._wrap_width()
        if width != self._width:
            self._width = width
            self._heights.clear()
            self._rendered.clear()
        heights = self._heights
        for message in self.messages:
            if message.id not in heights:
                heights[message.id] = estimated_height(message, contact=self.contact, width=width)
        self._offsets = [0, *accumulate(heights[m.id] for m in self.messages)]
        total = self._offsets[-1] if self.messages else 1  # "No messages yet."
        self.virtual_size = Size(width, total)
        self.refresh()

    def _index_at(self, line: int) -> int:
        """The message showing ``line`` (the first or last one beyond either end)."""
        index = bisect_right(self._offsets, line) - 1
        return min(max(index, 0), len(self.messages) - 1)

    def _anchor(self) -> tuple[int, int] | None:
        """The message at the top of the view and how far into it the view starts."""
        if not self.messages:
            return None
        top = round(self.scroll_y)
        index = self._index_at(top)
        return self.messages[index].id, top - self._offsets[index]

    def _restore(self, anchor: tuple[int, int] | None, *, following: bool) -> None:
        """Scroll so the anchor message is where it was (or to the end, when following)."""
        if following:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)
            return
        if anchor is None:
            return
        message_id, into = anchor
        index = next((i for i, m in enumerate(self.messages) if m.id == message_id), None)
        if index is None:
            return
        y = self._offsets[index] + into
        if y != round(self.scroll_y):
            # Past an animation's end too: the target moved with the lines above it.
            self.scroll_to(y=y, animate=False, immediate=True)

    def _correct(self, heights: dict[int, int]) -> None:
        """Replace estimates with true heights, keeping the view on the same lines."""
        changed = {i: h for i, h in heights.items() if self._heights.get(i) != h}
        if not changed:
            return
        following = self._at_end
        anchor = self._anchor()
        self._heights.update(changed)
        self._relayout()
        self._restore(anchor, following=following)

    def _measure_view(self) -> None:
        """Render the messages in view (and a margin), correcting their estimated heights.

        Each pass renders only a screenful or so of messages, so it stays a
        few milliseconds however long the thread.
        """
        if self._measuring or not self.messages:
            return
        view = self.scrollable_content_region.height
        if view <= 0:
            return  # not laid out yet: measured on the resize that lays it out
        self._measuring = True
        try:
            for _ in range(4):  # a correction can bring unmeasured messages into view
                width = self._width
                top = round(self.scroll_y)
                first = self._index_at(top - self.MARGIN)
                last = self._index_at(top + view + self.MARGIN)
                measured = {
                    m.id: len(self._render_message(m, width))
                    for m in self.messages[first : last + 1]
                }
                if all(self._heights.get(i) == h for i, h in measured.items()):
                    break
                self._correct(measured)
        finally:
            self._measuring = False

    # --- events -----------------------------------------------------------

    def _scroll_to(
        self, x: float | None = None, y: float | None = None, *, animate: bool = True, **rest: Any
    ) -> bool:
        # Always a jump, never a glide: a glide heads for a line whose position
        # changes as the messages it passes render (their estimates corrected).
        return super()._scroll_to(x, y, animate=False, **rest)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            self._measure_view()
        self._at_end = self.is_at_end

    def on_resize(self) -> None:
        following = self._at_end
        if self._wrap_width() != self._width:
            anchor = self._anchor()
            self._relayout()
            self._restore(anchor, following=following)
        elif following and not self.is_at_end:
            self._restore(None, following=True)
        self._measure_view()

    # --- drawing ----------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        # What every line of a frame shares, worked out once a frame: the
        # style walks the ancestors, and a frame draws every line in view.
        scroll_x, scroll_y = self.scroll_offset
        self._frame = (scroll_x, scroll_y, self.scrollable_content_region.width, self.rich_style)
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def render_line(self, y: int) -> Strip:
        if self._frame is not None:
            scroll_x, scroll_y, width, style = self._frame
        else:
            scroll_x, scroll_y = self.scroll_offset
            width, style = self.scrollable_content_region.width, self.rich_style
        line = scroll_y + y
        if not self.messages:
            if line != 0:
                return Strip.blank(width, style)
            dim = self.app.console.get_style("dim")
            strip = Strip([Segment("No messages yet.", dim)])
        elif line >= self._offsets[-1]:
            return Strip.blank(width, style)
        else:
            index = self._index_at(line)
            message = self.messages[index]
            cached = self._rendered.get(message.id)
            if cached is not None and cached[0][0] == message and cached[0][1] == self._width:
                strips = cached[1]
            else:  # not measured yet (a jump past the margin): render it now
                strips = self._render_message(message, self._width)
            if len(strips) != self._heights[message.id]:
                self.call_later(self._measure_view)  # the estimate was off: correct it
            into = line - self._offsets[index]
            if into >= len(strips):
                return Strip.blank(width, style)
            strip = strips[into]
        return strip.crop_extend(scroll_x, scroll_x + width, style).apply_style(style)
