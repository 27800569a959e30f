"""P4: close a conversation with an outcome, and fan the notices out.

One transaction: the closure (outcome, collected data, comment), the
conversation closed (its wait ended, its offer withdrawn, its agent's room
given back), and a notice to every recipient of the outcome, each an SMS
outbox row or an email outbox row written there and then, so a close and
its notices are kept or lost together. A new inbound message opens the
conversation again (``core.sms.receiving``).

Recipients: the outcome's profiles, the members of its groups and whoever
is on call now on its schedules (held profiles skipped: hold is about
dispatch), each profile once. An opted-out SMS number is a notice
``skipped`` with the reason, not a failed close.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from typing import Final

from core import settings
from core.clock import from_ms
from core.db import Database, Tx
from core.delivery import emails, outbox
from core.errors import InvalidInput, OptedOut
from core.notify import fields as collected
from core.notify import hipaa, rendering
from core.notify.holds import held_sql
from core.notify.outcomes import by_name_in
from core.people.authz import Action, Actor, authorize
from core.records import record
from core.routing import activities, handover
from core.sms.conversations import access_in
from core.text import has_control_characters, is_utf8

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
        closure_id, name = await close_in(tx, actor, conversation_id, outcome, data, comment)
        notices = await _notices_in(tx, "n.closure_id = ?", (closure_id,))
    return Closure(closure_id, conversation_id, name, tuple(notices))


async def close_in(
    tx: Tx,
    actor: Actor,
    conversation_id: int,
    outcome: str,
    data: Mapping[str, str],
    comment: str = "",
) -> tuple[int, str]:
    """``close`` in the caller's transaction; the closure's id and the outcome's name."""
    authorize(actor, Action.CLOSE_CONVERSATION, await access_in(tx, conversation_id))
    conversation = await tx.fetchone(
        "SELECT c.phone, c.owner_id, c.is_public, c.closed_at, n.e164 AS sender"
        " FROM conversations c JOIN numbers n ON n.id = c.number_id WHERE c.id = ?",
        (conversation_id,),
    )
    assert conversation is not None  # access_in found it
    if conversation["closed_at"] is not None:
        raise InvalidInput(
            f"conversation {conversation_id} is closed already; a new message opens it again"
        )
    chosen = await by_name_in(tx, outcome)
    if chosen.archived:
        raise InvalidInput(f"outcome {chosen.name} is archived; it no longer closes conversations")
    config = await settings.load_in(tx)
    declared = await collected.all_in(tx)
    values = collected.check_values(declared, data, config.default_region)
    note = _comment(comment, next(f for f in declared if f.name == "agent_comment").max_length)
    closure_id = await tx.insert(
        "INSERT INTO closures (conversation_id, outcome_id, agent_id, data, comment, closed_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (conversation_id, chosen.id, actor.id, json.dumps(values), note, tx.now_ms),
    )
    await tx.execute(
        "UPDATE conversations SET closed_at = :now, waiting_since = NULL,"
        " public_due_at = NULL, route_due_at = NULL WHERE id = :id",
        {"now": tx.now_ms, "id": conversation_id},
    )
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
    agent = await tx.scalar("SELECT name FROM agents WHERE id = ?", (actor.id,))
    values |= {
        "caller_id": conversation["phone"],
        "outcome": chosen.name,
        "agent_comment": note,
        "agent": agent or "",
        "closed_at": from_ms(tx.now_ms).isoformat(timespec="minutes"),
    }
    await _fan_out(tx, closure_id, chosen.id, conversation["sender"], values, config)
    return closure_id, chosen.name


def _comment(comment: str, limit: int) -> str:
    if not isinstance(comment, str) or not is_utf8(comment):
        raise InvalidInput("the agent comment must be text")
    if has_control_characters(comment, allowed="\n\t"):
        raise InvalidInput("the agent comment cannot contain control characters")
    text = comment.strip()
    if len(text) > limit:
        raise InvalidInput(f"the agent comment is at most {limit} characters, not {len(text)}")
    return text


async def _on_call(tx: Tx, schedule_id: int) -> list[int]:
    # The on-call module is another part of issue #11; looked up by name so this
    # part stands on its own until both are merged.
    oncall = importlib.import_module("core.notify.oncall")
    found: list[int] = await oncall.on_call_profiles_in(tx, schedule_id, tx.now_ms)
    return found


async def recipients_in(tx: Tx, outcome_id: int) -> list[int]:
    """The profiles an outcome notifies now, each once, in a stable order."""
    direct = await tx.fetchall(
        "SELECT profile_id AS id FROM outcome_recipients"
        " WHERE outcome_id = :o AND profile_id IS NOT NULL"
        " UNION SELECT m.profile_id FROM outcome_recipients r"
        " JOIN notification_group_members m ON m.group_id = r.group_id WHERE r.outcome_id = :o",
        {"o": outcome_id},
    )
    found = {r["id"] for r in direct}
    schedules = await tx.fetchall(
        "SELECT schedule_id FROM outcome_recipients"
        " WHERE outcome_id = ? AND schedule_id IS NOT NULL",
        (outcome_id,),
    )
    on_call = {p for s in schedules for p in await _on_call(tx, s["schedule_id"])}
    if on_call:
        held = await tx.fetchall(
            "SELECT id FROM notification_profiles p WHERE id IN (SELECT value FROM json_each(:ids))"
            f" AND {held_sql('p')}",
            {"ids": json.dumps(sorted(on_call)), "now": tx.now_ms},
        )
        found |= on_call - {r["id"] for r in held}
    return sorted(found)


async def _fan_out(
    tx: Tx,
    closure_id: int,
    outcome_id: int,
    sender: str,
    values: dict[str, str],
    config: settings.Settings,
) -> None:
    profile_ids = await recipients_in(tx, outcome_id)
    if not profile_ids:
        return
    ids = json.dumps(profile_ids)
    rows = await tx.fetchall(
        "SELECT id, alias, sms_on, sms_mode, sms_body, email_on, email_mode, email_subject,"
        " email_body FROM notification_profiles WHERE id IN (SELECT value FROM json_each(?))"
        " ORDER BY id",
        (ids,),
    )
    addresses: dict[int, list[tuple[str, str]]] = {}
    for row in await tx.fetchall(
        "SELECT profile_id, kind, value FROM notification_profile_contacts"
        " WHERE kind IN ('sms', 'email') AND profile_id IN (SELECT value FROM json_each(?))"
        " ORDER BY profile_id, kind, position",
        (ids,),
    ):
        addresses.setdefault(row["profile_id"], []).append((row["kind"], row["value"]))
    fields = await collected.fields_in(tx)
    withhold = hipaa.withheld(config, fields)
    made: list[tuple[int, dict[str, object]]] = []
    for row in rows:
        profile = hipaa.ProfileTemplates.from_row(row)
        templates = rendering.compiled(profile, fields)
        sms_numbers = [v for k, v in addresses.get(profile.id or 0, []) if k == SMS]
        email_addresses = [v for k, v in addresses.get(profile.id or 0, []) if k == EMAIL]
        if templates.sms is not None and sms_numbers:
            body = rendering.render_sms(templates.sms, values, withhold)
            for number in sms_numbers:
                made.append(await _sms_notice(tx, closure_id, row["id"], sender, number, body))
        if templates.email is not None and email_addresses:
            subject, text = rendering.render_email(templates.email, values, withhold)
            for address in email_addresses:
                email_id = await emails.queue_in(tx, "notice", address, subject, text)
                made.append(await _notice(tx, closure_id, row["id"], address, email_id=email_id))
    # Ids and kinds only: never an address, a number or a body (HIPAA).
    await tx.emit_many("notice.queued", "notice", made)


async def _sms_notice(
    tx: Tx, closure_id: int, profile_id: int, sender: str, number: str, body: str
) -> tuple[int, dict[str, object]]:
    try:
        message_id = await outbox.queue(tx, outbox.NOTICE, sender, number, body)
    except OptedOut:
        return await _notice(
            tx, closure_id, profile_id, number, skipped="the number opted out of SMS (STOP)"
        )
    except InvalidInput as exc:  # one of our own numbers: one notice, not the close
        return await _notice(tx, closure_id, profile_id, number, skipped=str(exc))
    return await _notice(tx, closure_id, profile_id, number, message_id=message_id)


async def _notice(
    tx: Tx,
    closure_id: int,
    profile_id: int,
    recipient: str,
    *,
    message_id: int | None = None,
    email_id: int | None = None,
    skipped: str | None = None,
) -> tuple[int, dict[str, object]]:
    notice_id = await tx.insert(
        "INSERT INTO notices (closure_id, profile_id, message_id, email_id, skipped, recipient,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (closure_id, profile_id, message_id, email_id, skipped, recipient, tx.now_ms),
    )
    channel = EMAIL if email_id is not None else SMS
    return notice_id, {
        "closure_id": closure_id,
        "profile_id": profile_id,
        "channel": channel,
        "skipped": skipped is not None,
    }


_NOTICES: Final = (
    "SELECT n.id, n.closure_id, n.profile_id, n.recipient, n.skipped,"
    " CASE WHEN n.email_id IS NOT NULL THEN 'email' ELSE 'sms' END AS channel,"
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
