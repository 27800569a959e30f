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


def names_in(template: str) -> set[str]:
    return set(PLACEHOLDER.findall(template))


def substitute(template: str, values: Mapping[str, str], default: str = "") -> str:
    """The text one recipient gets: each placeholder replaced once, as Sinch does."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), default), template)


def fills_to(template: str, values: Mapping[str, str], body: str) -> bool:
    """Whether sending ``template`` with ``values`` gives exactly ``body``, safely."""
    if any(OPENER in value for value in values.values()):
        return False
    named = names_in(template)
    if not named <= values.keys():
        return False
    # A "${" left outside our placeholders would be read by the provider as one.
    if OPENER in PLACEHOLDER.sub("", template):
        return False
    return substitute(template, values) == body
