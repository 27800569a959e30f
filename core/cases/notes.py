"""C2: notes and quick actions on a case, each sent to chosen contacts of the case.

A free note goes to the recipients chosen (none: a note kept on the case);
a quick action (Checked in, Approval requested, Ready for pickup, In
service) goes by default to every contact texted on the case. Each
recipient who may be texted gets one SMS: the subject, "Case <code>", the
start of the note and their own link to the page (``sending``).

A note is stored as written, shown literally everywhere, and is 1-2,000
characters without control characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from core.cases import cases, sending, texts
from core.cases.cases import Case
from core.cases.sending import Delivery, Recipient
from core.clock import from_ms
from core.db import Database, Tx
from core.errors import InvalidInput, NotFound
from core.people.authz import Action, Actor, authorize
from core.records import record
from core.text import is_utf8, refuse_control_characters

MAX_BODY: Final = 2000
KINDS: Final = (texts.NOTE, *texts.QUICK_ACTIONS)
SOURCES: Final = ("console", "cli", "sms", "page")


@record
class NoteRecipient:
    contact_id: int
    name: str
    message_id: int | None
    skipped: str | None


@record
class Note:
    id: int
    case_id: int
    kind: str
    subject: str
    source: str
    author_agent_id: int | None
    author_contact_id: int | None
    author: str
    body: str
    reply_to: int | None
    created_at: datetime
    recipients: tuple[NoteRecipient, ...]


@record
class Posted:
    note_id: int
    deliveries: tuple[Delivery, ...]


LAYOUT: Final = "\n\t"
"""The control characters a note keeps: people write notes (and texts) in lines."""


def check_body(body: object) -> str:
    """The one rule for a note's text, however it comes (console, CLI, page, SMS reply)."""
    if not isinstance(body, str) or not is_utf8(body):
        raise InvalidInput("a note must be text")
    # A browser's textarea sends CR LF, a phone may send CR: both are a line break.
    text = body.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise InvalidInput("a note cannot be empty")
    if len(text) > MAX_BODY:
        raise InvalidInput(f"a note is at most {MAX_BODY} characters, not {len(text)}")
    refuse_control_characters("a note", text, LAYOUT)
    return text


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidInput(f"a note's kind is one of {', '.join(KINDS)}, not {kind!r}")
    return kind


async def post_in(
    tx: Tx,
    case: Case,
    *,
    kind: str,
    source: str,
    body: str,
    recipient_ids: Sequence[int],
    author_agent_id: int | None = None,
    author_contact_id: int | None = None,
    reply_to: int | None = None,
    message_id: int | None = None,
) -> Posted:
    """Store a note on an open case and text its recipients (contacts of the case only)."""
    cases.ensure_open(case)
    text = check_body(body)
    recipients = await sending.recipients_in(tx, case, recipient_ids)
    note_id = await tx.insert(
        "INSERT INTO case_notes (case_id, kind, source, author_agent_id, author_contact_id,"
        " body, reply_to, message_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            case.id,
            check_kind(kind),
            source,
            author_agent_id,
            author_contact_id,
            text,
            reply_to,
            message_id,
            tx.now_ms,
        ),
    )

    def compose(r: Recipient, url: str) -> str:
        return texts.note_sms(kind, case.code, text, url)

    deliveries = await sending.text_in(tx, case, note_id, recipients, compose)
    await tx.execute("UPDATE cases SET updated_at = ? WHERE id = ?", (tx.now_ms, case.id))
    await tx.emit("case.note", "case", case.id, case_id=case.id, note_id=note_id)
    return Posted(note_id, tuple(deliveries))


async def texted_contacts_in(tx: Tx, case_id: int) -> list[int]:
    rows = await tx.fetchall(
        "SELECT contact_id FROM case_contacts WHERE case_id = ? AND sms_enabled = 1"
        " ORDER BY contact_id",
        (case_id,),
    )
    return [r["contact_id"] for r in rows]


async def add(
    db: Database,
    actor: Actor,
    ref: str | int,
    body: str,
    recipient_ids: Sequence[int] | None = None,
    *,
    kind: str = texts.NOTE,
    source: str = "console",
) -> Posted:
    """A note (or quick action ``kind``) by ``actor``; ``recipient_ids`` None: nobody for a
    free note, every texted contact for a quick action."""
    authorize(actor, Action.WORK_CASE)
    check_kind(kind)
    async with db.transaction() as tx:
        case = await cases.find(tx, ref)
        cases.ensure_open(case)
        chosen = recipient_ids
        if chosen is None:
            chosen = [] if kind == texts.NOTE else await texted_contacts_in(tx, case.id)
        return await post_in(
            tx,
            case,
            kind=kind,
            source=source,
            body=body,
            recipient_ids=chosen,
            author_agent_id=actor.id,
        )


async def quick(
    db: Database,
    actor: Actor,
    ref: str | int,
    kind: str,
    recipient_ids: Sequence[int] | None = None,
    *,
    body: str = "",
    source: str = "console",
) -> Posted:
    """A quick action: its subject is the note unless a text is given."""
    if kind not in texts.QUICK_ACTIONS:
        raise InvalidInput(
            f"a quick action is one of {', '.join(texts.QUICK_ACTIONS)}, not {kind!r}"
        )
    return await add(
        db,
        actor,
        ref,
        body.strip() or texts.SUBJECTS[kind],
        recipient_ids,
        kind=kind,
        source=source,
    )


_NOTES: Final = (
    "SELECT n.*, coalesce(nullif(a.name, ''), a.username, c.name, '') AS author"
    " FROM case_notes n LEFT JOIN agents a ON a.id = n.author_agent_id"
    " LEFT JOIN contacts c ON c.id = n.author_contact_id"
)


async def read(
    q: Database | Tx, case_id: int, where: str = "", params: tuple[object, ...] = ()
) -> list[Note]:
    """The case's notes (newest first) with their recipients; ``where`` narrows them.

    One statement, a row per note and recipient: the mobile page reads this on
    every view, and each statement is a round trip to SQLite's thread.
    """
    rows = await q.fetchall(
        "SELECT v.*, r.contact_id AS r_contact_id, r.message_id AS r_message_id,"
        " r.skipped AS r_skipped, rc.name AS r_name FROM ("
        + _NOTES
        + " WHERE n.case_id = ?"
        + where
        + ") v LEFT JOIN case_note_recipients r ON r.note_id = v.id"
        " LEFT JOIN contacts rc ON rc.id = r.contact_id"
        " ORDER BY v.created_at DESC, v.id DESC, rc.name COLLATE NOCASE, rc.id",
        (case_id, *params),
    )
    found: list[Note] = []
    sent: list[NoteRecipient] = []
    for index, r in enumerate(rows):
        if r["r_name"] is not None:  # a recipient, and a contact that still exists
            sent.append(
                NoteRecipient(r["r_contact_id"], r["r_name"], r["r_message_id"], r["r_skipped"])
            )
        if index + 1 < len(rows) and rows[index + 1]["id"] == r["id"]:
            continue  # the same note's next recipient
        found.append(
            Note(
                r["id"],
                r["case_id"],
                r["kind"],
                texts.SUBJECTS[r["kind"]],
                r["source"],
                r["author_agent_id"],
                r["author_contact_id"],
                r["author"],
                r["body"],
                r["reply_to"],
                from_ms(r["created_at"]),
                tuple(sent),
            )
        )
        sent = []
    return found


async def list_notes(db: Database, actor: Actor, ref: str | int) -> list[Note]:
    """Every note of the case, newest first, with author, recipients, source and time."""
    authorize(actor, Action.VIEW_CASES)
    case = await cases.find(db, ref)
    return await read(db, case.id)


async def get_in(q: Database | Tx, case_id: int, note_id: int) -> Note:
    found = await read(q, case_id, " AND n.id = ?", (note_id,))
    if not found:
        raise NotFound(f"no note {note_id} on this case")
    return found[0]
