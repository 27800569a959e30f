"""What a close reads before it writes: one statement, parsed once per edit.

A close needs the settings, the collected fields, the outcome, and the
profiles it notifies (named, or members of a named group) with their numbers,
addresses and templates. Read statement by statement that was five trips to
the database thread, each costing more than its query; here it is one
statement returning one JSON text, inside the close's transaction, so an
edit committed before the close is always seen.

Parsing that text, checking the settings and compiling every template cost
more than the read, and the text changes only when someone edits what it
holds. So the parsed form is kept, keyed by the text itself: no version
counter that a forgotten write path could leave behind, and a stale entry is
never used because its key is what the database holds now.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Final

from core import settings
from core.db import Tx
from core.errors import InvalidInput
from core.notify import hipaa, rendering
from core.notify.fields import CollectedField, field_from
from core.notify.outcomes import Outcome
from core.records import record
from core.templates import Fields

_PROFILES: Final = (
    "SELECT json_group_array(json_array(p.id, p.alias, p.sms_on, p.sms_mode, p.sms_body,"
    " p.email_on, p.email_mode, p.email_subject, p.email_body,"
    " json((SELECT json_group_array(json_array(c.kind, c.position, c.value))"
    "   FROM notification_profile_contacts c"
    "   WHERE c.profile_id = p.id AND c.kind IN ('sms', 'email')))))"
    " FROM notification_profiles p"
)
# "= (SELECT id FROM o)", not "IN (SELECT id FROM o)": with IN, SQLite read the
# recipients four times as slowly.
_READ: Final = (
    "WITH o AS (SELECT id, name, kind, position, archived FROM outcomes WHERE name = :outcome),"
    " r AS (SELECT profile_id AS id FROM outcome_recipients"
    "   WHERE outcome_id = (SELECT id FROM o) AND profile_id IS NOT NULL"
    " UNION SELECT m.profile_id FROM outcome_recipients r"
    "   JOIN notification_group_members m ON m.group_id = r.group_id"
    "   WHERE r.outcome_id = (SELECT id FROM o))"
    " SELECT json_array("
    " json((SELECT json_group_array(json_array(key, value)) FROM settings)),"
    " json((SELECT json_group_array(json_array(id, name, label, type, max_length, phi, required,"
    "   collected, builtin, position)) FROM collected_fields)),"
    " json((SELECT json_array(id, name, kind, position, archived) FROM o)),"
    " json((SELECT json_group_array(schedule_id) FROM outcome_recipients"
    "   WHERE outcome_id = (SELECT id FROM o) AND schedule_id IS NOT NULL)),"
    f" json(({_PROFILES} WHERE p.id IN r)))"
)
_FIELD_COLUMNS: Final = (
    "id",
    "name",
    "label",
    "type",
    "max_length",
    "phi",
    "required",
    "collected",
    "builtin",
    "position",
)


@record
class Recipient:
    """A profile a close notifies, its templates compiled (or why they do not)."""

    profile_id: int
    profile: hipaa.ProfileTemplates
    numbers: tuple[str, ...]
    addresses: tuple[str, ...]
    templates: rendering.Compiled | None
    broken: str | None
    """Why the templates do not compile: each of its notices is skipped with it."""
    same_text: tuple[object, ...]
    """Profiles with equal keys send the same text: each rendered once per close."""


@record
class CloseReading:
    config: settings.Settings
    declared: tuple[CollectedField, ...]
    """Every field, in the editor's order."""
    fields: Fields
    withhold: frozenset[str]
    outcome: Outcome | None
    """None: no outcome of that name."""
    recipients: tuple[Recipient, ...]
    """Named and group members, by profile id; not the on-call ones."""
    schedules: tuple[int, ...]
    """Whoever is on call now on these is notified too (looked up at each close)."""


async def read_in(tx: Tx, outcome: str) -> CloseReading:
    """What closing with ``outcome`` needs, as the transaction sees it."""
    text = await tx.scalar(_READ, {"outcome": outcome.strip()})
    return _parsed(text)


async def profiles_in(tx: Tx, profile_ids: Sequence[int], fields: Fields) -> list[Recipient]:
    """``profile_ids`` as recipients (the on-call ones a close adds), by id."""
    text = await tx.scalar(
        _PROFILES + " WHERE p.id IN (SELECT value FROM json_each(?))",
        (json.dumps(list(profile_ids)),),
    )
    return _recipients(json.loads(text), fields)


@lru_cache(maxsize=64)
def _parsed(text: str) -> CloseReading:
    stored, field_rows, outcome, schedules, profiles = json.loads(text)
    config = settings.from_stored(stored)
    declared = tuple(
        field_from(dict(zip(_FIELD_COLUMNS, row, strict=True)))
        for row in sorted(field_rows, key=lambda r: (r[-1], r[0]))  # position, id
    )
    fields = Fields(f.as_field() for f in declared)
    return CloseReading(
        config,
        declared,
        fields,
        hipaa.withheld(config, fields),
        None if outcome is None else _outcome(*outcome),
        tuple(_recipients(profiles, fields)),
        tuple(sorted(schedules)),
    )


def _outcome(outcome_id: int, name: str, kind: str, position: int, archived: int) -> Outcome:
    return Outcome(outcome_id, name, kind, position, bool(archived))


def _recipients(rows: list[list[Any]], fields: Fields) -> list[Recipient]:
    found = []
    for row in sorted(rows, key=lambda r: int(r[0])):
        pid, alias, sms_on, sms_mode, sms_body, email_on, email_mode, subject, body, contacts = row
        profile = hipaa.ProfileTemplates(
            alias,
            sms_mode,
            sms_body,
            email_mode,
            subject,
            body,
            bool(sms_on),
            bool(email_on),
            pid,
        )
        ordered = sorted(contacts, key=lambda c: c[1])
        templates: rendering.Compiled | None = None
        broken: str | None = None
        try:
            templates = rendering.compiled(profile, fields)
        except InvalidInput as exc:
            broken = str(exc)
        found.append(
            Recipient(
                pid,
                profile,
                tuple(value for kind, _, value in ordered if kind == "sms"),
                tuple(value for kind, _, value in ordered if kind == "email"),
                templates,
                broken,
                (sms_on, sms_mode, sms_body, email_on, email_mode, subject, body),
            )
        )
    return found
