"""The sandbox SMS provider: the default, with nothing to configure.

Messages never leave the machine. What it "sends" is kept in the database
(``sandbox_messages``) and reported delivered after a configurable delay, so
the whole outbox life cycle can be watched. ``reply`` plays the contact's
phone and enters the real inbound path, opt-out keywords and all.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from core import messaging, settings
from core.clock import from_ms, to_ms
from core.db import Database, Tx
from core.errors import NotFound
from core.gateway import Accepted, DeliveryReport, MmsLimits, OutboundSms, PermanentFailure
from core.phones import normalise

# A number that never receives, so a failure can be seen without a real network.
UNREACHABLE_SUFFIX = "0199"


class SandboxGateway:
    name = "sandbox"

    def __init__(self, db: Database) -> None:
        self.db = db
        self._delay_seconds = 0.0
        self._delay_read_at: float | None = None

    @property
    def mms_limits(self) -> MmsLimits:
        return MmsLimits()  # none of its own: the number and the settings decide

    async def send(self, sms: OutboundSms) -> Accepted:
        if sms.recipient.endswith(UNREACHABLE_SUFFIX):
            raise PermanentFailure(
                f"sandbox: {sms.recipient} is unreachable (numbers ending in"
                f" {UNREACHABLE_SUFFIX} always fail, to show a failed message)"
            )
        now = to_ms(self.db.clock.now())
        # Keyed by our message ID: a resend after a crash is recognised and
        # counted, never delivered twice.
        rows = await self.db.write(
            "INSERT INTO sandbox_messages (message_id, provider_id, sender, recipient, body,"
            " media, accepted_at, deliver_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(message_id) DO UPDATE SET send_calls = send_calls + 1"
            " RETURNING provider_id",
            (
                sms.message_id,
                f"sandbox-{sms.message_id}",
                sms.sender,
                sms.recipient,
                sms.body,
                len(sms.media),
                now,
                now + int(await self._delay() * 1000),
            ),
        )
        return Accepted(rows[0]["provider_id"])

    async def _delay(self) -> float:
        # Read at most once a second: this runs for every message sent.
        if self._delay_read_at is None or time.monotonic() - self._delay_read_at > 1:
            self._delay_seconds = (await settings.load(self.db)).sandbox_delivery_seconds
            self._delay_read_at = time.monotonic()
        return self._delay_seconds

    async def due_reports(self) -> Sequence[DeliveryReport]:
        return ()  # the worker takes them with take_due_reports (core.gateway.ReportsInDatabase)

    async def take_due_reports(self, tx: Tx) -> Sequence[DeliveryReport]:
        """Mark what is due delivered and report it, in the caller's transaction.

        The caller applies the reports in the same transaction, so a crash
        marks nothing: a message is never left 'sent' with its report taken.
        """
        rows = await tx.fetchall(
            "UPDATE sandbox_messages SET delivered = 1"
            " WHERE delivered = 0 AND deliver_at <= ?"
            " RETURNING provider_id, message_id, recipient",
            (tx.now_ms,),
        )
        return [
            DeliveryReport(
                r["provider_id"],
                "delivered",
                message_id=r["message_id"],
                recipient=r["recipient"],
                provider_status="delivered",
            )
            for r in rows
        ]


@dataclass(frozen=True, slots=True)
class PhoneMessage:
    """What the sandbox phone at ``recipient`` has received."""

    message_id: int
    sender: str
    recipient: str
    body: str
    media: int
    accepted_at: datetime
    delivered: bool


async def inbox(db: Database, recipient: str | None = None, limit: int = 50) -> list[PhoneMessage]:
    """The latest messages the sandbox delivered (to one number, or to all)."""
    where, params = "", []
    if recipient:
        region = (await settings.load(db)).default_region
        where, params = "WHERE recipient = ?", [normalise(recipient, region)]
    rows = await db.fetchall(
        f"SELECT * FROM sandbox_messages {where} ORDER BY message_id DESC LIMIT ?",
        [*params, limit],
    )
    return [
        PhoneMessage(
            r["message_id"],
            r["sender"],
            r["recipient"],
            r["body"],
            r["media"],
            from_ms(r["accepted_at"]),
            bool(r["delivered"]),
        )
        for r in reversed(rows)
    ]


async def reply(
    db: Database, sender: str, body: str, to: str | None = None
) -> messaging.ReceiveResult:
    """Text ``body`` from the phone ``sender`` to one of our numbers.

    Without ``to``, the reply goes to the number that last texted ``sender``,
    else to the account's default number, as a real phone's reply would.
    """
    region = (await settings.load(db)).default_region
    phone = normalise(sender, region)
    if to is None:
        row = await db.fetchone(
            "SELECT n.e164 FROM conversations c JOIN numbers n ON n.id = c.number_id"
            " WHERE c.phone = ? ORDER BY c.last_outbound_at DESC NULLS LAST LIMIT 1",
            (phone,),
        ) or await db.fetchone("SELECT e164 FROM numbers WHERE is_default = 1")
        if row is None:
            raise NotFound("there is no number to text: add one with switchboard numbers add")
        to = row[0]
    return await messaging.receive(db, phone, to, body)
