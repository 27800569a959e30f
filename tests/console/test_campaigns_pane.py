"""The Campaigns tab (S1): the list, progress, the lifecycle keys, the form, the pool.

The real app on the demo database, driven by keys; the worker is driven by
hand (``run_once``) and the fake clock moved, never slept. The clock is
Monday 2026-03-02 14:30 UTC: 09:30 in New York, inside the sending window.
dana holds the built-in Manager profile (every campaign right); alice the
Agent profile (none).
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import ProgressBar, Static

from console.panes.campaigns import CampaignsPane
from console.screens.campaign_form import CampaignForm
from console.screens.campaign_pool import PoolScreen
from console.screens.campaign_results import ResultsScreen
from console.screens.campaign_start import StartScreen
from console.screens.campaign_targets import TargetsForm
from console.screens.confirm import ConfirmScreen
from console.screens.csv_problems import ProblemsScreen
from console.screens.prompt import PromptScreen
from console.widgets.editing import Input, TextArea
from core.campaigns import campaigns, targets
from core.clock import FakeClock
from core.db import Database
from core.people import agents
from core.permissions import profiles
from core.scheduling.worker import Worker
from tests.console.conftest import SIZE, choose, until

SENDER = "+14155550100"


def plain(widget: Static) -> str:
    return str(widget.render())


def binding_ids(app) -> set[str]:  # type: ignore[no-untyped-def]
    return {b.binding.id for b in app.screen.active_bindings.values() if b.binding.id}


async def open_campaigns(app, pilot) -> CampaignsPane:  # type: ignore[no-untyped-def]
    await pilot.press("f12")
    assert await until(pilot, lambda: app.query("#campaigns-pane"))
    pane = app.query_one(CampaignsPane)
    assert await until(pilot, lambda: app.focused is pane.table)
    return pane


async def spring(db: Database, targets_count: int = 3) -> int:
    """A draft by dana (so in the Manager profile), targeting the first few contacts."""
    dana = (await agents.by_username(db, "dana")).as_actor()
    made = await campaigns.create(db, dana, "Spring [b]sale", SENDER, "Hi {{first_name}}!")
    ids = [
        r["id"]
        for r in await db.fetchall("SELECT id FROM contacts ORDER BY id LIMIT ?", (targets_count,))
    ]
    await targets.add_contacts(db, dana, made.id, ids)
    return made.id


def rows(pane: CampaignsPane) -> list[tuple[str, ...]]:
    table = pane.table
    return [tuple(c.plain for c in table.get_row_at(i)) for i in range(table.row_count)]


async def test_create_through_the_form_refuses_an_unknown_field_keeping_the_text(
    app_as, demo_db: Database
):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_campaigns(app, pilot)
        assert "No campaign yet: n makes one." in plain(pane.query_one("#campaign-title", Static))
        await pilot.press("n")
        assert await until(pilot, lambda: isinstance(app.screen, CampaignForm))
        form = app.screen
        assert await until(pilot, lambda: form.choice("campaign-sender") == SENDER)
        await pilot.press(*"Spring")
        text = form.query_one("#campaign-template", TextArea)
        text.focus()
        await pilot.press(*"Hi {{nickname}}")
        counter = form.query_one("#campaign-segments", Static)
        assert await until(pilot, lambda: "segment" in plain(counter))
        await pilot.press("ctrl+s")
        error = form.query_one(".form-error", Static)
        assert await until(pilot, lambda: "nickname" in plain(error))
        assert isinstance(app.screen, CampaignForm)
        assert text.text == "Hi {{nickname}}"  # what was typed stays

        # The field picker puts a known field at the cursor.
        text.text = "Hi "
        text.move_cursor((0, 3))
        await pilot.press("ctrl+f")
        assert await until(pilot, lambda: not isinstance(app.screen, CampaignForm))
        await choose(pilot, 1)  # the second field: first_name
        assert await until(pilot, lambda: isinstance(app.screen, CampaignForm))
        assert text.text == "Hi {{first_name}}"
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: not isinstance(app.screen, CampaignForm))
        assert await until(pilot, lambda: pane.table.row_count == 1)
        assert rows(pane)[0][:2] == ("Spring", "draft")
        assert "Saved campaign Spring (draft)" in plain(pane.query_one("#campaigns-status", Static))
        stored = await demo_db.fetchone("SELECT template, status FROM campaigns")
        assert tuple(stored) == ("Hi {{first_name}}", "draft")


async def test_a_new_campaign_made_with_its_csv_uses_the_columns_and_lists_bad_rows(
    app_as, demo_db: Database, tmp_path: Path
):
    people = tmp_path / "people.csv"
    people.write_text("Phone,Code\n+12125550180,A1\nnope,B2\n+12125550181,C3\n", encoding="utf-8")
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_campaigns(app, pilot)
        await pilot.press("n")
        assert await until(pilot, lambda: isinstance(app.screen, CampaignForm))
        form = app.screen
        assert await until(pilot, lambda: form.choice("campaign-sender") == SENDER)
        await pilot.press(*"Autumn")
        form.query_one("#campaign-csv", Input).value = str(people)
        form.query_one("#campaign-template", TextArea).text = "Your code is {{code}}."
        await pilot.press("ctrl+s")
        # The bad row is listed; the campaign is made with the good ones.
        assert await until(pilot, lambda: isinstance(app.screen, ProblemsScreen))
        listed = plain(app.screen.query_one("#problems-list", Static))
        assert listed.startswith("row 3, column Phone: "), listed
        await pilot.press("escape")
        said = plain(pane.query_one("#campaigns-status", Static))
        assert "Saved campaign Autumn (draft). Added 2 targets from the CSV; refused 1 row" in (
            said
        )
        stored = await demo_db.fetchall(
            "SELECT t.phone, t.merge_values ->> 'code' FROM campaign_targets t"
            " JOIN campaigns c ON c.id = t.campaign_id"
            " WHERE c.name = 'Autumn' AND c.template = 'Your code is {{code}}.' ORDER BY t.id"
        )
        assert [tuple(r) for r in stored] == [("+12125550180", "A1"), ("+12125550181", "C3")]


async def test_start_shows_the_estimate_and_progress_follows_the_worker(
    app_as, demo_db: Database, demo_worker: Worker, console_clock: FakeClock
):
    campaign_id = await spring(demo_db)
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_campaigns(app, pilot)
        assert await until(pilot, lambda: pane.table.row_count == 1)
        # The name someone typed is shown literally, markup and all.
        assert rows(pane)[0][0] == "Spring [b]sale"
        assert rows(pane)[0][2] == "3"
        await pilot.press("s")
        assert await until(pilot, lambda: isinstance(app.screen, StartScreen))
        await pilot.press("ctrl+n")  # now
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = plain(app.screen.query_one("#confirm-question", Static))
        assert "Start campaign Spring [b]sale now?" in question
        assert "targets: 3 (0 opted out and 0 not mobile will be skipped): 3 messages" in question
        assert "cost: about" in question
        await pilot.press("n")  # No: nothing changes
        assert await until(
            pilot, lambda: "not started" in plain(pane.query_one("#campaigns-status", Static))
        )
        assert await demo_db.scalar("SELECT status FROM campaigns") == "draft"

        await pilot.press("s")
        assert await until(pilot, lambda: isinstance(app.screen, StartScreen))
        await pilot.press("ctrl+n")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        assert await until(pilot, lambda: rows(pane) and rows(pane)[0][1] == "running")
        bar = pane.query_one(ProgressBar)
        assert bar.total == 3
        assert bar.progress == 0
        counts = pane.query_one("#campaign-counts", Static)
        assert "3 programmed" in plain(counts)

        await demo_worker.run_once()  # due targets go to the outbox, then out
        console_clock.advance(seconds=5)
        await demo_worker.run_once()
        console_clock.advance(seconds=5)
        await demo_worker.run_once()
        assert await until(pilot, lambda: bar.progress == 3)
        assert await until(pilot, lambda: rows(pane)[0][3] == "3")  # sent (or delivered)
        assert "0 failed" in plain(counts)
        sent = await demo_db.scalar(
            "SELECT count(*) FROM messages WHERE campaign_id = ?", (campaign_id,)
        )
        assert sent == 3


async def test_pause_resume_and_cancel(app_as, demo_db: Database):
    await spring(demo_db)
    dana = (await agents.by_username(demo_db, "dana")).as_actor()
    from core.campaigns import lifecycle

    await lifecycle.start(demo_db, dana, "Spring [b]sale", confirm=True)
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_campaigns(app, pilot)
        assert await until(pilot, lambda: pane.table.row_count == 1)
        await pilot.press("p")
        assert await until(pilot, lambda: rows(pane)[0][1] == "paused")
        await pilot.press("r")
        assert await until(pilot, lambda: rows(pane)[0][1] == "running")
        # A refusal names the rule, as a notification (core's words).
        await pilot.press("r")
        assert await until(
            pilot, lambda: any("cannot be resumed" in str(n.message) for n in app._notifications)
        )
        await pilot.press("c")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        assert await until(pilot, lambda: rows(pane)[0][1] == "cancelled")


async def test_pool_program_with_a_time_and_results(app_as, demo_db: Database):
    await spring(demo_db, targets_count=4)
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_campaigns(app, pilot)
        assert await until(pilot, lambda: pane.table.row_count == 1)
        await pilot.press("o")
        assert await until(pilot, lambda: isinstance(app.screen, PoolScreen))
        pool_screen = app.screen
        assert await until(pilot, lambda: pool_screen.table.row_count == 4)
        await pilot.press("space", "space")  # marks the first two
        assert len(pool_screen.marked) == 2
        await pilot.press("p")
        assert await until(pilot, lambda: isinstance(app.screen, PromptScreen))
        prompt = app.screen
        await pilot.press(*"2026-03-01T09:00", "enter")  # in the past: refused, kept
        assert await until(pilot, lambda: "in the past" in prompt.error)
        field = prompt.query_one(Input)
        field.value = "2026-03-03T09:00"
        await pilot.press("enter")
        assert await until(pilot, lambda: app.screen is pool_screen)
        states = await demo_db.fetchall("SELECT state, due_at FROM campaign_targets ORDER BY id")
        assert [s["state"] for s in states] == ["programmed", "programmed", "waiting", "waiting"]
        assert await until(
            pilot, lambda: [r.state for r in pool_screen.table.shown].count("programmed") == 2
        )
        moves = await demo_db.scalar("SELECT count(*) FROM campaign_moves WHERE action = 'program'")
        assert moves == 2
        await pilot.press("escape")
        assert await until(pilot, lambda: not isinstance(app.screen, PoolScreen))

        await pilot.press("R")
        assert await until(pilot, lambda: isinstance(app.screen, ResultsScreen))
        table = app.screen.query_one("#results-list")
        assert await until(pilot, lambda: table.row_count == 4)


async def test_no_tab_without_the_right_and_keys_follow_the_rights(app_as, demo_db: Database):
    await spring(demo_db)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not app.query("#campaigns-pane")
        await pilot.press("f12")
        await pilot.pause()
        assert not app.query("#campaigns-pane")

    # A profile with campaigns but no pool, program or manage... rights: read-only keys.
    await profiles.add(demo_db, _system(), "Viewer", campaigns=True)
    from core.permissions import configuration

    await configuration.set_profile_campaign(demo_db, _system(), "Viewer", "Spring [b]sale")
    await profiles.assign(demo_db, _system(), "Viewer", "alice")
    await profiles.activate(demo_db, _system(), "alice", "Viewer")
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_campaigns(app, pilot)
        assert await until(pilot, lambda: pane.table.row_count == 1)
        ids = binding_ids(app)
        assert "campaigns.results" in ids
        assert "campaigns.pool" not in ids


def _system():  # type: ignore[no-untyped-def]
    from core.people.authz import SYSTEM

    return SYSTEM


async def test_renders_at_80x24(app_as, demo_db: Database):
    await spring(demo_db)
    app = await app_as("dana")
    async with app.run_test(size=(80, 24)) as pilot:
        pane = await open_campaigns(app, pilot)
        assert await until(pilot, lambda: pane.table.row_count == 1)
        assert pane.query_one(ProgressBar).region.height == 1
        assert pane.table.region.width <= 80
        tabs = [t.region for t in app.query("Tab")]
        assert all(r.right <= 80 for r in tabs)


async def test_targets_from_a_csv_report_the_bad_rows_literally(
    app_as, demo_db: Database, tmp_path
):
    await spring(demo_db, targets_count=1)
    csv = tmp_path / "people.csv"
    csv.write_text("phone,Account manager\n+12125550999,Bob\nnot a number,[b]Eve\n")
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_campaigns(app, pilot)
        assert await until(pilot, lambda: pane.table.row_count == 1)
        await pilot.press("t")
        assert await until(pilot, lambda: isinstance(app.screen, TargetsForm))
        form = app.screen
        # Two ways at once is refused under the form, what was typed kept.
        form.query_one("#targets-filter", Input).value = "tag=vip"
        form.query_one("#targets-csv", Input).value = str(csv)
        await pilot.press("ctrl+s")
        assert await until(
            pilot, lambda: "one of the three" in plain(form.query_one(".form-error", Static))
        )
        form.query_one("#targets-filter", Input).value = ""
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: isinstance(app.screen, ProblemsScreen))
        shown = plain(app.screen.query_one("#problems-list", Static))
        assert shown.startswith("row 3, column phone:")
        await pilot.press("escape")
        assert await until(pilot, lambda: rows(pane)[0][2] == "2")
        status = plain(pane.query_one("#campaigns-status", Static))
        assert "Added 1 target from the CSV; refused 1 row, listed" in status


async def test_edit_changes_only_what_was_changed(app_as, demo_db: Database):
    await spring(demo_db)
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_campaigns(app, pilot)
        assert await until(pilot, lambda: pane.table.row_count == 1)
        await pilot.press("e")
        assert await until(pilot, lambda: isinstance(app.screen, CampaignForm))
        form = app.screen
        assert form.query_one("#campaign-name", Input).value == "Spring [b]sale"
        form.query_one("#campaign-window", Input).value = "09:00-25:00"
        await pilot.press("ctrl+s")
        assert await until(
            pilot, lambda: "09:00-25:00" in plain(form.query_one(".form-error", Static))
        )
        form.query_one("#campaign-window", Input).value = "09:00-20:00"
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: not isinstance(app.screen, CampaignForm))
        assert await until(
            pilot, lambda: "09:00-20:00" in plain(pane.query_one("#campaign-title", Static))
        )
        stored = await demo_db.fetchone("SELECT window_start, window_end, template FROM campaigns")
        assert tuple(stored) == (540, 1200, "Hi {{first_name}}!")
