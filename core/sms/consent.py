"""M5: each number's opt-out state, and every change to it with time and source."""

from __future__ import annotations

from datetime import datetime

from core.account_zone import account_zone, zoned
from core.clock import from_ms
from core.db import Database, Tx
from core.errors import OptedOut
from core.records import record


@record
class ConsentChange:
    at: datetime
    opted_out: bool
    keyword: str | None
    agent_id: int | None
    message_id: int | None

    @property
    def source(self) -> str:
        if self.keyword:
            return f"keyword {self.keyword}"
        return "an agent" if self.agent_id else "the system"


async def is_opted_out(db: Database | Tx, phone: str) -> bool:
    row = await db.fetchone("SELECT opted_out FROM phone_consent WHERE phone = ?", (phone,))
    return bool(row and row["opted_out"])


async def ensure_may_text(tx: Tx, phone: str) -> None:
    """Refuse (OptedOut) a message to a number that opted out."""
    row = await tx.fetchone(
        "SELECT at, keyword FROM consent_changes WHERE phone = ? ORDER BY id DESC LIMIT 1",
        (phone,),
    )
    if row is not None and await is_opted_out(tx, phone):
        when = zoned(from_ms(row["at"]), await account_zone(tx))
        how = f"by replying {row['keyword']}" if row["keyword"] else "at an agent's request"
        raise OptedOut(
            f"{phone} opted out of SMS {how} on {when}; nothing can be sent until they text START"
        )


async def opt_out_in(
    tx: Tx,
    phone: str,
    *,
    keyword: str | None,
    agent_id: int | None = None,
    message_id: int | None = None,
) -> bool:
    """Opt ``phone`` out. Returns True when the one confirmation should be sent now."""
    row = await tx.fetchone(
        "SELECT opted_out, confirmation_sent FROM phone_consent WHERE phone = ?", (phone,)
    )
    if row is None or not row["opted_out"]:
        await tx.execute(
            "INSERT INTO phone_consent (phone, opted_out, confirmation_sent) VALUES (?, 1, 0)"
            " ON CONFLICT(phone) DO UPDATE SET opted_out = 1, confirmation_sent = 0",
            (phone,),
        )
        await _record(tx, phone, True, keyword, agent_id, message_id)
        row = None
    if row is not None and row["confirmation_sent"]:
        return False
    await tx.execute("UPDATE phone_consent SET confirmation_sent = 1 WHERE phone = ?", (phone,))
    return True


async def opt_in_in(
    tx: Tx,
    phone: str,
    *,
    keyword: str | None,
    agent_id: int | None = None,
    message_id: int | None = None,
) -> bool:
    """Opt ``phone`` back in. Returns True when it was opted out (so a reply is due)."""
    if not await is_opted_out(tx, phone):
        return False
    await tx.execute(
        "UPDATE phone_consent SET opted_out = 0, confirmation_sent = 0 WHERE phone = ?", (phone,)
    )
    await _record(tx, phone, False, keyword, agent_id, message_id)
    return True


async def _record(
    tx: Tx,
    phone: str,
    opted_out: bool,
    keyword: str | None,
    agent_id: int | None,
    message_id: int | None,
) -> None:
    # The audit trail is this row; the feed event only names it (no number, no keyword).
    change_id = await tx.insert(
        "INSERT INTO consent_changes (phone, at, opted_out, keyword, agent_id, message_id)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (phone, tx.now_ms, int(opted_out), keyword, agent_id, message_id),
    )
    await tx.emit(
        "consent.opted_out" if opted_out else "consent.opted_in",
        "consent_change",
        change_id,
        actor_id=agent_id,
        message_id=message_id,
    )


async def take_notice_in(tx: Tx, phone: str) -> bool:
    """True exactly once per number: the first SMS ever sent to it carries the opt-out line."""
    row = await tx.fetchone(
        "INSERT INTO phone_consent (phone, notice_sent_at) VALUES (?, ?)"
        " ON CONFLICT(phone) DO UPDATE SET notice_sent_at = excluded.notice_sent_at"
        " WHERE phone_consent.notice_sent_at IS NULL RETURNING phone",
        (phone, tx.now_ms),
    )
    return row is not None


async def notice_due(db: Database | Tx, phone: str) -> bool:
    """Whether the next SMS to ``phone`` carries the opt-out line; read-only twin of the above."""
    row = await db.fetchone("SELECT notice_sent_at FROM phone_consent WHERE phone = ?", (phone,))
    return row is None or row["notice_sent_at"] is None


async def history(db: Database, phone: str) -> list[ConsentChange]:
    rows = await db.fetchall(
        "SELECT * FROM consent_changes WHERE phone = ? ORDER BY id DESC", (phone,)
    )
    return [
        ConsentChange(
            from_ms(r["at"]),
            bool(r["opted_out"]),
            r["keyword"],
            r["agent_id"],
            r["message_id"],
        )
        for r in rows
    ]
