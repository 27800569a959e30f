"""Manager › 6 Alerts › Settings (A1, A4, A6): the form, its live preview, saving, refusals.

The real app on the demo database, driven with Pilot; settings read back from core.
"""

from __future__ import annotations

import io

from rich.console import Console
from textual.widgets import Checkbox, Select, Static, TabbedContent

from console.panes.alert_settings import READ_ONLY, AlertSettingsTab
from console.widgets.editing import Input
from core import settings
from core.alerts import consent
from core.db import Database
from core.people import agents
from core.people.authz import SYSTEM
from core.permissions import profiles
from core.shifts import shifts
from tests.console.conftest import SIZE, until


async def _alerts(app, pilot) -> AlertSettingsTab:
    await pilot.press("f3")
    await pilot.pause()
    await pilot.press("6")
    assert await until(pilot, lambda: app.query("#alert-timeline"))
    assert app.query_one("#manager-sections", TabbedContent).active == "manager-alerts"
    tab = app.query_one(AlertSettingsTab)
    assert await until(pilot, lambda: tab.report is not None)
    return tab


def _text(app, selector: str) -> str:
    """What a Static shows (text or a Rich table), as plain text; empty when hidden."""
    static = app.query_one(selector, Static)
    if not static.display:
        return ""
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(static.content)
    return console.export_text().strip()


def _timeline(app) -> str:
    return _text(app, "#alert-timeline")


async def test_preview_follows_a_select_before_anything_is_saved(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        tab = await _alerts(app, pilot)
        assert tab.report is not None
        assert tab.report.every == 0
        assert "reminder" not in _timeline(app)
        app.query_one("#alert-setting-alert_every_minutes", Select).value = 5
        assert await until(pilot, lambda: tab.report is not None and tab.report.every == 5)
        app.query_one("#alert-setting-alert_reminders", Select).value = 3
        app.query_one("#alert-setting-alert_escalate_after", Select).value = 3
        assert await until(pilot, lambda: tab.report is not None and tab.report.reminders == 3)
        shown = _timeline(app)
        assert "reminder 3 of 3" in shown
        assert "escalation" in shown
        assert [s.minute for s in tab.report.preview.steps] == [0, 5, 10, 15, 15]
        assert "on call hear at minute 15" in _text(app, "#alert-summary")
        # Nothing saved: the preview is of the form.
        stored = await settings.load(demo_db)
        assert (stored.alert_every_minutes, stored.alert_reminders) == (0, 0)


async def test_preview_counts_staff_alertable_on_shift_now_or_a_typed_count(
    app_as, demo_db: Database
):
    alice = (await agents.by_username(demo_db, "alice")).as_actor()
    await consent.change(
        demo_db, alice, alice.id, mobile="(646) 555-0177", permit_sms=True, new_chat=True
    )
    await shifts.add_weekly(demo_db, SYSTEM, "alice", "normal", "mon 00:00 to mon 00:00")
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        tab = await _alerts(app, pilot)
        assert tab.report is not None
        assert tab.report.normal_staff == 1
        assert "Alertable now: 1 on shift, 0 on call" in _text(app, "#alert-staff-now")
        app.query_one("#alert-normal-staff", Input).value = "12"
        assert await until(pilot, lambda: tab.report is not None and tab.report.normal_staff == 12)
        assert "12 staff members on shift" in _timeline(app)


async def test_save_sends_every_changed_field_together(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await _alerts(app, pilot)
        app.query_one("#alert-setting-staff_sms", Checkbox).value = True
        app.query_one("#alert-setting-mobile_alerts", Checkbox).value = True
        app.query_one("#alert-setting-alert_every_minutes", Select).value = 10
        app.query_one("#alert-setting-alert_reminders", Select).value = 2
        app.query_one("#alert-setting-bundle_segments", Input).value = "5000"
        app.query_one("#alert-setting-bundle_when_full", Select).value = "hold"
        await pilot.pause()
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: not app.query_one(AlertSettingsTab).is_dirty)
        stored = await settings.load(demo_db)
        assert stored.staff_sms
        assert stored.mobile_alerts
        assert (stored.alert_every_minutes, stored.alert_reminders) == (10, 2)
        assert (stored.bundle_segments, stored.bundle_when_full) == (5000, "hold")
        assert _text(app, "#alert-settings-error") == ""


async def test_mobile_alerts_without_system_sms_is_refused_under_the_form(
    app_as, demo_db: Database
):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await _alerts(app, pilot)
        app.query_one("#alert-setting-mobile_alerts", Checkbox).value = True
        app.query_one("#alert-setting-alert_every_minutes", Select).value = 5
        await pilot.pause()
        assert "need system SMS to staff" in _text(app, "#alert-settings-note")
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: _text(app, "#alert-settings-error"))
        assert "turn staff_sms on first" in _text(app, "#alert-settings-error")
        # What was chosen stays, to be corrected; nothing was stored.
        assert app.query_one("#alert-setting-mobile_alerts", Checkbox).value is True
        assert app.query_one("#alert-setting-alert_every_minutes", Select).value == 5
        stored = await settings.load(demo_db)
        assert not stored.mobile_alerts
        assert stored.alert_every_minutes == 0


async def test_reminders_without_a_frequency_say_so_in_the_preview(app_as):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        tab = await _alerts(app, pilot)
        app.query_one("#alert-setting-alert_reminders", Select).value = 2
        assert await until(pilot, lambda: tab.report is None)
        assert "need a reminder frequency" in _text(app, "#alert-timeline")


async def test_read_only_without_manage_settings(app_as, demo_db: Database):
    # A supervisor sees the Manager tab, and the alert settings, without changing them.
    await profiles.edit(demo_db, SYSTEM, "Agent", supervision=True)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await _alerts(app, pilot)
        assert _text(app, "#alert-settings-hint") == READ_ONLY
        box = app.query_one("#alert-setting-staff_sms", Checkbox)
        assert box.disabled
        assert app.query_one("#alert-setting-alert_every_minutes", Select).disabled
        await app.query_one(AlertSettingsTab).action_save()
        assert not (await settings.load(demo_db)).staff_sms


async def test_follows_a_change_made_elsewhere(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        tab = await _alerts(app, pilot)
        await settings.update(demo_db, SYSTEM, alert_every_minutes=15)
        assert await until(pilot, lambda: tab.report is not None and tab.report.every == 15)
        assert app.query_one("#alert-setting-alert_every_minutes", Select).value == 15


async def test_fits_80x24(app_as):
    app = await app_as("dana")
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await _alerts(app, pilot)
        assert tab.region.right <= 80
        for name in ("staff_sms", "mobile_alerts", "alert_every_minutes", "alert_reminders"):
            field = app.query_one(f"#alert-setting-{name}")
            assert field.region.width > 0
            assert field.region.right <= 80
