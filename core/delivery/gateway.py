"""What core needs from the outside world, as small Protocols.

Providers implement them; the CLI wires one in (providers.wiring).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import field
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from core.delivery import placeholders
from core.errors import InvalidInput
from core.records import record
from core.text import is_utf8

if TYPE_CHECKING:
    from core.db import Tx


@record
class Media:
    filename: str
    mime: str
    content: bytes
    url: str | None = None
    """Inbound MMS: where the provider keeps the file (``content`` is then empty)."""


@record
class OutboundSms:
    message_id: int
    """Our ID; providers pass it along (client_reference) and may use it to refuse a resend."""
    sender: str
    recipient: str
    body: str
    segments: int
    media: tuple[Media, ...] = ()
    attempt: int = 1
    """1 on the first try. Above 1 an earlier try may have reached the provider
    (a timeout, a crash), so a provider that can look the message up first should."""
    max_parts: int | None = None
    """The most parts the provider may split the body into (setting max_message_parts)."""
    purpose: str = "conversation"
    """What it is for (outbox.PURPOSES); only 'conversation' belongs to a conversation."""
    template: str = ""
    """The body in the provider's placeholder form (``core.delivery.placeholders``),
    when it was queued with one; empty otherwise. ``body`` is always the text sent."""
    values: tuple[tuple[str, str], ...] = ()
    """This recipient's (name, value) for the template's placeholders."""
    recipients: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    """A campaign's batch, one outbox row for many targets (``recipient`` is then ''):
    each recipient, in order, with its (name, value) for ``template``. It goes as one
    provider batch (``core.delivery.batching``)."""


@record
class OutboundBatch:
    """One text from one sender to many recipients, handed over in one call.

    Made by ``core.delivery.batching.plan`` from rows that may share it. Its rows stand
    or fall together at the call (one provider ID, or one failure for all);
    what became of each is told by its own delivery report, which names the
    batch (``provider_id``) and the recipient.
    """

    reference: str
    """Ours for the batch (Sinch's client_reference); never a message ID (see batching.py)."""
    sender: str
    body: str
    segments: int
    rows: tuple[tuple[int, str], ...]
    """(message_id, recipient) of each message in it, in message ID order."""
    max_parts: int | None = None
    attempt: int = 1
    """Shared by every row (batching.py groups by it); above 1, look the batch up first."""
    purpose: str = "conversation"
    parameters: dict[str, dict[str, str]] = field(default_factory=dict)
    """Empty: every recipient gets ``body``. Else ``body`` has ``${name}`` placeholders
    and this gives, per name, each recipient's (E.164) value: ``text_for``."""

    def __post_init__(self) -> None:
        # A report names a batch and a recipient, nothing else: two rows to one
        # number in one batch could not be told apart, so no batch holds them.
        recipients = [recipient for _, recipient in self.rows]
        if not recipients:
            raise ValueError("a batch needs at least one recipient")
        if len(set(recipients)) != len(recipients):
            raise ValueError(f"batch {self.reference} names a recipient twice")

    @property
    def message_ids(self) -> tuple[int, ...]:
        """Each message once: a campaign's batch is one message to all its recipients."""
        return tuple(dict.fromkeys(message_id for message_id, _ in self.rows))

    @property
    def recipients(self) -> tuple[str, ...]:
        return tuple(recipient for _, recipient in self.rows)

    def text_for(self, recipient: str) -> str:
        """What ``recipient`` receives: ``body`` with its parameters put in."""
        if not self.parameters:
            return self.body
        return placeholders.substitute(
            self.body, {name: given.get(recipient, "") for name, given in self.parameters.items()}
        )


@record
class Accepted:
    provider_id: str


ReportOutcome = Literal["delivered", "failed", "pending"]


@record
class DeliveryReport:
    """What a provider says became of one message.

    It settles a message only when it is that message's: the batch
    (``provider_id``) is the one the provider gave us for it and the recipient
    is its recipient (see ``core.delivery.outbox.apply_reports``).
    """

    provider_id: str
    """The provider's ID for the send (Sinch's batch ID)."""
    status: ReportOutcome
    """What it means for the message; 'pending' (queued, dispatched) is kept, not applied."""
    reason: str = ""
    message_id: int | None = None
    """Our ID when the provider echoes it back (a report may beat our record of provider_id)."""
    recipient: str = ""
    """E.164; empty only when the provider reports on a whole batch (one recipient, ours)."""
    provider_status: str = ""
    """The provider's own status name, lowercased ('delivered', 'dispatched'); with
    provider_id and recipient it identifies a report, so a retried callback is stored once."""

    def __post_init__(self) -> None:
        # Reports come from outside: text SQLite cannot hand back as UTF-8 (a
        # lone surrogate) would poison later reads of the row, so it never
        # gets that far, whichever provider made the report.
        for name in ("provider_id", "reason", "recipient", "provider_status"):
            value = getattr(self, name)
            if not isinstance(value, str) or not is_utf8(value):
                raise InvalidInput(f"a delivery report's {name} must be UTF-8 text, not {value!r}")

    @property
    def key_status(self) -> str:
        return self.provider_status or self.status


class TemporaryFailure(Exception):
    """The provider could not take the message now; the outbox retries it later."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class PermanentFailure(Exception):
    """The provider refused the message; retrying will not help."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@record
class MmsLimits:
    """What a provider can send by MMS as configured; checked before a message is queued."""

    max_attachments: int | None = None
    """Files per message; None when the provider sets no limit of its own."""
    unavailable: str = ""
    """Why it cannot send MMS at all (a setting missing); empty when it can."""


class SmsGateway(Protocol):
    name: str

    @property
    def mms_limits(self) -> MmsLimits:
        """What this provider can send by MMS as configured; MmsLimits() when it sets none."""
        ...

    async def send(self, sms: OutboundSms) -> Accepted:
        """Hand one message to the provider.

        Raises TemporaryFailure or PermanentFailure with a readable reason.
        """
        ...

    async def due_reports(self) -> Sequence[DeliveryReport]:
        """Delivery reports the provider has for us now (pull model).

        Providers that push reports to a webhook return nothing here.
        """
        ...


@runtime_checkable
class SendsBatches(Protocol):
    """An SmsGateway that can also send one text to many recipients in one call.

    Optional: the outbox batches only through a gateway that is one
    (``isinstance(gateway, SendsBatches)``) and sends rows one by one otherwise.
    """

    max_batch_recipients: int
    """The most recipients one call may carry (Sinch: 1,000)."""

    async def send_batch(self, batch: OutboundBatch) -> Accepted:
        """Hand the batch over; one provider ID for all of it.

        Raises TemporaryFailure or PermanentFailure for the whole batch. A
        recipient the provider takes and cannot reach fails later, alone, by
        its delivery report.
        """
        ...


@runtime_checkable
class ReportsInDatabase(Protocol):
    """A provider that keeps its delivery reports in our own database (the sandbox).

    The worker takes them with ``take_due_reports`` inside the transaction
    that applies them, so they are marked taken only if they are applied.
    Its ``due_reports`` returns nothing.
    """

    async def take_due_reports(self, tx: Tx) -> Sequence[DeliveryReport]:
        """Mark the reports that are due as taken, in ``tx``, and return them."""
        ...


@record
class OutboundEmail:
    to: str
    subject: str
    body: str
    message_key: str | None = None
    """The outbox row's fixed key: the Message-ID is ``<key@sender's domain>``, so a
    resend after a crash carries the same ID. None (``email test``): a fresh one."""


class ServerUnavailable(TemporaryFailure):
    """The mail server could not be reached or would not start a session (connect,
    greeting, TLS, login): the other emails waiting would fare the same, so the
    outbox stops for this round instead of trying each of them."""


class EmailGateway(Protocol):
    name: str

    async def send(self, email: OutboundEmail) -> None:
        """Hand one email to the mail server.

        Raises TemporaryFailure or PermanentFailure with a readable reason.
        """
        ...


class EmailConnection(Protocol):
    async def send(self, email: OutboundEmail) -> None:
        """Hand one email over this connection (opened, or opened again, as needed).

        Raises as ``EmailGateway.send``; a refused recipient fails that email
        and leaves the connection usable for the next.
        """
        ...


@runtime_checkable
class KeepsConnections(Protocol):
    """An EmailGateway that can send several emails over one connection.

    Optional: the email outbox uses it when the gateway is one and sends each
    email on its own otherwise.
    """

    def connection(self) -> AbstractAsyncContextManager[EmailConnection]:
        """A connection opened at its first send and closed (QUIT) on exit."""
        ...
