"""M2, M4-M6, M9: sending an SMS, with every rule on the way.

Only to a mobile number, never to a number that opted out, the first SMS to
a number carries the opt-out line, MMS only from an MMS number, the first
agent to text owns the conversation and later ones subscribe, an agent's
reply ends the contact's wait, and texting a Ready contact sets it not
ready. Receiving is core/sms/receiving.py: a script that only sends never loads it.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING

from core import settings
from core.alerts import stopping
from core.db import Database, Tx
from core.delivery import outbox
from core.errors import (
    InvalidInput,
    LimitExceeded,
    MmsNotSupported,
    NotMobile,
)
from core.people import contacts
from core.people.authz import Action, Actor, NumberAccess, authorize
from core.records import record
from core.sms import consent, conversations, numbers, outgoing, phones, segments
from core.text import counted

if TYPE_CHECKING:
    from core.delivery.gateway import Media, MmsLimits

log = logging.getLogger(__name__)


@record
class SendResult:
    message_id: int
    conversation_id: int
    body: str
    """What will be sent, opt-out line included."""
    segments: int
    ready_changed: bool
    """M9: the contact was Ready and is not any more."""


async def send(
    db: Database,
    actor: Actor,
    to: str,
    body: str,
    *,
    sender: str | None = None,
    media: Sequence[Media] = (),
    mms_limits: MmsLimits | None = None,
) -> SendResult:
    """Queue an SMS (or MMS with ``media``) from ``actor`` to the number ``to``.

    ``mms_limits`` are the provider's (``SmsGateway.mms_limits``): an
    MMS it cannot send is refused now rather than failing in the outbox.
    Raises InvalidInput (empty message, a control character other than a line
    break or tab, bad number, one of our own numbers, an MMS text over
    MAX_MMS_TEXT), NotMobile, OptedOut, MmsNotSupported, LimitExceeded (too
    many SMS parts), NotFound (no number to send from) or NotAllowed.
    """
    if not body.strip() and not media:
        raise InvalidInput("the message is empty")
    outgoing.check_text(body)
    config = await settings.load(db)
    phone = await _recipient(db, to, config.default_region)
    if media:
        from core.sms import mms  # an MMS's checks; a text needs none of it

        _ensure_mms_possible(body, media, mms_limits)
        for item in media:
            mms.check(item, config.mms_max_bytes)

    async with db.transaction() as tx:
        if await numbers.is_ours(tx, phone):
            # It would land in our own inbox as an inbound message, and an
            # auto-reply could answer it: a loop.
            raise InvalidInput(
                f"{phone} is one of our own numbers; send to a contact's mobile number"
            )
        contact = await contacts.find_by_phone(tx, phone)
        _ensure_mobile(phone, contact)
        from_number = (
            await numbers.by_e164(tx, phones.normalise(sender, config.default_region))
            if sender
            else await numbers.sender_for(tx, actor.id)
        )
        # Before anything is written: the profile may send from this number.
        authorize(actor, Action.SEND_SMS, NumberAccess(from_number.id, from_number.e164))
        if media and not from_number.mms:
            raise MmsNotSupported(
                f"{from_number.e164} is not MMS-enabled, so it cannot send attachments; "
                "send text only or use an MMS-enabled number"
            )
        await consent.ensure_may_text(tx, phone)
        if contact is None:
            contact_id = await contacts.create_for_phone_in(tx, phone, agent_id=actor.id)
        else:
            contact_id = contact.id
        row = await conversations.get_or_create_in(tx, from_number.id, phone, contact_id, actor.id)
        await _join(tx, actor, row)
        notice = config.optout_notice if await consent.take_notice_in(tx, phone) else None
        text = outgoing.with_notice(body, notice)  # the composer's counter counts the same text
        _ensure_within_parts(text, media, config.max_message_parts)
        message_id = await outbox.queue_in(
            tx, row["id"], text, kind=outbox.CHAT, author_id=actor.id, media=media
        )
        await tx.execute(
            "UPDATE conversations SET waiting_since = NULL, public_due_at = NULL,"
            " last_outbound_at = ?, last_message_at = ? WHERE id = ?",
            (tx.now_ms, tx.now_ms, row["id"]),
        )
        await stopping.stop_in(tx, [row["id"]], reason=stopping.ANSWERED)
        ready_changed = await contacts.set_ready_in(
            tx,
            contact_id,
            False,
            f"SMS sent by {actor.label}",
            agent_id=actor.id,
            message_id=message_id,
        )
        if actor.id is not None:
            # Replying means the agent has read the conversation.
            await conversations.mark_read_in(tx, actor.id, row["id"])
        await conversations.announce(tx, "message.sent_by_agent", row["id"], message_id, actor.id)
    return SendResult(
        message_id, row["id"], text, max(segments.count(text).segments, 1), ready_changed
    )


async def _recipient(db: Database, to: str, region: str) -> str:
    """``to`` in E.164; InvalidInput if it is not a valid number.

    A number a contact already has is taken as it is: it was read and
    checked when it was stored, exactly so (E.164, as phones.normalise writes
    it). Reading it again would cost a script's `switchboard send` a fifth of
    its start-up (loading phonenumbers, compiling its patterns; issue #9).
    """
    if to.startswith("+") and await contacts.has_phone(db, to):
        return to
    return phones.normalise(to, region)


MAX_MMS_TEXT = 5000
"""Characters of text with an MMS (an SMS is bounded by max_message_parts instead)."""


def _ensure_mms_possible(body: str, media: Sequence[Media], limits: MmsLimits | None) -> None:
    if len(body) > MAX_MMS_TEXT:
        raise InvalidInput(
            f"the text of an MMS may be at most {MAX_MMS_TEXT} characters; this one has {len(body)}"
        )
    if limits is None:
        return
    if limits.unavailable:
        raise MmsNotSupported(f"cannot send attachments: {limits.unavailable}")
    if limits.max_attachments is not None and len(media) > limits.max_attachments:
        raise MmsNotSupported(
            f"the SMS provider sends at most {counted(limits.max_attachments, 'file')} per MMS"
            f" and this message has {len(media)}; send them one message each"
        )


def _ensure_mobile(phone: str, contact: contacts.Contact | None) -> None:
    if contact is not None:
        kinds = {p.kind for p in contact.phones if p.e164 == phone}
        if "mobile" not in kinds:
            raise NotMobile(
                f"{phone} is {contact.label}'s {'/'.join(sorted(kinds)) or 'number'}, not a "
                "mobile number; SMS can only go to a mobile number"
            )
        return
    if not phones.may_be_mobile(phone):
        raise NotMobile(f"{phone} is not a mobile number; SMS can only go to a mobile number")


async def _join(tx: Tx, actor: Actor, row: sqlite3.Row) -> None:
    """M6: the first agent to text owns the conversation, later ones subscribe.

    Texting a public conversation takes it, inside this transaction, so it
    cannot race with another agent's take.
    """
    if actor.id is None:
        return
    owner = row["owner_id"]
    if owner is None or row["is_public"]:
        await conversations.take_in(tx, row["id"], actor.id, owner)
    elif owner != actor.id:
        await conversations.subscribe_in(tx, row["id"], actor.id)


def _ensure_within_parts(text: str, media: Sequence[Media], max_parts: int) -> None:
    if media:
        return  # an MMS is one message whatever its length
    parts = segments.count(text).segments
    if parts > max_parts:
        raise LimitExceeded(
            f"this message would go as {parts} SMS parts and the most allowed is {max_parts}"
            " (setting max_message_parts); shorten it or send it in pieces"
        )
