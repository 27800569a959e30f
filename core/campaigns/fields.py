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

import json
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Final

from core.db import Database, Tx
from core.merging import field_name, name_part
from core.people.contacts import MAX_CUSTOM_VALUE, MAX_EMAIL, MAX_JOB_TITLE, MAX_NAME
from core.templates import (
    FIELD_NAME,
    Field,
    Fields,
    Template,
    UnknownField,
    compile_template,
    names_in,
)

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

Querier = Database | Tx


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


async def fields_for(q: Querier, campaign_id: int, names: Iterable[str]) -> Fields:
    """``fields_in``'s, of the fields ``names`` only (a template's, ``names_in``): each
    custom field or CSV column looked for until its first key, instead of every key
    of every contact read (at 100,000 contacts, 0.08 s a campaign start and another a
    dispatch). A name no key is merged as is left out, so compiling refuses it."""
    extra: list[Field] = []
    for name in dict.fromkeys(names):
        if name in _BUILT_IN_NAMES:
            continue
        label = await q.scalar(
            "SELECT coalesce((SELECT j.key FROM contacts c, json_each(c.custom) j"
            "   WHERE field_name(j.key) = :name LIMIT 1),"
            " (SELECT j.key FROM campaign_targets t, json_each(t.merge_values) j"
            "   WHERE t.campaign_id = :campaign AND field_name(j.key) = :name LIMIT 1))",
            {"name": name, "campaign": campaign_id},
        )
        if label is not None:
            extra.append(Field(name, label, MAX_CUSTOM_VALUE))
    return Fields((*BUILT_IN, *sorted(extra, key=lambda f: f.name)))


async def compiled(q: Querier, campaign_id: int, source: str) -> Template:
    """A campaign's text compiled with its fields (``fields_for``); a refusal names
    every field it could use, as the save check's does."""
    try:
        return compile_template(source, await fields_for(q, campaign_id, names_in(source)))
    except UnknownField:
        return compile_template(source, await fields_in(q, campaign_id))


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
    """The values of the fields one template uses, read by SQL with each target: the
    rules of ``values_for``, for those fields only, as expressions over a target ``t``
    (``campaign_targets``) and its contact ``c`` (``contacts``, LEFT JOINed: NULLs for a
    CSV row or a contact gone). A dispatch chunk or an estimate page asks this of every
    target, so SQLite makes the values in C instead of Python decoding each contact's
    custom fields (bench.campaigns: a 100,000-target start, about 2.0 s, is 1.6-1.9 s so,
    and the event loop's p99 lag while it dispatches 3.5 ms instead of 8.5)."""

    def __init__(self, used: Iterable[str]) -> None:
        self.names = tuple(dict.fromkeys(used))
        for name in self.names:
            # Written into the SQL, not bound: a field name's characters are all it may hold.
            if not FIELD_NAME.fullmatch(name):
                raise ValueError(f"not a merge field name: {name!r}")
        self.expressions = tuple(_value_sql(name) for name in self.names)
        """Each field's value, "" when the target has none."""
        self.columns = "".join(f", {e} AS v{i}" for i, e in enumerate(self.expressions))
        """To follow the other columns of a SELECT: ", <value> AS v0, ..."."""

    def values(self, row: sqlite3.Row) -> dict[str, str]:
        """A row's values (selected with ``columns``), by field name."""
        return {name: row[f"v{i}"] for i, name in enumerate(self.names)}


_NAME: Final = "coalesce(c.name, '')"
_SPACE: Final = f"instr({_NAME}, ' ')"
_NUL: Final = "x'00'"
WHITESPACE: Final = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
"""What Python's str.strip() takes off (str.isspace()), for SQL's trim() to take off the
same; written out, as finding them among every code point takes 70 ms."""
_WHITESPACE_SQL: Final = f"char({', '.join(str(ord(ch)) for ch in WHITESPACE)})"
_BY_CONTACT: Final = {
    "name": _NAME,
    "job_title": "c.job_title",
    "email": "c.email",
    # The name split at its first space, as ``name_part`` splits it: in SQL, but by the
    # function itself for a name holding a NUL (SQLite's text functions stop at one).
    **{
        part: f"CASE WHEN instr(CAST({_NAME} AS BLOB), {_NUL}) THEN name_part({_NAME}, '{part}')"
        f" WHEN {_SPACE} THEN {split} ELSE {whole} END"
        for part, split, whole in (
            ("first_name", f"substr({_NAME}, 1, {_SPACE} - 1)", _NAME),
            ("last_name", f"trim(substr({_NAME}, {_SPACE} + 1), {_WHITESPACE_SQL})", "''"),
        )
    },
}


def _value_sql(name: str) -> str:
    """One field's value for target ``t``: its CSV row's (the file was made for this
    campaign; its keys are field names), else its contact's. For a custom field, the
    first key in the object's order that is merged as this field (``field_name``,
    which core.db registers in SQLite)."""
    if name == "phone":
        by_contact = "t.phone"
    elif name in _BY_CONTACT:
        by_contact = _BY_CONTACT[name]
    else:
        by_contact = _json_value(
            "c.custom",
            name,
            "(SELECT j.value FROM json_each(c.custom) j"
            f" WHERE field_name(j.key) = '{name}' ORDER BY j.id LIMIT 1)",
        )
    by_csv = _json_value("t.merge_values", name, f"t.merge_values ->> '$.{name}'")
    return f"coalesce({by_csv}, {by_contact}, '')"


def _json_value(column: str, name: str, read: str) -> str:
    """``read`` (SQLite's JSON functions on ``column``), or, for an object holding an
    escaped NUL, where they would end the string, ``merged_value`` (Python) instead."""
    nul = f"instr({column}, '\\u0000')"
    return f"CASE WHEN {nul} THEN merged_value({column}, '{name}') ELSE {read} END"


def values_for(
    contact: sqlite3.Row | Mapping[str, object] | None, phone: str, merge_values: str | None
) -> dict[str, str]:
    """One target's values: its contact's fields (``contacts`` columns: name,
    job_title, email, custom), the number it is texted at, its CSV row's values."""
    values: dict[str, str] = {"phone": phone}
    if contact is not None:
        name = str(contact["name"] or "")
        values.update(
            name=name,
            first_name=name_part(name, "first_name"),
            last_name=name_part(name, "last_name"),
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
