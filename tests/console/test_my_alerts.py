"""A2 and A5 in the console: My alerts (Ctrl+Y), the Staff sub-tab, the confirmation line,
and the bundle in the status bar (A4).

The real app on the demo database, driven with Pilot; consent read back from core; the
clock is the fake one, moved by the test.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from rich.text import Text
from textual.widgets import DataTable, Static, TabbedContent

from console.panes.alert_staff import StaffAlertsTab
from console.screens.form_fields import Tick
from console.screens.my_alerts import MyAlertsScreen
from console.screens.prompt import PromptScreen
from console.widgets import alert_line
from console.widgets.alert_line import AlertReadinessLine, line_for
from console.widgets.editing import Input
from console.widgets.status_bar import StatusBar
from core import settings
from core.alerts import consent, readiness
from core.alerts.readiness import Readiness
from core.clock import FakeClock
from core.db import Database
from core.delivery import bundle
from core.people import agents
from core.people.authz import SYSTEM
from core.permissions import profiles
from core.shifts import shifts
from tests.console.conftest import NOW, SIZE, until

MOBILE = "(646) 555-0177"
E164 = "+16465550177"


def _shown(app, selector: str) -> str:
    static = app.screen.query_one(selector, Static)
    return str(static.render()) if static.display else ""


async def _open_my_alerts(app, pilot) -> MyAlertsScreen:
    await pilot.press("ctrl+y")
    assert await until(pilot, lambda: isinstance(app.screen, MyAlertsScreen))
    screen = app.screen
    assert await until(pilot, lambda: screen.loaded)
    return screen


async def _ready_everything_but(db: Database, username: str, *, skip: str = "") -> None:
    person = (await agents.by_username(db, username)).as_actor()
    await settings.update(db, SYSTEM, staff_sms=True, mobile_alerts=skip != "account")
    if skip != "mobile":
        await consent.set_mobile(db, person, person.id, MOBILE)
        if skip != "permission":
            await consent.permit(db, person, person.id, True)
    if skip != "new_chat":
        await consent.set_new_chat(db, person, person.id, True)
    if skip != "shift":
        # A one-off shift: it ends, and the line says so when the clock passes its end.
        await shifts.add_once(
            db, SYSTEM, username, "normal", NOW.isoformat(), (NOW + timedelta(hours=2)).isoformat()
        )


# --- My alerts ---------------------------------------------------------------------


async def test_my_alerts_consent_flow(app_as, demo_db: Database):
    app = await app_as("alice")
    alice = (await agents.by_username(demo_db, "alice")).as_actor()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_my_alerts(app, pilot)
        assert "not given" in _shown(app, "#my-alerts-given")
        screen.query_one("#my-alerts-mobile", Input).value = MOBILE
        screen.query_one("#my-alerts-permit", Tick).value = True
        screen.query_one("#my-alerts-new-chat", Tick).value = True
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: "given" in _shown(app, "#my-alerts-given").split())
        view = await consent.staff_view(demo_db, alice, alice.id)
        assert view.mobile == E164
        assert view.permitted_by == "alice"
        assert view.new_chat
        assert screen.query_one("#my-alerts-mobile", Input).value == E164
        assert view.permitted_at is not None
        when = view.permitted_at.astimezone().strftime("%Y-%m-%d %H:%M")
        assert _shown(app, "#my-alerts-given") == f"given {when}"
        # What is still missing is core's: the shift, and the account's switches.
        assert readiness.SHIFT in _shown(app, "#my-alerts-ready")
        await pilot.press("escape")
        assert await until(pilot, lambda: not isinstance(app.screen, MyAlertsScreen))


async def test_permission_is_refused_without_a_number(app_as, demo_db: Database):
    app = await app_as("alice")
    alice = (await agents.by_username(demo_db, "alice")).as_actor()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_my_alerts(app, pilot)
        screen.query_one("#my-alerts-permit", Tick).value = True
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: _shown(app, "#my-alerts-error"))
        assert "needs a mobile number first" in _shown(app, "#my-alerts-error")
        assert screen.query_one("#my-alerts-permit", Tick).value is True  # kept to correct
        view = await consent.staff_view(demo_db, alice, alice.id)
        assert view.permitted_at is None


async def test_a_new_number_clears_the_permission(app_as, demo_db: Database):
    alice = (await agents.by_username(demo_db, "alice")).as_actor()
    await consent.change(demo_db, alice, alice.id, mobile=MOBILE, permit_sms=True)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open_my_alerts(app, pilot)
        assert screen.query_one("#my-alerts-permit", Tick).value is True
        screen.query_one("#my-alerts-mobile", Input).value = "(646) 555-0178"
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: not screen.query_one("#my-alerts-permit", Tick).value)
        view = await consent.staff_view(demo_db, alice, alice.id)
        assert view.mobile == "+16465550178"
        assert view.permitted_at is None


# --- the Staff sub-tab -------------------------------------------------------------


async def _staff_tab(app, pilot) -> StaffAlertsTab:
    await pilot.press("f3")
    await pilot.pause()
    await pilot.press("6")
    assert await until(pilot, lambda: app.query("#alerts-tabs"))
    app.query_one("#alerts-tabs", TabbedContent).active = "alerts-staff"
    tab = app.query_one(StaffAlertsTab)
    assert await until(pilot, lambda: tab.shown)
    tab.focus_default()
    await pilot.pause()
    return tab


def _row(tab: StaffAlertsTab, username: str) -> list[str]:
    table = tab.query_one(DataTable)
    return [str(cell) for cell in table.get_row(username)]


async def test_manager_sets_a_number_but_cannot_tick_for_someone(app_as, demo_db: Database):
    alice = (await agents.by_username(demo_db, "alice")).as_actor()
    await consent.change(demo_db, alice, alice.id, mobile=MOBILE, permit_sms=True)
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        tab = await _staff_tab(app, pilot)
        row = _row(tab, "alice")
        assert E164 in row[1]
        assert "by alice" in row[2]
        # No key ticks a permission or the New Chat alert: only the number is a manager's.
        keys = {b.binding.action for b in app.screen.active_bindings.values()}
        assert not any("permit" in k or "new_chat" in k for k in keys)
        tab.query_one(DataTable).move_cursor(row=list(tab.shown).index("alice"))
        await pilot.press("m")
        assert await until(pilot, lambda: isinstance(app.screen, PromptScreen))
        app.screen.query_one(Input).value = "(646) 555-0179"
        await pilot.press("enter")
        assert await until(pilot, lambda: "+16465550179" in _row(tab, "alice")[1])
        assert "not given" in _row(tab, "alice")[2]  # consent was for the other phone
        view = await consent.staff_view(demo_db, alice, alice.id)
        assert view.mobile == "+16465550179"
        assert view.permitted_at is None


async def test_staff_tab_follows_the_feed(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        tab = await _staff_tab(app, pilot)
        assert "none" in _row(tab, "bob")[1]
        bob = (await agents.by_username(demo_db, "bob")).as_actor()
        await consent.change(demo_db, bob, bob.id, mobile=MOBILE, permit_sms=True, new_chat=True)
        assert await until(pilot, lambda: E164 in _row(tab, "bob")[1])
        assert "missing" in _row(tab, "bob")[4]


# --- the confirmation line (A5) ----------------------------------------------------


def _line(app) -> str:
    return str(app.query_one(AlertReadinessLine).render())


async def test_line_says_configured_then_the_shift_missing_when_it_ends(
    app_as, demo_db: Database, console_clock: FakeClock, monkeypatch
):
    monkeypatch.setattr(alert_line, "CLOCK_SECONDS", 0.05)
    await _ready_everything_but(demo_db, "alice")
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: _line(app).startswith(readiness.CONFIGURED))
        console_clock.advance(hours=3)  # the one-off shift is over
        assert await until(pilot, lambda: "missing a shift (messaging or on call)" in _line(app))


async def test_line_names_each_missing_item(app_as, demo_db: Database):
    cases = {
        "mobile": "a mobile number",
        "permission": "permission to SMS this phone",
        "new_chat": "the New Chat alert",
        "shift": "a shift (messaging or on call)",
        "account": "off in the account settings",
    }
    for skip, words in cases.items():
        await demo_db.write(
            "UPDATE agents SET mobile = NULL, sms_permitted_at = NULL, new_chat_alerts = 0"
        )
        await demo_db.write("DELETE FROM shifts")
        await _ready_everything_but(demo_db, "alice", skip=skip)
        ready = await readiness.readiness(
            demo_db, (await agents.by_username(demo_db, "alice")).as_actor()
        )
        line = line_for(ready, 200).plain
        assert words in line, skip
        assert line.startswith("Mobile alerts")
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: "off in the account settings" in _line(app))


async def test_line_follows_the_feed_and_opens_my_alerts(app_as, demo_db: Database):
    app = await app_as("alice")
    async with app.run_test(size=(180, 32)) as pilot:  # wide: every item in full words
        assert await until(pilot, lambda: "missing a mobile number" in _line(app))
        alice = (await agents.by_username(demo_db, "alice")).as_actor()
        await consent.set_mobile(demo_db, alice, alice.id, MOBILE)
        assert await until(pilot, lambda: "a mobile number" not in _line(app))
        await pilot.click(AlertReadinessLine)
        assert await until(pilot, lambda: isinstance(app.screen, MyAlertsScreen))


@pytest.mark.parametrize(
    "missing",
    [
        readiness.MOBILE,
        readiness.PERMISSION,
        readiness.NEW_CHAT,
        readiness.OPTED_OUT,
        readiness.SHIFT,
        readiness.ESCALATION,
    ],
)
def test_every_missing_item_has_a_short_form_for_narrow_lines(missing: str):
    # Core may name a new missing item; the line must never fail on it, and narrows to it.
    assert alert_line.SHORT[missing] in line_for(Readiness(False, (missing,)), 50).plain


def test_line_stays_one_line_at_80_columns():
    everything = Readiness(
        False,
        (
            readiness.MOBILE,
            readiness.PERMISSION,
            readiness.NEW_CHAT,
            readiness.SHIFT,
            readiness.ACCOUNT_OFF,
        ),
    )
    short = line_for(everything, 78).plain
    assert short == "Mobile alerts off in account; missing number, permission, New Chat, shift"
    assert len(line_for(everything, 30).plain) == 30
    assert line_for(everything, 30).plain.endswith("…")
    assert line_for(Readiness(True, ()), 78).plain == readiness.CONFIGURED + " (Ctrl+Y)"


async def test_line_fits_80x24(app_as):
    app = await app_as("alice")
    async with app.run_test(size=(80, 24)) as pilot:
        assert await until(pilot, lambda: _line(app))
        line = app.query_one(AlertReadinessLine)
        assert line.region.height == 1
        assert line.region.width == 80
        assert len(_line(app)) <= 78


# --- the bundle in the status bar (A4) ---------------------------------------------


def _bar(app) -> Text:
    return app.query_one(StatusBar).bundle


async def test_status_bar_bundle_warning_and_full(
    app_as, demo_db: Database, console_clock: FakeClock
):
    month = bundle.month_of(int(NOW.timestamp() * 1000))
    await demo_db.write("DELETE FROM bundle_usage")
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: not app._bundle.due)
        assert _bar(app).plain == ""  # no bundle, nothing shown
        await demo_db.write("INSERT INTO bundle_usage (month, segments) VALUES (?, 850)", (month,))
        await settings.update(demo_db, SYSTEM, bundle_segments=1000)
        assert await until(pilot, lambda: _bar(app).plain == "Bundle 850/1,000 (85%)")
        assert "yellow" in str(_bar(app).style)
        await demo_db.write("UPDATE bundle_usage SET segments = 1000")
        await settings.update(demo_db, SYSTEM, bundle_when_full="hold")
        assert await until(pilot, lambda: "full — holding" in _bar(app).plain)
        assert _bar(app).plain == "Bundle 1,000/1,000 (100%) full — holding"
        assert "red" in str(_bar(app).style)
        console_clock.set(NOW.replace(month=4, day=1))  # the month turns: a new count
        assert await until(pilot, lambda: _bar(app).plain == "Bundle 0/1,000 (0%)")


async def test_staff_tab_without_manage_users_shows_only_ones_own_row(app_as, demo_db: Database):
    await profiles.edit(demo_db, SYSTEM, "Agent", supervision=True)  # the Manager tab, no more
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        tab = await _staff_tab(app, pilot)
        assert list(tab.shown) == ["alice"]
        assert "Ctrl+Y" in _shown(app, "#alert-staff-hint")
        keys = {b.binding.action for b in app.screen.active_bindings.values()}
        assert "set_mobile" not in keys
