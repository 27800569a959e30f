"""The sandbox SMS provider: the default, with nothing to configure.

Messages never leave the machine. What it "sends" is kept in the database
(``sandbox_messages``) and reported delivered after a configurable delay, so
the whole outbox life cycle can be watched. ``reply`` plays the contact's
phone and enters the real inbound path, opt-out keywords and all.

It sends batches too (``send_batch``, core.delivery.gateway.SendsBatches), as Sinch
does: one provider ID for the batch, one row per message, and a report per
recipient naming the batch and the recipient, not our message ID (Sinch's
reports of a batch carry none), so the outbox matches them as it must for
Sinch. A batch with parameters (rows sharing a template) is filled in per
recipient, as Sinch fills it: the phone gets that recipient's text.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from core import settings
from core.clock import from_ms, to_ms
from core.db import Database, Tx
from core.delivery.gateway import (
    Accepted,
    DeliveryReport,
    MmsLimits,
    OutboundBatch,
    OutboundSms,
    PermanentFailure,
)
from core.errors import NotFound
from core.sms import receiving
from core.sms.phones import normalise

# A number that never receives, so a failure can be seen without a real network.
UNREACHABLE_SUFFIX = "0199"
MAX_BATCH_RECIPIENTS = 1000
"""As Sinch's, so the sandbox batches what Sinch would."""


class SandboxGateway:
    name = "sandbox"
    max_batch_recipients = MAX_BATCH_RECIPIENTS

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
            " ON CONFLICT(message_id, recipient) DO UPDATE SET send_calls = send_calls + 1"
            " RETURNING provider_id",
            (
                sms.message_id,
                _single(sms.message_id),
                sms.sender,
                sms.recipient,
                sms.body,
                len(sms.media),
                now,
                now + int(await self._delay() * 1000),
            ),
        )
        return Accepted(rows[0]["provider_id"])

    async def send_batch(self, batch: OutboundBatch) -> Accepted:
        """Take the batch whole; a recipient it cannot reach fails by its report.

        A single message to an unreachable number is refused at once (so the
        sender sees it); in a batch only that recipient fails, later, by its
        delivery report, as a carrier fails one number of a batch it took.

        Each message is kept once per recipient, by our message ID. When every one of
        the batch is already here under one batch (a retry of a batch that got
        through), that batch is the answer, as Sinch's lookup would find it.
        Otherwise a message already here moves to this batch's ID and is
        reported again under it, since that is the ID the outbox will record.
        """
        provider_id = f"sandbox-{batch.reference}"
        now = to_ms(self.db.clock.now())
        deliver_at = now + int(await self._delay() * 1000)
        async with self.db.transaction() as tx:
            # By message and recipient: a campaign's batch is one message to many numbers.
            held = await tx.fetchall(
                "SELECT s.provider_id FROM json_each(?) AS j JOIN sandbox_messages s"
                " ON s.message_id = j.value ->> 0 AND s.recipient = j.value ->> 1"
                " GROUP BY s.provider_id HAVING count(*) = ?",
                (json.dumps(batch.rows), len(batch.rows)),
            )
            if held:
                provider_id = held[0]["provider_id"]
            await tx.executemany(
                "INSERT INTO sandbox_messages (message_id, provider_id, sender, recipient, body,"
                " accepted_at, deliver_at, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(message_id, recipient) DO UPDATE SET send_calls = send_calls + 1,"
                " delivered = CASE WHEN provider_id = excluded.provider_id THEN delivered"
                "   ELSE 0 END,"
                " provider_id = excluded.provider_id",
                [
                    (
                        message_id,
                        provider_id,
                        batch.sender,
                        recipient,
                        batch.text_for(recipient),  # parameters put in, as Sinch does
                        now,
                        deliver_at,
                        "failed" if recipient.endswith(UNREACHABLE_SUFFIX) else "delivered",
                    )
                    for message_id, recipient in batch.rows
                ],
            )
        return Accepted(provider_id)

    async def _delay(self) -> float:
        # Read at most once a second: this runs for every message sent.
        if self._delay_read_at is None or time.monotonic() - self._delay_read_at > 1:
            self._delay_seconds = (await settings.load(self.db)).sandbox_delivery_seconds
            self._delay_read_at = time.monotonic()
        return self._delay_seconds

    async def due_reports(self) -> Sequence[DeliveryReport]:
        # The worker takes them with take_due_reports (gateway.ReportsInDatabase).
        return ()

    async def take_due_reports(self, tx: Tx) -> Sequence[DeliveryReport]:
        """Mark what is due delivered and report it, in the caller's transaction.

        The caller applies the reports in the same transaction, so a crash
        marks nothing: a message is never left 'sent' with its report taken.
        """
        rows = await tx.fetchall(
            "UPDATE sandbox_messages SET delivered = 1"
            " WHERE delivered = 0 AND deliver_at <= ?"
            " RETURNING provider_id, message_id, recipient, outcome",
            (tx.now_ms,),
        )
        return [
            DeliveryReport(
                r["provider_id"],
                r["outcome"],
                reason=_UNREACHABLE if r["outcome"] == "failed" else "",
                # A batch's reports name no message, as Sinch's do (see the module's doc).
                message_id=None
                if r["provider_id"] != _single(r["message_id"])
                else r["message_id"],
                recipient=r["recipient"],
                provider_status=r["outcome"],
            )
            for r in rows
        ]


_UNREACHABLE = (
    f"sandbox: the number is unreachable (numbers ending in {UNREACHABLE_SUFFIX} always fail)"
)


def _single(message_id: int) -> str:
    """The provider ID ``send`` gives one message."""
    return f"sandbox-{message_id}"


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
    # A batch's message to an unreachable number never reached a phone.
    where, params = "WHERE outcome = 'delivered'", []
    if recipient:
        region = (await settings.load(db)).default_region
        where, params = f"{where} AND recipient = ?", [normalise(recipient, region)]
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
) -> receiving.ReceiveResult:
    """Text ``body`` from the phone ``sender`` to one of our numbers.

    Without ``to``, the reply goes to the number that last texted ``sender`` (a
    conversation's, a campaign's or an alert's: what the phone received), else to the
    number of its conversation (it wrote first), else to the account's default number,
    else to our only number, as a real phone's reply would.
    """
    region = (await settings.load(db)).default_region
    phone = normalise(sender, region)
    if to is None:
        row = (
            await db.fetchone(
                "SELECT sender FROM sandbox_messages WHERE recipient = ?"
                " ORDER BY message_id DESC LIMIT 1",
                (phone,),
            )
            or await db.fetchone(
                "SELECT n.e164 FROM conversations c JOIN numbers n ON n.id = c.number_id"
                " WHERE c.phone = ? ORDER BY c.id DESC LIMIT 1",
                (phone,),
            )
            or await db.fetchone("SELECT e164 FROM numbers WHERE is_default = 1")
            or await db.fetchone("SELECT min(e164) FROM numbers HAVING count(*) = 1")
        )
        if row is None:
            raise NotFound(
                "which of our numbers does it text? Nothing was sent to it, there is no"
                " default number and there is not just one: give --to NUMBER"
                if await db.scalar("SELECT count(*) FROM numbers")
                else "there is no number to text: add one with switchboard numbers add"
            )
        to = row[0]
    return await receiving.receive(db, phone, to, body)
