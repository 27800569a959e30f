"""A2: a staff member's mobile number and their own consent to alerts on it.

The person themselves ticks "I permit SMS to this phone" and the New Chat
alert; a manager may see both, and may correct the number (which clears the
permission: consent is for a phone, not for a person), but never tick them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from core import settings
from core.clock import from_ms_or_none
from core.db import Database, Tx
from core.errors import InvalidInput, NotFound, NotMobile
from core.people.authz import Action, Actor, StaffAccess, allows, authorize
from core.records import record
from core.sms import phones


@record
class StaffView:
    agent_id: int
    username: str
    name: str
    mobile: str | None
    """E.164, or None when no mobile number is set."""
    permitted_at: datetime | None
    """When "I permit SMS to this phone" was ticked; None: not permitted."""
    permitted_by: str | None
    """The username of whoever ticked it (the person themselves, or the local operator: None)."""
    new_chat: bool
    opted_out: bool
    """The phone replied STOP: nothing is sent to it until it replies START."""


def _may_see_or_correct(actor: Actor, agent_id: int) -> None:
    # The person themselves, or whoever manages users (who sets numbers up for them).
    if not allows(actor, Action.SET_OWN_ALERTS, StaffAccess(agent_id)):
        authorize(actor, Action.MANAGE_AGENTS)


async def staff_view(db: Database, actor: Actor, agent_id: int) -> StaffView:
    """The mobile number and consent of ``agent_id``: for them, or a manager of users."""
    _may_see_or_correct(actor, agent_id)
    row = await db.fetchone(
        "SELECT a.id, a.username, a.name, a.mobile, a.sms_permitted_at, a.new_chat_alerts,"
        " b.username AS permitted_by,"
        " EXISTS (SELECT 1 FROM phone_consent p WHERE p.phone = a.mobile AND p.opted_out = 1)"
        "   AS opted_out"
        " FROM agents a LEFT JOIN agents b ON b.id = a.sms_permitted_by WHERE a.id = ?",
        (agent_id,),
    )
    if row is None:
        raise NotFound(f"no agent with id {agent_id}")
    return StaffView(
        row["id"],
        row["username"],
        row["name"],
        row["mobile"],
        from_ms_or_none(row["sms_permitted_at"]),
        row["permitted_by"],
        bool(row["new_chat_alerts"]),
        bool(row["opted_out"]),
    )


async def _agent_row(tx: Tx, agent_id: int) -> dict[str, object]:
    row = await tx.fetchone(
        "SELECT mobile, sms_permitted_at, new_chat_alerts FROM agents WHERE id = ?", (agent_id,)
    )
    if row is None:
        raise NotFound(f"no agent with id {agent_id}")
    return dict(row)


async def set_mobile(db: Database, actor: Actor, agent_id: int, number: str | None) -> StaffView:
    """Set (or with None remove) the mobile number alerts go to.

    A different number clears the permission: it was given for the other phone.
    Refused for a number that is not a mobile one (where the numbering plan
    tells) or is one of our own.
    """
    _may_see_or_correct(actor, agent_id)
    mobile = None
    if number is not None and number.strip():
        region = (await settings.load(db)).default_region
        mobile = phones.normalise(number, region)
        if not phones.may_be_mobile(mobile):
            raise NotMobile(
                f"{mobile} is not a mobile number; alerts are SMS, which only a mobile receives"
            )
    async with db.transaction() as tx:
        if mobile is not None and await tx.fetchone(
            "SELECT 1 FROM numbers WHERE e164 = ?", (mobile,)
        ):
            raise InvalidInput(f"{mobile} is one of our own numbers, not a staff member's mobile")
        before = await _agent_row(tx, agent_id)
        if before["mobile"] != mobile:
            await tx.execute(
                "UPDATE agents SET mobile = ?, sms_permitted_at = NULL, sms_permitted_by = NULL"
                " WHERE id = ?",
                (mobile, agent_id),
            )
            await tx.emit(
                "staff.mobile_changed",
                "agent",
                agent_id,
                actor_id=actor.id,
                permission_cleared=before["sms_permitted_at"] is not None,
            )
    return await staff_view(db, actor, agent_id)


async def permit(db: Database, actor: Actor, agent_id: int, on: bool) -> StaffView:
    """Tick (or untick) "I permit SMS to this phone": only the person themselves.

    Refused without a mobile number. Ticking it again keeps when it was first given.
    """
    authorize(actor, Action.SET_OWN_ALERTS, StaffAccess(agent_id))
    async with db.transaction() as tx:
        before = await _agent_row(tx, agent_id)
        if on and before["mobile"] is None:
            raise InvalidInput(
                "permission to SMS a phone needs a mobile number first; set your mobile number"
            )
        if on != (before["sms_permitted_at"] is not None):
            await tx.execute(
                "UPDATE agents SET sms_permitted_at = ?, sms_permitted_by = ? WHERE id = ?",
                (tx.now_ms if on else None, actor.id if on else None, agent_id),
            )
            await tx.emit("staff.sms_permission", "agent", agent_id, actor_id=actor.id, on=on)
    return await staff_view(db, actor, agent_id)


async def set_new_chat(db: Database, actor: Actor, agent_id: int, on: bool) -> StaffView:
    """Switch the New Chat alert on or off: only the person themselves."""
    authorize(actor, Action.SET_OWN_ALERTS, StaffAccess(agent_id))
    async with db.transaction() as tx:
        before = await _agent_row(tx, agent_id)
        if bool(before["new_chat_alerts"]) != on:
            await tx.execute(
                "UPDATE agents SET new_chat_alerts = ? WHERE id = ?", (int(on), agent_id)
            )
            await tx.emit("staff.new_chat_alerts", "agent", agent_id, actor_id=actor.id, on=on)
    return await staff_view(db, actor, agent_id)


KEEP = "keep"
"""``change``'s mobile when it is not to change (None removes the number)."""


async def change(
    db: Database,
    actor: Actor,
    agent_id: int,
    *,
    mobile: str | None = KEEP,
    permit_sms: bool | None = None,
    new_chat: bool | None = None,
) -> StaffView:
    """Several of the above at once (a form's save, the CLI): every one is authorised
    before any is made, so a refused part leaves nothing half-saved. The number goes
    first, so a new one may be permitted in the same request."""
    if mobile != KEEP:
        _may_see_or_correct(actor, agent_id)
    if permit_sms is not None or new_chat is not None:
        authorize(actor, Action.SET_OWN_ALERTS, StaffAccess(agent_id))
    if mobile != KEEP:
        await set_mobile(db, actor, agent_id, mobile)
    if permit_sms is not None:
        await permit(db, actor, agent_id, permit_sms)
    if new_chat is not None:
        await set_new_chat(db, actor, agent_id, new_chat)
    return await staff_view(db, actor, agent_id)


async def alertable_in(q: Database | Tx, agent_ids: Sequence[int]) -> dict[int, str]:
    """Of ``agent_ids``, those who may be alerted now, with their mobile number:
    active, a mobile number, "I permit SMS to this phone" ticked, the New Chat
    alert on, and the number not opted out (STOP from that phone still wins)."""
    if not agent_ids:
        return {}
    rows = await q.fetchall(
        "SELECT a.id, a.mobile FROM agents a"
        " WHERE a.id IN (SELECT value FROM json_each(?)) AND a.active = 1"
        " AND a.mobile IS NOT NULL AND a.sms_permitted_at IS NOT NULL AND a.new_chat_alerts = 1"
        " AND NOT EXISTS (SELECT 1 FROM phone_consent p WHERE p.phone = a.mobile"
        "   AND p.opted_out = 1)",
        (json.dumps(list(agent_ids)),),
    )
    return {r["id"]: r["mobile"] for r in rows}
