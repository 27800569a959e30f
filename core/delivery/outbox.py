"""W2: the outbox. Every outbound message is a row before it is anything else.

    queued --claim--> sending (leased) --accepted--> sent --report--> delivered
       ^                   |                                  \\--> failed
       +---- retry --------+--- refused / out of attempts ----> failed

A worker that dies while a row is ``sending`` loses nothing: when the lease
lapses the row is queued again. Providers get our message ID with every send,
so one that can recognise a resend (the sandbox does) never delivers twice.

A campaign's batch row (schema 14) is one row for many of the campaign's
targets: the claim reads them as its recipients, with the values the row
holds for each (schema 16), and each recipient's delivery report lands on
its target, while the row stays 'sent'.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from core import records, settings
from core.clock import from_ms, to_ms
from core.db import Database, Tx
from core.delivery import MESSAGES_IN_ROWS, budgets, bundle
from core.delivery import retries as retries_rule
from core.errors import InvalidInput, OptedOut, SwitchboardError
from core.scheduling import WORKER_LEASE
from core.sms import consent, outgoing, segments

if TYPE_CHECKING:
    # The gateway's types are the worker's: queueing a message (`switchboard send`) needs none.
    from core.delivery.gateway import DeliveryReport, Media, OutboundSms

# Message kinds that are not an agent's chat. The STOP confirmation is the
# one message allowed to reach a number that has just opted out.
OPTOUT_CONFIRMATION = "optout_confirmation"
OPTIN_CONFIRMATION = "optin_confirmation"
HELP_REPLY = "help_reply"
CHAT = "chat"

# What an outbound message is for. Only conversation messages belong to (and
# create, and touch) a conversation; the others are rows of the same outbox
# with the same guarantees (claim, lease, retry, reports).
CONVERSATION = "conversation"
NOTICE = "notice"
ALERT = "alert"
CAMPAIGN = "campaign"
CASE = "case"
PURPOSES = (CONVERSATION, NOTICE, ALERT, CAMPAIGN, CASE)

log = logging.getLogger("switchboard.outbox")

OPTED_OUT_REASON = "not sent: the recipient opted out (STOP) before it went"
OPTED_IN_REASON = "not sent: the recipient opted back in (START) before it went"
RATE_WAIT_REASON = "waiting for the sender's rate limit"
NOBODY_LEFT_REASON = "not sent: none of the campaign batch's targets is left"
TARGET_OPTED_OUT = "opted out"
"""Why a campaign target was skipped because its number opted out (core.campaigns)."""


async def queue_in(
    tx: Tx,
    conversation_id: int,
    body: str,
    *,
    kind: str = CHAT,
    author_id: int | None = None,
    media: Sequence[Media] = (),
) -> int:
    """Queue a conversation message inside the caller's transaction; return its ID.

    The caller (``sending``) has applied the conversation's rules: consent,
    the opt-out line, the conversation's own columns.
    """
    row = await tx.fetchone(
        "SELECT n.e164 AS sender, c.phone AS recipient FROM conversations c"
        " JOIN numbers n ON n.id = c.number_id WHERE c.id = ?",
        (conversation_id,),
    )
    if row is None:
        raise InvalidInput(f"no conversation with id {conversation_id} to queue a message in")
    return await _insert(
        tx,
        CONVERSATION,
        row["sender"],
        row["recipient"],
        body,
        kind,
        author_id,
        media,
        conversation_id,
    )


async def queue(
    tx: Tx,
    purpose: str,
    sender: str,
    recipient: str,
    body: str,
    *,
    kind: str = CHAT,
    author_id: int | None = None,
    media: Sequence[Media] = (),
) -> int:
    """Queue a message that belongs to no conversation (a notice, an alert, a campaign
    send, a case message) from our number ``sender`` to ``recipient`` (both E.164).

    The number's consent applies whatever the purpose: one that opted out is
    refused now (OptedOut) and checked again when the message is claimed.
    The first SMS ever sent to a number carries the opt-out line, except a
    staff alert: staff consent to alerts on their own terms (FEATURES A2,
    built with staff alerts; this is where it will be checked), and STOP
    still blocks them. Nothing here creates or touches a conversation.
    """
    await _check_sender(tx, purpose, sender)
    if await tx.fetchone("SELECT 1 FROM numbers WHERE e164 = ?", (recipient,)):
        raise InvalidInput(f"{recipient} is one of our own numbers; a message cannot go to it")
    if not body.strip() and not media:
        raise InvalidInput("the message is empty")
    await consent.ensure_may_text(tx, recipient)
    if purpose != ALERT and await consent.take_notice_in(tx, recipient):
        body = outgoing.with_notice(body, (await settings.load_in(tx)).optout_notice)
    return await _insert(tx, purpose, sender, recipient, body, kind, author_id, media, None)


async def _check_sender(tx: Tx, purpose: str, sender: str) -> None:
    if purpose not in PURPOSES or purpose == CONVERSATION:
        raise InvalidInput(
            f"a message queued without a conversation has one of the purposes"
            f" {', '.join(p for p in PURPOSES if p != CONVERSATION)}, not {purpose!r}"
        )
    if not await tx.fetchone("SELECT 1 FROM numbers WHERE e164 = ? AND sms = 1", (sender,)):
        raise InvalidInput(f"{sender} is not one of our SMS numbers, so it cannot send")


async def queue_many(
    tx: Tx,
    purpose: str,
    sender: str,
    items: Sequence[tuple[str, str]],
    *,
    announce: bool = True,
    campaign_id: int | None = None,
    batch: tuple[str, Sequence[Mapping[str, str]]] | None = None,
) -> list[int | SwitchboardError]:
    """``queue`` for many (recipient, body) messages from one sender, in a few statements.

    The same rules, and each refusal (an opted-out number, one of our own, an
    empty body) is returned in its item's place while the others are queued:
    one notice that cannot go does not stop the rest (P4). A sender or
    purpose that cannot send at all is raised, as ``queue`` does. Without
    ``announce``, no ``message.queued`` event per message: the caller writes
    one event for the whole batch (a close's notices).

    For a campaign: ``campaign_id`` marks every row as the campaign's (its
    throttle and its pause apply in the claim), and ``batch`` =
    (template, values per item) lets rows whose bodies differ go to the
    provider in one batch with per-recipient parameters: the template is the
    text in the provider's ``${name}`` form (``core.delivery.placeholders``)
    and each item's values fill it to that item's body. Where the opt-out
    line is added to a body it is added to that row's template too. A row
    whose template and values do not give its body is still queued, and is
    sent alone, as its body (``core.delivery.batching``).
    """
    if batch is not None and len(batch[1]) != len(items):
        raise ValueError(f"{len(batch[1])} sets of values for {len(items)} messages")
    if not items:
        await _check_sender(tx, purpose, sender)
        return []
    if purpose not in PURPOSES or purpose == CONVERSATION:
        await _check_sender(tx, purpose, sender)  # raises, naming the purposes
    # One trip: whether the sender may send, which recipients are ours, which opted
    # out, and which have had the opt-out line already.
    found = await tx.fetchall(
        "SELECT e164, 3 AS what FROM numbers WHERE e164 = :sender AND sms = 1"
        " UNION ALL SELECT e164, 2 FROM numbers WHERE e164 IN (SELECT value FROM json_each(:p))"
        " UNION ALL SELECT phone, CASE WHEN opted_out = 1 THEN 1 ELSE 0 END FROM phone_consent"
        " WHERE (opted_out = 1 OR notice_sent_at IS NOT NULL)"
        " AND phone IN (SELECT value FROM json_each(:p))",
        {"sender": sender, "p": json.dumps(sorted({r for r, _ in items}))},
    )
    if not any(r["what"] == 3 for r in found):
        await _check_sender(tx, purpose, sender)  # raises: not one of our SMS numbers
    ours = {r[0] for r in found if r["what"] == 2}
    opted = {r[0] for r in found if r["what"] == 1}
    noticed = {r[0] for r in found if r["what"] == 0}
    results: list[int | SwitchboardError] = []
    sendable: list[tuple[int, str, str]] = []
    for index, (recipient, body) in enumerate(items):
        if recipient in ours:
            results.append(
                InvalidInput(f"{recipient} is one of our own numbers; a message cannot go to it")
            )
        elif not body.strip():
            results.append(InvalidInput("the message is empty"))
        elif recipient in opted:
            try:
                await consent.ensure_may_text(tx, recipient)  # its refusal, worded once
            except OptedOut as exc:
                results.append(exc)
            else:
                results.append(OptedOut(f"{recipient} opted out of SMS"))
        else:
            results.append(0)
            sendable.append((index, recipient, body))
    if not sendable:
        return results
    # An opted-out number is not sendable, so "what" 0 covers every sendable one noticed.
    if purpose != ALERT and any(r not in noticed for _, r, _ in sendable):
        first = {
            r[0]
            for r in await tx.fetchall(
                "INSERT INTO phone_consent (phone, notice_sent_at)"
                " SELECT value, ? FROM json_each(?) WHERE true"
                " ON CONFLICT(phone) DO UPDATE SET notice_sent_at = excluded.notice_sent_at"
                " WHERE phone_consent.notice_sent_at IS NULL RETURNING phone",
                (tx.now_ms, json.dumps(sorted({r for _, r, _ in sendable}))),
            )
        }
        if first:
            line = (await settings.load_in(tx)).optout_notice
            given: set[str] = set()
            for position, (index, recipient, body) in enumerate(sendable):
                if recipient in first and recipient not in given:
                    given.add(recipient)  # the first message to it, not each
                    sendable[position] = (index, recipient, outgoing.with_notice(body, line))
    values: list[list[object]] = []
    counts: dict[str, segments.SegmentCount] = {}  # a fan-out sends one text to many
    notice: str | None = None
    for index, recipient, body in sendable:
        count = counts.get(body)
        if count is None:
            count = counts[body] = segments.count(body)
        value: list[object] = [recipient, body, count.encoding, max(count.segments, 1)]
        if batch is not None:
            template = batch[0]
            if body != items[index][1]:  # the opt-out line was added
                if notice is None:
                    notice = (await settings.load_in(tx)).optout_notice
                template = outgoing.with_notice(template, notice)
            value += [template, batch[1][index]]  # stored as its JSON text (->>)
        values.append(value)
    made = await tx.fetchall(
        "INSERT INTO messages (conversation_id, direction, purpose, kind, sender, recipient,"
        " body, encoding, segments, status, next_attempt_at, created_at, updated_at,"
        " campaign_id, batch_template, batch_values)"
        " SELECT NULL, 'out', :purpose, :kind, :sender, value ->> 0, value ->> 1, value ->> 2,"
        " value ->> 3, 'queued', :now, :now, :now, :campaign, value ->> 4, value ->> 5"
        " FROM json_each(:rows) ORDER BY key"
        " RETURNING id, recipient",
        {"purpose": purpose, "kind": CHAT, "sender": sender, "now": tx.now_ms,
         "campaign": campaign_id, "rows": json.dumps(values)},
    )  # fmt: skip
    # Rows are numbered in the SELECT's order; checked, not assumed.
    made = sorted(made, key=lambda r: r["id"])
    if [r["recipient"] for r in made] != [r for _, r, _ in sendable]:
        raise RuntimeError("the outbox rows came back out of order")
    for (index, _, _), row in zip(sendable, made, strict=True):
        results[index] = row["id"]
    if announce:
        await tx.emit_many(
            "message.queued",
            "message",
            [(r["id"], {"conversation_id": None, "purpose": purpose, "kind": CHAT}) for r in made],
        )
    return results


async def _insert(
    tx: Tx,
    purpose: str,
    sender: str,
    recipient: str,
    body: str,
    kind: str,
    author_id: int | None,
    media: Sequence[Media],
    conversation_id: int | None,
) -> int:
    count = segments.count(body)
    message_id = await tx.insert(
        "INSERT INTO messages (conversation_id, direction, purpose, kind, author_id, sender,"
        " recipient, body, encoding, segments, status, next_attempt_at, created_at, updated_at)"
        " VALUES (?, 'out', ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)",
        (
            conversation_id,
            purpose,
            kind,
            author_id,
            sender,
            recipient,
            body,
            count.encoding,
            max(count.segments, 1),
            tx.now_ms,
            tx.now_ms,
            tx.now_ms,
        ),
    )
    if media:
        await tx.executemany(
            "INSERT INTO attachments (message_id, filename, mime, size, content)"
            " VALUES (?, ?, ?, ?, ?)",
            [(message_id, m.filename, m.mime, len(m.content), m.content) for m in media],
        )
    await tx.emit(
        "message.queued",
        "message",
        message_id,
        actor_id=author_id,
        conversation_id=conversation_id,
        purpose=purpose,
        kind=kind,
    )
    return message_id


async def fail_stale_after_consent_change(tx: Tx, phone: str, *, opted_out: bool) -> int:
    """Fail what is still queued to ``phone`` and may no longer go now that it opted out or in.

    After an opt-out that is everything but the STOP confirmation, whatever
    its purpose. After an opt-in it is a STOP confirmation still queued: sent
    now it would tell an opted-in person they are out, and after a further
    STOP it would be a second confirmation.
    """
    kind_test, reason = ("!=", OPTED_OUT_REASON) if opted_out else ("=", OPTED_IN_REASON)
    rows = await tx.fetchall(
        "UPDATE messages SET status = 'failed', error = ?, lease_until = NULL,"
        " next_attempt_at = NULL, updated_at = ?"
        f" WHERE status = 'queued' AND recipient = ? AND kind {kind_test} ?"
        " RETURNING id, conversation_id, purpose",
        (reason, tx.now_ms, phone, OPTOUT_CONFIRMATION),
    )
    await _emit_failed(tx, rows)
    return len(rows)


async def claim(
    db: Database, limit: int, lease_seconds: float, *, worker: str | None = None
) -> list[OutboundSms]:
    """Lease up to ``limit`` due messages that may be sent now, oldest first.

    Throttling happens here, not after: each sender's due rows are taken in
    order while their segments fit its budget (core/delivery/budgets.py), and the
    tokens are spent in the same transaction. Rows over budget stay queued,
    untouched (no write per row), and ``next_sendable`` says when they can go.

    In the same transaction: rows whose sending lease lapsed (a worker died)
    are queued again, and due rows to numbers whose consent changed since they
    were queued are failed instead of sent, so an opted-out number is never
    sent to.

    With ``worker`` (a lease holder ID), nothing is claimed unless the worker
    lease names that holder: a worker whose lease was taken over while it
    stalled learns it on its next renewal, and until then must not send.
    """
    from core.delivery.gateway import OutboundSms

    async with db.transaction() as tx:
        now = tx.now_ms
        if worker is not None:
            holder = await tx.fetchone("SELECT holder FROM leases WHERE name = ?", (WORKER_LEASE,))
            if holder is None or holder["holder"] != worker:
                return []
        lapsed = await tx.fetchall(
            "UPDATE messages SET status = 'queued', lease_until = NULL, next_attempt_at = ?,"
            " updated_at = ? WHERE status = 'sending' AND lease_until < ?"
            " RETURNING id, conversation_id, purpose",
            (now, now, now),
        )
        await tx.emit_many(
            "message.requeued",
            "message",
            [
                (r["id"], {"conversation_id": r["conversation_id"], "purpose": r["purpose"]})
                for r in lapsed
            ],
        )
        config = await settings.load_in(tx)
        rate = config.rate_segments_per_second
        month = bundle.month_of(now)
        use = bundle.compute(
            month,
            await bundle.used_in(tx, month),
            bundle.Limits(config.bundle_segments, config.bundle_warn_percent,
                          config.bundle_when_full),
        )  # fmt: skip
        held, released = await bundle.hold_in(tx, use)
        for kind, rows in (("message.held", held), ("message.released", released)):
            await tx.emit_many(
                kind,
                "message",
                [
                    (r["id"], {"conversation_id": r["conversation_id"], "purpose": r["purpose"]})
                    for r in rows
                ],
            )
        # The campaigns whose rows may go, each with its own pace.
        paces = {
            r["id"]: r["rate_segments_per_second"]
            for r in await tx.fetchall(
                "SELECT id, rate_segments_per_second FROM campaigns WHERE status = 'running'"
            )
        }
        # The rows this claim looks at: each sender's first due rows of no campaign,
        # and each running campaign's first due rows, no more than a sender's bucket
        # can pay for (every row costs at least one token), read through the
        # outbox indexes. So a claim costs the same with 300 or 300,000 rows queued
        # behind them, and a paused campaign's rows are not read at all.
        per_sender = max(1, min(limit, math.floor(budgets.capacity(rate))))
        # Consent is checked again at the last moment: it may have changed
        # since the message was queued (or requeued after a crash).
        refused = await tx.fetchall(
            f"WITH {_CANDIDATES}"
            " UPDATE messages SET status = 'failed', lease_until = NULL, next_attempt_at = NULL,"
            " error = CASE WHEN kind = :confirmation THEN :opted_in ELSE :opted_out END,"
            " updated_at = :now"
            " WHERE id IN (SELECT id FROM candidate)"
            " AND (recipient IN (SELECT phone FROM phone_consent WHERE opted_out = 1))"
            "   != (kind = :confirmation)"
            " RETURNING id, conversation_id, purpose",
            {
                "confirmation": OPTOUT_CONFIRMATION,
                "opted_in": OPTED_IN_REASON,
                "opted_out": OPTED_OUT_REASON,
                "now": now,
                "per_sender": per_sender,
            },
        )
        await _emit_failed(tx, refused)
        if paces:  # only a running campaign's batch rows are claimed
            left = await _skip_opted_out_recipients(tx, per_sender, now)
            await _emit_failed(tx, [r for r in left if r["status"] == "failed"])
        before = await budgets.levels(tx, budgets.SENDER, rate, now)
        paced = await budgets.levels_of(
            tx, budgets.CAMPAIGN, {str(c): r for c, r in paces.items()}, now
        )
        claimed = await tx.fetchall(
            _CLAIM,
            {
                "levels": json.dumps(before),
                "paces": json.dumps(
                    [[c, paced[str(c)], budgets.capacity(r)] for c, r in paces.items()]
                ),
                "full": budgets.capacity(rate),
                "now": now,
                "limit": limit,
                "per_sender": per_sender,
                "lease": now + int(lease_seconds * 1000),
                "held": bundle.HELD_PREFIX + "%",
            },
        )
        if not claimed:
            return []
        # In the order they were chosen: rows of no campaign first.
        claimed.sort(key=lambda r: (r["campaign_id"] is not None, r["next_attempt_at"], r["id"]))
        spent: dict[str, float] = {}
        spent_by_campaign: dict[str, float] = {}
        for r in claimed:
            spent[r["sender"]] = spent.get(r["sender"], 0.0) + r["segments"]
            if r["campaign_id"] is not None:
                key = str(r["campaign_id"])
                spent_by_campaign[key] = spent_by_campaign.get(key, 0.0) + r["segments"]
        await budgets.spend(tx, budgets.SENDER, spent, before, rate)
        # Every claimed campaign is running, so its level is in ``paced``: the rate
        # for a missing bucket is never used.
        await budgets.spend(tx, budgets.CAMPAIGN, spent_by_campaign, paced, 1.0)
        media = await _media_for(tx, [r["id"] for r in claimed])
        batched = await _recipients_of(
            tx, [r["id"] for r in claimed if r["recipients"] is not None]
        )
        emptied = [
            r["id"] for r in claimed if r["recipients"] is not None and r["id"] not in batched
        ]
        if emptied:  # every target left it (removed, cancelled): nothing to send
            claimed = [r for r in claimed if r["id"] not in emptied]
            await _emit_failed(
                tx,
                await tx.fetchall(
                    "UPDATE messages SET status = 'failed', error = ?, lease_until = NULL,"
                    " next_attempt_at = NULL, updated_at = ?"
                    " WHERE id IN (SELECT value FROM json_each(?))"
                    " RETURNING id, conversation_id, purpose",
                    (NOBODY_LEFT_REASON, now, json.dumps(emptied)),
                ),
            )
    return [
        OutboundSms(
            r["id"],
            r["sender"],
            r["recipient"],
            r["body"],
            r["segments"],
            tuple(media.get(r["id"], ())),
            attempt=r["attempts"],
            max_parts=config.max_message_parts,
            purpose=r["purpose"],
            template=r["batch_template"] or "",
            values=_values(r["batch_values"]),
            recipients=batched.get(r["id"], ()),
        )
        for r in claimed
    ]


# A campaign's batch row (schema 14): its targets whose number opted out since it
# was queued leave it, skipped as dispatch skips them, and the row carries fewer
# segments; a batch left with nobody fails as an opted-out row does. Set-based over
# the claim's candidates, so it costs one statement when nobody opted out.
_SKIP_OPTED_OUT = """WITH {candidates}
 UPDATE campaign_targets SET state = 'skipped', reason = :reason, updated_at = :now
 WHERE message_id IN (SELECT c.id FROM candidate c JOIN messages m ON m.id = c.id
   WHERE m.recipients IS NOT NULL)
 AND state = 'queued' AND phone IN (SELECT phone FROM phone_consent WHERE opted_out = 1)
 RETURNING message_id, segments"""


async def _skip_opted_out_recipients(tx: Tx, per_sender: int, now: int) -> list[sqlite3.Row]:
    """Take opted-out numbers out of the candidate campaign batches; the rows failed."""
    left = await tx.fetchall(
        _SKIP_OPTED_OUT.format(candidates=_CANDIDATES),
        {"reason": TARGET_OPTED_OUT, "now": now, "per_sender": per_sender},
    )
    if not left:
        return []
    fewer: dict[int, list[int]] = {}
    for r in left:
        counts = fewer.setdefault(r["message_id"], [0, 0])
        counts[0] += 1
        counts[1] += max(r["segments"] or 1, 1)
    return await tx.fetchall(
        "WITH j(id, n, s) AS (SELECT key, value ->> 0, value ->> 1 FROM json_each(:fewer))"
        " UPDATE messages SET recipients = recipients - j.n,"
        " segments = max(messages.segments - j.s, 0),"
        " status = CASE WHEN recipients = j.n THEN 'failed' ELSE status END,"
        " error = CASE WHEN recipients = j.n THEN :reason ELSE error END,"
        " next_attempt_at = CASE WHEN recipients = j.n THEN NULL ELSE next_attempt_at END,"
        " updated_at = :now FROM j WHERE messages.id = j.id"
        " RETURNING id, conversation_id, purpose, status",
        {"fewer": json.dumps({str(k): v for k, v in fewer.items()}), "reason": OPTED_OUT_REASON,
         "now": now},
    )  # fmt: skip


async def _recipients_of(
    tx: Tx, batch_ids: list[int]
) -> dict[int, tuple[tuple[str, tuple[tuple[str, str], ...]], ...]]:
    """Each campaign batch row's recipients, its targets still queued in target order,
    with their values (on the row, by number: schema 16). A row none is left in is
    not there."""
    if not batch_ids:
        return {}
    found = await tx.fetchall(
        "SELECT m.id, m.recipient_values, (SELECT json_group_array(phone) FROM"
        "   (SELECT t.phone FROM campaign_targets t"
        "    WHERE t.message_id = m.id AND t.state = 'queued' ORDER BY t.id)) AS phones"
        " FROM messages m WHERE m.id IN (SELECT value FROM json_each(?))",
        (json.dumps(batch_ids),),
    )
    batched: dict[int, tuple[tuple[str, tuple[tuple[str, str], ...]], ...]] = {}
    for r in found:
        phones: list[str] = json.loads(r["phones"])
        if not phones:
            continue
        given = json.loads(r["recipient_values"] or "{}")
        batched[r["id"]] = tuple((phone, _text_values(given.get(phone))) for phone in phones)
    return batched


def _values(stored: str | None) -> tuple[tuple[str, str], ...]:
    """A row's batch values; none when they are not a JSON object of text (the row
    then goes alone, as its body)."""
    if not stored:
        return ()
    try:
        given = json.loads(stored)
    except ValueError:
        return ()
    return _text_values(given)


def _text_values(given: object) -> tuple[tuple[str, str], ...]:
    # The types as a set, not a generator: a batch row's values are checked 1,000 at a time.
    if type(given) is not dict or not set(map(type, given.values())) <= _TEXT:
        return ()
    return tuple(given.items())


_TEXT = frozenset({str})


# Each sender's first due rows of no campaign, and each running campaign's first
# due rows (at most :per_sender each), through the outbox indexes (schema 12).
# Every sender is one of our numbers (numbers are never removed).
_CANDIDATES = """candidate(id) AS (
    SELECT m.id FROM numbers n JOIN messages m ON m.id IN (
        SELECT id FROM messages WHERE sender = n.e164 AND status = 'queued'
          AND campaign_id IS NULL
          AND next_attempt_at <= :now ORDER BY next_attempt_at, id LIMIT :per_sender)
    UNION ALL
    SELECT m.id FROM campaigns c JOIN messages m ON m.id IN (
        SELECT id FROM messages WHERE campaign_id = c.id AND status = 'queued'
          AND next_attempt_at <= :now ORDER BY next_attempt_at, id LIMIT :per_sender)
    WHERE c.status = 'running')"""

# Which candidates go, in one statement, at most :limit recipients (a campaign's
# batch row counts each of its own; the first row goes whatever its size). First
# each campaign's own budget: its
# rows in order while their segments fit its bucket (``paid``). Then the
# sender's: its rows of no campaign first (agents' replies, STOP confirmations,
# notices, alerts: a campaign never holds them up), then its campaigns' rows
# that were paid for, in queue order, while the sum fits its bucket. Each rule
# keeps a prefix, so a campaign's rows still go in order. A first row larger
# than a bucket goes once the bucket is full (budgets.needed).
_CLAIM = f"""WITH {_CANDIDATES},
 level(sender, tokens) AS (SELECT key, value FROM json_each(:levels)),
 pace(campaign, tokens, full) AS (SELECT value ->> 0, value ->> 1, value ->> 2
   FROM json_each(:paces)),
 paced AS (SELECT m.id, m.sender, m.campaign_id, m.segments, m.next_attempt_at,
   coalesce(m.recipients, 1) AS recipients,
   sum(m.segments) OVER (PARTITION BY m.campaign_id ORDER BY m.next_attempt_at, m.id
     ROWS UNBOUNDED PRECEDING) AS upto, p.tokens, p.full
   FROM messages m LEFT JOIN pace p ON p.campaign = m.campaign_id
   WHERE m.id IN (SELECT id FROM candidate) AND m.status = 'queued'),
 paid AS (SELECT id, sender, campaign_id, segments, next_attempt_at, recipients FROM paced
   WHERE campaign_id IS NULL OR upto <= tokens
     OR (upto = segments AND tokens >= min(segments, full))),
 due AS (SELECT d.id, d.segments, d.next_attempt_at, d.campaign_id IS NOT NULL AS later,
   d.recipients, sum(d.segments) OVER (PARTITION BY d.sender
     ORDER BY d.campaign_id IS NOT NULL, d.next_attempt_at, d.id
     ROWS UNBOUNDED PRECEDING) AS upto,
   coalesce(l.tokens, :full) AS tokens
   FROM paid d LEFT JOIN level l ON l.sender = d.sender),
 fitting AS (SELECT id, later, next_attempt_at, recipients,
   sum(recipients) OVER (ORDER BY later, next_attempt_at, id ROWS UNBOUNDED PRECEDING) AS taken
   FROM due WHERE upto <= tokens OR (upto = segments AND tokens >= min(segments, :full))),
 fits AS (SELECT id FROM fitting WHERE taken <= :limit OR taken = recipients
   ORDER BY later, next_attempt_at, id LIMIT :limit)
 UPDATE messages SET status = 'sending', attempts = attempts + 1,
 error = CASE WHEN error LIKE :held THEN NULL ELSE error END,
 lease_until = :lease, updated_at = :now WHERE id IN (SELECT id FROM fits)
 RETURNING id, purpose, kind, body, segments, attempts, sender, recipient,
 next_attempt_at, campaign_id, batch_template, batch_values, recipients"""

CANCELLED_REASON = "not sent: the campaign was cancelled"


async def fail_cancelled_in(tx: Tx) -> int:
    """Fail what is still queued for a cancelled campaign; returns how many.

    A campaign's cancel runs it in its own transaction, so they are failed the
    moment the campaign is cancelled (and the claim takes rows of running
    campaigns only). One statement, through the campaign index.
    """
    rows = await tx.fetchall(
        "UPDATE messages SET status = 'failed', error = ?, lease_until = NULL,"
        " next_attempt_at = NULL, updated_at = ?"
        " WHERE status = 'queued'"
        " AND campaign_id IN (SELECT id FROM campaigns WHERE status = 'cancelled')"
        " RETURNING id, conversation_id, purpose",
        (CANCELLED_REASON, tx.now_ms),
    )
    await _emit_failed(tx, rows)
    return len(rows)


async def next_sendable(db: Database) -> datetime | None:
    """When the next queued message may be claimed: its due time, or later when its
    sender's budget (and its campaign's) has first to refill for it (None: nothing
    queued that may go; a paused campaign's rows wait for its resume)."""
    rows = await db.fetchall(
        "SELECT m.sender, m.next_attempt_at AS due_at, m.segments, NULL AS campaign,"
        " NULL AS pace FROM numbers n JOIN messages m ON m.id = ("
        "   SELECT id FROM messages WHERE sender = n.e164 AND status = 'queued'"
        "   AND campaign_id IS NULL ORDER BY next_attempt_at, id LIMIT 1)"
        " UNION ALL SELECT m.sender, m.next_attempt_at, m.segments, c.id,"
        " c.rate_segments_per_second FROM campaigns c JOIN messages m ON m.id = ("
        "   SELECT id FROM messages WHERE campaign_id = c.id AND status = 'queued'"
        "   ORDER BY next_attempt_at, id LIMIT 1)"
        " WHERE c.status = 'running'"
    )
    if not rows:
        return None
    rate = (await settings.load(db)).rate_segments_per_second
    now = to_ms(db.clock.now())
    level = await budgets.levels(db, budgets.SENDER, rate, now)
    paced = await budgets.levels_of(
        db, budgets.CAMPAIGN, {str(r["campaign"]): r["pace"] for r in rows if r["campaign"]}, now
    )
    full = budgets.capacity(rate)

    def wait(r: sqlite3.Row) -> float:
        seconds = budgets.wait_seconds(level.get(r["sender"], full), r["segments"], rate)
        if r["campaign"] is not None:
            own = budgets.wait_seconds(paced[str(r["campaign"])], r["segments"], r["pace"])
            seconds = max(seconds, own)
        return seconds

    return from_ms(min(max(r["due_at"], now + _ms_up(wait(r))) for r in rows))


def _ms_up(seconds: float) -> int:
    # Rounded up, and a millisecond more: woken a hair early, the claim would
    # find the bucket just short, take nothing, and wait for the next tick.
    return math.ceil(seconds * 1000) + 1 if seconds > 0 else 0


async def _emit_failed(tx: Tx, rows: Sequence[sqlite3.Row]) -> None:
    await tx.emit_many(
        "message.failed",
        "message",
        [
            (r["id"], {"conversation_id": r["conversation_id"], "purpose": r["purpose"]})
            for r in rows
        ],
    )


async def release_in_flight(db: Database, *, claimed_since: datetime) -> int:
    """Expire the sending leases of rows claimed since ``claimed_since``.

    For a worker known to have died: the next claim queues its rows again at
    once instead of after the sending lease (minutes).
    """
    async with db.transaction() as tx:
        cursor = await tx.execute(
            "UPDATE messages SET lease_until = ? WHERE status = 'sending'"
            " AND lease_until >= ? AND updated_at >= ?",
            (tx.now_ms - 1, tx.now_ms, to_ms(claimed_since) - 1),
        )
    return cursor.rowcount


async def _media_for(tx: Tx, ids: list[int]) -> dict[int, list[Media]]:
    from core.delivery.gateway import Media

    marks = ",".join("?" * len(ids))
    found: dict[int, list[Media]] = {}
    for row in await tx.fetchall(
        f"SELECT message_id, filename, mime, content FROM attachments"
        f" WHERE message_id IN ({marks}) ORDER BY id",
        ids,
    ):
        found.setdefault(row["message_id"], []).append(
            Media(row["filename"], row["mime"], row["content"])
        )
    return found


@records.record
class Sent:
    message_id: int
    provider_id: str


@records.record
class Retry:
    message_id: int
    reason: str
    retry_after: float | None = None
    counts_as_attempt: bool = True


@records.record
class Failed:
    message_id: int
    reason: str


Outcome = Sent | Retry | Failed


def backoff_seconds(attempts: int, base: float, cap: float) -> float:
    """Exponential backoff: base, 2*base, 4*base... capped."""
    return min(cap, base * 2.0 ** max(attempts - 1, 0))


async def record(db: Database, outcomes: Sequence[Outcome]) -> None:
    """Write what happened to a batch of claimed messages, in one transaction.

    A few statements for the whole batch, whatever its size: one per kind of
    outcome, never one per row.
    """
    if not outcomes:
        return
    async with db.transaction() as tx:
        config = await settings.load_in(tx)
        now = tx.now_ms
        await _sent(tx, [o for o in outcomes if isinstance(o, Sent)], now)
        failed = [o for o in outcomes if isinstance(o, Failed)]
        if failed:
            rows = await tx.fetchall(
                "WITH f(id, reason) AS (SELECT value ->> 0, value ->> 1 FROM json_each(?))"
                " UPDATE messages SET status = 'failed', error = f.reason, lease_until = NULL,"
                " next_attempt_at = NULL, updated_at = ? FROM f"
                " WHERE messages.id = f.id AND messages.status IN ('sending', 'queued')"
                " RETURNING messages.id, conversation_id, purpose",
                (json.dumps([[o.message_id, o.reason] for o in failed]), now),
            )
            await _emit_failed(tx, rows)
        await _retry(
            tx,
            [o for o in outcomes if isinstance(o, Retry)],
            now,
            config.max_attempts,
            config.retry_base_seconds,
            config.retry_max_seconds,
        )


async def _sent(tx: Tx, sent: list[Sent], now: int) -> None:
    # One statement for the whole batch: the outbox's hot path.
    if not sent:
        return
    # A delivery report can beat this record (the provider calls back while
    # the rest of the batch is still sending): such a message keeps its final
    # status and only gains the provider's ID.
    batch = json.dumps([[o.message_id, o.provider_id] for o in sent])
    rows = await tx.fetchall(
        "WITH batch(id, pid) AS (SELECT value ->> 0, value ->> 1 FROM json_each(?))"
        " UPDATE messages SET"
        " status = CASE WHEN messages.status = 'sending' THEN 'sent' ELSE messages.status END,"
        " provider_id = batch.pid, sent_at = ?, lease_until = NULL,"
        " error = CASE WHEN messages.status = 'sending' THEN NULL ELSE error END, updated_at = ?"
        " FROM batch WHERE messages.id = batch.id AND (messages.status = 'sending'"
        "   OR (messages.status IN ('delivered', 'failed') AND messages.provider_id IS NULL"
        "       AND messages.lease_until IS NOT NULL))"
        " RETURNING messages.id, conversation_id, purpose, messages.status, messages.segments,"
        " messages.campaign_id, messages.recipients",
        (batch, now, now),
    )
    # Every row here the provider has just accepted (whatever its status since): A4's count.
    await bundle.count_sent(tx, sum(r["segments"] for r in rows))
    # A batch's reports name the batch and a recipient, not our message: one
    # that came before this record was stored unmatched. Now it has its message.
    # A campaign's batch row names no recipient: its reports are its targets'.
    early = await tx.fetchall(
        "UPDATE delivery_reports SET message_id = m.id FROM messages m"
        " WHERE m.id IN (SELECT value FROM json_each(?)) AND m.status = 'sent'"
        " AND delivery_reports.message_id IS NULL AND delivery_reports.provider_id = m.provider_id"
        " AND (delivery_reports.recipient = m.recipient"
        "   OR (m.recipients IS NOT NULL AND delivery_reports.recipient != ''))"
        f" RETURNING {_REPORT_COLUMNS}",
        (json.dumps([r["id"] for r in rows if r["status"] == "sent"]),),
    )
    now_sent = [r for r in rows if r["status"] == "sent"]
    await tx.emit_many(
        "message.sent",
        "message",
        [
            (r["id"], {"conversation_id": r["conversation_id"], "purpose": r["purpose"]})
            for r in now_sent
            if r["campaign_id"] is None
        ],
    )
    # A campaign's rows: one event per campaign and batch, not one per message (a
    # 100,000-target campaign would write 100,000 feed rows nobody reads one by one).
    by_campaign: Counter[int] = Counter()
    for r in now_sent:
        if r["campaign_id"] is not None:
            by_campaign[r["campaign_id"]] += r["recipients"] or 1
    await tx.emit_many(
        "campaign.sent", "campaign", [(c, {"sent": n}) for c, n in sorted(by_campaign.items())]
    )
    await _settle_all(tx, early)


async def _retry(
    tx: Tx, retries: list[Retry], now: int, max_attempts: int, base: float, cap: float
) -> None:
    failures = [
        retries_rule.Failure(o.message_id, o.reason, o.retry_after, o.counts_as_attempt)
        for o in retries
    ]
    applied = await retries_rule.apply(
        tx,
        "messages",
        failures,
        now=now,
        max_attempts=max_attempts,
        base=base,
        cap=cap,
        returning="conversation_id, purpose",
    )
    await _emit_failed(tx, applied.gave_up)
    await tx.emit_many(
        "message.retrying",
        "message",
        [
            (
                r["id"],
                {
                    "conversation_id": r["conversation_id"],
                    "purpose": r["purpose"],
                    "attempts": r["attempts"],
                    "wait_seconds": (r["next_attempt_at"] - now) / 1000,
                },
            )
            for r in applied.retrying
        ],
    )


async def apply_reports(db: Database, reports: Sequence[DeliveryReport]) -> int:
    """Store delivery reports and apply the new final ones; returns how many messages changed."""
    if not reports:
        return 0
    async with db.transaction() as tx:
        return await apply_reports_in(tx, reports)


# The message a report is about. By its batch: the message we recorded that
# provider ID for, to that recipient (one provider batch may carry many of our
# messages, one per recipient; a campaign's batch row carries all of them), or,
# for a report on a whole batch (no
# recipient), the batch's only message. Else, before we recorded any provider
# ID for it (the report beat our record, or our request timed out), by our ID
# echoed back, when the recipient is that message's and the batch is no other
# message's. Our ID alone is never enough: another installation on the same
# provider account numbers its messages too.
_MESSAGE_OF_REPORT = """coalesce(
    (SELECT m.id FROM messages m
      WHERE m.provider_id = batch.pid AND (m.recipient = batch.recipient
        OR (batch.recipient = '' AND NOT EXISTS (SELECT 1 FROM messages o
              WHERE o.provider_id = batch.pid AND o.id != m.id))
        OR (m.recipients IS NOT NULL AND batch.recipient != ''))),
    (SELECT m.id FROM messages m
      WHERE m.id = batch.mid AND m.direction = 'out' AND m.provider_id IS NULL
        AND batch.pid != '' AND m.recipient = batch.recipient
        AND NOT EXISTS (SELECT 1 FROM messages o WHERE o.provider_id = batch.pid)))"""


async def apply_reports_in(tx: Tx, reports: Sequence[DeliveryReport]) -> int:
    """Store delivery reports and apply the new final ones, in the caller's transaction.

    A report is stored once, keyed by (provider ID, recipient, provider status),
    however often the provider sends it, and a report stored before changes
    nothing. It settles only the message it belongs to: the one with its
    batch and recipient (see _MESSAGE_OF_REPORT). One that matches no message
    of ours is stored without a message, logged, and changes nothing.

    A final report settles a message that is still queued for a retry: the
    provider had it after all (our request timed out). A 'delivered' report
    also overrides our own 'failed' for a message we never heard the provider
    accept (gave up after a timeout): the carrier's word is the better one.
    """
    if not reports:
        return 0
    batch = json.dumps(
        [
            [
                r.provider_id,
                r.message_id,
                r.recipient,
                r.key_status.lower(),
                r.status,
                r.reason or ("the carrier reported it undelivered" if r.status == "failed" else ""),
            ]
            for r in reports
        ]
    )
    now = tx.now_ms
    new = await tx.fetchall(
        "WITH batch(pid, mid, recipient, status, outcome, reason) AS (SELECT value ->> 0,"
        "   value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5"
        "   FROM json_each(:batch))"
        " INSERT INTO delivery_reports (provider_id, recipient, status, outcome, message_id,"
        "   reason, received_at)"
        f" SELECT pid, recipient, status, outcome, {_MESSAGE_OF_REPORT}, reason, :now"
        " FROM batch WHERE true"
        " ON CONFLICT (provider_id, recipient, status) DO NOTHING"
        f" RETURNING {_REPORT_COLUMNS}",
        {"batch": batch, "now": now},
    )
    _log_unmatched(reports, [r for r in new if r["message_id"] is None])
    targets = await _settle_targets(tx, [r for r in new if r["batched"] is not None])
    new = [r for r in new if r["batched"] is None]
    recorded = {
        r["provider_id"]
        for r in await tx.fetchall(
            "SELECT DISTINCT provider_id FROM messages WHERE provider_id IN"
            " (SELECT value FROM json_each(?))",
            (json.dumps(sorted({r["provider_id"] for r in new if r["message_id"] is not None})),),
        )
    }
    return targets + await _settle(
        tx, [r for r in _one_message_per_batch(new, recorded) if r["outcome"] != "pending"]
    )


# What a stored report says, and whether its message is a campaign's batch row.
_REPORT_COLUMNS = (
    "delivery_reports.message_id, delivery_reports.provider_id, delivery_reports.recipient,"
    " delivery_reports.status, delivery_reports.outcome, delivery_reports.reason,"
    " (SELECT b.recipients FROM messages b WHERE b.id = delivery_reports.message_id) AS batched"
)


async def _settle_all(tx: Tx, reports: Sequence[sqlite3.Row]) -> int:
    """Apply final reports, each to its message or, for a campaign's batch, its target."""
    batched = [r for r in reports if r["batched"] is not None]
    alone = [r for r in reports if r["batched"] is None and r["outcome"] != "pending"]
    return await _settle_targets(tx, batched) + await _settle(tx, alone)


async def _settle_targets(tx: Tx, reports: Sequence[sqlite3.Row]) -> int:
    """Apply final reports on a campaign's batch rows to their targets (schema 14).

    The batch row stays 'sent': it is the one call, and each recipient's outcome is
    its target's. A report without a recipient names no target and changes nothing.
    As for a message, 'delivered' is final, and overrides an earlier 'failed'.
    """
    final = [r for r in reports if r["outcome"] != "pending" and r["recipient"]]
    if not final:
        return 0
    now = tx.now_ms
    rows = await tx.fetchall(
        "WITH r(mid, phone, status, reason) AS (SELECT value ->> 0, value ->> 1, value ->> 2,"
        "   value ->> 3 FROM json_each(:final))"
        " UPDATE campaign_targets SET outcome = r.status,"
        " outcome_reason = CASE WHEN r.status = 'failed' THEN r.reason END,"
        " outcome_at = :now, updated_at = :now"
        " FROM r WHERE campaign_targets.message_id = r.mid AND campaign_targets.phone = r.phone"
        " AND (campaign_targets.outcome IS NULL"
        "   OR (campaign_targets.outcome = 'failed' AND r.status = 'delivered'))"
        " RETURNING campaign_targets.campaign_id, campaign_targets.outcome",
        {
            "final": json.dumps(
                [[r["message_id"], r["recipient"], r["outcome"], r["reason"]] for r in final]
            ),
            "now": now,
        },
    )
    # One event per campaign and call, as for its sends.
    told: dict[int, Counter[str]] = {}
    for r in rows:
        told.setdefault(r["campaign_id"], Counter())[r["outcome"]] += 1
    await tx.emit_many(
        "campaign.reported",
        "campaign",
        [
            (c, {"delivered": n["delivered"], "failed": n["failed"]})
            for c, n in sorted(told.items())
        ],
    )
    return len(rows)


async def _settle(tx: Tx, reports: Sequence[sqlite3.Row]) -> int:
    """Apply final reports (message_id, provider_id, outcome, reason) to their messages."""
    if not reports:
        return 0
    now = tx.now_ms
    # The provider took these though we never recorded them sent (our request timed
    # out, then we retried or gave up): they count against the bundle now, once.
    unrecorded = {
        r["id"]: r["segments"]
        for r in await tx.fetchall(
            "SELECT id, segments FROM messages WHERE id IN (SELECT value FROM json_each(?))"
            " AND status IN ('queued', 'failed')",
            (json.dumps([r["message_id"] for r in reports]),),
        )
    }
    final = json.dumps(
        [[r["message_id"], r["provider_id"], r["outcome"], r["reason"]] for r in reports]
    )
    rows = await tx.fetchall(
        "WITH r(id, pid, status, reason) AS (SELECT value ->> 0, value ->> 1, value ->> 2,"
        "   value ->> 3 FROM json_each(:final))"
        " UPDATE messages SET status = r.status,"
        " provider_id = coalesce(messages.provider_id, nullif(r.pid, '')),"
        " delivered_at = CASE WHEN r.status = 'delivered' THEN :now ELSE delivered_at END,"
        " error = CASE WHEN r.status = 'failed' THEN r.reason ELSE NULL END,"
        " next_attempt_at = NULL,"
        " lease_until = CASE WHEN messages.status = 'sending' THEN lease_until END,"
        " updated_at = :now"
        " FROM r WHERE messages.id = r.id AND (messages.status IN ('sending', 'sent', 'queued')"
        "   OR (messages.status = 'failed' AND r.status = 'delivered'"
        "       AND messages.provider_id IS NULL AND messages.attempts > 0))"
        " RETURNING messages.id, conversation_id, purpose, messages.status",
        {"final": final, "now": now},
    )
    await bundle.count_sent(tx, sum(unrecorded.get(r["id"], 0) for r in rows))
    for status in ("delivered", "failed"):
        await tx.emit_many(
            f"message.{status}",
            "message",
            [
                (r["id"], {"conversation_id": r["conversation_id"], "purpose": r["purpose"]})
                for r in rows
                if r["status"] == status
            ],
        )
    return len(rows)


def _one_message_per_batch(new: list[sqlite3.Row], recorded: set[str]) -> list[sqlite3.Row]:
    """The matched reports, but a batch claimed for two messages by our IDs settles neither.

    A batch we recorded may carry many of our messages (one per recipient);
    its reports were matched by batch and recipient and cannot disagree. A
    batch not recorded yet is matched by the ID the provider echoes, which a
    single send carries: two messages claiming one such batch cannot both be
    right, and the batch would become both messages' provider ID.
    """
    messages_of: dict[str, set[int]] = {}
    for r in new:
        if r["message_id"] is not None and r["provider_id"] not in recorded:
            messages_of.setdefault(r["provider_id"], set()).add(r["message_id"])
    kept = []
    for r in new:
        if r["message_id"] is None:
            continue
        claimed_for = messages_of.get(r["provider_id"], set())
        if len(claimed_for) > 1:
            log.warning(
                "delivery report for batch %r to %r is claimed for messages %s; not applied",
                r["provider_id"],
                r["recipient"],
                sorted(claimed_for),
                extra={"event": "report.ambiguous", "provider_id": r["provider_id"]},
            )
        else:
            kept.append(r)
    return kept


MAX_LOGGED_UNMATCHED = 20
"""Per call: a flood of stray reports is counted, not written out line by line."""


def _log_unmatched(reports: Sequence[DeliveryReport], unmatched: list[sqlite3.Row]) -> None:
    if not unmatched:
        return
    named = {(r.provider_id, r.recipient, r.key_status.lower()): r.message_id for r in reports}
    for row in unmatched[:MAX_LOGGED_UNMATCHED]:
        ours = named.get((row["provider_id"], row["recipient"], row["status"]))
        claim = f", naming our message {ours}" if ours is not None else ""
        log.warning(
            "delivery report %r for batch %r to %r%s matches none of our messages"
            " (by batch and recipient); stored, not applied",
            row["status"],
            row["provider_id"],
            row["recipient"],
            claim,
            extra={
                "event": "report.unmatched",
                "provider_id": row["provider_id"],
                "message_id": ours,
            },
        )
    if len(unmatched) > MAX_LOGGED_UNMATCHED:
        log.warning(
            "%d more delivery reports matched none of our messages; stored, not applied",
            len(unmatched) - MAX_LOGGED_UNMATCHED,
            extra={"event": "report.unmatched", "count": len(unmatched) - MAX_LOGGED_UNMATCHED},
        )


@records.record
class QueueDepths:
    queued: int
    sending: int
    oldest_queued_at: int | None


async def depths(db: Database) -> QueueDepths:
    """Queued and sending messages (not rows), and the oldest queued one's due time."""
    row: sqlite3.Row | None = await db.fetchone(
        f"SELECT (SELECT {MESSAGES_IN_ROWS} FROM messages WHERE status = 'queued') AS queued,"
        f" (SELECT {MESSAGES_IN_ROWS} FROM messages WHERE status = 'sending') AS sending,"
        " (SELECT min(next_attempt_at) FROM messages WHERE status = 'queued') AS oldest"
    )
    assert row is not None
    return QueueDepths(row["queued"], row["sending"], row["oldest"])
