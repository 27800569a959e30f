"""What `switchboard config check` reports about one provider, in plain words."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Check:
    provider: str
    """What is checked, as a person calls it: 'SMS (Sinch)', 'email (SMTP)'."""
    configured: bool
    reachable: bool | None = None
    """None when not tried (not configured, or nothing to reach)."""
    accepted: bool | None = None
    """Whether the service took our credentials; None when not tried."""
    detail: str = ""
    """One sentence saying what was found and, when something failed, what to do."""

    @property
    def ok(self) -> bool:
        return self.configured and self.reachable is not False and self.accepted is not False
