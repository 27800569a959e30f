"""What the console runs on: one object handed to the app, its panes and the tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from core.clock import Clock
from core.db import Database
from core.delivery.gateway import SmsGateway
from core.people.authz import Actor, Role
from core.scheduling.options import WorkerOptions


@dataclass(slots=True)
class ConsoleContext:
    db: Database
    actor: Actor
    gateway: SmsGateway
    embedded_worker: bool = True
    """Run the worker inside the console (the tests drive it by hand instead)."""
    worker_options: WorkerOptions = field(default_factory=WorkerOptions)
    feed_poll_seconds: float = 0.3
    """How often other processes' changes are looked for (the console is live within 1 s)."""
    welcome: str | None = None
    """Shown once when the console opens (the demo's hint about the CLI)."""
    log_path: Path | None = None
    """Where the console's log goes (the terminal is the screen); None: not to a file."""

    @property
    def clock(self) -> Clock:
        return self.db.clock

    @property
    def is_manager(self) -> bool:
        return self.actor.role in (Role.MANAGER, Role.SYSTEM)
