"""Contact-supplied text on screen: always literal.

Textual parses a plain ``str`` in a table cell, a Static or a notification as
markup, and markup can carry ``@click`` actions; an unclosed ``[b`` can break
the layout. Every string from outside goes through ``literal`` (a Rich Text,
never parsed) after control characters are made visible, so no escape
sequence reaches the terminal either.
"""

from __future__ import annotations

from rich.text import Text

from console.safe_text import printable


def literal(text: str | None, *, style: str = "", one_line: bool = True) -> Text:
    """``text`` as it is, for display: no markup, no control characters."""
    shown = printable(text or "", keep_newlines=not one_line)
    return Text(shown, style=style, no_wrap=one_line, overflow="ellipsis" if one_line else "fold")
