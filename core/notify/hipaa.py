"""P6 HIPAA mode: what may not be saved, and what is withheld when sent.

Three lines of defence, each enough on its own for what it covers:

- at save: a notification profile's template that uses a PHI field, SMS
  mode ``all_data`` and email mode ``default`` (both send every collected
  field) are refused (:func:`check_profile_templates`);
- at switch-on: every saved template is checked again and the ones that
  must change are listed (:func:`recheck`); they stay saved, because
- at render: PHI fields are withheld whatever the template
  (:func:`withheld`), so a template saved before the switch never leaks.

Emails to contacts (purpose ``case``) are refused outright
(:func:`may_email_contact`, asked by ``core.delivery.emails.queue_in``).
"""

from __future__ import annotations

import sqlite3
from typing import Final

from core import settings
from core.db import Database, Tx
from core.errors import HipaaRefused, InvalidInput
from core.notify.fields import fields_in
from core.people.authz import Action, Actor, authorize
from core.records import record
from core.settings import Settings
from core.templates import Fields, compile_template

ALL_DATA_SMS: Final = "all_data"
ALL_DATA_EMAIL: Final = "default"


@record
class ProfileTemplates:
    """What of a notification profile HIPAA mode and the renderer read."""

    alias: str
    sms_mode: str = "default"
    sms_body: str | None = None
    email_mode: str = "default"
    email_subject: str | None = None
    email_body: str | None = None
    sms_on: bool = False
    email_on: bool = False
    id: int | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ProfileTemplates:
        return cls(
            row["alias"],
            row["sms_mode"],
            row["sms_body"],
            row["email_mode"],
            row["email_subject"],
            row["email_body"],
            bool(row["sms_on"]),
            bool(row["email_on"]),
            row["id"],
        )


@record
class Problem:
    """One thing of a saved profile that HIPAA mode does not allow."""

    profile_id: int | None
    alias: str
    part: str
    """sms_body, email_subject, email_body, sms_mode or email_mode."""
    fields: tuple[str, ...]
    """The PHI fields it uses (empty for a mode)."""
    reason: str


def may_email_contact(config: Settings) -> str | None:
    """Why an email may not go to a contact now, or None if it may."""
    if config.hipaa_mode:
        return "HIPAA mode is on: emails to contacts are disabled"
    return None


def withheld(config: Settings, fields: Fields) -> frozenset[str]:
    """The fields a render must withhold now: every PHI field in HIPAA mode."""
    if not config.hipaa_mode:
        return frozenset()
    return frozenset(f.name for f in fields if f.phi)


def _templates(profile: ProfileTemplates) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if profile.sms_mode == "custom" and profile.sms_body:
        found.append(("sms_body", profile.sms_body))
    if profile.email_mode == "custom":
        found += [
            (part, text)
            for part, text in (
                ("email_subject", profile.email_subject),
                ("email_body", profile.email_body),
            )
            if text
        ]
    return found


def problems_of(profile: ProfileTemplates, fields: Fields) -> list[Problem]:
    """What of ``profile`` HIPAA mode refuses (whether or not it is on)."""
    found: list[Problem] = []
    # A mode matters only while its channel is on: the column defaults to "default",
    # and saving the profile with the channel switched on is checked again.
    if profile.sms_on and profile.sms_mode == ALL_DATA_SMS:
        found.append(
            Problem(
                profile.id,
                profile.alias,
                "sms_mode",
                (),
                "SMS mode all_data sends every collected field; HIPAA mode refuses it",
            )
        )
    if profile.email_on and profile.email_mode == ALL_DATA_EMAIL:
        found.append(
            Problem(
                profile.id,
                profile.alias,
                "email_mode",
                (),
                "email mode default sends every collected field; HIPAA mode refuses it:"
                " use a custom subject and body without PHI fields",
            )
        )
    for part, text in _templates(profile):
        try:
            phi = sorted(compile_template(text, fields).phi_fields)
        except InvalidInput as exc:
            found.append(Problem(profile.id, profile.alias, part, (), str(exc)))
            continue
        if phi:
            found.append(
                Problem(
                    profile.id,
                    profile.alias,
                    part,
                    tuple(phi),
                    f"{part} uses PHI fields, which HIPAA mode refuses: {', '.join(phi)}",
                )
            )
    return found


async def check_profile_templates(tx: Tx, profile: ProfileTemplates) -> None:
    """At save: every template of ``profile`` compiles against the fields; in HIPAA
    mode, none uses a PHI field and no mode sends all the data (HipaaRefused)."""

    fields = await fields_in(tx)
    for _part, text in _templates(profile):
        compile_template(text, fields)  # an unknown field is refused by name
    if not (await settings.load_in(tx)).hipaa_mode:
        return
    problems = problems_of(profile, fields)
    if problems:
        raise HipaaRefused(
            f"notification profile {profile.alias}: " + "; ".join(p.reason for p in problems)
        )


async def recheck(tx: Tx | Database) -> list[Problem]:
    """Every saved profile's templates and modes HIPAA mode refuses, by alias."""

    fields = await fields_in(tx)
    rows = await tx.fetchall(
        "SELECT id, alias, sms_on, sms_mode, sms_body, email_on, email_mode, email_subject,"
        " email_body FROM notification_profiles ORDER BY alias"
    )
    return [p for row in rows for p in problems_of(ProfileTemplates.from_row(row), fields)]


async def check(db: Database, actor: Actor) -> list[Problem]:
    """What must change before (or since) HIPAA mode is on."""
    authorize(actor, Action.MANAGE_NOTIFICATIONS)
    return await recheck(db)


async def switch(db: Database, actor: Actor, on: bool) -> list[Problem]:
    """Turn HIPAA mode on or off. On: the saved templates that must change are
    returned; until they do, their PHI fields are withheld at every render."""
    authorize(actor, Action.MANAGE_NOTIFICATIONS)
    await settings.update(db, actor, hipaa_mode=on)
    return await recheck(db) if on else []
