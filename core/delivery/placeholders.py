"""The provider's placeholder form of a text: ``${name}``, filled per recipient.

A campaign row may carry, beside its rendered ``body``, the same text as a
template in this form (``messages.batch_template``) and its recipient's
values (``messages.batch_values``). Rows that share a template then go to
the provider as one batch with per-recipient ``parameters`` (Sinch's
message parameterisation), though their bodies differ.

The provider substitutes once, so a row goes that way only when doing so
gives exactly its body (``fills_to``): every placeholder in the template is
named in its values, and no value holds ``${``. A value with ``${`` could be
taken for a placeholder by a provider that substitutes again, and a template
whose literal text holds ``${`` (not one of ours) would be read as one; such
a row is not refused, it is sent alone, as its rendered body.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Final

NAME: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")
"""What Sinch allows in a parameter's name (letters, digits, ``.``, ``-``, ``_``)."""
PLACEHOLDER: Final = re.compile(r"\$\{([A-Za-z0-9._-]{1,64})\}")
OPENER: Final = "${"


def placeholder(name: str) -> str:
    """``${name}``; raises ValueError for a name the provider would not take."""
    if not NAME.fullmatch(name):
        raise ValueError(f"{name!r} cannot name a parameter (letters, digits, '.', '-', '_')")
    return f"${{{name}}}"


def names_in(template: str) -> frozenset[str]:
    return _parsed(template)[1]


def substitute(template: str, values: Mapping[str, str], default: str = "") -> str:
    """The text one recipient gets: each placeholder replaced once, as Sinch does."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), default), template)


def safe(template: str) -> bool:
    """Whether the provider would read no placeholder in ``template`` but ours."""
    return not _parsed(template)[2]


def carries(values: Mapping[str, str]) -> bool:
    """Whether these values can go as parameters: none would read as a placeholder."""
    return not any(OPENER in value for value in values.values())


def fills_to(template: str, values: Mapping[str, str], body: str) -> bool:
    """Whether sending ``template`` with ``values`` gives exactly ``body``, safely."""
    pieces, named, literal_opener = _parsed(template)
    # A "${" left outside our placeholders would be read by the provider as one.
    if literal_opener or not named <= values.keys():
        return False
    if any(OPENER in values[name] for name in named):
        return False
    # Odd pieces are names, even ones the text between them.
    return "".join(values[p] if i % 2 else p for i, p in enumerate(pieces)) == body


@functools.lru_cache(maxsize=64)
def _parsed(template: str) -> tuple[list[str], frozenset[str], bool]:
    # A campaign's rows share a few templates: each is taken apart once, not per row.
    pieces = PLACEHOLDER.split(template)
    texts = pieces[::2]
    # "$" just before a placeholder would make "${" with a value starting "{".
    unsafe = any(OPENER in t for t in texts) or any(t.endswith("$") for t in texts[:-1])
    return pieces, frozenset(pieces[1::2]), unsafe
