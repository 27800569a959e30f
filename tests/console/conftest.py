"""The console under test: the real app on a real demo database, a fixed clock.

The demo database is seeded once per session into a template file and copied
for each test, so every test starts from the same state quickly.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.app import SwitchboardApp, make_app
from console.context import ConsoleContext
from console.widgets.editing import Input, TextArea
from core import demo
from core.clock import FakeClock
from core.db import Database, open_database
from core.people import agents
from core.scheduling.worker import Worker
from providers.sandbox import SandboxGateway

NOW = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
SIZE = (100, 32)
PATIENCE = 600
"""Looks at an outcome before giving up: 30 s of pauses, for a machine busy with other tests."""


async def until(pilot, condition: Callable[[], object], tries: int = PATIENCE) -> bool:  # type: ignore[no-untyped-def]
    """Let the app run (poll the change feed, finish workers) until ``condition()`` holds.

    Returns as soon as it holds; a slow machine only makes the test slower.
    """
    for _ in range(tries):
        if condition():
            return True
        await pilot.pause(0.05)
    return bool(condition())


async def choose(pilot, index: int) -> None:  # type: ignore[no-untyped-def]
    """Pick option ``index`` of the choice list on screen, as a user would: down, enter.

    The list takes focus and its first option when mounted; keys pressed before that
    (a busy machine) go elsewhere, so wait for it first.
    """
    from textual.widgets import OptionList

    app = pilot.app
    assert await until(pilot, lambda: bool(app.screen.query(OptionList)))
    listed = app.screen.query_one(OptionList)
    assert await until(pilot, lambda: listed.has_focus and listed.highlighted == 0)
    await pilot.press(*["down"] * index, "enter")


TYPED_KEY_BY_KEY = 20
"""Longer texts (a file's path, a template's body) are set at once: typed key by key
they made a test take 20 s and proved nothing a short one does not."""


async def replace_text(pilot, field: Input | TextArea, text: str) -> None:  # type: ignore[no-untyped-def]
    """Focus ``field`` and make it hold ``text``: key by key as a person types, or at once
    when the text or what it replaces is long (a TextArea's lines with Enter between)."""
    field.focus()
    await pilot.pause()
    held = field.value if isinstance(field, Input) else field.text
    if max(len(text), len(held)) > TYPED_KEY_BY_KEY:
        if isinstance(field, Input):
            field.value = text
        else:
            field.load_text(text)
    elif isinstance(field, Input):
        await pilot.press("end", *["backspace"] * len(held), *text)
    else:
        field.clear()
        for i, line in enumerate(text.split("\n")):
            if i:
                await pilot.press("enter")
            await pilot.press(*line)
    await pilot.pause()


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "template.sqlite3"

    async def seed() -> None:
        db = await open_database(path, FakeClock(NOW))
        try:
            await demo.seed(db, SandboxGateway(db), contacts_count=60, notifications=False)
        finally:
            await db.close()

    asyncio.run(seed())
    return path


@pytest.fixture
def console_clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
async def demo_db(
    demo_template: Path, tmp_path: Path, console_clock: FakeClock
) -> AsyncIterator[Database]:
    path = tmp_path / "demo.sqlite3"
    shutil.copy(demo_template, path)
    db = await open_database(path, console_clock)
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
def app_as(demo_db: Database) -> Callable[[str], object]:
    """Build the app for a demo agent; the test drives the worker itself.

    The heap is not settled (``ConsoleContext.settle_heap``) unless a test asks: hundreds
    of apps run in one process here."""

    async def build(username: str, *, settle_heap: bool = False) -> SwitchboardApp:
        actor = (await agents.by_username(demo_db, username)).as_actor()
        context = ConsoleContext(
            demo_db,
            actor,
            SandboxGateway(demo_db),
            embedded_worker=False,
            feed_poll_seconds=0.05,
            settle_heap=settle_heap,
        )
        return make_app(context)

    return build


@pytest.fixture
def demo_worker(demo_db: Database) -> Worker:
    return Worker(demo_db, SandboxGateway(demo_db), holder="test-worker")
