"""Shared fixtures: a real SQLite file in a temp dir and a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.clock import FakeClock
from core.db import Database, open_database
from core.people.authz import SYSTEM


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "switchboard.sqlite3"


@pytest.fixture
async def db(db_path: Path, clock: FakeClock) -> AsyncIterator[Database]:
    database = await open_database(db_path, clock)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def system():
    return SYSTEM
