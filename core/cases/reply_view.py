"""C3: what a note made from an SMS reply shows: from, to, date and time.

The note keeps only its author and the inbound message; the phone it came
from and our number it went to are the message's conversation's, read here
in one statement for any number of notes, so the console and the page show
them alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from core.clock import from_ms
from core.db import Database, Tx
from core.records import record


@record
class SmsOrigin:
    note_id: int
    from_name: str
    """The contact's name as it is now ('' when it has none, or was deleted)."""
    from_phone: str
    """The phone the reply came from, E.164."""
    to_number: str
    """Our number it was sent to, E.164."""
    location: str
    case_code: str
    at: datetime
    """When it was received."""


_READ = """SELECT n.id, coalesce(p.name, '') AS name, c.phone, nb.e164, l.name AS location,
    k.code, m.created_at
 FROM json_each(:ids) AS j
 JOIN case_notes n ON n.id = j.value AND n.source = 'sms'
 JOIN messages m ON m.id = n.message_id
 JOIN conversations c ON c.id = m.conversation_id
 JOIN numbers nb ON nb.id = c.number_id
 JOIN cases k ON k.id = n.case_id
 JOIN locations l ON l.id = k.location_id
 LEFT JOIN contacts p ON p.id = n.author_contact_id"""


async def sms_origins(db: Database | Tx, note_ids: Iterable[int]) -> dict[int, SmsOrigin]:
    """The origin of each of ``note_ids`` that came by SMS, by note ID (others are absent)."""
    rows = await db.fetchall(_READ, {"ids": json.dumps(sorted(set(note_ids)))})
    return {
        r["id"]: SmsOrigin(
            r["id"],
            r["name"],
            r["phone"],
            r["e164"],
            r["location"],
            r["code"],
            from_ms(r["created_at"]),
        )
        for r in rows
    }
