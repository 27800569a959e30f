"""Text from strangers (SMS bodies, contact names) made safe to print.

A terminal acts on control characters: ESC starts ANSI and OSC sequences
that can recolour, retitle, or write to the clipboard. Every control
character is shown as a visible escape instead, so the text reads literally.
"""

from __future__ import annotations

import unicodedata


def printable(text: str, *, keep_newlines: bool = False) -> str:
    out = []
    for ch in text:
        if ch == "\n" and keep_newlines:
            out.append(ch)
        elif ch == "\t":
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") and not (
            unicodedata.category(ch) == "Cf" and ch in "\u200d\u200c"
        ):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)
