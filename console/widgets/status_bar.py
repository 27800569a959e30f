"""The line above the footer: who you are, what the worker is doing."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text-muted; padding: 0 1; }
    """

    worker_state: reactive[str] = reactive("worker: starting")
    who: reactive[str] = reactive("")

    def render(self) -> Text:
        text = Text()
        text.append(self.who, style="bold")
        text.append("  ·  ")
        text.append(self.worker_state)
        return text
