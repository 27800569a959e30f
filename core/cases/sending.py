"""Texting a note's recipients: one outbox row each, a personal link in each.

Set-based: one read of the recipients and their consent, one ``queue_many``
(purpose 'case', from the location's number), one UPDATE that marks the
rows as the case's (``messages.case_id``: a reply finds its case by it), one
INSERT of the recipient rows. A recipient who cannot be texted is kept with
the reason (SMS off for them on this case, opted out): the note itself
never fails because one phone said STOP.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Final

from core.cases import links
from core.cases.cases import Case
from core.db import Tx
from core.delivery import outbox
from core.errors import InvalidInput
from core.records import record

SMS_OFF: Final = "not texted: SMS is off for this contact on the case"


@record
class Recipient:
    contact_id: int
    name: str
    email: str
    sms_enabled: bool
    phone: str | None


@record
class Delivery:
    """What became of one recipient of a note: its message, or why it was not texted."""

    contact_id: int
    name: str
    message_id: int | None
    skipped: str | None


Compose = Callable[[Recipient, str], str]
"""The text for a recipient, given their link's URL."""


async def recipients_in(tx: Tx, case: Case, contact_ids: Sequence[int]) -> list[Recipient]:
    """The contacts ``contact_ids`` on ``case``, in that order; one not on it is refused by name."""
    rows = await tx.fetchall(
        "SELECT c.id, c.name, c.email, cc.sms_enabled, cc.phone, cc.case_id"
        " FROM json_each(?) j JOIN contacts c ON c.id = j.value"
        " LEFT JOIN case_contacts cc ON cc.contact_id = c.id AND cc.case_id = ?"
        " ORDER BY j.key",
        (json.dumps(list(dict.fromkeys(contact_ids))), case.id),
    )
    found = {r["id"] for r in rows}
    for contact_id in contact_ids:
        if contact_id not in found:
            raise InvalidInput(f"contact {contact_id} does not exist, so cannot receive a note")
    for r in rows:
        if r["case_id"] is None:
            who = r["name"] or f"contact {r['id']}"
            raise InvalidInput(
                f"{who} is not a contact on case {case.code}: a note goes only to the"
                " case's contacts; add them to the case first"
            )
    return [
        Recipient(r["id"], r["name"], r["email"], bool(r["sms_enabled"]), r["phone"]) for r in rows
    ]


async def text_in(
    tx: Tx, case: Case, note_id: int, recipients: Sequence[Recipient], compose: Compose
) -> list[Delivery]:
    """Record ``recipients`` as the note's and text those who may be texted."""
    phones = sorted({r.phone for r in recipients if r.sms_enabled and r.phone})
    opted = {
        row["phone"]
        for row in await tx.fetchall(
            "SELECT phone FROM phone_consent WHERE opted_out = 1"
            " AND phone IN (SELECT value FROM json_each(?))",
            (json.dumps(phones),),
        )
    }
    skipped: dict[int, str] = {}
    link_ids: dict[int, int] = {}
    sendable: list[tuple[Recipient, str]] = []
    for r in recipients:
        if not r.sms_enabled or r.phone is None:
            skipped[r.contact_id] = SMS_OFF
        elif r.phone in opted:
            skipped[r.contact_id] = f"not texted: {r.phone} opted out of SMS (STOP)"
        else:
            url = await links.issue_in(tx, case.id, r.contact_id, note_id)
            link_ids[r.contact_id] = await tx.scalar(
                "SELECT max(id) FROM case_links WHERE case_id = ? AND contact_id = ?",
                (case.id, r.contact_id),
            )
            sendable.append((r, compose(r, url)))
    # Nothing to send, nothing to ask the outbox: a note kept on the case does not depend
    # on the location's number still being able to text.
    queued = (
        await outbox.queue_many(
            tx, outbox.CASE, case.sender, [(r.phone or "", text) for r, text in sendable]
        )
        if sendable
        else []
    )
    message_ids: dict[int, int] = {}
    for (r, _), result in zip(sendable, queued, strict=True):
        if isinstance(result, int):
            message_ids[r.contact_id] = result
        else:
            skipped[r.contact_id] = f"not texted: {result}"
            await links.revoke_in(
                tx, case_id=case.id, contact_id=r.contact_id, link_id=link_ids.pop(r.contact_id)
            )
    if message_ids:
        await tx.execute(
            "UPDATE messages SET case_id = ? WHERE id IN (SELECT value FROM json_each(?))",
            (case.id, json.dumps(list(message_ids.values()))),
        )
    await tx.executemany(
        "INSERT INTO case_note_recipients (note_id, contact_id, message_id, link_id, skipped)"
        " VALUES (?, ?, ?, ?, ?)",
        [
            (
                note_id,
                r.contact_id,
                message_ids.get(r.contact_id),
                link_ids.get(r.contact_id),
                skipped.get(r.contact_id),
            )
            for r in recipients
        ],
    )
    return [
        Delivery(r.contact_id, r.name, message_ids.get(r.contact_id), skipped.get(r.contact_id))
        for r in recipients
    ]
