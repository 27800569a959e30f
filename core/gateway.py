"""What core needs from the outside world, as small Protocols.

Providers implement them; the CLI wires one in (providers.wiring).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol


@dataclass(frozen=True, slots=True)
class Media:
    filename: str
    mime: str
    content: bytes


@dataclass(frozen=True, slots=True)
class OutboundSms:
    message_id: int
    """Our ID; providers pass it along (client_reference) and may use it to refuse a resend."""
    sender: str
    recipient: str
    body: str
    segments: int
    media: tuple[Media, ...] = ()


@dataclass(frozen=True, slots=True)
class Accepted:
    provider_id: str


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    provider_id: str
    status: Literal["delivered", "failed"]
    reason: str = ""
    message_id: int | None = None
    """Our ID when the provider echoes it back (a report may beat our record of provider_id)."""


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


class SmsGateway(Protocol):
    name: str

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
