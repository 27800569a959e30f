"""What every piece of outside text must be before core keeps it.

Python hands over bytes that were not UTF-8 (a command-line argument, an
environment variable, a JSON ``"\\ud800"``) as lone surrogates. SQLite stores
them, then cannot give them back as text, which breaks every later read of
the row; so they are refused where they enter. Control characters would
reach a terminal or a request line.
"""

from __future__ import annotations

import re
from typing import Final

from core.errors import InvalidInput

LAYOUT: Final = "\n\r\t"
"""The control characters text meant to be read may hold: line breaks and tabs."""

_CONTROL = re.compile("[\x00-\x1f\x7f]")


def is_utf8(text: str) -> bool:
    """``text`` can be written as UTF-8 (it holds no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def has_control_characters(text: str, allowed: str = "") -> bool:
    """``text`` holds a C0 control character or DEL, other than those in ``allowed``."""
    return first_control_character(text, allowed) is not None


def first_control_character(text: str, allowed: str = "") -> str | None:
    """The first C0 control character or DEL in ``text`` not in ``allowed``, or None."""
    # A regular expression: a Python loop over every character of an email body
    # was a noticeable part of a close that queues ten of them.
    return next((m.group() for m in _CONTROL.finditer(text) if m.group() not in allowed), None)


_LAYOUT_NAMES: Final = {"\n": "line breaks", "\r": "line breaks", "\t": "tabs"}
_ONE: Final = {"\n": "a line break", "\r": "a line break", "\t": "a tab"}


def control_refusal(what: str, text: str, allowed: str = "") -> str | None:
    """The refusal naming ``what``, the character and what ``what`` may hold, when
    ``text`` holds a C0 control character or DEL other than those in ``allowed`` (line
    breaks and tabs, the only ones a person types); None when it holds none."""
    found = first_control_character(text, allowed)
    if found is None:
        return None
    may = " and ".join(dict.fromkeys(_LAYOUT_NAMES.get(c, f"U+{ord(c):04X}") for c in allowed))
    return f"{what} holds {_ONE.get(found, 'a control character')} (U+{ord(found):04X})" + (
        f"; it may hold {may}, and no other" if may else ""
    )


def refuse_control_characters(what: str, text: str, allowed: str = "") -> None:
    """InvalidInput with ``control_refusal``'s words, when there is one."""
    refusal = control_refusal(what, text, allowed)
    if refusal is not None:
        raise InvalidInput(refusal)


def counted(n: int, noun: str) -> str:
    """ "1 conversation", "2 conversations", "1,200 messages": a count and its noun."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def segment_rate(per_second: float) -> str:
    """A rate as people read it: "1 segment/s", "0.5 segments/s", "50 segments/s"."""
    return f"{per_second:g} {'segment' if per_second == 1 else 'segments'}/s"
