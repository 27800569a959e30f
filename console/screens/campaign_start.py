"""When a campaign starts (s): now, or at a date and time in the account's zone.

Two choices: Start now (n), or a time typed in the field then Enter (or the
Start at button). The time is read as the CLI's ``--at`` (``campaigns
.parse_start``) and a time in the past is refused by core, in its words,
under the field, what was typed kept. The estimate's confirm comes after this,
before anything is sent: this screen only says when.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from console.text import literal
from console.widgets.editing import Input
from core.campaigns import campaigns, lifecycle
from core.db import Database
from core.errors import SwitchboardError
from core.records import record


@record
class StartWhen:
    at: datetime | None
    """None: now."""


class StartScreen(ModalScreen[StartWhen | None]):
    """Dismissed with when to start, or None on Esc (nothing started)."""

    DEFAULT_CSS = """
    StartScreen { align: center middle; }
    StartScreen > Vertical {
        width: 64; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    StartScreen #start-title { margin-bottom: 1; }
    StartScreen #start-error { color: $text-error; margin-top: 1; display: none; }
    StartScreen Horizontal { height: auto; align-horizontal: right; margin-top: 1; }
    StartScreen Button { margin-left: 1; }
    StartScreen #start-hint { color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Close", id="start.close", tooltip="Do not start"),
        Binding("ctrl+n", "now", "Start now", id="start.now", tooltip="Start as soon as confirmed"),
    ]

    def __init__(self, db: Database, name: str, zone: ZoneInfo) -> None:
        super().__init__(id="campaign-start")
        self.db = db
        self.campaign_name = name
        self.zone = zone

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Text.assemble(
                    "Start campaign ", literal(self.campaign_name, style="bold"), ": when?"
                ),
                id="start-title",
            )
            yield Input(placeholder="2026-03-02T09:00", id="start-at", compact=True)
            yield Static(id="start-error")
            with Horizontal():
                yield Button("Start now", id="start-now")
                yield Button("Start at", variant="primary", id="start-later")
            yield Static(
                f"Enter: start at the time typed (YYYY-MM-DD HH:MM, {self.zone.key}) ·"
                " Ctrl+N: start now · Esc close",
                id="start-hint",
            )

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @property
    def error(self) -> str:
        return str(self.query_one("#start-error", Static).render())

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_now(self) -> None:
        self.dismiss(StartWhen(None))

    @on(Button.Pressed, "#start-now")
    def _now(self) -> None:
        self.action_now()

    @on(Button.Pressed, "#start-later")
    def _later(self) -> None:
        self._at(self.query_one(Input).value)

    @on(Input.Submitted, "#start-at")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._at(event.value)

    def _at(self, text: str) -> None:
        try:
            at = campaigns.parse_start(text, self.zone.key)
            lifecycle.check_start(self.db, at, self.zone)
        except SwitchboardError as exc:
            shown = self.query_one("#start-error", Static)
            shown.update(literal(str(exc), one_line=False))
            shown.display = True
            return
        self.dismiss(StartWhen(at))
