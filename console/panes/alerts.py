"""The Manager tab's Alerts section (A1-A6): alert settings with their preview, the
staff's mobile alerts, and the shifts, each in a sub-tab.

Everyone who sees the Manager tab sees it (any active profile may see
shifts); what each sub-tab lets one change is decided there, and again in
core. ``<`` and ``>`` move between the sub-tabs (``console.widgets.sub_tabs``);
``SUBTABS`` is the one list of them.
"""

from __future__ import annotations

from console.context import ConsoleContext
from console.panes.alert_settings import AlertSettingsTab
from console.panes.alert_staff import StaffAlertsTab
from console.panes.shifts import ShiftsTab
from console.widgets.sub_tabs import SubTab, SubTabs

SUBTABS: tuple[SubTab, ...] = (
    ("alerts-settings", "Settings", AlertSettingsTab),
    ("alerts-staff", "Staff", StaffAlertsTab),
    ("alerts-shifts", "Shifts", ShiftsTab),
)


class AlertsPane(SubTabs):
    def __init__(self, context: ConsoleContext) -> None:
        super().__init__(context, SUBTABS, id="alerts-section", tabs_id="alerts-tabs")
