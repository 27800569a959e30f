"""The durable email outbox (P4): notices, and later alerts and case messages, by email.

Rows go queued -> sending (leased) -> sent | failed, with the SMS outbox's
guarantees: written in the transaction that decided to send them, retried
with backoff, nothing lost across a crash. Each row's Message-ID key is fixed
when it is written, so the one resend a crash can cause (after the server's
"250 OK", before our commit) carries the same Message-ID and mail clients
show it once.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
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
    return (await queue_many_in(tx, purpose, [(recipient, subject, body)]))[0]


async def queue_many_in(tx: Tx, purpose: str, items: Sequence[tuple[str, str, str]]) -> list[int]:
    """``queue_in`` for many (recipient, subject, body) emails, in two statements
    (a close fans out to many addresses at once); all are queued or none."""
    if purpose not in PURPOSES:
        raise InvalidInput(f"an email's purpose is one of {', '.join(PURPOSES)}, not {purpose!r}")
    if purpose == "case":
        from core import settings
        from core.notify.hipaa import may_email_contact

        refusal = may_email_contact(await settings.load_in(tx))
        if refusal is not None:
            raise HipaaRefused(refusal)
    for _, subject, body in items:
        _check(subject, body)
    if not items:
        return []
    rows = [[r, subject, body, secrets.token_hex(16)] for r, subject, body in items]
    made = await tx.fetchall(
        "INSERT INTO emails (purpose, recipient, subject, body, message_key, status,"
        " next_attempt_at, created_at, updated_at)"
        " SELECT :purpose, value ->> 0, value ->> 1, value ->> 2, value ->> 3, 'queued',"
        " :now, :now, :now FROM json_each(:rows) ORDER BY key RETURNING id, message_key",
        {"purpose": purpose, "now": tx.now_ms, "rows": json.dumps(rows)},
    )
    # Rows are numbered in the SELECT's order; checked (by their unique keys), not assumed.
    made = sorted(made, key=lambda r: r["id"])
    if [r["message_key"] for r in made] != [row[3] for row in rows]:
        raise RuntimeError("the email rows came back out of order")
    ids = [r["id"] for r in made]
    # Ids and kinds only: the change feed never carries an address or a body.
    await tx.emit_many("email.queued", "email", [(i, {"purpose": purpose}) for i in ids])
    return ids


def _check(subject: str, body: str) -> None:
    if not subject.strip():
        raise InvalidInput("an email needs a subject")
    if len(subject) > MAX_SUBJECT or has_control_characters(subject):
        raise InvalidInput(f"an email subject is one line of at most {MAX_SUBJECT} characters")
    if len(body) > MAX_BODY:
        raise InvalidInput(f"an email body is at most {MAX_BODY} characters, not {len(body)}")
    if not (is_utf8(subject) and is_utf8(body)):
        raise InvalidInput("an email must be valid UTF-8 text")
