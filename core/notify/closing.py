"""P4: close a conversation with an outcome, and fan the notices out.

One transaction: the closure (outcome, collected data, comment), the
conversation closed (its wait ended, its offer withdrawn, its agent's room
given back), and a notice to every recipient of the outcome, each an SMS
outbox row or an email outbox row written there and then, so a close and
its notices are kept or lost together. A new inbound message opens the
conversation again (``core.sms.receiving``).

Recipients: the outcome's profiles, the members of its groups and whoever
is on call now on its schedules (``oncall.on_call_profiles_in``: held
profiles skipped, hold is about dispatch), each profile once. An opted-out SMS number is a notice
``skipped`` with the reason, not a failed close.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Final

from core.alerts import stopping
from core.clock import from_ms
from core.db import Database, Tx
from core.delivery import emails, outbox
from core.errors import InvalidInput, NotFound, OptedOut, SwitchboardError
from core.notify import close_reading, oncall, rendering
from core.notify import fields as collected
from core.notify.close_reading import Recipient
from core.people.authz import Action, Actor, authorize
from core.records import record
from core.routing import activities, handover
from core.sms.conversations import access_in
from core.text import is_utf8, refuse_control_characters

SMS: Final = "sms"
EMAIL: Final = "email"


@record
class Notice:
    id: int
    closure_id: int
    profile_id: int | None
    channel: str
    """sms or email."""
    recipient: str
    status: str
    """queued, sending, sent, delivered or failed (the outbox row's), or skipped."""
    error: str | None


@record
class Closure:
    id: int
    conversation_id: int
    outcome: str
    notices: tuple[Notice, ...]


async def close(
    db: Database,
    actor: Actor,
    conversation_id: int,
    outcome: str,
    data: Mapping[str, str],
    comment: str = "",
) -> Closure:
    """Close ``conversation_id`` with ``outcome`` and the collected ``data``; notify.

    Refused (naming the rule): an unknown, archived outcome; an unknown or a
    system field; an empty required field; a value not of its field's type
    or longer than its length; a conversation already closed.
    """
    async with db.transaction() as tx:
        return await close_in(tx, actor, conversation_id, outcome, data, comment)


async def close_in(
    tx: Tx,
    actor: Actor,
    conversation_id: int,
    outcome: str,
    data: Mapping[str, str],
    comment: str = "",
) -> Closure:
    """``close`` in the caller's transaction."""
    authorize(actor, Action.CLOSE_CONVERSATION, await access_in(tx, conversation_id))
    reading = await close_reading.read_in(tx, outcome)
    chosen = reading.outcome
    if chosen is None:
        missing = NotFound(f"no outcome named {outcome!r}")
        missing.about = "outcome"  # a form shows it under its outcome picker
        raise missing
    if chosen.archived:
        refused = InvalidInput(
            f"outcome {chosen.name} is archived; it no longer closes conversations"
        )
        refused.about = "outcome"
        raise refused
    declared = reading.declared
    values = collected.check_values(declared, data, reading.config.default_region)
    limits = {f.name: f.max_length for f in declared}
    try:
        note = _comment(comment, limits["agent_comment"])
    except InvalidInput as exc:
        exc.about = "agent_comment"
        raise
    # Closed and read in one statement; a refusal after it rolls it back with the rest.
    conversation = await tx.fetchone(
        "UPDATE conversations SET closed_at = :now, waiting_since = NULL,"
        " public_due_at = NULL, route_due_at = NULL WHERE id = :id AND closed_at IS NULL"
        " RETURNING phone, owner_id, is_public, alert_started_at IS NOT NULL AS alerted,"
        " coalesce((SELECT name FROM contacts WHERE id = contact_id), '') AS contact_name,"
        " (SELECT e164 FROM numbers WHERE id = number_id) AS sender,"
        " EXISTS (SELECT 1 FROM offers WHERE conversation_id = :id AND status = 'pending')"
        "   AS offered",
        {"now": tx.now_ms, "id": conversation_id},
    )
    if conversation is None:
        raise InvalidInput(
            f"conversation {conversation_id} is closed already; a new message opens it again"
        )
    if conversation["alerted"]:  # staff were alerted about it: stop what is still to go
        await stopping.stop_in(tx, [conversation_id], reason=stopping.CLOSED)
    closure_id = await tx.insert(
        "INSERT INTO closures (conversation_id, outcome_id, agent_id, data, comment, closed_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (conversation_id, chosen.id, actor.id, json.dumps(values), note, tx.now_ms),
    )
    if conversation["offered"]:
        await handover.withdraw_in(tx, [conversation_id])
    if conversation["owner_id"] is not None and not conversation["is_public"]:
        await activities.released_in(tx, [conversation["owner_id"]])
    await tx.emit(
        "conversation.closed",
        "conversation",
        conversation_id,
        actor_id=actor.id,
        closure_id=closure_id,
        outcome_id=chosen.id,
    )
    values = _with_known_caller(values, conversation["contact_name"], conversation["phone"])
    values = {n: v[: limits[n]] if n in limits else v for n, v in values.items()}
    values |= {
        "caller_id": conversation["phone"],
        "outcome": chosen.name,
        "agent_comment": note,
        # Cut to the field's length: a long name must not make every notice unrenderable.
        "agent": actor.name[: limits["agent"]],
        "closed_at": from_ms(tx.now_ms).isoformat(timespec="minutes"),
    }
    notices = await _fan_out(
        tx, conversation_id, closure_id, conversation["sender"], values, reading
    )
    return Closure(closure_id, conversation_id, chosen.name, tuple(notices))


def known_caller(name: str | None, phone: str) -> dict[str, str]:
    """What a conversation knows of its caller, by collected field: the contact's first
    and last name (the name split at the first space, as campaigns split it) and the
    number that texted. The notices use these where the agent left a field empty."""
    first, _, last = (name or "").strip().partition(" ")
    return {"first_name": first, "last_name": last.strip(), "phone": phone}


def _with_known_caller(values: Mapping[str, str], name: str, phone: str) -> dict[str, str]:
    """The notices' values: ``known_caller``'s where the agent left a field empty. A
    default SMS is otherwise ", : " for a close that collected nothing. The closure
    keeps what the agent gave."""
    known = known_caller(name, phone)
    return {**values, **{n: v for n, v in known.items() if not values.get(n)}}


def _comment(comment: str, limit: int) -> str:
    if not isinstance(comment, str) or not is_utf8(comment):
        raise InvalidInput("the agent comment must be text")
    refuse_control_characters("the agent comment", comment, "\n\t")
    text = comment.strip()
    if len(text) > limit:
        raise InvalidInput(f"the agent comment is at most {limit} characters, not {len(text)}")
    return text


async def _recipients_in(tx: Tx, reading: close_reading.CloseReading) -> list[Recipient]:
    """The profiles the outcome notifies now, each once, by id."""
    if not reading.schedules:
        return list(reading.recipients)
    found = {r.profile_id: r for r in reading.recipients}
    # Held profiles are skipped there (P7: hold is about dispatch); a profile named
    # directly is told whatever its hold.
    at = from_ms(tx.now_ms)
    on_call: set[int] = set()
    for schedule_id in reading.schedules:
        on_call.update(await oncall.on_call_profiles_in(tx, schedule_id, at))
    if more := sorted(on_call - found.keys()):
        added = await close_reading.profiles_in(tx, more, reading.fields)
        found |= {r.profile_id: r for r in added}
    return [found[k] for k in sorted(found)]


async def _fan_out(
    tx: Tx,
    conversation_id: int,
    closure_id: int,
    sender: str,
    values: dict[str, str],
    reading: close_reading.CloseReading,
) -> list[Notice]:
    recipients = await _recipients_in(tx, reading)
    if not recipients:
        return []
    # Rendered once per profile, queued in one batch per channel; the notices keep
    # each profile's order (its SMS numbers, then its addresses).
    planned: list[tuple[int, str, int, str | None]] = []  # profile, channel, batch index, skip
    texts: list[tuple[str, str]] = []
    mails: list[tuple[str, str, str]] = []
    skipped_recipients: list[str] = []
    # Ten profiles in the same modes share their texts: each rendered once per close.
    rendered: dict[tuple[object, ...], tuple[str | None, tuple[str, str] | None]] = {}
    for recipient in recipients:
        profile_id, profile = recipient.profile_id, recipient.profile
        reason = recipient.broken
        if reason is None and recipient.same_text not in rendered:
            try:
                rendered[recipient.same_text] = _render(recipient, values, reading.withhold)
            except InvalidInput as exc:
                reason = str(exc)
        if reason is not None:
            # A profile saved broken (by hand, or before a field changed) is one skipped
            # notice per address, shown with the reason; the close and the others go on.
            on = [v for v in recipient.numbers if profile.sms_on]
            on += [v for v in recipient.addresses if profile.email_on]
            planned += [(profile_id, "", -1, f"not rendered: {reason}") for _ in on]
            skipped_recipients += on
            continue
        body, mail = rendered[recipient.same_text]
        if body is not None:
            for number in recipient.numbers:
                planned.append((profile_id, SMS, len(texts), None))
                texts.append((number, body))
        if mail is not None:
            for address in recipient.addresses:
                planned.append((profile_id, EMAIL, len(mails), None))
                mails.append((address, *mail))
    # Announced by the one event below, not an event per SMS and per email.
    queued = (
        await outbox.queue_many(tx, outbox.NOTICE, sender, texts, announce=False) if texts else []
    )
    email_ids = await emails.queue_many_in(tx, "notice", mails, announce=False) if mails else []
    # profile, message, email, skipped, recipient: a notices row
    notices: list[tuple[int, int | None, int | None, str | None, str]] = []
    skipped_at = iter(skipped_recipients)
    for profile_id, channel, index, reason in planned:
        if reason is not None:
            notices.append((profile_id, None, None, reason, next(skipped_at)))
        elif channel == EMAIL:
            notices.append((profile_id, None, email_ids[index], None, mails[index][0]))
        elif isinstance(result := queued[index], int):
            notices.append((profile_id, result, None, None, texts[index][0]))
        else:
            notices.append((profile_id, None, None, _skipped(result), texts[index][0]))
    made = await tx.fetchall(
        "INSERT INTO notices (closure_id, profile_id, message_id, email_id, skipped, recipient,"
        " created_at) SELECT :closure, value ->> 0, value ->> 1, value ->> 2, value ->> 3,"
        " value ->> 4, :now FROM json_each(:rows) ORDER BY key RETURNING id",
        {"closure": closure_id, "now": tx.now_ms, "rows": json.dumps(notices)},
    )
    ids = sorted(r["id"] for r in made)
    shown = [
        Notice(
            notice_id,
            closure_id,
            n[0],
            EMAIL if "@" in n[4] else SMS,
            n[4],
            "skipped" if n[3] is not None else "queued",
            n[3],
        )
        for notice_id, n in zip(ids, notices, strict=True)
    ]
    # One event for the close's notices and their outbox rows, not one per notice,
    # per SMS and per email (41 rows a close, most of its feed): the thread reads
    # the notices again on it. Ids and counts only, never an address, a number or
    # a body (HIPAA).
    skipped = sum(n.status == "skipped" for n in shown)
    await tx.emit(
        "notice.queued",
        "closure",
        closure_id,
        conversation_id=conversation_id,
        queued=len(shown) - skipped,
        skipped=skipped,
    )
    return shown


def _render(
    recipient: Recipient, values: Mapping[str, str], withhold: frozenset[str]
) -> tuple[str | None, tuple[str, str] | None]:
    templates = recipient.templates
    assert templates is not None  # compiled, or the recipient is broken
    sms, email = templates.sms, templates.email
    return (
        rendering.render_sms(sms, values, withhold) if sms else None,
        rendering.render_email(email, values, withhold) if email else None,
    )


def _skipped(refusal: SwitchboardError) -> str:
    if isinstance(refusal, OptedOut):
        return "the number opted out of SMS (STOP)"
    return str(refusal)  # one of our own numbers: one notice, not the close


_NOTICES: Final = (
    "SELECT n.id, n.closure_id, n.profile_id, n.recipient, n.skipped,"
    # An address has an @, a number never: how a skipped notice tells its channel.
    " CASE WHEN instr(n.recipient, '@') THEN 'email' ELSE 'sms' END AS channel,"
    " coalesce(m.status, e.status, 'skipped') AS status,"
    " coalesce(n.skipped, m.error, e.error) AS error"
    " FROM notices n LEFT JOIN messages m ON m.id = n.message_id"
    " LEFT JOIN emails e ON e.id = n.email_id"
)


async def _notices_in(db: Database | Tx, where: str, params: tuple[object, ...]) -> list[Notice]:
    rows = await db.fetchall(_NOTICES + f" WHERE {where} ORDER BY n.id", params)
    return [
        Notice(
            r["id"],
            r["closure_id"],
            r["profile_id"],
            r["channel"],
            r["recipient"],
            r["status"],
            r["error"],
        )
        for r in rows
    ]


async def notices_for(db: Database, actor: Actor, conversation_id: int) -> list[Notice]:
    """Every notice the conversation's closures sent, with its live delivery status."""
    authorize(actor, Action.VIEW_CONVERSATION, await access_in(db, conversation_id))
    return await _notices_in(
        db,
        "n.closure_id IN (SELECT id FROM closures WHERE conversation_id = ?)",
        (conversation_id,),
    )
