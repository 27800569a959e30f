"""The alert settings (A1) as the timeline reads them.

The rules (``mobile_alerts`` needing ``staff_sms``, the ranges, reminders and
escalation needing a frequency) are ``core.settings``'; this is the reading
of them the hook, the sweep and the preview share.
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
        on=config.mobile_alerts and config.staff_sms,
        every=config.alert_every_minutes,
        reminders=config.alert_reminders,
        escalate_after=config.alert_escalate_after,
        message_body=config.alerts_carry_body,
        hipaa=config.hipaa_mode,
    )
