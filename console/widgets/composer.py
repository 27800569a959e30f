"""Writing an SMS: the text, the live segment counter, an MMS attachment, the "send to" pick.

A canned reply (the thread's Ctrl+L) arrives through ``insert_text``, rendered by core.

The composer only collects what the agent wants to send and posts
``Composer.Submitted``; the thread pane calls core to send it, so every rule
(opt-out, mobile only, MMS numbers) stays in core and its error is shown as is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Select, Static

from console.removal import gone
from console.text import literal
from console.widgets import steady
from console.widgets.editing import Input, TextArea
from console.widgets.segment_counter import SegmentCounter
from core.text import counted

WRITE_HINT = "Write an SMS… (ctrl+s sends)"


class ComposerText(TextArea):
    """The message being written. Ctrl+E is the look-alike rewrite here, not end-of-line."""

    BINDINGS = [
        Binding(
            "ctrl+e",
            "smart_encoding",
            "Use GSM-7",
            id="composer.smart_encoding",
            tooltip="Replace look-alike characters (curly quotes, long dashes…) to save segments",
        ),
    ]

    def action_smart_encoding(self) -> None:
        composer = next(a for a in self.ancestors if isinstance(a, Composer))
        composer.action_smart_encoding()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "smart_encoding":
            composer = next((a for a in self.ancestors if isinstance(a, Composer)), None)
            return composer is not None and composer.counter.offer is not None
        return super().check_action(action, parameters)


class Composer(Vertical):
    """The composer at the foot of the thread."""

    DEFAULT_CSS = """
    Composer { height: auto; border-top: solid $panel; }
    Composer #composer-to { width: 1fr; }
    Composer #composer-to-line { height: 1; }
    Composer #composer-to-label { width: auto; padding: 0 1; }
    Composer ComposerText { height: 4; }
    Composer #composer-attachment { height: 1; padding: 0 1; color: $text-accent; }
    Composer #composer-attach-path { height: 1; }
    """
    BINDINGS = [
        Binding(
            "ctrl+s",
            "send",
            "Send",
            id="composer.send",
            tooltip="Send this message (SMS, or MMS with the attachment)",
        ),
        Binding(
            "ctrl+o",
            "attach",
            "Attach",
            id="composer.attach",
            tooltip="Attach a file (image, PDF…) to send as MMS",
        ),
        Binding(
            "ctrl+r",
            "remove_attachment",
            "Unattach",
            id="composer.remove_attachment",
            tooltip="Remove the attachment; the message goes as plain SMS",
        ),
        Binding(
            "escape",
            "cancel_attach",
            "Cancel",
            id="composer.cancel_attach",
            tooltip="Close the file path box without attaching",
        ),
    ]

    @dataclass
    class Submitted(Message):
        """The agent asked to send ``body`` (with ``attachment``) to ``to``."""

        composer: Composer
        body: str
        attachment: Path | None
        to: str | None
        """The picked "send to" number, when writing to a contact with no conversation open."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.attachment: Path | None = None
        self.blocked: str | None = None
        """Why nothing can be sent right now (opted out, no mobile), or None."""
        self.sending = False
        self._recipients: list[str] = []

    def compose(self) -> ComposeResult:
        with Horizontal(id="composer-to-line"):
            yield Static("Send to", id="composer-to-label")
            yield Select[str](
                [], prompt="Send to", allow_blank=True, compact=True, id="composer-to"
            )
        yield ComposerText(
            id="composer-text",
            compact=True,
            soft_wrap=True,
            show_line_numbers=False,
            placeholder=WRITE_HINT,
        )
        yield Static(id="composer-attachment")
        yield Input(
            placeholder="File to attach (Enter attaches, Esc cancels)",
            compact=True,
            id="composer-attach-path",
        )
        yield SegmentCounter(id="composer-counter")

    def on_mount(self) -> None:
        if gone(self):
            return  # taken away before it composed (with its thread): it has no parts
        self.query_one("#composer-to-line").display = False
        self.query_one("#composer-attachment").display = False
        self.query_one("#composer-attach-path").display = False
        self.text_area.tooltip = "Write the SMS; Ctrl+S sends"

    # --- parts ------------------------------------------------------------

    @property
    def text_area(self) -> ComposerText:
        return self.query_one(ComposerText)

    @property
    def counter(self) -> SegmentCounter:
        return self.query_one(SegmentCounter)

    @property
    def recipient_select(self) -> Select[str]:
        return self.query_one("#composer-to", Select)

    @property
    def text(self) -> str:
        return self.text_area.text

    @property
    def recipient(self) -> str | None:
        """The picked "send to" number, or None when replying in a conversation."""
        if not self.query_one("#composer-to-line").display:
            return None
        value = self.recipient_select.value
        return value if isinstance(value, str) else None

    # --- state set by the thread ------------------------------------------

    def set_price(self, cost_per_segment: float, currency: str) -> None:
        self.counter.set_price(cost_per_segment, currency)
        self.counter.recount(self.text)

    def set_notice(self, notice: str | None) -> None:
        """The opt-out line the next SMS to this number carries (counted with the text), or None."""
        had_offer = self.counter.offer is not None
        self.counter.set_notice(notice)
        if (self.counter.recount(self.text) is not None) != had_offer:
            self.text_area.refresh_bindings()

    def set_recipients(self, mobiles: list[str] | None) -> None:
        """Offer a "send to" pick (first number chosen), or hide it with ``None``."""
        line = self.query_one("#composer-to-line")
        select = self.recipient_select
        if mobiles is None:
            line.display = False
            if self._recipients:  # setting options lays the screen out: only when some were shown
                select.set_options([])
            self._recipients = []
            return
        self._recipients = list(mobiles)
        select.set_options([(literal(number), number) for number in mobiles])
        if mobiles:
            select.value = mobiles[0]
        line.display = True

    def block(self, reason: str | None) -> None:
        """Disable writing and sending with ``reason`` shown, or enable again with None."""
        changed = (reason is None) != (self.blocked is None)
        self.blocked = reason
        area = self.text_area
        area.disabled = reason is not None
        area.placeholder = f"Sending is off. {reason}" if reason else WRITE_HINT
        if changed:  # a refresh rebuilds the footer: only when Send comes or goes
            self.refresh_bindings()

    def insert_text(self, text: str) -> None:
        """``text`` at the cursor (over a selection, as typing is), the cursor after it.

        Through the edit API, so Ctrl+Z takes it out again; the counter recounts
        on the change like on any key.
        """
        area = self.text_area
        start, end = area.selection
        area.replace(text, start, end, maintain_selection_offset=False)

    def clear(self, *, draft: str = "") -> None:
        """Empty text (or ``draft``), no attachment: after a send, or for another conversation."""
        area = self.text_area
        if draft:
            area.load_text(draft)
            area.move_cursor(area.document.end)
        else:
            area.clear()
        self.counter.recount(self.text)
        self._set_attachment(None)

    def _set_attachment(self, path: Path | None) -> None:
        changed = (path is None) != (self.attachment is None)
        self.attachment = path
        chip = self.query_one("#composer-attachment", Static)
        if path is None:
            chip.display = False
            steady.update(chip, "")
        else:
            shown = literal("📎 ")
            shown.append_text(literal(path.name))
            shown.append("   ctrl+r removes", style="dim")
            chip.update(shown)
            chip.display = True
        if changed:  # a refresh rebuilds the footer: only when ctrl+r comes or goes
            self.refresh_bindings()

    # --- events -----------------------------------------------------------

    @on(TextArea.Changed, "#composer-text")
    def _recount(self) -> None:
        had_offer = self.counter.offer is not None
        offer = self.counter.recount(self.text)
        if (offer is not None) != had_offer:
            self.text_area.refresh_bindings()  # the footer shows ctrl+e only while it helps

    @on(Input.Submitted, "#composer-attach-path")
    def _attach_path(self, event: Input.Submitted) -> None:
        raw = event.value.strip()
        if not raw:
            self.action_cancel_attach()
            return
        path = Path(raw).expanduser()
        if not path.is_file():
            self.notify(f"No file at {path}", severity="error", markup=False)
            return
        self._set_attachment(path)
        self.action_cancel_attach()

    # --- actions ----------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "remove_attachment":
            return self.attachment is not None
        if action == "cancel_attach":
            return bool(self.query_one("#composer-attach-path").display)
        if action in ("send", "attach"):
            return None if self.blocked or self.sending else True
        return True

    def action_send(self) -> None:
        if self.blocked:
            self.notify(self.blocked, severity="warning", markup=False)
            return
        if self.sending:
            return
        self.post_message(self.Submitted(self, self.text, self.attachment, self.recipient))

    def action_smart_encoding(self) -> None:
        offer = self.counter.offer
        if offer is None or self.text_area.disabled:
            return
        area = self.text_area
        # Through the edit API, so Ctrl+Z undoes the rewrite.
        area.replace(offer.text, area.document.start, area.document.end)
        self.notify(
            f"Replaced {counted(offer.replaced, 'look-alike character')}:"
            f" {counted(offer.segments_saved, 'segment')} saved",
            markup=False,
        )

    def action_attach(self) -> None:
        if self.blocked:
            return
        box = self.query_one("#composer-attach-path", Input)
        box.display = True
        box.focus()
        self.refresh_bindings()

    def action_cancel_attach(self) -> None:
        box = self.query_one("#composer-attach-path", Input)
        box.value = ""
        box.display = False
        if not self.text_area.disabled:
            self.text_area.focus()
        self.refresh_bindings()

    def action_remove_attachment(self) -> None:
        self._set_attachment(None)
