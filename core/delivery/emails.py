"""The durable email outbox (P4): notices, and later alerts and case messages, by email.

Rows go queued -> sending (leased) -> sent | failed, with the SMS outbox's
guarantees: written in the transaction that decided to send them, retried
with backoff, nothing lost across a crash. Each row's Message-ID key is fixed
when it is written, so the one resend a crash can cause (after the server's
"250 OK", before our commit) carries the same Message-ID and mail clients
show it once.
"""

from __future__ import annotations

import secrets
from typing import Final

from core.db import Tx
from core.errors import HipaaRefused, InvalidInput
from core.text import has_control_characters, is_utf8

PURPOSES: Final = ("notice", "alert", "case")
MAX_SUBJECT: Final = 200
MAX_BODY: Final = 100_000


async def queue_in(tx: Tx, purpose: str, recipient: str, subject: str, body: str) -> int:
    """Queue one email to ``recipient`` (an address already validated where it entered).

    Returns the row's id. The worker's email job delivers it.
    """
    if purpose not in PURPOSES:
        raise InvalidInput(f"an email's purpose is one of {', '.join(PURPOSES)}, not {purpose!r}")
    if purpose == "case":
        from core import settings
        from core.notify.hipaa import may_email_contact

        refusal = may_email_contact(await settings.load_in(tx))
        if refusal is not None:
            raise HipaaRefused(refusal)
    if not subject.strip():
        raise InvalidInput("an email needs a subject")
    if len(subject) > MAX_SUBJECT or has_control_characters(subject):
        raise InvalidInput(f"an email subject is one line of at most {MAX_SUBJECT} characters")
    if len(body) > MAX_BODY:
        raise InvalidInput(f"an email body is at most {MAX_BODY} characters, not {len(body)}")
    if not (is_utf8(subject) and is_utf8(body)):
        raise InvalidInput("an email must be valid UTF-8 text")
    email_id = await tx.insert(
        "INSERT INTO emails (purpose, recipient, subject, body, message_key, status,"
        " next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?)",
        (
            purpose,
            recipient,
            subject,
            body,
            secrets.token_hex(16),
            tx.now_ms,
            tx.now_ms,
            tx.now_ms,
        ),
    )
    # Ids and kinds only: the change feed never carries an address or a body.
    await tx.emit("email.queued", "email", email_id, purpose=purpose)
    return email_id
