"""`switchboard screenshots`: SVGs of the main screens, from demo data.

The same app the CLI runs (make_app), on a freshly seeded demo database with
a fixed clock and terminal size, so the pictures change only when the
console does.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import TabbedContent, TextArea

from console.app import SwitchboardApp, make_app
from console.context import ConsoleContext
from core import demo
from core.clock import FakeClock
from core.db import Database, open_database
from core.people import agents
from core.scheduling.worker import Worker
from providers.sandbox import SandboxGateway

SIZE = (110, 34)
SMALL = (80, 24)
"""The smallest terminal the console is made for (an SSH session's default)."""
NOW = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)

Scene = Callable[[SwitchboardApp, Pilot[None]], Awaitable[None]]


async def _tab(app: SwitchboardApp, pilot: Pilot[None], tab: str) -> None:
    app.query_one(TabbedContent).active = tab
    await pilot.pause()


async def _conversations(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await pilot.pause()


async def _composer(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await pilot.press("tab", "tab")
    # Pasted text with typographic quotes and dashes: the counter offers the
    # GSM-7 rewrite and its saving.
    app.query_one("#agent-thread").query_one(TextArea).insert(
        "Hi Rosa, sorry for the texts — we’ll stop the “offers” now. Your order #1042 is "
        "ready for pick-up at the Harbour St desk, open until 6 pm today…"
    )
    await pilot.press("end")
    await pilot.pause()


async def _canned_reply_picker(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await pilot.press("tab", "tab", "ctrl+l")
    await app.workers.wait_for_complete()
    await pilot.pause()


async def _contacts(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await _tab(app, pilot, "contacts")
    await pilot.press("slash", *"ana")


async def _manager(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await _tab(app, pilot, "manager")


async def _permission_profiles(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await _tab(app, pilot, "manager")
    await pilot.press("4")
    await pilot.pause()


async def _profile_settings(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await _permission_profiles(app, pilot)
    await pilot.press("down", "down", "e")  # Night shift
    await app.workers.wait_for_complete()
    await pilot.pause()


async def _profile_configuration(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await _profile_settings(app, pilot)
    await pilot.press("ctrl+n")
    await pilot.pause()


async def _notify_outcomes(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await _tab(app, pilot, "manager")
    await pilot.press("5")
    await app.workers.wait_for_complete()
    await pilot.pause()


async def _notify_fields(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await _notify_outcomes(app, pilot)
    await pilot.press("greater_than_sign")
    await app.workers.wait_for_complete()
    await pilot.pause()


async def _statistics(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await _tab(app, pilot, "statistics")


async def _help(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await pilot.press("question_mark")
    await pilot.pause()


async def _offer(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    # bob's console made him Available: the worker offers him the demo's waiting
    # conversation (the clock is fixed, so the countdown shows the full 30 s).
    db = app.context.db
    await Worker(db, SandboxGateway(db), holder="screenshots").run_once()
    await app.poll_feed()
    await pilot.pause()


async def _activity_picker(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await pilot.press("f7")
    await app.workers.wait_for_complete()
    await pilot.pause()


async def _light(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    app.theme = "textual-light"
    await pilot.pause()


SCENES: tuple[tuple[str, str, Scene, tuple[int, int]], ...] = (
    ("agent-conversations", "alice", _conversations, SIZE),
    ("agent-composer", "alice", _composer, SIZE),
    ("contacts", "alice", _contacts, SIZE),
    ("manager-dashboard", "dana", _manager, SIZE),
    ("statistics", "dana", _statistics, SIZE),
    ("permission-profiles", "dana", _permission_profiles, SIZE),
    ("permission-profile-settings", "dana", _profile_settings, SIZE),
    ("permission-profile-configuration", "dana", _profile_configuration, SIZE),
    ("help", "alice", _help, SIZE),
    ("agent-conversations-light", "alice", _light, SIZE),
    ("agent-conversations-80x24", "alice", _conversations, SMALL),
    ("agent-composer-80x24", "alice", _composer, SMALL),
    ("canned-reply-picker-80x24", "alice", _canned_reply_picker, SMALL),
    ("contacts-80x24", "alice", _contacts, SMALL),
    ("manager-dashboard-80x24", "dana", _manager, SMALL),
    ("permission-profile-settings-80x24", "dana", _profile_settings, SMALL),
    ("notify-outcomes-80x24", "dana", _notify_outcomes, SMALL),
    ("notify-fields-80x24", "dana", _notify_fields, SMALL),
    # Last: the worker's run in _offer changes the demo data the scenes above show.
    ("agent-offer", "bob", _offer, SIZE),
    ("agent-offer-80x24", "bob", _offer, SMALL),
    ("activity-picker-80x24", "bob", _activity_picker, SMALL),
)


async def _shoot(
    db: Database, out: Path, name: str, username: str, scene: Scene, size: tuple[int, int]
) -> Path:
    actor = (await agents.by_username(db, username)).as_actor()
    app = make_app(ConsoleContext(db, actor, SandboxGateway(db), embedded_worker=False))
    # No animation: a tab underline caught mid-slide would depend on machine load.
    app.animation_level = "none"
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await scene(app, pilot)
        # Background work (a debounced search, a page load) must finish, or
        # the picture would depend on how busy the machine is.
        await app.workers.wait_for_complete()
        await pilot.pause()
        path = out / f"{name}.svg"
        app.save_screenshot(str(path))
    return path


@contextmanager
def _utc() -> Iterator[None]:
    """Times on screen are local; the pictures must not depend on whose machine made them."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


async def take(out: Path) -> list[Path]:
    """Seed a demo database in a temporary folder and save every scene to ``out``.

    ``out`` must exist.
    """
    with _utc(), tempfile.TemporaryDirectory() as scratch:
        db = await open_database(Path(scratch) / "demo.sqlite3", FakeClock(NOW))
        try:
            await demo.seed(db, SandboxGateway(db), contacts_count=120, login="you")
            return [await _shoot(db, out, *scene) for scene in SCENES]
        finally:
            await db.close()
