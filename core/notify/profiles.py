"""P1 notification profiles and P7 hold my calls.

- A profile has an alias (required, one line, unique whatever the case),
  up to 5 contact numbers, 5 email addresses and 5 SMS numbers (see
  ``contact_methods``), and how it is told: email on or off, with the
  default template or a custom subject and body; SMS on or off, with the
  default message, the non-message alert, all collected data, or a custom
  text. A custom template is compiled at save against the merge fields, so
  an unknown field is refused by name; a custom text is kept only while its
  mode is custom.
- Hold my calls: held indefinitely or until an instant still to come. The
  worker's ``notification_holds`` job marks a hold whose time has passed
  (``hold_expired_at``) and announces it; the status then reads "Hold
  expired" and transfers resume (``core.notify.holds`` is the one rule).
- Delete and replace, with every link: ``core.notify.links``.

Reading needs any active permission profile (agents read contact numbers to
transfer); changing needs ``manage_settings``.

Events: ``notification_profile.added|changed|deleted|hold_expired``, entity
the profile, ids only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import fields, replace
from datetime import datetime
from typing import Final

from core import settings, templates
from core.clock import from_ms, from_ms_or_none, to_ms
from core.db import Database, Tx
from core.errors import AlreadyTaken, InvalidInput, NotFound, SwitchboardError
from core.notify import contact_methods, hipaa, holds, links
from core.notify.contact_methods import CONTACT_NUMBER, EMAIL, SMS
from core.notify.fields import fields_in
from core.people.authz import Action, Actor, authorize
from core.permissions import values
from core.records import record
from core.scheduling.jobs import Job
from core.text import refuse_control_characters

MAX_ALIAS: Final = 100
MAX_SUBJECT: Final = 200
"""Characters of a custom email subject, merge fields as written."""
MAX_SMS_TEXT: Final = 1600
"""Characters of a custom SMS text as written: ten segments of GSM-7."""

EMAIL_MODES: Final = ("default", "custom")
SMS_MODES: Final = ("default", "non_message", "all_data", "custom")
CUSTOM: Final = "custom"

HOLD_EVERY_SECONDS: Final = 5.0
"""The tick of the hold job: it catches a hold set by another process; a hold this
process knows of is acted on when it falls (``next_due``)."""


@record
class ProfileDraft:
    """A notification profile as a form or a command gives it (checked on save)."""

    alias: str
    contact_numbers: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    sms_numbers: tuple[str, ...] = ()
    email_on: bool = False
    email_mode: str = "default"
    email_subject: str | None = None
    email_body: str | None = None
    sms_on: bool = False
    sms_mode: str = "default"
    sms_body: str | None = None


DRAFT_FIELDS: Final = tuple(f.name for f in fields(ProfileDraft))


@record
class HoldStatus:
    """P7 as a screen shows it: ``kind`` is available, held, held_until or hold_expired."""

    kind: str
    until: datetime | None = None

    @property
    def text(self) -> str:
        if self.kind == "held_until":
            assert self.until is not None
            return f"held until {self.until.isoformat(timespec='minutes')}"
        return {"held": "held", "hold_expired": "Hold expired"}.get(self.kind, "available")


@record
class NotificationProfile:
    id: int
    draft: ProfileDraft
    hold: str
    hold_until: datetime | None
    hold_expired_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def alias(self) -> str:
        return self.draft.alias

    def status(self, now: datetime) -> HoldStatus:
        """Held now, held until a time to come, "Hold expired", or available."""
        if self.hold == holds.INDEFINITE:
            return HoldStatus("held")
        if self.hold == holds.UNTIL and self.hold_until is not None:
            if holds.is_held(self.hold, to_ms(self.hold_until), to_ms(now)):
                return HoldStatus("held_until", self.hold_until)
            return HoldStatus("hold_expired", self.hold_until)
        return HoldStatus("available")


# --- reading ---------------------------------------------------------------------


async def _rows_to_profiles(
    tx: Database | Tx, rows: list[sqlite3.Row]
) -> list[NotificationProfile]:
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    methods: dict[int, dict[str, list[str]]] = {
        i: {k: [] for k in contact_methods.KINDS} for i in ids
    }
    # One query for the page, not one per profile.
    for c in await tx.fetchall(
        "SELECT profile_id, kind, value FROM notification_profile_contacts"
        f" WHERE profile_id IN ({', '.join('?' * len(ids))}) ORDER BY profile_id, kind, position",
        ids,
    ):
        methods[c["profile_id"]][c["kind"]].append(c["value"])
    return [_profile(r, methods[r["id"]]) for r in rows]


def _profile(r: sqlite3.Row, methods: Mapping[str, list[str]]) -> NotificationProfile:
    draft = ProfileDraft(
        r["alias"],
        tuple(methods[CONTACT_NUMBER]),
        tuple(methods[EMAIL]),
        tuple(methods[SMS]),
        bool(r["email_on"]),
        r["email_mode"],
        r["email_subject"],
        r["email_body"],
        bool(r["sms_on"]),
        r["sms_mode"],
        r["sms_body"],
    )
    return NotificationProfile(
        r["id"],
        draft,
        r["hold"],
        from_ms_or_none(r["hold_until"]),
        from_ms_or_none(r["hold_expired_at"]),
        from_ms(r["created_at"]),
        from_ms(r["updated_at"]),
    )


async def get_in(tx: Database | Tx, profile_id: int) -> NotificationProfile:
    rows = await tx.fetchall("SELECT * FROM notification_profiles WHERE id = ?", (profile_id,))
    if not rows:
        raise NotFound(f"there is no notification profile with id {profile_id}")
    return (await _rows_to_profiles(tx, rows))[0]


async def get(db: Database, actor: Actor, profile_id: int) -> NotificationProfile:
    authorize(actor, Action.VIEW_ON_CALL)
    return await get_in(db, profile_id)


async def by_alias(db: Database, actor: Actor, alias: str) -> NotificationProfile:
    """The profile whose alias is ``alias``, whatever the case (NotFound otherwise)."""
    authorize(actor, Action.VIEW_ON_CALL)
    found = await _id_by_alias(db, alias)
    if found is None:
        raise NotFound(f"there is no notification profile with the alias {alias!r}")
    return await get_in(db, found)


async def list_profiles(db: Database, actor: Actor, search: str = "") -> list[NotificationProfile]:
    """Every profile by alias; ``search`` keeps those whose alias contains it (any case)."""
    authorize(actor, Action.VIEW_ON_CALL)
    rows = await db.fetchall("SELECT * FROM notification_profiles ORDER BY alias, id")
    # Matched here, not with LIKE: SQLite folds the case of ASCII letters only,
    # and an alias may be "Émile".
    wanted = search.strip().casefold()
    if wanted:
        rows = [r for r in rows if wanted in r["alias"].casefold()]
    return await _rows_to_profiles(db, rows)


async def _id_by_alias(tx: Database | Tx, alias: str) -> int | None:
    # An account has tens of profiles, a few hundred at most: read them all and
    # compare casefolded, as SQLite's NOCASE would not for "É" and "é".
    wanted = alias.strip().casefold()
    for row in await tx.fetchall("SELECT id, alias FROM notification_profiles"):
        if row["alias"].casefold() == wanted:
            return int(row["id"])
    return None


# --- checking what is saved ---------------------------------------------------------


async def _check_hipaa(tx: Tx, profile_draft: ProfileDraft) -> None:
    """P6: HIPAA mode's refusals of PHI fields and all-data modes."""
    d = profile_draft
    await hipaa.check_profile_templates(
        tx,
        hipaa.ProfileTemplates(
            d.alias,
            d.sms_mode,
            d.sms_body,
            d.email_mode,
            d.email_subject,
            d.email_body,
            d.sms_on,
            d.email_on,
        ),
    )


def _template_text(label: str, value: object, longest: int, *, one_line: bool) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{label} must be text")
    text = value.replace("\r\n", "\n").strip()
    if len(text) > longest:
        raise InvalidInput(f"{label} is at most {longest} characters; this one has {len(text)}")
    refuse_control_characters(label, text, "" if one_line else "\n\t")
    return text


async def _checked(tx: Tx, draft: ProfileDraft) -> ProfileDraft:
    """``draft`` as stored: every value read and checked, refused naming the rule."""
    with _about("alias"):
        alias = values.text(
            "the notification profile's alias", draft.alias, longest=MAX_ALIAS, required=True
        )
    region = (await settings.load_in(tx)).default_region
    email_on = values.yes_no("email on", draft.email_on)
    sms_on = values.yes_no("SMS on", draft.sms_on)
    if draft.email_mode not in EMAIL_MODES:
        raise InvalidInput(
            f"email mode must be one of {', '.join(EMAIL_MODES)}, not {draft.email_mode!r}"
        )
    if draft.sms_mode not in SMS_MODES:
        raise InvalidInput(
            f"SMS mode must be one of {', '.join(SMS_MODES)}, not {draft.sms_mode!r}"
        )
    with _about("contact_numbers"):
        contact_numbers = contact_methods.checked(CONTACT_NUMBER, draft.contact_numbers, region)
    with _about("emails"):
        emails = contact_methods.checked(EMAIL, draft.emails, region)
    with _about("sms_numbers"):
        sms_numbers = contact_methods.checked(SMS, draft.sms_numbers, region)
    checked = ProfileDraft(
        alias,
        contact_numbers,
        emails,
        sms_numbers,
        email_on,
        draft.email_mode,
        sms_on=sms_on,
        sms_mode=draft.sms_mode,
    )
    if email_on and not checked.emails:
        raise _on(
            "emails", "email is on but the profile has no email address: add one or turn email off"
        )
    if sms_on and not checked.sms_numbers:
        raise _on(
            "sms_numbers", "SMS is on but the profile has no SMS number: add one or turn SMS off"
        )
    fields_ = await fields_in(tx)
    if draft.email_mode == CUSTOM:
        with _about("email_subject"):
            subject = _template_text(
                "the email subject", draft.email_subject or "", MAX_SUBJECT, one_line=True
            )
            if not subject:
                raise InvalidInput("a custom email needs a subject and a body")
            _compiled("the email subject", subject, fields_)
        with _about("email_body"):
            body = _template_text(
                "the email body", draft.email_body or "", templates.MAX_TEMPLATE, one_line=False
            )
            if not body:
                raise InvalidInput("a custom email needs a subject and a body")
            _compiled("the email body", body, fields_)
        checked = replace(checked, email_subject=subject, email_body=body)
    if draft.sms_mode == CUSTOM:
        with _about("sms_body"):
            text = _template_text(
                "the SMS text", draft.sms_body or "", MAX_SMS_TEXT, one_line=False
            )
            if not text:
                raise InvalidInput("a custom SMS needs its text")
            _compiled("the SMS text", text, fields_)
        checked = replace(checked, sms_body=text)
    await _check_hipaa(tx, checked)
    return checked


def _on(name: str, message: str) -> InvalidInput:
    refused = InvalidInput(message)
    refused.about = name
    return refused


@contextmanager
def _about(name: str) -> Iterator[None]:
    """A refusal raised inside is about the draft's field ``name`` (``SwitchboardError.about``),
    so a form shows it under that field."""
    try:
        yield
    except SwitchboardError as exc:
        if exc.about is None:
            exc.about = name
        raise


def _compiled(label: str, source: str, fields_: templates.Fields) -> None:
    try:
        templates.compile_template(source, fields_)
    except InvalidInput as exc:
        raise InvalidInput(f"{label}: {exc}") from None


async def _ensure_alias_free(tx: Tx, alias: str, but: int | None = None) -> None:
    found = await _id_by_alias(tx, alias)
    if found is not None and found != but:
        taken = AlreadyTaken(
            f"a notification profile with the alias {alias!r} already exists"
            " (aliases are unique, whatever the case)"
        )
        taken.about = "alias"
        raise taken


async def _store(tx: Tx, profile_id: int | None, d: ProfileDraft) -> int:
    row = (
        d.alias,
        int(d.email_on),
        d.email_mode,
        d.email_subject,
        d.email_body,
        int(d.sms_on),
        d.sms_mode,
        d.sms_body,
    )
    if profile_id is None:
        profile_id = await tx.insert(
            "INSERT INTO notification_profiles (alias, email_on, email_mode, email_subject,"
            " email_body, sms_on, sms_mode, sms_body, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*row, tx.now_ms, tx.now_ms),
        )
    else:
        await tx.execute(
            "UPDATE notification_profiles SET alias = ?, email_on = ?, email_mode = ?,"
            " email_subject = ?, email_body = ?, sms_on = ?, sms_mode = ?, sms_body = ?,"
            " updated_at = ? WHERE id = ?",
            (*row, tx.now_ms, profile_id),
        )
        await tx.execute(
            "DELETE FROM notification_profile_contacts WHERE profile_id = ?", (profile_id,)
        )
    await tx.executemany(
        "INSERT INTO notification_profile_contacts (profile_id, kind, value, position)"
        " VALUES (?, ?, ?, ?)",
        [
            (profile_id, kind, value, position)
            for kind, entries in (
                (CONTACT_NUMBER, d.contact_numbers),
                (EMAIL, d.emails),
                (SMS, d.sms_numbers),
            )
            for position, value in enumerate(entries, start=1)
        ],
    )
    return profile_id


# --- changing ---------------------------------------------------------------------


async def add(db: Database, actor: Actor, draft: ProfileDraft) -> NotificationProfile:
    """P1: a new notification profile, checked whole."""
    authorize(actor, Action.MANAGE_NOTIFICATIONS)
    async with db.transaction() as tx:
        checked = await _checked(tx, draft)
        await _ensure_alias_free(tx, checked.alias)
        profile_id = await _store(tx, None, checked)
        await tx.emit(
            "notification_profile.added", "notification_profile", profile_id, actor_id=actor.id
        )
        return await get_in(tx, profile_id)


async def edit(
    db: Database, actor: Actor, profile_id: int, **changes: object
) -> NotificationProfile:
    """P1: change the fields named (those of ``ProfileDraft``); the profile is checked whole.

    A list given replaces the whole list (``emails=()`` removes every address).
    """
    authorize(actor, Action.MANAGE_NOTIFICATIONS)
    unknown = sorted(set(changes) - set(DRAFT_FIELDS))
    if unknown:
        raise InvalidInput(
            f"unknown notification profile field {unknown[0]!r}; known: {', '.join(DRAFT_FIELDS)}"
        )
    if not changes:
        raise InvalidInput("nothing to change: name a field and its value")
    async with db.transaction() as tx:
        current = await get_in(tx, profile_id)
        merged = replace(current.draft, **changes)  # type: ignore[arg-type]
        checked = await _checked(tx, merged)
        await _ensure_alias_free(tx, checked.alias, but=profile_id)
        await _store(tx, profile_id, checked)
        await _changed(tx, actor, profile_id)
        return await get_in(tx, profile_id)


async def delete(db: Database, actor: Actor, profile_id: int) -> None:
    """P5: delete a profile; refused (InUse) while a slot, group or outcome uses it,
    naming every place, each of which the error carries as a ``links.Link``."""
    authorize(actor, Action.MANAGE_NOTIFICATIONS)
    async with db.transaction() as tx:
        await links.delete_in(tx, actor, profile_id)


async def _changed(tx: Tx, actor: Actor, profile_id: int) -> None:
    await tx.emit(
        "notification_profile.changed", "notification_profile", profile_id, actor_id=actor.id
    )


# --- P7 hold my calls ---------------------------------------------------------------


async def hold(
    db: Database, actor: Actor, profile_id: int, until: datetime | None = None
) -> NotificationProfile:
    """Hold transfers and on-call dispatch to the profile: indefinitely (``until`` None)
    or until ``until``, which must be to come (an instant with its time zone)."""
    authorize(actor, Action.MANAGE_NOTIFICATIONS)
    if until is not None and until.tzinfo is None:
        raise InvalidInput("a hold's end needs a time zone (an instant, not a wall-clock time)")
    async with db.transaction() as tx:
        await get_in(tx, profile_id)
        until_ms = None if until is None else to_ms(until)
        if until is not None and to_ms(until) <= tx.now_ms:
            raise InvalidInput(
                f"a hold must end in the future: {until.isoformat(timespec='minutes')}"
                f" is not after now ({from_ms(tx.now_ms).isoformat(timespec='minutes')})"
            )
        await tx.execute(
            "UPDATE notification_profiles SET hold = ?, hold_until = ?, hold_expired_at = NULL,"
            " updated_at = ? WHERE id = ?",
            (
                holds.INDEFINITE if until_ms is None else holds.UNTIL,
                until_ms,
                tx.now_ms,
                profile_id,
            ),
        )
        await _changed(tx, actor, profile_id)
        return await get_in(tx, profile_id)


async def unhold(db: Database, actor: Actor, profile_id: int) -> NotificationProfile:
    """Clear the hold: transfers and on-call dispatch reach the profile again."""
    authorize(actor, Action.MANAGE_NOTIFICATIONS)
    async with db.transaction() as tx:
        await get_in(tx, profile_id)
        await tx.execute(
            "UPDATE notification_profiles SET hold = ?, hold_until = NULL, hold_expired_at = NULL,"
            " updated_at = ? WHERE id = ?",
            (holds.OFF, tx.now_ms, profile_id),
        )
        await _changed(tx, actor, profile_id)
        return await get_in(tx, profile_id)


async def expire_holds(db: Database) -> int:
    """The worker's sweep: each hold whose time has passed is marked expired (at the
    instant it ended) and announced; returns how many."""
    async with db.transaction() as tx:
        rows = await tx.fetchall(
            "SELECT id FROM notification_profiles WHERE hold = ? AND hold_until <= ?"
            " AND hold_expired_at IS NULL",
            (holds.UNTIL, tx.now_ms),
        )
        if not rows:
            return 0
        ids = [r["id"] for r in rows]
        await tx.execute(
            "UPDATE notification_profiles SET hold_expired_at = hold_until"
            f" WHERE id IN ({', '.join('?' * len(ids))})",
            ids,
        )
        await tx.emit_many(
            "notification_profile.hold_expired", "notification_profile", ((i, {}) for i in ids)
        )
        return len(ids)


async def next_hold_due(db: Database) -> datetime | None:
    return from_ms_or_none(
        await db.scalar(
            "SELECT min(hold_until) FROM notification_profiles WHERE hold = ?"
            " AND hold_expired_at IS NULL",
            (holds.UNTIL,),
        )
    )


def hold_job(db: Database) -> Job:
    return Job(
        "notification_holds",
        HOLD_EVERY_SECONDS,
        lambda: expire_holds(db),
        next_due=lambda: next_hold_due(db),
    )
