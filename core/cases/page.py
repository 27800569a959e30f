"""C4: what the mobile case page may do, for the contact a good link names.

Every service starts from a ``links.Grant`` (``links.verify`` made it): the
contact is the actor, no agent is involved. A contact sees the case's
title, code, location and status, and only the notes they wrote or were
sent (not other contacts' notes); they write notes to contacts of the case,
reply, reply to all, and add their email address. A closed case can be
read; every write is refused naming the rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from email_validator import EmailNotValidError, validate_email

from core.cases import cases, notes, texts
from core.cases.case_contacts import CaseContact, list_in
from core.cases.links import Grant
from core.cases.notes import Note, Posted
from core.db import Database, Tx
from core.errors import InvalidInput, NotFound
from core.people import contacts
from core.permissions import values
from core.records import record

PAGE: Final = "page"
MAX_QUERY: Final = 100


@record
class PageNote:
    id: int
    subject: str
    body: str
    author: str
    recipients: tuple[str, ...]
    created_at: datetime
    is_original: bool
    """The note the link was sent with (the page offers to show it)."""
    mine: bool
    """Written by the contact holding the link."""
    reply_to: int | None


@record
class PageView:
    title: str
    code: str
    location: str
    status: str
    contact_name: str
    has_email: bool
    notes: tuple[PageNote, ...]


_VISIBLE: Final = (
    " AND (n.author_contact_id = ? OR EXISTS (SELECT 1 FROM case_note_recipients r"
    " WHERE r.note_id = n.id AND r.contact_id = ?))"
)


async def _visible_notes(q: Database | Tx, grant: Grant) -> list[Note]:
    return await notes.read(q, grant.case_id, _VISIBLE, (grant.contact_id, grant.contact_id))


def _page_note(note: Note, grant: Grant) -> PageNote:
    return PageNote(
        note.id,
        note.subject,
        note.body,
        note.author or "Service team",
        tuple(r.name for r in note.recipients),
        note.created_at,
        note.id == grant.note_id,
        note.author_contact_id == grant.contact_id,
        note.reply_to,
    )


async def view(db: Database, grant: Grant) -> PageView:
    """The case as this contact sees it: newest note first."""
    head = await db.fetchone(
        "SELECT c.title, c.code, c.status, l.name AS location, ct.id AS contact_id,"
        " ct.name, ct.email FROM cases c JOIN locations l ON l.id = c.location_id"
        " LEFT JOIN contacts ct ON ct.id = ? WHERE c.id = ?",
        (grant.contact_id, grant.case_id),
    )
    if head is None:
        raise NotFound(f"no case {grant.case_id!r}")
    if head["contact_id"] is None:
        raise NotFound("this contact no longer exists")
    return PageView(
        head["title"],
        head["code"],
        head["location"],
        head["status"],
        head["name"],
        bool(head["email"]),
        tuple(_page_note(n, grant) for n in await _visible_notes(db, grant)),
    )


async def search_recipients(db: Database, grant: Grant, query: str = "") -> list[CaseContact]:
    """The case's other contacts whose name or job title holds ``query``, or whose email
    or phone it is, typed whole (``CaseContact.matches``: the page never shows them)."""
    needle = values.text("the search", query, longest=MAX_QUERY).strip().casefold()
    return [
        c
        for c in await list_in(db, grant.case_id)
        if c.contact_id != grant.contact_id and c.matches(needle, whole_only=True)
    ]


async def _open_case(tx: Tx, grant: Grant) -> cases.Case:
    case = await cases.find(tx, grant.case_id)
    cases.ensure_open(case)
    return case


async def add_note(
    db: Database,
    grant: Grant,
    body: str,
    recipient_ids: Sequence[int],
    reply_to: int | None = None,
) -> Posted:
    """A note by the contact, texted to the chosen contacts of the case like any note."""
    async with db.transaction() as tx:
        case = await _open_case(tx, grant)
        if reply_to is not None and reply_to not in {n.id for n in await _visible_notes(tx, grant)}:
            raise NotFound(f"note {reply_to} is not one this contact can answer")
        chosen = [r for r in dict.fromkeys(recipient_ids) if r != grant.contact_id]
        # Checked here, not left to notes.post_in: its refusal names the contact,
        # and a link's holder must not learn who else is in the contact book.
        on_case = {c.contact_id for c in await list_in(tx, grant.case_id)}
        if any(r not in on_case for r in chosen):
            raise InvalidInput(
                "a note goes only to this case's contacts; choose its recipients with Edit"
            )
        return await notes.post_in(
            tx,
            case,
            kind=texts.NOTE,
            source=PAGE,
            body=body,
            recipient_ids=chosen,
            author_contact_id=grant.contact_id,
            reply_to=reply_to,
        )


async def reply_all_recipients(db: Database, grant: Grant, note_id: int) -> list[int]:
    """Who "reply all" to ``note_id`` sends to: its author and recipients still on the
    case, other than the contact replying (staff read every note in the console)."""
    return await _answering(db, grant, note_id, everyone=True)


async def reply_recipients(db: Database, grant: Grant, note_id: int) -> list[int]:
    """Who "reply" to ``note_id`` sends to: its author when a contact still on the case
    (none for a staff note: the service team reads every note in the console)."""
    return await _answering(db, grant, note_id, everyone=False)


async def _answering(db: Database, grant: Grant, note_id: int, *, everyone: bool) -> list[int]:
    visible = {n.id: n for n in await _visible_notes(db, grant)}
    note = visible.get(note_id)
    if note is None:
        raise NotFound(f"note {note_id} is not one this contact can answer")
    on_case = {c.contact_id for c in await list_in(db, grant.case_id)}
    wanted = [note.author_contact_id]
    if everyone:
        wanted += [r.contact_id for r in note.recipients]
    return [
        c for c in dict.fromkeys(wanted) if c is not None and c != grant.contact_id and c in on_case
    ]


async def add_email(db: Database, grant: Grant, email: str) -> str:
    """Set the contact's email (checked as an address, without looking up its domain)."""
    if not isinstance(email, str) or len(email) > contacts.MAX_EMAIL:
        raise InvalidInput(f"an email address is at most {contacts.MAX_EMAIL} characters")
    try:
        checked = validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidInput(f"{email.strip()!r} is not an email address: {exc}") from None
    async with db.transaction() as tx:
        await _open_case(tx, grant)
        await tx.execute(
            "UPDATE contacts SET email = ?, updated_at = ? WHERE id = ?",
            (checked, tx.now_ms, grant.contact_id),
        )
        await tx.emit("contact.updated", "contact", grant.contact_id)
    return checked
