"""The demo's shifts (what `make run` shows in Manager › 6 Alerts › Shifts)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core import demo
from core.clock import FakeClock
from core.db import Database
from core.shifts.on_shift import NORMAL, ONCALL, staff_on_shift_in
from providers.sandbox import SandboxGateway

MONDAY_AFTERNOON = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(MONDAY_AFTERNOON)


async def _ids(db: Database, username: str) -> list[int]:
    return [await db.scalar("SELECT id FROM agents WHERE username = ?", (username,))]


async def test_the_demo_has_someone_on_each_kind_of_shift_and_adds_them_once(db: Database):
    await demo.seed(db, SandboxGateway(db), contacts_count=20, login="you")
    assert await db.scalar("SELECT count(*) FROM shifts") == 6
    assert await staff_on_shift_in(db, MONDAY_AFTERNOON, NORMAL) == await _ids(db, "alice")
    # Dana's New York 08:00-18:00 is 13:00-23:00 UTC before the US changes its clocks.
    assert await staff_on_shift_in(db, MONDAY_AFTERNOON, ONCALL) == await _ids(db, "dana")
    tomorrow_night = datetime(2026, 3, 3, 22, 0, tzinfo=UTC)
    assert await staff_on_shift_in(db, tomorrow_night, ONCALL) == await _ids(db, "carol")

    await demo.shifts(db)
    assert await db.scalar("SELECT count(*) FROM shifts") == 6
