"""The statistics pane (issue #10, item 8): the real app on the demo database, by keys."""

from __future__ import annotations

from datetime import timedelta

import pytest
from textual.widgets import TabbedContent
from textual_plotext import PlotextPlot

from console.panes.statistics import StatisticsPane, StatisticsTable
from core import statistics
from core.clock import to_ms
from core.db import Database
from core.errors import NotAllowed
from core.people import agents
from core.statistics import By
from tests.console.conftest import NOW, SIZE, until


async def _offers(db: Database) -> None:
    """Alice: three offers (one accepted, two missed) an hour before NOW."""
    alice = await agents.by_username(db, "alice")
    conversation = await db.scalar("SELECT min(id) FROM conversations")
    at = to_ms(NOW - timedelta(hours=1))
    await db.write(
        "INSERT INTO offers (conversation_id, agent_id, status, offered_at, expires_at) VALUES"
        " (?, ?, 'accepted', ?, ?), (?, ?, 'refused', ?, ?), (?, ?, 'expired', ?, ?)",
        (conversation, alice.id, at, at) * 3,
    )


def _cells(table: StatisticsTable, name: str) -> list[str]:
    for row_key in table.rows:
        cells = [str(cell).strip() for cell in table.get_row(row_key)]
        if cells[0] == name:
            return cells
    raise AssertionError(f"no row for {name}")


async def test_the_pane_shows_the_figures_core_computes(app_as, demo_db: Database):
    await _offers(demo_db)
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        pane = app.query_one(StatisticsPane)
        assert await until(pilot, lambda: pane.report is not None)
        assert app.query_one("#main-tabs", TabbedContent).active == "statistics"
        report = pane.report
        assert report is not None
        assert (report.end - report.start).days == 7, "7 days is the first view"
        dana = (await agents.by_username(demo_db, "dana")).as_actor()
        expected = await statistics.report(demo_db, dana, report.start, report.end, By.AGENT)
        assert report == expected
        table = app.query_one(StatisticsTable)
        assert table.row_count == len(expected.rows) >= 3
        alice = _cells(table, "Alice Moreau")
        assert alice[1:4] == ["3", "1", "2"], "offered, accepted, missed"
        figures = next(r for r in expected.rows if r.name == "Alice Moreau")
        assert figures.handled > 0, "the demo's replies are counted"
        assert alice[4] == str(figures.handled)
        # The chart draws the same rows: each name under its bars.
        drawn = app.query_one(PlotextPlot).plt.build()
        assert "Alice Mor" in drawn
        assert "Bob Achebe" in drawn

        await pilot.press("t")
        assert await until(pilot, lambda: (pane.report.end - pane.report.start).days == 1)
        await pilot.press("m")
        assert await until(pilot, lambda: (pane.report.end - pane.report.start).days == 30)
        await pilot.press("b")
        assert await until(pilot, lambda: pane.report.by is By.QUEUE)
        by_queue = await statistics.report(
            demo_db, dana, pane.report.start, pane.report.end, By.QUEUE
        )
        assert pane.report == by_queue
        # Alice's three offers were for the first conversation: its number's queue.
        queue = await demo_db.scalar(
            "SELECT coalesce(q.name, ?) FROM conversations c JOIN numbers n ON n.id = c.number_id"
            " LEFT JOIN queues q ON q.id = coalesce(c.queue_id, n.queue_id)"
            " WHERE c.id = (SELECT min(id) FROM conversations)",
            (statistics.NO_QUEUE,),
        )
        assert _cells(table, queue)[1] == "3"
        assert str(table.columns["name"].label) == "Queue"


async def test_a_hostile_name_is_shown_literally_in_table_and_chart(app_as, demo_db: Database):
    await demo_db.write(
        "UPDATE agents SET name = ? WHERE username = 'bob'", ("\x1b[2J[@click=app.quit]",)
    )
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        pane = app.query_one(StatisticsPane)
        assert await until(pilot, lambda: pane.report is not None)
        table = app.query_one(StatisticsTable)
        assert _cells(table, "\\x1b[2J[@click=app.quit]")
        assert "\x1b[2J" not in app.query_one(PlotextPlot).plt.build()


async def test_an_agent_has_no_statistics_and_core_refuses_a_direct_call(app_as, demo_db: Database):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not app.query(StatisticsPane)
        await pilot.press("f4")
        await pilot.pause()
        assert app.query_one("#main-tabs", TabbedContent).active == "conversations"
        assert app.check_action("show_tab", ("statistics",)) is False, "nor in the palette"
    alice = (await agents.by_username(demo_db, "alice")).as_actor()
    with pytest.raises(NotAllowed, match="may not view statistics"):
        await statistics.report(demo_db, alice, NOW - timedelta(days=1), NOW, By.AGENT)
