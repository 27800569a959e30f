"""Checking what a person types for a permission profile: names, numbers, yes/no.

Values come from the CLI as text and from the console as text or typed
values; each is checked here where it enters, and refused naming the rule.
"""

from __future__ import annotations

from core.errors import InvalidInput
from core.text import is_utf8, refuse_control_characters

MAX_NAME = 100
MAX_DESCRIPTION = 1000

_YES = {"1", "true", "yes", "on", "y"}
_NO = {"0", "false", "no", "off", "n"}
_NONE = {"", "none", "never", "off"}


def text(label: str, value: object, *, longest: int = MAX_NAME, required: bool = False) -> str:
    """Trimmed text: UTF-8, no control characters, at most ``longest`` characters."""
    if not isinstance(value, str) or not is_utf8(value):
        raise InvalidInput(f"{label} must be text")
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{label} cannot be empty")
    if len(value) > longest:
        raise InvalidInput(f"{label} is too long: {len(value)} characters, the most is {longest}")
    refuse_control_characters(label, value, "\n" if longest > MAX_NAME else "")
    return value


def yes_no(label: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _YES:
        return True
    if isinstance(value, str) and value.strip().lower() in _NO:
        return False
    raise InvalidInput(f"{label} must be yes or no, not {value!r}")


def whole(label: str, value: object, lowest: int, highest: int) -> int:
    """A whole number in [lowest, highest]; the refusal names the range."""
    number: int
    if isinstance(value, bool):
        raise InvalidInput(f"{label} must be a whole number, not {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            raise InvalidInput(f"{label} must be a whole number, not {value!r}") from None
    else:
        raise InvalidInput(f"{label} must be a whole number, not {value!r}")
    if number < 0 and lowest >= 0:
        raise InvalidInput(f"{label} cannot be negative ({number}); it is {lowest}-{highest}")
    if not lowest <= number <= highest:
        raise InvalidInput(f"{label} must be between {lowest} and {highest}, not {number}")
    return number


def optional_whole(label: str, value: object, lowest: int, highest: int) -> int | None:
    """``whole``, or None for "never" (None, '', 'none', 'never', 'off')."""
    if value is None or (isinstance(value, str) and value.strip().lower() in _NONE):
        return None
    return whole(label, value, lowest, highest)


def score(label: str, value: object) -> int:
    """A score: 0-100 (R3)."""
    return whole(label, value, 0, 100)
