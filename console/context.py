"""What the console runs on: one object handed to the app, its panes and the tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from core.account_zone import account_zone
from core.clock import Clock
from core.db import Database
from core.delivery.gateway import EmailGateway, SmsGateway
from core.events import Event
from core.people.authz import Action, Actor, allows
from core.permissions import principal
from core.scheduling.options import WorkerOptions

_MANAGER_ACTIONS = (
    Action.VIEW_ALL_CONVERSATIONS,
    Action.MANAGE_SETTINGS,
    Action.MANAGE_AGENTS,
    Action.MANAGE_PERMISSIONS,
)
"""What the Manager tab does: its sections need one of these rights."""

_PERMISSION_KINDS = ("permission_profile.", "queue.", "activity.", "sms_template.")


@dataclass(slots=True)
class ConsoleContext:
    db: Database
    actor: Actor
    """Who is using the console: the principal, reloaded when the feed says it changed."""
    gateway: SmsGateway
    embedded_worker: bool = True
    """Run the worker inside the console (the tests drive it by hand instead)."""
    worker_options: WorkerOptions = field(default_factory=WorkerOptions)
    email_gateway: EmailGateway | None = None
    """The embedded worker's mail server; None: [smtp] is not set and emails wait."""
    feed_poll_seconds: float = 0.3
    """How often other processes' changes are looked for (the console is live within 1 s)."""
    welcome: str | None = None
    """Shown once when the console opens (the demo's hint about the CLI)."""
    log_path: Path | None = None
    """Where the console's log goes (the terminal is the screen); None: not to a file."""
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    """The account's time zone, which every time on screen is shown in (and a time typed
    without one is read in): read when the app loads and when the settings change."""
    settle_heap: bool = True
    """Freeze start-up's objects once the first screen is drawn (console/heap.py). Off
    where one process runs app after app (the tests, the screenshots): each settle's full
    pass walked that whole process's heap, some 0.3 s an app."""

    @property
    def clock(self) -> Clock:
        return self.db.clock

    def may(self, action: Action) -> bool:
        """The principal's answer: what the console shows follows it, never a role."""
        return allows(self.actor, action)

    @property
    def shows_manager(self) -> bool:
        return any(self.may(action) for action in _MANAGER_ACTIONS)

    @property
    def shows_campaigns(self) -> bool:
        """The Campaigns tab: the profile's ``campaigns`` right. Core answers VIEW_CAMPAIGN
        with no campaign named by that right alone (which campaigns is asked per row)."""
        return self.may(Action.VIEW_CAMPAIGN)

    @property
    def shows_cases(self) -> bool:
        """The Cases tab: every signed-in agent sees cases (core's VIEW_CASES)."""
        return self.may(Action.VIEW_CASES)

    def principal_touched(self, events: list[Event] | tuple[Event, ...]) -> bool:
        """Do these events change who the console's user is or what they may do?

        Profile, queue, activity and template changes are rare: any of them
        reloads the principal (a few small queries) rather than work out
        whether it is one of ours.
        """
        if self.actor.id is None:
            return False
        return any(
            e.kind.startswith(_PERMISSION_KINDS)
            or (e.entity == "agent" and e.entity_id == self.actor.id)
            for e in events
        )

    async def reload_principal(self) -> bool:
        """Read the principal again; True if it changed."""
        if self.actor.id is None:
            return False
        fresh = await principal.load(self.db, self.actor.id)
        if fresh == self.actor:
            return False
        self.actor = fresh
        return True

    def now(self) -> datetime:
        """Now, in the account's time zone: what "today" and each time shown are read in."""
        return self.clock.now().astimezone(self.zone)

    async def reload_zone(self) -> bool:
        """Read the account's time zone again; True if it changed."""
        fresh = await account_zone(self.db)
        if fresh == self.zone:
            return False
        self.zone = fresh
        return True
