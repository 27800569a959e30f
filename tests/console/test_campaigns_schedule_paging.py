"""The Campaigns tab: a start at a time, and pages through the pool and the results.

The real app on the demo database, driven by keys; the worker is driven by
hand and the fake clock moved, never slept. The clock is Monday 2026-03-02
14:30 UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from textual.widgets import Static

from console.screens.campaign_pool import PoolScreen
from console.screens.campaign_results import ResultsScreen
from console.screens.campaign_start import StartScreen
from console.screens.confirm import ConfirmScreen
from console.screens.prompt import PromptScreen
from console.widgets.editing import Input
from core import settings
from core.campaigns import campaigns, targets_csv
from core.clock import FakeClock
from core.db import Database
from core.people import agents
from core.scheduling.worker import Worker
from tests.console.conftest import SIZE, until
from tests.console.test_campaigns_pane import SENDER, open_campaigns, plain, rows, spring

MANY = 1200


async def zone_of(db: Database) -> ZoneInfo:
    return ZoneInfo((await settings.load(db)).time_zone)


async def sent_by(db: Database, campaign_id: int) -> int:
    return int(
        await db.scalar("SELECT count(*) FROM messages WHERE campaign_id = ?", (campaign_id,))
    )


async def test_start_at_a_time_waits_for_it_and_a_past_time_is_refused(
    app_as, demo_db: Database, demo_worker: Worker, console_clock: FakeClock
):
    campaign_id = await spring(demo_db)
    zone = await zone_of(demo_db)
    # 90 minutes from now, as a wall time in the account's zone.
    start = (console_clock.now() + timedelta(minutes=90)).astimezone(zone)
    typed = f"{start:%Y-%m-%dT%H:%M}"
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_campaigns(app, pilot)
        assert await until(pilot, lambda: pane.table.row_count == 1)
        await pilot.press("s")
        assert await until(pilot, lambda: isinstance(app.screen, StartScreen))
        asking = app.screen
        await pilot.press(*"2026-03-01T09:00", "enter")  # yesterday: core refuses, kept
        assert await until(pilot, lambda: "is in the past" in asking.error)
        assert "give a later time" in asking.error
        assert app.screen is asking
        assert asking.query_one(Input).value == "2026-03-01T09:00"

        asking.query_one(Input).value = typed
        await pilot.press("enter")
        # The estimate still comes first, for that time; nothing has started yet.
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = plain(app.screen.query_one("#confirm-question", Static))
        assert f"at {start:%Y-%m-%d %H:%M} ({zone.key})?" in question
        assert "targets: 3" in question
        assert await demo_db.scalar("SELECT status FROM campaigns") == "draft"
        await pilot.press("y")
        assert await until(pilot, lambda: rows(pane)[0][1] == f"scheduled {start:%m-%d %H:%M}")
        status = plain(pane.query_one("#campaigns-status", Static))
        assert f"Scheduled campaign Spring [b]sale for {start:%Y-%m-%d %H:%M}" in status
        assert f"scheduled {start:%m-%d %H:%M}" in plain(pane.query_one("#campaign-title", Static))

        # Before the time the worker sends nothing.
        await demo_worker.run_once()
        console_clock.advance(minutes=89)
        await demo_worker.run_once()
        assert await sent_by(demo_db, campaign_id) == 0
        assert await demo_db.scalar("SELECT status FROM campaigns") == "scheduled"

        # Past it, the campaign runs and its targets go out.
        console_clock.advance(minutes=2)
        for _ in range(3):
            await demo_worker.run_once()
            console_clock.advance(seconds=5)
        assert await sent_by(demo_db, campaign_id) == 3
        assert await until(pilot, lambda: rows(pane)[0][1] in ("running", "finished"))


async def many(db: Database) -> int:
    """A draft of dana's with MANY targets from a CSV (the demo has far fewer contacts)."""
    dana = (await agents.by_username(db, "dana")).as_actor()
    made = await campaigns.create(db, dana, "Big", SENDER, "Hello {{name}}")
    lines = "\n".join(f"+1312555{n:04d}" for n in range(MANY))
    added = await targets_csv.import_csv(db, dana, made.id, f"phone\n{lines}\n".encode())
    assert (added.added, added.errors) == (MANY, ())
    return made.id


def page_text(screen: PoolScreen) -> str:
    return plain(screen.query_one("#pool-page", Static))


async def test_the_pool_pages_and_marks_survive_paging(
    app_as, demo_db: Database, console_clock: FakeClock
):
    campaign_id = await many(demo_db)
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_campaigns(app, pilot)
        assert await until(pilot, lambda: pane.table.row_count == 1)
        await pilot.press("o")
        assert await until(pilot, lambda: isinstance(app.screen, PoolScreen))
        screen = app.screen
        assert await until(pilot, lambda: screen.table.row_count == 500)
        assert page_text(screen).startswith("rows 1-500 of 1,200")
        first = screen.table.shown[0].id
        await pilot.press("space")  # marks the first row of page 1

        await pilot.press("pagedown")
        assert await until(pilot, lambda: page_text(screen).startswith("rows 501-1,000 of 1,200"))
        assert screen.table.row_count == 500
        assert screen.table.cursor_row == 0
        second = screen.table.shown[0].id
        assert second == first + 500
        await pilot.press("space")
        assert "2 marked (1 on other pages)" in page_text(screen)

        await pilot.press("pagedown")
        assert await until(pilot, lambda: page_text(screen).startswith("rows 1,001-1,200 of 1,200"))
        assert screen.table.row_count == 200
        await pilot.press("pagedown")  # the last page: nothing moves
        assert await until(
            pilot, lambda: "last page" in plain(screen.query_one("#pool-status", Static))
        )
        assert page_text(screen).startswith("rows 1,001-1,200 of 1,200")
        await pilot.press("pageup")
        assert await until(pilot, lambda: page_text(screen).startswith("rows 501-1,000 of 1,200"))
        assert screen.table.shown[0].id == second

        # Program acts on the marks of both pages.
        await pilot.press("p")
        assert await until(pilot, lambda: isinstance(app.screen, PromptScreen))
        assert "2 targets" in plain(app.screen.query_one("#prompt-title", Static))
        at = (console_clock.now() + timedelta(days=1)).astimezone(await zone_of(demo_db))
        await pilot.press(*f"{at:%Y-%m-%dT%H:%M}", "enter")
        assert await until(pilot, lambda: app.screen is screen)
        programmed = await demo_db.fetchall(
            "SELECT id FROM campaign_targets WHERE campaign_id = ? AND state = 'programmed'",
            (campaign_id,),
        )
        assert sorted(r["id"] for r in programmed) == [first, second]
        assert not screen.marked
        # Still the page it was on, both states listed by id.
        assert await until(pilot, lambda: screen.table.shown[0].state == "programmed")
        assert page_text(screen).startswith("rows 501-1,000 of 1,200")


async def test_results_page_through_every_target(app_as, demo_db: Database):
    await many(demo_db)
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_campaigns(app, pilot)
        assert await until(pilot, lambda: pane.table.row_count == 1)
        await pilot.press("R")
        assert await until(pilot, lambda: isinstance(app.screen, ResultsScreen))
        screen = app.screen

        def hint() -> str:
            return plain(screen.query_one("#results-hint", Static))

        assert await until(pilot, lambda: screen.table.row_count == 1000)
        assert hint().startswith("rows 1-1,000 of 1,200 · PgDn/PgUp pages")
        last_of_first = screen.table.shown[-1].id
        await pilot.press("pagedown")
        assert await until(pilot, lambda: screen.table.row_count == 200)
        assert hint().startswith("rows 1,001-1,200 of 1,200")
        assert screen.table.shown[0].id == last_of_first + 1
        await pilot.press("pageup")
        assert await until(pilot, lambda: screen.table.row_count == 1000)
        assert hint().startswith("rows 1-1,000 of 1,200")


def test_a_start_shown_in_the_account_zone():
    from console.panes.campaigns import status_text
    from core.campaigns.campaigns import Campaign

    at = datetime(2026, 3, 3, 14, 0, tzinfo=ZoneInfo("UTC"))
    c = Campaign(
        1, "x", SENDER, "t", "scheduled", None, 1.0, 480, 1260, "account", at, None, None, None
    )
    assert status_text(c, ZoneInfo("America/New_York")) == "scheduled 03-03 09:00"
