"""The text that will actually go out for a body the agent wrote (M2, M3, M5).

The first SMS ever sent to a number carries the account's opt-out line. The
sender (``sending.send``) and the composer's segment counter both build the
outgoing text with ``with_notice``, so the count an agent sees before sending
is the count of what is sent.
"""

from __future__ import annotations

from core import settings
from core.db import Database, Tx
from core.sms import consent, segments
from core.sms.segments import SmartEncoding
from core.text import LAYOUT, refuse_control_characters


def check_text(text: str, what: str = "the message") -> None:
    """Refuse (InvalidInput) a text someone writes to be sent that holds a control
    character other than a line break or a tab: no phone shows one, and in GSM-7 an ESC
    starts an extension character."""
    refuse_control_characters(what, text, LAYOUT)


def with_notice(body: str, notice: str | None) -> str:
    """``body`` as sent: with the opt-out ``notice`` on its own line when one is due."""
    if notice is None:
        return body
    return f"{body}\n{notice}" if body.strip() else notice


async def notice_for(db: Database | Tx, phone: str) -> str | None:
    """The opt-out line the next SMS to ``phone`` will carry, or None. Read-only.

    ``phone`` is in E.164 form. Sending takes the notice (``consent.take_notice_in``);
    this only looks, so asking twice gives the same answer.
    """
    if not await consent.notice_due(db, phone):
        return None
    return (await settings.load(db)).optout_notice


async def text_to_send(db: Database | Tx, phone: str, body: str) -> str:
    """The text an SMS with ``body`` to ``phone`` would carry if sent now. Read-only."""
    return with_notice(body, await notice_for(db, phone))


def smart_encoding_for(body: str, notice: str | None) -> SmartEncoding | None:
    """The GSM-7 rewrite of ``body``, judged on the whole text that will be sent.

    The saving is counted on body plus notice: a body that fits one UCS-2
    segment alone may need two once the notice is added. Only the body is
    rewritten (the agent cannot edit the notice), so when the notice itself
    holds a look-alike character nothing is offered: the message would stay
    UCS-2 whatever the agent did. ``text`` of the result is the new body.
    """
    if notice is None or not body.strip():
        return segments.smart_encoding(body)
    whole = segments.smart_encoding(with_notice(body, notice))
    tail = f"\n{notice}"
    if whole is None or not whole.text.endswith(tail):
        return None
    return SmartEncoding(
        text=whole.text[: -len(tail)],
        replaced=whole.replaced,
        count=whole.count,
        segments_saved=whole.segments_saved,
    )
