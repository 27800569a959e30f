"""The Manager tab's Alerts section (A1-A6): alert settings with their preview, the
staff's mobile alerts, and the shifts, each in a sub-tab.

``<`` and ``>`` move between the sub-tabs (``console.widgets.sub_tabs``). Each
sub-tab is a widget of its own module; ``SUBTABS`` is the one list of them.
"""

from __future__ import annotations

from console.context import ConsoleContext
from console.panes.alert_settings import AlertSettingsTab
from console.panes.alert_staff import StaffAlertsTab
from console.widgets.sub_tabs import SubTab, SubTabs

SUBTABS: tuple[SubTab, ...] = (
    ("alerts-settings", "Settings", AlertSettingsTab),
    ("alerts-staff", "Staff", StaffAlertsTab),
)


class AlertsPane(SubTabs):
    def __init__(self, context: ConsoleContext) -> None:
        super().__init__(context, SUBTABS, id="alerts-section", tabs_id="alerts-tabs")
