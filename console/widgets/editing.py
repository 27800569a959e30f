"""Textual's Input and TextArea, drawn without handing a control character to the terminal.

Both draw their value as it is: an ESC in a contact's name (one saved before
contacts refused control characters) or in pasted text reached the terminal,
which acts on it (colours, the window title, the clipboard). Here each such
character is drawn as one visible cell instead, a control picture (␛ for ESC)
or U+FFFD for an invisible format character, so the cursor stays where the
value has it. The value itself is left as it is: saving it is refused by
core's rule, which names the character, so nothing is changed unseen.

The Input's text is made from the visible value (Textual's ``_value``; Rich
would drop a BEL or a CR and leave the cursor off by one), and each line
drawn is checked once more (``render_line``, Textual's public hook), so a
Textual that renames ``_value`` still draws nothing unsafe.

The classes keep Textual's names, so messages (``Input.Submitted``), CSS type
selectors and queries read as before; ruff's banned-api rule (pyproject.toml)
sends every other import here.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.text import Text
from textual.strip import Strip
from textual.widgets import Input as _Input
from textual.widgets import TextArea as _TextArea

from console.safe_text import is_unsafe

_PICTURES = {code: chr(0x2400 + code) for code in range(0x20)} | {0x7F: "\u2421"}


def visible(text: str) -> str:
    """``text`` with each control or invisible format character as one visible character:
    the same number of characters, so positions in it still hold."""
    if text.isprintable():  # the common case, in C; also false for some harmless spaces
        return text
    return "".join(_PICTURES.get(ord(ch), "\ufffd") if is_unsafe(ch) else ch for ch in text)


def _visible_strip(strip: Strip) -> Strip:
    if all(s.control or s.text.isprintable() for s in strip):
        return strip
    width = strip.cell_length
    shown = Strip(
        s if s.control or s.text.isprintable() else Segment(visible(s.text), s.style) for s in strip
    )
    # A control character took no cell and its picture takes one: keep the line's width.
    return shown.crop(0, width) if shown.cell_length > width else shown


class Input(_Input):
    @property
    def _value(self) -> Text:
        # Textual's own, made from the value with its control characters visible: Rich
        # drops some (BEL, CR: a CSV's line end) and the cursor would stand off by one.
        if self.password:
            return super()._value
        text = Text(visible(self.value), no_wrap=True, overflow="ignore", end="")
        return text if self.highlighter is None else self.highlighter(text)

    def render_line(self, y: int) -> Strip:
        # Whatever builds the line: the guarantee that no control character is drawn.
        return _visible_strip(super().render_line(y))


class TextArea(_TextArea):
    def render_line(self, y: int) -> Strip:
        return _visible_strip(super().render_line(y))
