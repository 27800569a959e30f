"""HIPAA mode in the Settings form (P6): a box, switched through core; switched on,
the saved templates that must change are listed in a dialog."""

from __future__ import annotations

from textual.widgets import Static

from console.panes.settings_form import SettingsForm
from console.screens.form_fields import Tick
from console.screens.hipaa_problems import HipaaProblems
from console.widgets.editing import Input
from core import settings
from core.db import Database
from tests.console.conftest import until
from tests.console.test_manager_pane import _dana_on

HOSTILE = "[bold]x[/] [@click=app.quit]y[/]"


async def _saved_all_data_profile(db: Database, alias: str) -> None:
    """A profile saved before HIPAA mode, sending every collected field by SMS."""
    async with db.transaction() as tx:
        await tx.insert(
            "INSERT INTO notification_profiles (alias, sms_on, sms_mode, created_at, updated_at)"
            " VALUES (?, 1, 'all_data', 0, 0)",
            (alias,),
        )


def _dialog_text(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one("#hipaa-problem-list", Static).render())


async def test_switching_hipaa_on_lists_the_profiles_that_must_change(app_as, demo_db: Database):
    await _saved_all_data_profile(demo_db, HOSTILE)
    app = await app_as("dana")
    async with app.run_test(size=(80, 24)) as pilot:
        await _dana_on(app, pilot, "settings")
        form = app.query_one(SettingsForm)
        box = app.query_one("#setting-hipaa_mode", Tick)
        assert box.value is False
        box.focus()
        await pilot.press("space")  # typed keys stay in the form; space still ticks the box
        await pilot.pause()
        assert box.value is True
        assert form.is_dirty
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: isinstance(app.screen, HipaaProblems))
        assert (await settings.load(demo_db)).hipaa_mode is True
        text = _dialog_text(app)
        assert HOSTILE in text  # the alias, literally
        assert "SMS mode" in text
        assert "all_data" in text
        assert app.is_running
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HipaaProblems)
        assert not form.is_dirty

        # Off again: nothing to list, no dialog.
        box.focus()
        await pilot.press("space", "ctrl+s")
        assert await until(pilot, lambda: not form.is_dirty)
        assert (await settings.load(demo_db)).hipaa_mode is False
        assert not isinstance(app.screen, HipaaProblems)


async def test_nothing_to_change_is_said_and_other_settings_save_with_it(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=(80, 24)) as pilot:
        await _dana_on(app, pilot, "settings")
        app.query_one("#setting-public_minutes", Input).value = "12"
        app.query_one("#setting-hipaa_mode", Tick).value = True
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: isinstance(app.screen, HipaaProblems))
        assert "No saved notification profile must change." in _dialog_text(app)
        saved = await settings.load(demo_db)
        assert (saved.hipaa_mode, saved.public_minutes) == (True, 12)


async def test_a_change_elsewhere_shows_in_the_box(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=(80, 24)) as pilot:
        await _dana_on(app, pilot, "settings")
        dana = app.context.actor
        await settings.update(demo_db, dana, hipaa_mode=True)
        box = app.query_one("#setting-hipaa_mode", Tick)
        assert await until(pilot, lambda: box.value is True)
