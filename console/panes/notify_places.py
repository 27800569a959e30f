"""Opening the place a link names (P5), from whichever Notifications sub-tab shows it.

A sub-tab posts ``OpenPlace``; the Notifications section (the sub-tabs'
parent) switches to the sub-tab that manages that kind of place and asks it
to select the place, or says the sub-tab is not there.
"""

from __future__ import annotations

from typing import Final

from textual.message import Message

from core.notify import links
from core.notify.links import Link

PLACE_TABS: Final = {
    links.GROUP: "notify-groups",
    links.OUTCOME: "notify-outcomes",
    links.ONCALL_SLOT: "notify-oncall",
}
"""The sub-tab that manages each kind of link's place."""


class OpenPlace(Message):
    """Show the sub-tab ``tab`` with place ``place_id`` (a group, outcome or schedule) selected."""

    def __init__(self, link: Link) -> None:
        super().__init__()
        self.link = link
        self.tab = PLACE_TABS[link.kind]
        self.place_id = link.place_id
