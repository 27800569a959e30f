"""The line above the footer: who you are (permission profile, activity), the month's
SMS bundle, what the worker does."""

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
    activity: reactive[str] = reactive("")
    bundle: reactive[Text] = reactive(Text)
    """This month's SMS bundle use (``console.widgets.bundle_use``); empty without one."""

    def render(self) -> Text:
        text = Text()
        text.append(self.who, style="bold")
        text.append(" (F8)", style="dim")
        if self.activity:
            text.append(" · ")
            text.append(self.activity, style="bold")
            text.append(" (F7)", style="dim")
        if self.bundle:
            text.append("  ·  ")
            text.append_text(self.bundle)
        text.append("  ·  ")
        text.append(self.worker_state)
        return text
