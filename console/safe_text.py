"""Text from strangers (SMS bodies, contact names) made safe to print.

A terminal acts on control characters: ESC starts ANSI and OSC sequences
that can recolour, retitle, or write to the clipboard. Every control
character is shown as a visible escape instead, so the text reads literally.
"""

from __future__ import annotations

import re
import unicodedata

_UNSAFE = ("Cc", "Cf", "Cs", "Zl", "Zp")
_JOINERS = "\u200d\u200c"  # keep emoji sequences and scripts that need them intact
_NON_ASCII = re.compile(r"[^\x00-\x7e]")


def is_unsafe(ch: str) -> bool:
    """Whether the terminal would act on ``ch`` or not show it (control, format, surrogate,
    line and paragraph separators), the joiners scripts and emoji need apart."""
    return unicodedata.category(ch) in _UNSAFE and ch not in _JOINERS


def _pieces(text: str, keep_newlines: bool) -> list[str]:
    """What each character of ``text`` looks like once made safe (an escape is one piece)."""
    out = []
    for ch in text:
        if ch == "\n" and keep_newlines:
            out.append(ch)
        elif ch == "\t":
            out.append(" ")
        elif is_unsafe(ch):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return out


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every control character shown as a visible escape (\\x1b)."""
    return "".join(_pieces(text, keep_newlines))


def clipped(text: str, width: int) -> str:
    """``printable(text)`` cut to at most ``width`` characters, ending in … when cut.

    Cut after escaping and never inside an escape: cutting first could leave
    half a sequence for the terminal, cutting ``\\x1b`` to ``\\x1`` misleads.
    """
    pieces = _pieces(text, keep_newlines=False)
    if sum(len(p) for p in pieces) <= width:
        return "".join(pieces)
    out, used = [], 0
    for piece in pieces:
        if used + len(piece) > width - 1:
            break
        out.append(piece)
        used += len(piece)
    return "".join(out) + "…"


def _json_escape(match: re.Match[str]) -> str:
    ch = match.group()
    if not is_unsafe(ch):
        return ch
    code = ord(ch)
    if code > 0xFFFF:  # JSON spells these as a surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def json_printable(encoded: str) -> str:
    """JSON text (``ensure_ascii=False``) with every control character escaped.

    ``json.dumps`` escapes only C0 controls; DEL, C1 controls (0x9b is CSI to
    many terminals), bidi overrides and line separators would reach the
    terminal raw. As ``\\uXXXX`` escapes they read literally on screen and
    decode to the same value.
    """
    return _NON_ASCII.sub(_json_escape, encoded.replace("\x7f", "\\u007f"))
