"""S1 / M9: a campaign's live filter over contacts.

A filter is a list of conditions that must all hold. It is written as words
separated by spaces (quote a word that has spaces, as a shell does):

* ``name=Ada Lovelace`` / ``name~smith``: a field (``name``, ``job_title``,
  ``email``) equals, or contains, the text; case does not matter.
* ``custom.region=north`` / ``custom.region~nor``: a custom field, by its key
  (any case), equals or contains the text; ``custom.region`` alone: the
  contact has that field (the other fields alone: it is not empty).
* ``tag=vip``: the contact has the tag.
* ``ready=true`` / ``ready=false``: the contact's Ready flag.

It is stored as JSON in ``campaigns.filter`` and turned into SQL over
``contacts`` aliased ``c``, with every value a parameter (never spliced into
the text). The filter is live: dispatch checks it again when a target is due
(in its read of the due targets, core/campaigns/dispatch.py), so a contact
whose Ready turned false meanwhile is skipped.
"""

from __future__ import annotations

import json
import shlex
from typing import Final

from core.errors import InvalidInput
from core.people.contacts import MAX_CUSTOM_VALUE, check_custom_key
from core.people.tags import check_tag
from core.records import record
from core.text import is_utf8, refuse_control_characters

FIELDS: Final = ("name", "job_title", "email")
OPS: Final = ("equals", "contains", "set")
MAX_CONDITIONS: Final = 20
_SYNTAX: Final = "name, job_title, email, custom.KEY, tag or ready"


@record
class Condition:
    subject: str
    """A field name, ``custom.KEY``, ``tag`` or ``ready``."""
    op: str
    """equals, contains or set (the field is there, not empty)."""
    value: str = ""
    """The text compared; for ready "true" or "false"; empty for set."""

    def written(self) -> str:
        """The condition in the syntax ``parse`` reads."""
        if self.op == "set":
            return _quoted(self.subject)
        return _quoted(self.subject + ("~" if self.op == "contains" else "=") + self.value)


@record
class Filter:
    conditions: tuple[Condition, ...]

    def written(self) -> str:
        return " ".join(c.written() for c in self.conditions)

    def to_json(self) -> str:
        return json.dumps(
            [{"subject": c.subject, "op": c.op, "value": c.value} for c in self.conditions],
            ensure_ascii=False,
        )


def _quoted(word: str) -> str:
    return shlex.quote(word) if any(ch in word for ch in " \"'\\") else word


def parse(text: str) -> Filter:
    """The filter written in ``text``; InvalidInput naming the part that is wrong."""
    if not is_utf8(text):
        raise InvalidInput("the filter must be text (it holds a lone surrogate)")
    refuse_control_characters("the filter", text)
    try:
        words = shlex.split(text)
    except ValueError:
        raise InvalidInput("the filter has a quote that is never closed") from None
    if not words:
        raise InvalidInput(f"the filter needs at least one condition, on {_SYNTAX}")
    if len(words) > MAX_CONDITIONS:
        raise InvalidInput(f"a filter has at most {MAX_CONDITIONS} conditions")
    return Filter(tuple(_condition(word) for word in words))


def _condition(word: str) -> Condition:
    at = min((i for i in (word.find("="), word.find("~")) if i >= 0), default=-1)
    if at < 0:
        subject, op, value = word, "set", ""
    else:
        subject, value = word[:at], word[at + 1 :]
        op = "equals" if word[at] == "=" else "contains"
    try:
        return check(Condition(subject.strip().lower(), op, value.strip()), subject.strip())
    except InvalidInput as exc:
        raise InvalidInput(f"filter part {word!r}: {exc}") from None


def check(condition: Condition, written: str | None = None) -> Condition:
    """The condition with its subject and value checked (a custom key keeps its case)."""
    subject, op, value = condition.subject, condition.op, condition.value
    if op not in OPS:
        raise InvalidInput(f"{op!r} is not a comparison; use = (equals) or ~ (contains)")
    if op != "set" and not value:
        raise InvalidInput("nothing to compare with after the = or ~")
    if len(value) > MAX_CUSTOM_VALUE:
        raise InvalidInput(f"the text is longer than {MAX_CUSTOM_VALUE} characters")
    if subject in ("tag", "ready") and op != "equals":
        raise InvalidInput(f"{subject} is compared with =, as in {subject}=…")
    if subject == "tag":
        return Condition("tag", "equals", check_tag(value))
    if subject == "ready":
        if value.lower() not in ("true", "false"):
            raise InvalidInput("ready is true or false")
        return Condition("ready", "equals", value.lower())
    if subject in FIELDS:
        return Condition(subject, op, value)
    if subject.startswith("custom."):
        # The key as written: stored keys are compared without case, shown as typed.
        key = (written or condition.subject)[len("custom.") :]
        return Condition("custom." + check_custom_key(key), op, value)
    raise InvalidInput(f"{(written or subject)!r} is not something to filter on; use {_SYNTAX}")


def from_json(text: str) -> Filter:
    """A filter as ``Filter.to_json`` stored it (checked again: the column is outside text)."""
    try:
        items = json.loads(text)
        conditions = tuple(
            check(Condition(str(i["subject"]), str(i["op"]), str(i.get("value", ""))))
            for i in items
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidInput(f"the stored filter cannot be read: {exc}") from None
    return Filter(conditions)


def to_sql(flt: Filter, alias: str = "c") -> tuple[str, dict[str, object]]:
    """A WHERE clause over ``contacts`` aliased ``alias`` and its parameters, named
    ``filter_1``, ``filter_2``…: a statement may name its own beside them."""
    parts: list[str] = []
    params: dict[str, object] = {}
    for cond in flt.conditions:
        sql, values = _condition_sql(cond, alias)
        for value in values:
            name = f"filter_{len(params) + 1}"
            sql = sql.replace("?", f":{name}", 1)
            params[name] = value
        parts.append(sql)
    return (" AND ".join(parts) or "1"), params


def _compare(column: str, op: str, value: str) -> tuple[str, tuple[object, ...]]:
    if op == "equals":
        return f"{column} = ? COLLATE NOCASE", (value,)
    if op == "contains":
        # instr, not LIKE: a % or _ in the text is matched as itself.
        return f"instr(lower({column}), lower(?)) > 0", (value,)
    return f"coalesce({column}, '') != ''", ()


def _condition_sql(cond: Condition, a: str) -> tuple[str, tuple[object, ...]]:
    """A condition's SQL with a ``?`` for each of its values, in order; no other ``?``
    (``to_sql`` names them)."""
    if cond.subject == "ready":
        return f"{a}.ready = ?", (1 if cond.value == "true" else 0,)
    if cond.subject == "tag":
        return (
            f"EXISTS (SELECT 1 FROM contact_tags t WHERE t.contact_id = {a}.id AND t.tag = ?)",
            (cond.value,),
        )
    if cond.subject in FIELDS:
        # The subject is one of FIELDS, never outside text: safe as a column name.
        return _compare(f"{a}.{cond.subject}", cond.op, cond.value)
    key = cond.subject[len("custom.") :]
    test, params = _compare("j.value", cond.op, cond.value)
    return (
        f"EXISTS (SELECT 1 FROM json_each({a}.custom) j WHERE j.key = ? COLLATE NOCASE AND {test})",
        (key, *params),
    )
