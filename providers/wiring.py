"""The one place that chooses and builds providers."""

from __future__ import annotations

from core.db import Database
from core.gateway import SmsGateway
from providers.sandbox import SandboxGateway


def sms_gateway(db: Database) -> SmsGateway:
    """The SMS provider to use: the sandbox until a real one is configured."""
    return SandboxGateway(db)
