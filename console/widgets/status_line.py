"""The line above a list: its keys, or what just happened, in core's words.

Every pane and screen with a list says the outcome of an action here, and a
refusal names the rule in core's own words, which may quote what a stranger
wrote (a name, a CSV cell): so the message is always shown literally, here,
once, rather than by each pane.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.widgets import Static

from console.text import literal


class StatusLine(Static):
    """Shows the hint (the keys) until told something, and again when told nothing."""

    DEFAULT_CSS = """
    StatusLine { height: 1; padding: 0 1; color: $text-muted; }
    StatusLine.-wrapped { height: auto; max-height: 3; }
    StatusLine.-error { color: $error; }
    """

    def __init__(
        self, hint: str | Callable[[], str] = "", *, wrapped: bool = False, id: str | None = None
    ) -> None:
        """``hint``: the keys, or a function that gives them (for keys that depend on
        the user's rights, read again each time they are shown). ``wrapped``: a
        message may take up to three lines, its own line breaks kept."""
        # A hint that depends on rights is shown by the owner's first say(None), once
        # it knows them.
        shown = Text(hint) if isinstance(hint, str) else ""
        super().__init__(shown, id=id, classes="-wrapped" if wrapped else "")
        self._hint = hint
        self._wrapped = wrapped

    def say(self, message: str | None, *, error: bool = False) -> None:
        """``message`` shown literally (an error in the error colour), or the hint."""
        self.set_class(error, "-error")
        if message:
            self.update(literal(message, one_line=not self._wrapped))
        else:
            self.update(Text(self._hint() if callable(self._hint) else self._hint))
