"""S1: the merge fields a campaign's template may use, and one target's values.

A campaign text is rendered by the one template renderer (``core.templates``)
from: the contact's own fields (name, first and last name, job title, email,
the number texted), the contacts' custom fields (a key such as "Account
manager" is the field ``account_manager``), and the columns of the CSV its
targets came from (``campaign_targets.merge_values``, stored under their
field names). A CSV value wins over a contact's field of the same name: the
file was made for this campaign.
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any, Final

from core.db import Database, Tx
from core.people.contacts import MAX_CUSTOM_VALUE, MAX_EMAIL, MAX_JOB_TITLE, MAX_NAME
from core.templates import Field, Fields

MAX_PHONE: Final = 16
"""E.164: a plus and at most 15 digits."""

BUILT_IN: Final = (
    Field("name", "Name", MAX_NAME),
    Field("first_name", "First name", MAX_NAME),
    Field("last_name", "Last name", MAX_NAME),
    Field("job_title", "Job title", MAX_JOB_TITLE),
    Field("email", "Email", MAX_EMAIL),
    Field("phone", "Phone number", MAX_PHONE, gsm7_only=True),
)
_BUILT_IN_NAMES: Final = frozenset(f.name for f in BUILT_IN)
_NOT_NAME: Final = re.compile(r"[^a-z0-9]+")

Querier = Database | Tx


@functools.lru_cache(maxsize=4096)  # a few keys, met once per target at send time
def field_name(key: str) -> str | None:
    """The field a custom key or CSV column is merged as ("Account manager" ->
    account_manager); None when nothing of it can name a field."""
    name = _NOT_NAME.sub("_", key.strip().lower()).strip("_")[:64]
    if not name:
        return None
    if not name[0].isalpha():
        name = ("f_" + name)[:64]
    return name


async def fields_in(q: Querier, campaign_id: int | None = None) -> Fields:
    """The fields a template may use: built-ins, every custom field some contact has,
    and the CSV columns of ``campaign_id``'s targets."""
    rows = await q.fetchall(
        "SELECT DISTINCT j.key FROM contacts c, json_each(c.custom) j"
        " UNION SELECT DISTINCT j.key FROM campaign_targets t, json_each(t.merge_values) j"
        " WHERE t.campaign_id = ?",
        (campaign_id,),
    )
    extra: dict[str, Field] = {}
    for r in rows:
        name = field_name(r[0])
        if name is None or name in _BUILT_IN_NAMES or name in extra:
            continue
        extra[name] = Field(name, r[0], MAX_CUSTOM_VALUE)
    return Fields((*BUILT_IN, *sorted(extra.values(), key=lambda f: f.name)))


async def still_found(q: Querier, campaign_id: int, used: Iterable[Field]) -> bool:
    """Whether each custom field or CSV column in ``used`` still has a value somewhere,
    under the key ``fields_in`` found it by (its label). Each look stops at its first
    hit: a campaign's dispatch asks this every run instead of reading every contact's
    keys again. False may still be a field kept under another spelling of its key."""
    labels = [f.label for f in used if f.name not in _BUILT_IN_NAMES]
    if not labels:
        return True
    found = await q.fetchone(
        "SELECT "
        + ", ".join(
            # CASE, not OR: the targets are read only when no contact has the key.
            "CASE WHEN EXISTS (SELECT 1 FROM contacts c, json_each(c.custom) j"
            " WHERE j.key = ?) THEN 1 ELSE EXISTS (SELECT 1 FROM campaign_targets t,"
            " json_each(t.merge_values) j WHERE t.campaign_id = ? AND j.key = ?) END"
            for _ in labels
        ),
        [value for label in labels for value in (label, campaign_id, label)],
    )
    return found is not None and all(found)


class Reader:
    """The values of the fields one template uses, for a target at a time: what
    ``values_for`` gives for them ("" for a value it has not), without making the
    others. A dispatch chunk asks this of every target, so it reads no more than the
    template needs: a contact's custom fields are decoded only when it uses one."""

    def __init__(self, used: Iterable[str]) -> None:
        self.names = tuple(dict.fromkeys(used))
        wanted = frozenset(self.names)
        self._phone = "phone" in wanted
        self._name_parts = tuple(n for n in ("name", "first_name", "last_name") if n in wanted)
        self._columns = tuple(n for n in ("job_title", "email") if n in wanted)
        self._custom = wanted - _BUILT_IN_NAMES
        self._wanted = wanted

    def values(
        self,
        contact: sqlite3.Row | Mapping[str, object] | None,
        phone: str,
        merge_values: str | None,
    ) -> dict[str, str]:
        found = dict.fromkeys(self.names, "")
        if self._phone:
            found["phone"] = phone
        if contact is not None:
            if self._name_parts:
                name = str(contact["name"] or "")
                first, _, last = name.partition(" ")
                parts = {"name": name, "first_name": first, "last_name": last.strip()}
                for part in self._name_parts:
                    found[part] = parts[part]
            for column in self._columns:
                found[column] = str(contact[column] or "")
            if self._custom:
                custom = _decoded(str(contact["custom"] or "{}"))
                # Last to first: the first key of a field in the object's order is
                # the one left, as values_for's setdefault keeps it.
                for key in reversed(custom):
                    named = field_name(key)
                    if named in self._custom:
                        found[named] = str(custom[key])
        if merge_values and merge_values != "{}":
            for key, value in _decoded(merge_values).items():
                if key in self._wanted:
                    found[key] = str(value)
        return found


_raw_decode = json.JSONDecoder().raw_decode


def _decoded(text: str) -> Any:
    """``json.loads(text)``, a third of its time for text as SQLite and json.dumps write
    it (nothing before or after the value); anything else goes through json.loads."""
    try:
        value, end = _raw_decode(text)
    except ValueError:
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


def values_for(
    contact: sqlite3.Row | Mapping[str, object] | None, phone: str, merge_values: str | None
) -> dict[str, str]:
    """One target's values: its contact's fields (``contacts`` columns: name,
    job_title, email, custom), the number it is texted at, its CSV row's values."""
    values: dict[str, str] = {"phone": phone}
    if contact is not None:
        name = str(contact["name"] or "")
        first, _, last = name.partition(" ")
        values.update(
            name=name,
            first_name=first,
            last_name=last.strip(),
            job_title=str(contact["job_title"] or ""),
            email=str(contact["email"] or ""),
        )
        for key, value in json.loads(str(contact["custom"] or "{}")).items():
            named = field_name(key)
            if named is not None and named not in _BUILT_IN_NAMES:
                values.setdefault(named, str(value))
    if merge_values and merge_values != "{}":  # a contact's target has none to parse
        for key, value in json.loads(merge_values).items():
            values[key] = str(value)
    return values
