"""P2: the data an agent collects when closing, and the merge fields of every notice.

One table (``collected_fields``) declares them; :func:`fields_in` turns it
into the :class:`core.templates.Fields` every notice template is compiled
against, so a template, the close form and the renderer agree on names,
lengths and PHI flags. The system fields (caller_id, outcome, agent,
agent_comment, closed_at) are filled when a conversation closes and are
never asked for. Built-in fields keep their name and type: the built-in
notice modes (``rendering``) name them.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from core import settings
from core.db import Database, Tx
from core.errors import InvalidInput, LimitExceeded, NotFound
from core.people.authz import Action, Actor, authorize
from core.records import record
from core.sms import phones
from core.templates import EditorField, Field, Fields
from core.text import is_utf8, refuse_control_characters

TYPES: Final = ("text", "long_text", "phone", "email", "datetime", "number")
SYSTEM_FIELDS: Final = ("caller_id", "outcome", "agent_comment", "agent", "closed_at")
"""Filled when a conversation closes; never typed by the agent."""
# Values of these types are always GSM-7 once checked: they never turn a notice into UCS-2.
_GSM7_TYPES: Final = frozenset({"phone", "datetime", "number"})
MAX_CUSTOM: Final = 50
"""Custom fields besides the built-ins: a close form an agent can still fill in."""
MAX_LABEL: Final = 60
DEFAULT_MAX_LENGTH: Final = {
    "text": 200,
    "long_text": 2000,
    "phone": 20,
    "email": 254,
    "datetime": 40,
    "number": 30,
}
TEMPLATE_COLUMNS: Final = ("sms_body", "email_subject", "email_body")
"""The notification_profiles columns that hold a template using merge fields."""


@record
class CollectedField:
    id: int
    name: str
    label: str
    type: str
    max_length: int
    phi: bool
    required: bool
    collected: bool
    """False for the fields the system fills."""
    builtin: bool
    position: int

    def as_field(self) -> Field:
        return Field(self.name, self.label, self.max_length, self.phi, self.type in _GSM7_TYPES)


_SELECT: Final = (
    "SELECT id, name, label, type, max_length, phi, required, collected, builtin, position"
    " FROM collected_fields"
)


def field_from(row: sqlite3.Row | Mapping[str, Any]) -> CollectedField:
    """A field from its row (or the same columns by name)."""
    return CollectedField(
        row["id"],
        row["name"],
        row["label"],
        row["type"],
        row["max_length"],
        bool(row["phi"]),
        bool(row["required"]),
        bool(row["collected"]),
        bool(row["builtin"]),
        row["position"],
    )


async def all_in(db: Database | Tx) -> list[CollectedField]:
    """Every field, in the editor's order."""
    return [field_from(r) for r in await db.fetchall(_SELECT + " ORDER BY position, id")]


async def fields_in(db: Database | Tx) -> Fields:
    """The merge fields of every notice template, system fields included."""
    return Fields(f.as_field() for f in await all_in(db))


async def list_fields(db: Database, actor: Actor) -> list[CollectedField]:
    """Every field: the close form (collected ones) and the template editor read it."""
    authorize(actor, Action.VIEW_ON_CALL)
    return await all_in(db)


async def editor_fields(db: Database, actor: Actor) -> list[EditorField]:
    """The template editor's field list, each with the exact text to insert."""
    authorize(actor, Action.VIEW_ON_CALL)
    return (await fields_in(db)).editor_fields()


async def _get_in(tx: Tx | Database, name: str) -> CollectedField:
    row = await tx.fetchone(_SELECT + " WHERE name = ?", (name,))
    if row is None:
        raise NotFound(f"no collected field named {name!r}")
    return field_from(row)


def _label(label: str) -> str:
    text = " ".join(label.split()) if isinstance(label, str) else ""
    if not text:
        raise InvalidInput("a collected field needs a label")
    if len(text) > MAX_LABEL:
        raise InvalidInput(f"a field label is at most {MAX_LABEL} characters, not {len(text)}")
    if not is_utf8(text):
        raise InvalidInput("a field label must be text (it holds a lone surrogate)")
    refuse_control_characters("a field label", text)
    # The built-in "all data" modes write labels into a template's source.
    if "{" in text or "}" in text:
        raise InvalidInput("a field label cannot hold { or }: they mark merge fields")
    return text


def _type(kind: str) -> str:
    if kind not in TYPES:
        raise InvalidInput(f"a field's type is one of {', '.join(TYPES)}, not {kind!r}")
    return kind


def templates_using(rows: list[sqlite3.Row], names: set[str]) -> list[str]:
    """Which of ``rows`` (notification profiles) use one of the fields ``names``,
    as "alias (column)" lines for a refusal."""
    pattern = re.compile(r"\{\{\s*(" + "|".join(map(re.escape, sorted(names))) + r")\s*\}\}")
    return [
        f"{row['alias']} ({column})"
        for row in rows
        for column in TEMPLATE_COLUMNS
        if row[column] and pattern.search(row[column])
    ]


async def _refuse_if_used(tx: Tx, name: str, doing: str) -> None:
    rows = await tx.fetchall(
        "SELECT alias, sms_body, email_subject, email_body FROM notification_profiles"
        " ORDER BY alias"
    )
    using = templates_using(rows, {name})
    if using:
        raise InvalidInput(
            f"cannot {doing} field {name}: saved templates use it: {', '.join(using)}"
        )


async def add(
    db: Database,
    actor: Actor,
    name: str,
    label: str,
    type: str = "text",
    *,
    max_length: int | None = None,
    phi: bool = False,
    required: bool = False,
) -> CollectedField:
    """Add a custom field; its name is a merge-field name (``core.templates.Field``)."""
    authorize(actor, Action.MANAGE_NOTIFICATIONS)
    kind = _type(type)
    length = DEFAULT_MAX_LENGTH[kind] if max_length is None else max_length
    checked = Field(name, _label(label), length, phi)  # the merge-field name and length rules
    async with db.transaction() as tx:
        if await tx.fetchone("SELECT 1 FROM collected_fields WHERE name = ?", (name,)):
            raise InvalidInput(f"a collected field named {name} exists already")
        custom = await tx.scalar("SELECT count(*) FROM collected_fields WHERE builtin = 0")
        if custom >= MAX_CUSTOM:
            raise LimitExceeded(f"at most {MAX_CUSTOM} custom collected fields; remove one first")
        position = await tx.scalar("SELECT coalesce(max(position), 0) + 1 FROM collected_fields")
        field_id = await tx.insert(
            "INSERT INTO collected_fields (name, label, type, max_length, phi, required,"
            " collected, builtin, position, created_at) VALUES (?, ?, ?, ?, ?, ?, 1, 0, ?, ?)",
            (
                checked.name,
                checked.label,
                kind,
                checked.max_length,
                int(phi),
                int(required),
                position,
                tx.now_ms,
            ),
        )
        await tx.emit("collected_field.added", "collected_field", field_id, actor_id=actor.id)
        return await _get_in(tx, name)


async def edit(
    db: Database,
    actor: Actor,
    name: str,
    *,
    rename: str | None = None,
    label: str | None = None,
    type: str | None = None,
    max_length: int | None = None,
    phi: bool | None = None,
    required: bool | None = None,
) -> CollectedField:
    """Change a field. A built-in one keeps its name, type, length and whether it is
    required (the built-in modes and the system rely on them); its label and PHI flag
    may change. Renaming a field that a saved template uses is refused, naming them."""
    authorize(actor, Action.MANAGE_NOTIFICATIONS)
    async with db.transaction() as tx:
        current = await _get_in(tx, name)
        if current.builtin and (
            (rename is not None and rename != name)
            or type is not None
            or max_length is not None
            or required is not None
        ):
            raise InvalidInput(
                f"{name} is a built-in field: only its label and PHI flag can change"
            )
        new_name = name if rename is None else rename
        kind = current.type if type is None else _type(type)
        checked = Field(
            new_name,
            current.label if label is None else _label(label),
            current.max_length if max_length is None else max_length,
            current.phi if phi is None else phi,
        )
        if new_name != name:
            if await tx.fetchone("SELECT 1 FROM collected_fields WHERE name = ?", (new_name,)):
                raise InvalidInput(f"a collected field named {new_name} exists already")
            await _refuse_if_used(tx, name, "rename")
        if checked.phi and not current.phi and (await settings.load_in(tx)).hipaa_mode:
            # HIPAA mode refuses templates with PHI: marking a used field PHI would sneak one in.
            await _refuse_if_used(tx, name, "mark as PHI (HIPAA mode is on) the")
        await tx.execute(
            "UPDATE collected_fields SET name = ?, label = ?, type = ?, max_length = ?, phi = ?,"
            " required = ? WHERE id = ?",
            (
                checked.name,
                checked.label,
                kind,
                checked.max_length,
                int(checked.phi),
                int(current.required if required is None else required),
                current.id,
            ),
        )
        await tx.emit("collected_field.changed", "collected_field", current.id, actor_id=actor.id)
        return await _get_in(tx, new_name)


async def delete(db: Database, actor: Actor, name: str) -> None:
    """Delete a custom field; refused for a built-in one, or one a saved template uses."""
    authorize(actor, Action.MANAGE_NOTIFICATIONS)
    async with db.transaction() as tx:
        current = await _get_in(tx, name)
        if current.builtin:
            raise InvalidInput(f"{name} is a built-in field and cannot be deleted")
        await _refuse_if_used(tx, name, "delete")
        await tx.execute("DELETE FROM collected_fields WHERE id = ?", (current.id,))
        await tx.emit("collected_field.deleted", "collected_field", current.id, actor_id=actor.id)


def check_value(field: CollectedField, value: str, region: str = "US") -> str:
    """``value`` as a closure keeps it; InvalidInput naming the field and its rule.

    A phone is kept in E.164, an email as the library normalises it, a
    datetime as ISO-8601, a number as written (checked finite).
    """
    if not isinstance(value, str) or not is_utf8(value):
        raise InvalidInput(f"{field.label} ({field.name}) must be text")
    allowed = "\n\t" if field.type == "long_text" else ""
    refuse_control_characters(f"{field.label} ({field.name})", value, allowed)
    text = value.strip()
    if field.type == "phone" and text:
        text = phones.normalise(text, region)
    elif field.type == "email" and text:
        text = _email(field, text)
    elif field.type == "datetime" and text:
        try:
            text = datetime.fromisoformat(text).isoformat()
        except ValueError:
            raise InvalidInput(
                f"{field.label} ({field.name}) must be an ISO-8601 date and time,"
                f" such as 2026-03-01T14:30, not {text[:40]!r}"
            ) from None
    elif field.type == "number" and text:
        try:
            number = float(text)
        except ValueError:
            number = float("nan")
        if number != number or number in (float("inf"), float("-inf")):
            raise InvalidInput(f"{field.label} ({field.name}) must be a number, not {text[:40]!r}")
    if len(text) > field.max_length:
        raise InvalidInput(
            f"{field.label} ({field.name}) is at most {field.max_length} characters,"
            f" not {len(text)}"
        )
    return text


def _email(field: CollectedField, text: str) -> str:
    import email_validator

    try:
        # Syntax only: a close must not wait on DNS.
        found = email_validator.validate_email(text, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        raise InvalidInput(f"{field.label} ({field.name}): {exc}") from None
    return str(found.normalized)


def check_values(
    fields: Sequence[CollectedField], data: Mapping[str, str], region: str = "US"
) -> dict[str, str]:
    """The collected data of a close, checked: every name known and collected,
    every required field filled, every value of its type and length."""
    by_name = {f.name: f for f in fields}
    for name in data:
        if name not in by_name:
            known = ", ".join(f.name for f in fields if f.collected)
            raise InvalidInput(f"unknown field {name!r}; the fields collected are: {known}")
        if not by_name[name].collected:
            raise InvalidInput(f"{name} is filled by the system when the conversation closes")
    checked: dict[str, str] = {}
    for name, value in data.items():
        try:
            checked[name] = check_value(by_name[name], value, region)
        except InvalidInput as exc:
            exc.about = name  # the close form shows it under that field
            raise
    missing = [f.name for f in fields if f.collected and f.required and not checked.get(f.name)]
    if missing:
        error = InvalidInput(f"required fields are empty: {', '.join(missing)}")
        error.about = missing[0]  # the first the agent meets on the form
        raise error
    return {k: v for k, v in checked.items() if v}
