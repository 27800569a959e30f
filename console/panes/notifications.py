"""The Manager tab's Notifications section (P1-P7): notification profiles, groups,
outcomes, collected fields and on-call schedules, each in a sub-tab.

The section exists only while the principal may manage notifications
(``ManagerPane`` asks). ``<`` and ``>`` move between the sub-tabs
(``console.widgets.sub_tabs``). Each sub-tab is a widget of its own module;
``SUBTABS`` is the one list of them.

A link opened elsewhere (``notify_places.OpenPlace``: a group, an outcome,
an on-call schedule) shows the sub-tab that manages it (``PLACE_TABS``),
which selects the place if it has ``select_place(place_id)``.
"""

from __future__ import annotations

from textual import on

from console.context import ConsoleContext
from console.panes.notify_fields import NotifyFields
from console.panes.notify_groups import NotificationGroupsTab
from console.panes.notify_outcomes import NotifyOutcomes
from console.panes.notify_places import OpenPlace
from console.panes.notify_profiles import NotificationProfilesTab
from console.panes.oncall import OnCallSection
from console.widgets.sub_tabs import SubTab, SubTabs

SUBTABS: tuple[SubTab, ...] = (
    ("notify-profiles", "Profiles", NotificationProfilesTab),
    ("notify-groups", "Groups", NotificationGroupsTab),
    ("notify-outcomes", "Outcomes", NotifyOutcomes),
    ("notify-fields", "Fields", NotifyFields),
    ("notify-oncall", "On-call", OnCallSection),
)


class NotificationsPane(SubTabs):
    def __init__(self, context: ConsoleContext) -> None:
        super().__init__(context, SUBTABS, id="notifications-section", tabs_id="notify-tabs")

    @on(OpenPlace)
    def _open_place(self, event: OpenPlace) -> None:
        event.stop()
        tabs = self.tabs
        if not tabs.query(f"#{event.tab}"):
            self.notify(f"{event.link.text}: this place has no sub-tab here", markup=False)
            return
        self.show(event.tab)
        select = getattr(self.tab_widget(event.tab), "select_place", None)
        if select is not None:
            select(event.place_id)
