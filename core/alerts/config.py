"""The alert settings (A1) as the timeline reads them: one accessor.

The settings themselves (``mobile_alerts`` needing ``staff_sms``, the
frequency, reminders and escalation, ``alert_message_body``) are added to
``core.settings`` in their own change; until then each is read with a
default, here only, so that change is one line here and nowhere else.
"""

from __future__ import annotations

from core.records import record
from core.settings import Settings


@record
class AlertSettings:
    on: bool
    """Mobile alerts are on (and system SMS to staff, which they need)."""
    every: int
    """Minutes between reminders; 0: no reminders and no escalation."""
    reminders: int
    escalate_after: int
    """Attempts (the new-chat alert, then reminders) before the escalation; 0: never."""
    message_body: bool
    """The first characters of the waiting message go in the alert."""
    hipaa: bool


def alert_settings(config: Settings) -> AlertSettings:
    return AlertSettings(
        on=bool(getattr(config, "mobile_alerts", False))
        and bool(getattr(config, "staff_sms", False)),
        every=int(getattr(config, "alert_every_minutes", 0)),
        reminders=int(getattr(config, "alert_reminders", 0)),
        escalate_after=int(getattr(config, "alert_escalate_after", 0)),
        message_body=bool(getattr(config, "alert_message_body", False)),
        hipaa=config.hipaa_mode,
    )
