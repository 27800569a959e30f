"""A5: is this person set up to be alerted, and if not, what is missing?

"Configured" means exactly what the alert sweep asks (``consent.alertable_in``
and a shift: a normal one for the new-chat alert and reminders, an on-call
one for the escalation, which the account must then send), plus the
account's switches, so the confirmation never promises an alert that would
not be sent.
"""

from __future__ import annotations

from core import settings
from core.clock import to_ms
from core.db import Database
from core.errors import NotFound
from core.people.authz import Action, Actor, authorize
from core.records import record
from core.shifts.on_shift import NORMAL, ONCALL

CONFIGURED = "Mobile alerts are configured: if a chat comes in, we will notify you"

MOBILE = "a mobile number"
PERMISSION = "permission to SMS this phone"
NEW_CHAT = "the New Chat alert"
SHIFT = "a shift (messaging or on call)"
ESCALATION = "escalation in the account settings (your shifts are on call only)"
OPTED_OUT = "SMS to this phone (it replied STOP; reply START from it to allow them again)"
ACCOUNT_OFF = "mobile alerts are off in the account settings"


@record
class Readiness:
    configured: bool
    missing: tuple[str, ...]

    @property
    def message(self) -> str:
        if self.configured:
            return CONFIGURED
        own = [m for m in self.missing if m != ACCOUNT_OFF]
        parts = ["Mobile alerts are not configured."]
        if own:
            parts.append("Missing: " + ", ".join(own) + ".")
        if ACCOUNT_OFF in self.missing:
            parts.append(ACCOUNT_OFF[0].upper() + ACCOUNT_OFF[1:] + ".")
        return " ".join(parts)


async def readiness(db: Database, actor: Actor, agent_id: int | None = None) -> Readiness:
    """Whether ``agent_id`` (default: the actor) would get a New Chat alert, and what is missing."""
    authorize(actor, Action.VIEW_SHIFTS)
    who = actor.id if agent_id is None else agent_id
    if who is None:
        raise NotFound("the local operator is nobody's staff: name the person (--user)")
    row = await db.fetchone(
        "SELECT a.mobile, a.sms_permitted_at, a.new_chat_alerts,"
        " EXISTS (SELECT 1 FROM phone_consent p WHERE p.phone = a.mobile AND p.opted_out = 1)"
        "   AS opted_out,"
        # A weekly shift comes round again; a one-off one counts until it ends.
        " EXISTS (SELECT 1 FROM shifts s WHERE s.agent_id = a.id AND s.kind = :normal"
        "   AND (s.start_minute IS NOT NULL OR s.ends_at > :now)) AS normal,"
        " EXISTS (SELECT 1 FROM shifts s WHERE s.agent_id = a.id AND s.kind = :oncall"
        "   AND (s.start_minute IS NOT NULL OR s.ends_at > :now)) AS oncall"
        " FROM agents a WHERE a.id = :id",
        {"id": who, "normal": NORMAL, "oncall": ONCALL, "now": to_ms(db.clock.now())},
    )
    if row is None:
        raise NotFound(f"no agent with id {who}")
    config = await settings.load(db)
    missing = [
        what
        for what, lacking in (
            (MOBILE, row["mobile"] is None),
            (PERMISSION, row["sms_permitted_at"] is None),
            (NEW_CHAT, not row["new_chat_alerts"]),
            (OPTED_OUT, bool(row["opted_out"])),
            (SHIFT, not (row["normal"] or row["oncall"])),
            # On call only: alerted by the escalation alone, which may be switched off.
            (
                ESCALATION,
                row["oncall"]
                and not row["normal"]
                and not (config.alert_every_minutes and config.alert_escalate_after),
            ),
            (ACCOUNT_OFF, not (config.staff_sms and config.mobile_alerts)),
        )
        if lacking
    ]
    return Readiness(not missing, tuple(missing))
