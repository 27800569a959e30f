"""C1: the invitation a contact gets the first time SMS is enabled for them on a case.

It is a case note of kind 'invitation' with that contact as its one
recipient, so the case's history shows who was invited when, and the text
carries the contact's first link. A contact with no email address is asked,
in the same text, to add one on the page.
"""

from __future__ import annotations

from core.cases import sending, texts
from core.cases.cases import Case
from core.cases.sending import Delivery, Recipient
from core.db import Tx


async def invite_in(
    tx: Tx, case: Case, recipient: Recipient, *, author_agent_id: int | None, source: str
) -> Delivery:
    has_email = bool(recipient.email)
    note_id = await tx.insert(
        "INSERT INTO case_notes (case_id, kind, source, author_agent_id, body, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            case.id,
            texts.INVITATION,
            source,
            author_agent_id,
            texts.invitation_note(case.code, case.title, has_email),
            tx.now_ms,
        ),
    )

    def compose(r: Recipient, url: str) -> str:
        return texts.invitation_sms(case.location, case.code, case.title, url, has_email=has_email)

    [delivery] = await sending.text_in(tx, case, note_id, [recipient], compose)
    await tx.execute(
        "UPDATE case_contacts SET invited_at = ? WHERE case_id = ? AND contact_id = ?",
        (tx.now_ms, case.id, recipient.contact_id),
    )
    await tx.emit("case.note", "case", case.id, case_id=case.id, note_id=note_id)
    return delivery
