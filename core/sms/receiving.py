"""M5, M6: receiving an SMS, with every rule on the way.

STOP-family keywords opt the number out (one confirmation, then silence),
START-family opt it back in, HELP answers; a message that plainly asks to
stop is flagged for an agent; anything else starts the wait that makes the
conversation public when it runs out. Receiving runs an ordered list of
hooks (core/sms/inbound.py, ``default_hooks``) in the message's transaction, so
a capability adds its own without changing ``receive``.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from weakref import WeakKeyDictionary

from core import settings
from core.alerts import hook as alerts_hook
from core.campaigns import replies as campaign_replies
from core.cases import replies as case_replies
from core.db import Database, Tx
from core.delivery import outbox
from core.delivery.gateway import Media
from core.errors import (
    InvalidInput,
    NotFound,
    SwitchboardError,
)
from core.people import contacts
from core.people.authz import Action, Actor, ConversationAccess, authorize
from core.records import record
from core.routing import hook as routing_hook
from core.sms import consent, conversations, inbound, numbers, segments
from core.sms.optout import Intent, classify, normalise
from core.sms.phones import normalise as normalise_phone
from core.text import is_utf8

log = logging.getLogger(__name__)


@record
class ReceiveResult:
    message_id: int
    conversation_id: int
    intent: Intent
    duplicate: bool
    replies: tuple[int, ...]
    """IDs of automatic replies queued (confirmations, help)."""


MAX_SMS_PARTS = 255
MAX_INBOUND_BODY = MAX_SMS_PARTS * 153
"""The most a phone can send as one message: 255 parts of 153 GSM-7 characters."""


@record
class Incoming:
    """An inbound SMS as a provider hands it over (``receive_many`` takes several)."""

    sender: str
    to: str
    body: str
    provider_ref: str | None = None
    media: Sequence[Media] = ()


async def receive(
    db: Database,
    sender: str,
    to: str,
    body: str,
    *,
    provider_ref: str | None = None,
    media: Sequence[Media] = (),
    hooks: Sequence[inbound.Hook] | None = None,
) -> ReceiveResult:
    """Store an inbound SMS from ``sender`` to our number ``to`` and act on it.

    ``provider_ref`` (the provider's message ID) makes this idempotent: the
    same inbound message stored twice is stored once. Raises InvalidPhoneNumber
    for a bad sender, NotFound when ``to`` is not one of our numbers, and
    InvalidInput for a body no phone could have sent (over MAX_INBOUND_BODY,
    or not UTF-8 text) or for ``hooks`` that break the rules of
    ``inbound.check_hooks``.

    ``hooks`` (default ``default_hooks()``) run in order once the message is
    stored, in its transaction: one that raises rolls the message back.
    """
    [result] = await receive_many(
        db, [Incoming(sender, to, body, provider_ref, media)], hooks=hooks
    )
    if isinstance(result, SwitchboardError):
        raise result
    return result


async def receive_many(
    db: Database, messages: Sequence[Incoming], *, hooks: Sequence[inbound.Hook] | None = None
) -> list[ReceiveResult | SwitchboardError]:
    """``receive`` for several inbound SMS in one transaction: one result each, in order.

    A message refused for what it holds gets the refusal ``receive`` would
    raise as its result (InvalidPhoneNumber, NotFound, InvalidInput), and the
    others are stored. A copy of a message already stored, or of one earlier
    in ``messages``, is stored once (``duplicate``). Anything else that fails
    rolls the whole group back and raises: the caller stores each message
    alone then (providers.webhooks does), so one that can never be stored
    fails alone.

    The work is set-based: one statement per step for the whole group, not
    per message. Each statement is a trip to the database thread, and those
    trips, not SQLite, are what an inbound message costs; that is also why a
    failure is not contained with a SAVEPOINT per message (two more trips
    each) but by checking every refusal before anything is written. For the
    same reason the settings are not read first: the group is checked with
    those the last group's transaction found, its look-up reads them, and if
    they changed it is checked and looked up again with them, so a change
    applies to the very next group.
    """
    chain = default_hooks() if hooks is None else list(hooks)
    inbound.check_hooks(chain, first=KEYWORDS)
    stored = _SETTINGS_SEEN.get(db)
    cached = stored is not None
    if stored is None:
        stored = await _stored_settings(db)
    results, checked = _check_all(messages, settings.from_json(stored))
    if not checked and cached:
        # No transaction will say whether those settings still hold, and a refusal
        # (a sender's number read in the default region) depends on them too.
        stored = await _stored_settings(db)
        results, checked = _check_all(messages, settings.from_json(stored))
    if checked:
        async with db.transaction() as tx:
            ours, known, ahead = await _look_up(tx, checked, chain)
            if known.settings != stored:
                # Changed since the last group: this group follows the new ones, which
                # the write lock (taken with the look-up) keeps until the COMMIT.
                stored = known.settings
                results, checked = _check_all(messages, settings.from_json(stored))
                if checked:
                    ours, known, ahead = await _look_up(tx, checked, chain)
            _SETTINGS_SEEN[db] = stored
            if checked:
                await _store_many(
                    tx, checked, chain, settings.from_json(stored), results, ours, known, ahead
                )
    assert all(r is not None for r in results)
    return results  # type: ignore[return-value]


_SETTINGS_SEEN: WeakKeyDictionary[Database, str] = WeakKeyDictionary()
"""Per database, the settings (``settings.STORED_AS_JSON``) the last group's transaction
found. The next group is checked with them before its transaction, and its look-up reads
them again in the same trip: reading them first was a trip of its own per group."""


async def _stored_settings(db: Database) -> str:
    text: str = await db.scalar("SELECT " + settings.STORED_AS_JSON)
    return text


def _check_all(
    messages: Sequence[Incoming], config: settings.Settings
) -> tuple[list[ReceiveResult | SwitchboardError | None], list[_Checked]]:
    """Each message's refusal (in its place) or what it means, with ``config``."""
    results: list[ReceiveResult | SwitchboardError | None] = [None] * len(messages)
    checked: list[_Checked] = []
    for index, message in enumerate(messages):
        try:
            checked.append(_check(index, message, config))
        except InvalidInput as refused:  # InvalidPhoneNumber is one
            results[index] = refused
    return results, checked


@record
class _Checked:
    index: int
    """Its place in what ``receive_many`` was given."""
    message: Incoming
    phone: str
    ours: str
    intent: Intent
    keyword: str | None


def _check(index: int, message: Incoming, config: settings.Settings) -> _Checked:
    """The refusals that need no database, and what the text means; raises InvalidInput."""
    body = message.body
    if len(body) > MAX_INBOUND_BODY:
        raise InvalidInput(
            f"an inbound message may be at most {MAX_INBOUND_BODY:,} characters"
            f" ({MAX_SMS_PARTS} parts); this one has {len(body):,}"
        )
    if not is_utf8(body):
        # Stored, it could not be read back: every later read of its conversation would fail.
        raise InvalidInput("an inbound message must be UTF-8 text; this one holds a lone surrogate")
    phone = normalise_phone(message.sender, config.default_region)
    ours = normalise_phone(message.to, config.default_region)
    intent = classify(
        body, optout=config.optout_keywords, optin=config.optin_keywords, help=config.help_keywords
    )
    keyword = (
        normalise(body).upper() if intent in (Intent.OPT_OUT, Intent.OPT_IN, Intent.HELP) else None
    )
    return _Checked(index, message, phone, ours, intent, keyword)


async def _store_many(
    tx: Tx,
    checked: Sequence[_Checked],
    chain: Sequence[inbound.Hook],
    config: settings.Settings,
    results: list[ReceiveResult | SwitchboardError | None],
    ours: dict[str, numbers.Number],
    known: _Known,
    ahead: dict[str, list[sqlite3.Row]],
) -> None:
    """Store ``checked`` (contact, conversation, message, attachments, last-inbound
    times) with what ``_look_up`` found, run the hooks, announce each message; fill in
    ``results``."""
    seen = known.messages
    fresh: list[_Checked] = []
    first_copy: dict[str, _Checked] = {}
    copies: list[tuple[_Checked, _Checked]] = []
    for c in checked:
        ref = c.message.provider_ref
        if ref is not None and ref in seen:
            message_id, conversation_id = seen[ref]
            results[c.index] = ReceiveResult(message_id, conversation_id, c.intent, True, ())
        elif ref is not None and ref in first_copy:
            copies.append((c, first_copy[ref]))
        elif c.ours not in ours:
            results[c.index] = NotFound(
                f"{c.ours} is not one of our numbers; add it with: switchboard numbers add"
            )
        else:
            if ref is not None:
                first_copy[ref] = c
            fresh.append(c)
    if fresh:
        stored = await _insert_many(tx, fresh, ours, known)
        replies = await inbound.run_hooks_many(
            chain,
            [
                inbound.Inbound(
                    tx=tx,
                    message_id=message_id,
                    conversation_id=conversation_id,
                    contact_id=contact_id,
                    phone=c.phone,
                    number=ours[c.ours],
                    body=c.message.body,
                    intent=c.intent,
                    keyword=c.keyword,
                    settings=config,
                    ahead=ahead,
                )
                for c, (message_id, conversation_id, contact_id) in zip(fresh, stored, strict=True)
            ],
        )
        # M6: every stored message is announced, after the hooks, so the audience
        # includes anyone a hook added; consoles refresh on it.
        await conversations.announce_many(
            tx, "message.received", [(cid, mid) for mid, cid, _ in stored]
        )
        for c, (message_id, conversation_id, _), sent in zip(fresh, stored, replies, strict=True):
            results[c.index] = ReceiveResult(message_id, conversation_id, c.intent, False, sent)
    for c, first in copies:
        done = results[first.index]
        assert isinstance(done, ReceiveResult)
        results[c.index] = ReceiveResult(done.message_id, done.conversation_id, c.intent, True, ())


@record
class _Known:
    """What the database already holds for a group, read in one statement."""

    messages: dict[str, tuple[int, int]]
    """(message ID, conversation ID) of the inbound messages already stored, by provider_ref."""
    contacts: dict[str, int]
    """The contact each sender's number belongs to (the oldest), by E.164."""
    conversations: dict[tuple[int, str], int]
    """The conversation of each (our number's ID, sender), when there is one."""
    last_message_id: int
    """The highest message ID: the group's messages take the IDs after it."""
    settings: str
    """The stored settings, as ``settings.STORED_AS_JSON`` gives them."""


# What the database knows of a group, in one statement of one row (the highest message
# ID, the settings, and the rows found as one JSON array): the database thread takes the
# GIL back after each statement and each row it steps through, and while the event loop
# is busy answering HTTP each time was a wait (a group's 30-odd rows cost more than the
# query).
_LOOK_UP = (
    "SELECT json_group_array(json_array(kind, key, first, second)) FROM ("
    "SELECT 'message' AS kind, m.provider_ref AS key, m.id AS first,"
    " m.conversation_id AS second FROM json_each(:refs) AS j"
    " JOIN messages m ON m.provider_ref = j.value"
    " UNION ALL"
    " SELECT 'contact', p.e164, min(p.contact_id), NULL FROM json_each(:phones) AS j"
    " JOIN contact_phones p ON p.e164 = j.value GROUP BY p.e164"
    " UNION ALL"
    " SELECT 'conversation', c.phone, c.id, c.number_id FROM json_each(:pairs) AS j"
    " JOIN numbers n ON n.e164 = j.value ->> 0"
    " JOIN conversations c ON c.number_id = n.id AND c.phone = j.value ->> 1)"
)
_LAST_MESSAGE = "SELECT coalesce(max(id), 0) FROM messages"
_KNOWN = (
    "SELECT coalesce(max(id), 0), " + settings.STORED_AS_JSON + ", (" + _LOOK_UP + ") FROM messages"
)


async def _look_up(
    tx: Tx, checked: Sequence[_Checked], chain: Sequence[inbound.Hook]
) -> tuple[dict[str, numbers.Number], _Known, dict[str, list[sqlite3.Row]]]:
    """Our numbers, retries, senders' contacts and conversations for the whole group,
    the settings, and the hooks' reads ahead, in one trip to the database (each trip
    waits its turn on a busy loop)."""
    refs = sorted({c.message.provider_ref for c in checked if c.message.provider_ref is not None})
    pairs = sorted({(c.ours, c.phone) for c in checked})
    arriving = [inbound.Arriving(c.phone, c.ours, c.message.body, c.keyword) for c in checked]
    reads = [(hook.name, hook.ahead(arriving)) for hook in chain if hook.ahead is not None]
    [[last, stored, found]], ours_rows, *read_ahead = await tx.fetchall_each(
        (
            _KNOWN,
            {
                "refs": json.dumps(refs),
                "phones": json.dumps(sorted({c.phone for c in checked})),
                "pairs": json.dumps(pairs),
            },
        ),
        numbers.by_e164_read(c.ours for c in checked),
        *(read for _, read in reads),
    )
    known = _Known({}, {}, {}, last, stored)
    for kind, key, first, second in json.loads(found):
        if kind == "message":
            known.messages[key] = (first, second)
        elif kind == "contact":
            known.contacts[key] = first
        else:
            known.conversations[(second, key)] = first
    ahead = {name: found for (name, _), found in zip(reads, read_ahead, strict=True)}
    return numbers.by_e164_found(ours_rows), known, ahead


async def _insert_many(
    tx: Tx, fresh: Sequence[_Checked], ours: dict[str, numbers.Number], known: _Known
) -> list[tuple[int, int, int]]:
    """Store ``fresh`` with their contacts and conversations (created when new);
    (message ID, conversation ID, contact ID) of each, in order."""
    contact_of = known.contacts
    conversation_of = known.conversations
    last_id = known.last_message_id
    created = False
    for c in fresh:  # a sender or a conversation seen for the first time: rare, one by one
        number = ours[c.ours]
        if c.phone not in contact_of:
            contact_of[c.phone] = await contacts.create_for_phone_in(tx, c.phone, agent_id=None)
            created = True
        if (number.id, c.phone) not in conversation_of:
            row = await conversations.get_or_create_in(
                tx, number.id, c.phone, contact_of[c.phone], number.agent_id
            )
            conversation_of[(number.id, c.phone)] = row["id"]
            created = True
    if created:  # whatever that wrote, the highest message ID is read again
        last_id = await tx.scalar(_LAST_MESSAGE)
    now = tx.now_ms
    # The IDs SQLite would give them (the write lock is held since the look-up, and
    # messages has no AUTOINCREMENT: the next rowid is the highest plus one), given
    # outright so the insert needs no trip of its own to say them: it goes with the
    # next statement. An ID taken after all would fail the insert, not reuse a row.
    message_ids = list(range(last_id + 1, last_id + 1 + len(fresh)))
    rows = []
    for c, message_id in zip(fresh, message_ids, strict=True):
        count = segments.count(c.message.body)
        rows.append(
            (
                message_id,
                conversation_of[(ours[c.ours].id, c.phone)],
                "keyword" if c.keyword else "chat",
                c.message.body,
                count.encoding,
                max(count.segments, 1),
                c.message.provider_ref,
                "pending" if c.intent is Intent.POSSIBLE_OPT_OUT else None,
                now,
                now,
            )
        )
    for start in range(0, len(rows), _INSERT_CHUNK):
        chunk = rows[start : start + _INSERT_CHUNK]
        tx.defer(
            "INSERT INTO messages (id, conversation_id, direction, kind, body, encoding,"
            " segments, status, provider_ref, optout_flag, created_at, updated_at) VALUES "
            + ", ".join(["(?, ?, 'in', ?, ?, ?, ?, 'received', ?, ?, ?, ?)"] * len(chunk)),
            [value for row in chunk for value in row],
        )
    attachments = [
        (message_id, item.filename, item.mime, len(item.content), item.content, item.url)
        for c, message_id in zip(fresh, message_ids, strict=True)
        for item in c.message.media
    ]
    if attachments:
        await tx.executemany(
            "INSERT INTO attachments (message_id, filename, mime, size, content, url)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            attachments,
        )
    stored = [
        (message_id, conversation_of[(ours[c.ours].id, c.phone)], contact_of[c.phone])
        for c, message_id in zip(fresh, message_ids, strict=True)
    ]
    latest = {conversation_id: message_id for message_id, conversation_id, _ in stored}
    tx.defer(
        "UPDATE conversations SET last_inbound_at = :now, last_message_at = :now,"
        " last_inbound_id = j.value ->> 1 FROM json_each(:latest) AS j"
        " WHERE conversations.id = j.value ->> 0",
        {"now": now, "latest": json.dumps(list(latest.items()))},
    )
    return stored


_INSERT_CHUNK = 500
"""Messages per INSERT: 10 values each, well under SQLite's 32,766 bound parameters."""


async def _keywords(message: inbound.Inbound) -> inbound.HookResult:
    """M5: answer STOP/START/HELP; a STOP ends the chain (nothing else acts on it)."""
    replies = await _answer_keyword(
        message.tx,
        message.intent,
        message.keyword,
        message.phone,
        message.conversation_id,
        message.message_id,
        message.settings,
    )
    return inbound.HookResult(tuple(replies), stop=message.intent is Intent.OPT_OUT)


async def _conversation_timing(message: inbound.Inbound) -> None:
    """M7, M8: a message a person must answer starts the wait and the public-due time."""
    await _conversation_timing_many([message])


_PUBLIC_DUE = (
    "CASE WHEN is_public = 0 AND owner_id IS NOT NULL THEN coalesce(public_due_at, :due) END"
)
_START_WAIT = (
    # A closed conversation opens again (P4): the contact wrote after the close.
    "UPDATE conversations SET waiting_since = coalesce(waiting_since, :now), closed_at = NULL,"
    f" public_due_at = {_PUBLIC_DUE}"
    " WHERE id IN (SELECT value FROM json_each(:ids))"
    # One already waiting, open and due is left alone: rewritten unchanged, it still
    # moved its entries in the waiting and public-due indexes (a page written each).
    f" AND (waiting_since IS NULL OR closed_at IS NOT NULL OR public_due_at IS NOT {_PUBLIC_DUE})"
)


async def _conversation_timing_many(
    messages: Sequence[inbound.Inbound],
) -> list[inbound.HookResult | None]:
    """``_conversation_timing`` for a group, in one statement: the group shares its
    transaction's time and settings, and starting a wait twice changes nothing."""
    # A keyword is answered automatically: nobody has to reply.
    waiting = [m for m in messages if m.keyword is None]
    if waiting:
        first = waiting[0]
        now = first.tx.now_ms
        first.tx.defer(
            _START_WAIT,
            {
                "now": now,
                "due": now + first.settings.public_minutes * 60_000,
                "ids": json.dumps([m.conversation_id for m in waiting]),
            },
        )
    return [None] * len(messages)


KEYWORDS = inbound.Hook("keywords", _keywords)
"""Opt-out, opt-in and help keywords: first in every hook list (``inbound.check_hooks``)."""
CONVERSATION_TIMING = inbound.Hook(
    "conversation_timing", _conversation_timing, _conversation_timing_many
)


def default_hooks() -> list[inbound.Hook]:
    """The one place today's inbound hooks are listed. A capability composes its
    own list around this one (``[*default_hooks(), its_hook]``) and passes it as
    ``receive(..., hooks=...)``: receive itself does not change."""
    return [
        KEYWORDS,
        case_replies.CASE_REPLIES,
        CONVERSATION_TIMING,
        alerts_hook.STAFF_ALERTS,
        campaign_replies.CAMPAIGN_REPLIES,
        routing_hook.ROUTING,
    ]


async def _answer_keyword(
    tx: Tx,
    intent: Intent,
    keyword: str | None,
    phone: str,
    conversation_id: int,
    message_id: int,
    config: settings.Settings,
) -> list[int]:
    replies: list[int] = []
    if intent is Intent.OPT_OUT:
        if await consent.opt_out_in(tx, phone, keyword=keyword, message_id=message_id):
            replies.append(
                await _queue_reply(
                    tx, conversation_id, "optout_reply", config, outbox.OPTOUT_CONFIRMATION
                )
            )
        await outbox.fail_stale_after_consent_change(tx, phone, opted_out=True)
    elif intent is Intent.OPT_IN:
        if await consent.opt_in_in(tx, phone, keyword=keyword, message_id=message_id):
            await outbox.fail_stale_after_consent_change(tx, phone, opted_out=False)
            replies.append(
                await _queue_reply(
                    tx, conversation_id, "optin_reply", config, outbox.OPTIN_CONFIRMATION
                )
            )
    elif intent is Intent.HELP and not await consent.is_opted_out(tx, phone):
        replies.append(
            await _queue_reply(tx, conversation_id, "help_reply", config, outbox.HELP_REPLY)
        )
    return replies


async def _queue_reply(
    tx: Tx, conversation_id: int, name: str, config: settings.Settings, kind: str
) -> int:
    """Queue the automatic reply in setting ``name``; its default if that text cannot be queued.

    The consent change it confirms is in the same transaction: a reply text
    that cannot be stored must not roll back an opt-out.
    """
    text: str = getattr(config, name)
    await tx.execute("SAVEPOINT automatic_reply")
    try:
        message_id = await outbox.queue_in(tx, conversation_id, text, kind=kind)
    except (sqlite3.Error, UnicodeError, ValueError) as exc:
        await tx.execute("ROLLBACK TO automatic_reply")
        await tx.execute("RELEASE automatic_reply")
        log.warning("setting %s cannot be sent (%s); sending its default instead", name, exc)
        return await outbox.queue_in(
            tx, conversation_id, getattr(settings.Settings(), name), kind=kind
        )
    await tx.execute("RELEASE automatic_reply")
    return message_id


async def resolve_possible_optout(
    db: Database, actor: Actor, message_id: int, *, confirm: bool
) -> None:
    """An agent confirms (the number opts out) or dismisses a flagged message."""
    config = await settings.load(db)
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "SELECT m.conversation_id, m.optout_flag, c.phone FROM messages m"
            " JOIN conversations c ON c.id = m.conversation_id WHERE m.id = ?",
            (message_id,),
        )
        if row is None:
            raise NotFound(f"no message with id {message_id}")
        access: ConversationAccess = await conversations.access_in(tx, row["conversation_id"])
        authorize(actor, Action.CONFIRM_OPTOUT, access)
        if row["optout_flag"] != "pending":
            raise InvalidInput("this message is not waiting for an opt-out decision")
        await tx.execute(
            "UPDATE messages SET optout_flag = ?, updated_at = ? WHERE id = ?",
            ("confirmed" if confirm else "dismissed", tx.now_ms, message_id),
        )
        if confirm:
            if await consent.opt_out_in(
                tx, row["phone"], keyword=None, agent_id=actor.id, message_id=message_id
            ):
                await _queue_reply(
                    tx, row["conversation_id"], "optout_reply", config, outbox.OPTOUT_CONFIRMATION
                )
            await outbox.fail_stale_after_consent_change(tx, row["phone"], opted_out=True)
        await tx.emit(
            "message.optout_" + ("confirmed" if confirm else "dismissed"),
            "message",
            message_id,
            actor_id=actor.id,
            conversation_id=row["conversation_id"],
        )
