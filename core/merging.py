"""S1: how a contact's fields and a JSON object's keys become merge values.

The rules are Python, and SQL calls them too: core.db registers these functions
on every connection, as a campaign reads its targets' values in SQL
(``core.campaigns.fields.Reader``) and calls them for what SQLite cannot do as
Python does (a key's field name; a string holding a NUL, at which SQLite's
JSON and text functions stop).
"""

from __future__ import annotations

import functools
import json
import re
from typing import Final

_NOT_NAME: Final = re.compile(r"[^a-z0-9]+")


# A few keys, met per target: SQLite calls it for each key of each contact a campaign
# reads (core.db registers it; core.campaigns.fields uses it).
@functools.lru_cache(maxsize=4096)
def field_name(key: str) -> str | None:
    """The field a custom key or CSV column is merged as ("Account manager" ->
    account_manager); None when nothing of it can name a field."""
    name = _NOT_NAME.sub("_", key.strip().lower()).strip("_")[:64]
    if not name:
        return None
    if not name[0].isalpha():
        name = ("f_" + name)[:64]
    return name


def merged_value(text: str, name: str) -> str | None:
    """The value of the first key of JSON object ``text`` that is merged as field
    ``name``, or None. For SQL (core.db registers it): SQLite's JSON functions end a
    string at a NUL (\\u0000), so a text holding one is read by this instead."""
    for key, value in json.loads(text).items():
        if field_name(key) == name:
            return str(value)
    return None


def name_part(name: str, part: str) -> str:
    """A contact's first name (up to its first space) or last name (the rest, without
    the blanks around it), ``part`` being ``first_name`` or ``last_name``."""
    first, _, last = name.partition(" ")
    return first if part == "first_name" else last.strip()
