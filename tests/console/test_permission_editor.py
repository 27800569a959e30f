"""The permission profile editor (issue 10 item 9): the Manager tab's section 4.

The real app on the demo database, driven by keys; each test checks the
screen and the database. Refusals come from core and are shown as core words
them; nothing is saved when core refuses.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Checkbox, Static, TabbedContent

from console.app import make_app
from console.context import ConsoleContext
from console.panes.permission_profiles import PermissionProfiles, ProfileTable
from console.screens.centre_setup import CentreSetup
from console.screens.confirm import ConfirmScreen
from console.screens.permission_profile_form import PermissionProfileForm
from console.widgets.editing import Input
from core import events
from core.db import Database, open_database
from core.people import agents
from core.people.authz import SYSTEM
from core.permissions import configuration, profiles
from core.sms import numbers
from providers.sandbox import SandboxGateway
from tests.console.conftest import SIZE, replace_text, until

SMALL = (80, 24)


async def _profiles_section(app, pilot) -> ProfileTable:
    await pilot.press("f3")
    await pilot.pause()
    await pilot.press("4")
    assert await until(
        pilot,
        lambda: app.query_one("#manager-sections", TabbedContent).active == "manager-profiles",
    )
    table = app.query_one(ProfileTable)
    assert await until(pilot, lambda: table.row_count > 0)
    return table


def _names(table: ProfileTable) -> list[str]:
    return [str(table.get_row_at(row)[0]) for row in range(table.row_count)]


def _text(widget) -> str:
    return str(widget.render())


async def _open(app, pilot, name: str | None) -> PermissionProfileForm:
    """Open the editor from the list: ``n`` for a new profile, else ``e`` on ``name``."""
    if name is None:
        await pilot.press("n")
    else:
        table = app.query_one(ProfileTable)
        table.select(name)
        await pilot.press("e")
    assert await until(pilot, lambda: isinstance(app.screen, PermissionProfileForm))
    form = app.screen
    assert await until(pilot, lambda: "pp-name" in form.loaded)
    await pilot.pause()
    return form


async def _type(pilot, form, widget_id: str, text: str) -> None:
    """Replace what a field holds."""
    await replace_text(pilot, form.query_one(f"#{widget_id}", Input), text)


async def _tick(pilot, form, widget_id: str) -> None:
    box = form.query_one(f"#{widget_id}", Checkbox)
    box.focus()
    await pilot.pause()
    await pilot.press("space")


async def _save(pilot, form) -> None:
    await pilot.press("ctrl+s")
    await pilot.pause()
    await form.app.workers.wait_for_complete()
    await pilot.pause()


def _error_at(form: PermissionProfileForm, where: str) -> str:
    error = form.query_one(f"#pp-error-{where}, #cfg-error-{where}", Static)
    return _text(error) if error.has_class("-shown") else ""


async def _changes_since(db: Database, cursor: int) -> list[str]:
    return [e.kind for e in (await events.since(db, cursor)).events]


# --- the list ------------------------------------------------------------------------


async def test_the_list_shows_name_alias_reference_users_and_searches_as_you_type(app_as):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        table = await _profiles_section(app, pilot)
        assert _names(table) == ["Agent", "Manager", "Night shift"]
        night = [str(c) for c in table.get_row(str(table.shown[2].id))]
        assert night == ["Night shift", "Night", "night", "1"]
        await pilot.press("slash", *"nig")
        assert await until(pilot, lambda: _names(table) == ["Night shift"])
        # The reference is searched too: the built-ins' references start "builtin".
        await pilot.press(*["backspace"] * 3, *"builtin")
        assert await until(pilot, lambda: _names(table) == ["Agent", "Manager"])
        await pilot.press(*["backspace"] * 7)
        assert await until(pilot, lambda: len(_names(table)) == 3)


async def test_without_the_right_there_is_no_section_and_no_key(app_as, demo_db: Database):
    # Supervision brings the Manager tab, but not the right to manage profiles.
    await profiles.edit(demo_db, SYSTEM, "Agent", supervision=True)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        assert app.query("#manager-pane")
        assert not app.query(PermissionProfiles)
        await pilot.press("4")
        await pilot.pause()
        assert app.query_one("#manager-sections", TabbedContent).active != "manager-profiles"
        assert "profiles.new" not in {b.binding.id for b in app.screen.active_bindings.values()}


async def test_the_section_comes_and_goes_with_the_right(app_as, demo_db: Database):
    """An edit to the running console's own profile (from outside) adds and removes the section."""
    await profiles.edit(demo_db, SYSTEM, "Agent", supervision=True)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        assert not app.query("#manager-profiles")
        await profiles.edit(demo_db, SYSTEM, "Agent", manage_users=True)
        assert await until(pilot, lambda: app.query("#manager-profiles"))
        await pilot.press("4")
        assert await until(
            pilot,
            lambda: app.query_one("#manager-sections", TabbedContent).active == "manager-profiles",
        )
        assert await until(pilot, lambda: app.query(PermissionProfiles))  # made when chosen
        await profiles.edit(demo_db, SYSTEM, "Agent", manage_users=False)
        assert await until(pilot, lambda: not app.query("#manager-profiles"))
        assert not app.query(PermissionProfiles)
        assert app.query_one("#manager-sections", TabbedContent).active == "manager-conversations"


# --- add, edit, delete ---------------------------------------------------------------


async def test_add_a_profile_with_its_settings(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        table = await _profiles_section(app, pilot)
        form = await _open(app, pilot, None)
        assert "Save the new profile first" in _text(form.query_one(".pp-note", Static))
        await _type(pilot, form, "pp-name", "Weekend")
        await _type(pilot, form, "pp-alias", "Wknd")
        await _type(pilot, form, "pp-reference", "wk-01")
        await _type(pilot, form, "pp-max_simultaneous", "3")
        await _tick(pilot, form, "pp-statistics")
        await _save(pilot, form)
        added = await profiles.get(demo_db, "Weekend")
        assert (added.alias, added.reference) == ("Wknd", "wk-01")
        assert added.settings.max_simultaneous == 3
        assert added.settings.statistics
        # Saved, the Configuration tab now edits the new profile.
        assert await until(pilot, lambda: form.query("#cfg-give"))
        await pilot.press("escape")
        assert await until(pilot, lambda: "Weekend" in _names(table))
        assert table.selected() is not None
        assert table.selected().name == "Weekend"


async def test_edit_settings_is_one_call_to_core(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await _profiles_section(app, pilot)
        form = await _open(app, pilot, "Night shift")
        assert form.query_one("#pp-interaction_timeout_seconds", Input).value == "30"
        assert form.query_one("#pp-missed_activity", Input).value == "Away"
        cursor = await events.last_id(demo_db)
        await _type(pilot, form, "pp-interaction_timeout_seconds", "45")
        await _type(pilot, form, "pp-auto_accept_seconds", "")
        await _type(pilot, form, "pp-missed_activity", "Lunch")
        await _tick(pilot, form, "pp-transfer_to_queue")
        await _save(pilot, form)
        night = await profiles.get(demo_db, "Night shift")
        assert night.settings.interaction_timeout_seconds == 45
        assert night.settings.auto_accept_seconds is None
        assert night.settings.transfer_to_queue
        lunch = {a.name: a.id for a in await configuration.list_activities(demo_db)}["Lunch"]
        assert night.settings.missed_activity_id == lunch
        assert await _changes_since(demo_db, cursor) == ["permission_profile.changed"]
        assert "Saved" in _text(form.query_one("#pp-message", Static))


async def test_each_refused_setting_is_shown_at_its_field_and_nothing_is_saved(
    app_as, demo_db: Database
):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await _profiles_section(app, pilot)
        form = await _open(app, pilot, "Night shift")
        before = await profiles.get(demo_db, "Night shift")
        cases = [
            ("pp-interaction_timeout_seconds", "-5", "interaction_timeout_seconds", "negative"),
            ("pp-max_simultaneous", "101", "max_simultaneous", "between 1 and 100"),
            ("pp-missed_activity", "Nap", "missed_activity", "there is no activity 'Nap'"),
            ("pp-name", "Manager", "name", "already exists"),
        ]
        for widget_id, typed, field, words in cases:
            await _type(pilot, form, "pp-alias", "Changed too")
            await _type(pilot, form, widget_id, typed)
            await _save(pilot, form)
            assert words in _error_at(form, field), field
            assert await profiles.get(demo_db, "Night shift") == before, field
            assert app.screen is form
            # Put it back for the next case.
            await _type(pilot, form, widget_id, str(form.loaded[widget_id]))


async def test_the_last_user_manager_cannot_lose_the_right(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await _profiles_section(app, pilot)
        form = await _open(app, pilot, "Manager")
        await _tick(pilot, form, "pp-manage_users")
        await _save(pilot, form)
        assert "would leave no active user who can manage users" in _error_at(form, "manage_users")
        assert (await profiles.get(demo_db, "Manager")).settings.manage_users


async def test_delete_is_refused_naming_the_users_then_done(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        table = await _profiles_section(app, pilot)
        table.select("Agent")
        await pilot.press("d")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        status = app.query_one("#profile-status", Static)
        assert await until(pilot, lambda: "only profile of alice, bob" in _text(status))
        assert "Agent" in _names(table)
        assert (await profiles.get(demo_db, "Agent")).users == 3
        table.select("Night shift")
        await pilot.press("d")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        assert await until(pilot, lambda: "Night shift" not in _names(table))
        assert [p.name for p in await profiles.list_profiles(demo_db)] == ["Agent", "Manager"]


async def test_the_51st_profile_is_refused_naming_the_limit(app_as, demo_db: Database):
    for i in range(profiles.MAX_PROFILES - 3):
        await profiles.add(demo_db, SYSTEM, f"Team {i:02}")
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await _profiles_section(app, pilot)
        form = await _open(app, pilot, None)
        await _type(pilot, form, "pp-name", "One too many")
        await _save(pilot, form)
        assert "at most 50 permission profiles" in _text(form.query_one("#pp-message", Static))
        assert len(await profiles.list_profiles(demo_db)) == 50


# --- configuration ---------------------------------------------------------------------


async def test_configuration_saves_users_activities_queues_numbers_templates(
    app_as, demo_db: Database
):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await _profiles_section(app, pilot)
        form = await _open(app, pilot, "Night shift")
        await pilot.press("ctrl+n")
        assert form.query_one("#pp-tabs", TabbedContent).active == "pp-configuration"
        text = " ".join(_text(s) for s in form.query(".pp-note"))
        assert "Comes with campaigns" in text
        carol = (await agents.by_username(demo_db, "carol")).id
        bob = (await agents.by_username(demo_db, "bob")).id
        queues = {q.name: q.id for q in await configuration.list_queues(demo_db)}
        ours = {n.e164: n.id for n in await numbers.list_numbers(demo_db)}
        lunch = {a.name: a.id for a in await configuration.list_activities(demo_db)}["Lunch"]
        templates = {t.name: t.id for t in await configuration.list_templates(demo_db)}
        await _type(pilot, form, f"cfg-score-{carol}", "80")
        await _type(pilot, form, "cfg-give", "bob")
        await _tick(pilot, form, f"cfg-activity-{lunch}")
        await _type(pilot, form, "cfg-default-activity", "Away")
        await _tick(pilot, form, f"cfg-queue-{queues['Direct lines']}")
        await _type(pilot, form, f"cfg-queue-score-{queues['Direct lines']}", "15")
        await _tick(pilot, form, f"cfg-number-{ours['+14155550101']}")
        await _tick(pilot, form, f"cfg-template-{templates['Pick-up']}")
        await _save(pilot, form)
        holders = {h.username: h for h in await profiles.holders(demo_db, "Night shift")}
        assert holders["carol"].distribution_score == 80
        assert "bob" in holders
        assert not holders["bob"].active
        used = dict(
            (a.name, default)
            for a, default in await configuration.profile_activities(demo_db, "Night shift")
        )
        assert "Lunch" not in used
        assert used["Away"]
        assert ("Direct lines", True, 15) in await configuration.profile_queues(
            demo_db, "Night shift"
        )
        assert await configuration.profile_numbers(demo_db, "Night shift") == ["+14155550101"]
        assert await configuration.list_templates(demo_db, "Night shift") == []
        # The form shows what is stored now: bob among the users.
        assert await until(pilot, lambda: form.query(f"#cfg-holds-{bob}"))


async def test_a_refused_score_saves_nothing(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await _profiles_section(app, pilot)
        form = await _open(app, pilot, "Night shift")
        await pilot.press("ctrl+n")
        carol = (await agents.by_username(demo_db, "carol")).id
        front = {q.name: q.id for q in await configuration.list_queues(demo_db)}["Front desk"]
        await _type(pilot, form, f"cfg-score-{carol}", "70")
        await _type(pilot, form, "cfg-give", "bob")
        await _type(pilot, form, f"cfg-queue-score-{front}", "101")
        await _save(pilot, form)
        assert "the score of queue 'Front desk' must be between 0 and 100, not 101" in _error_at(
            form, "queues"
        )
        assert app.focused is form.query_one(f"#cfg-queue-score-{front}")
        assert [h.username for h in await profiles.holders(demo_db, "Night shift")] == ["carol"]
        assert await configuration.profile_queues(demo_db, "Night shift") == [
            ("Front desk", True, 90)
        ]


async def test_a_refusal_inside_the_save_leaves_settings_and_configuration_unchanged(
    app_as, demo_db: Database
):
    """Settings, a new user, a queue score, then a template that is gone by the time of
    the save (deleted by someone else): the whole save is refused, nothing is stored."""
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await _profiles_section(app, pilot)
        form = await _open(app, pilot, "Night shift")
        before = await profiles.get(demo_db, "Night shift")
        front = {q.name: q.id for q in await configuration.list_queues(demo_db)}["Front desk"]
        template = (await configuration.list_templates(demo_db))[0]
        await _type(pilot, form, "pp-max_simultaneous", "4")
        await pilot.press("ctrl+n")
        await _type(pilot, form, "cfg-give", "bob")
        await _type(pilot, form, f"cfg-queue-score-{front}", "20")
        await _tick(pilot, form, f"cfg-template-{template.id}")
        await configuration.delete_template(demo_db, SYSTEM, template.name)
        cursor = await events.last_id(demo_db)
        await _save(pilot, form)
        assert f"no SMS template named {template.name!r}" in _error_at(form, "templates")
        assert app.focused is form.query_one(f"#cfg-template-{template.id}")
        assert "changes before it were saved" not in _error_at(form, "templates")
        assert await profiles.get(demo_db, "Night shift") == before
        assert [h.username for h in await profiles.holders(demo_db, "Night shift")] == ["carol"]
        assert await configuration.profile_queues(demo_db, "Night shift") == [
            ("Front desk", True, 90)
        ]
        assert await _changes_since(demo_db, cursor) == []


async def test_an_unknown_default_activity_is_refused_by_core(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await _profiles_section(app, pilot)
        form = await _open(app, pilot, "Night shift")
        await pilot.press("ctrl+n")
        await _type(pilot, form, "cfg-default-activity", "Nap")
        await _save(pilot, form)
        assert "default activity 'Nap' must be one of the profile's" in _error_at(
            form, "activities"
        )
        used = await configuration.profile_activities(demo_db, "Night shift")
        assert [a.name for a, default in used if default] == ["Available"]


# --- 80x24, live ----------------------------------------------------------------------


async def test_at_80x24_the_form_scrolls_to_every_field(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SMALL) as pilot:
        table = await _profiles_section(app, pilot)
        assert sum(c.get_render_width(table) for c in table.columns.values()) <= 80
        form = await _open(app, pilot, "Night shift")
        last = form.query_one("#pp-manage_settings", Checkbox)
        scroll = form.query_one("#pp-settings-scroll")
        assert not scroll.region.contains_region(last.region)
        await _tick(pilot, form, "pp-manage_settings")
        assert await until(pilot, lambda: scroll.region.contains_region(last.region))
        await _save(pilot, form)
        assert (await profiles.get(demo_db, "Night shift")).settings.manage_settings


async def test_an_edit_in_one_console_reaches_another(demo_db: Database, tmp_path: Path):
    """Two consoles on one database file: dana's edit gives alice the statistics tab."""
    other = await open_database(Path(demo_db.path), demo_db.clock)
    try:
        alice = (await agents.by_username(other, "alice")).as_actor()
        dana = (await agents.by_username(demo_db, "dana")).as_actor()
        alice_app = make_app(
            ConsoleContext(other, alice, SandboxGateway(other), embedded_worker=False,
                           feed_poll_seconds=0.05, settle_heap=False)
        )  # fmt: skip
        dana_app = make_app(
            ConsoleContext(demo_db, dana, SandboxGateway(demo_db), embedded_worker=False,
                           feed_poll_seconds=0.05, settle_heap=False)
        )  # fmt: skip
        async with alice_app.run_test(size=SIZE) as alice_pilot:
            async with dana_app.run_test(size=SIZE) as pilot:
                assert not alice_app.query("#statistics")
                await _profiles_section(dana_app, pilot)
                form = await _open(dana_app, pilot, "Agent")
                await _tick(pilot, form, "pp-statistics")
                await _save(pilot, form)
                assert (await profiles.get(demo_db, "Agent")).settings.statistics
            assert await until(alice_pilot, lambda: alice_app.query("#statistics"))
    finally:
        await other.close()


# --- activities, queues, SMS templates ----------------------------------------------------


async def _setup(app, pilot) -> CentreSetup:
    await _profiles_section(app, pilot)
    await pilot.press("s")
    assert await until(pilot, lambda: isinstance(app.screen, CentreSetup))
    screen = app.screen
    assert await until(pilot, lambda: "setup-new-template-body" in screen.loaded)
    return screen


async def test_setup_renames_an_activity_adds_one_and_a_queue_and_a_template(
    app_as, demo_db: Database
):
    training = await configuration.add_activity(demo_db, SYSTEM, "Training")
    app = await app_as("dana")
    async with app.run_test(size=SMALL) as pilot:
        screen = await _setup(app, pilot)
        available = {a.name: a.id for a in await configuration.list_activities(demo_db)}
        # The built-in ones cannot be changed from here (core refuses it too).
        assert screen.query_one(f"#setup-activity-{available['Away']}", Input).disabled
        await _type(pilot, screen, f"setup-activity-{training.id}", "Coaching")
        await _tick(pilot, screen, f"setup-available-{training.id}")
        await _type(pilot, screen, "setup-new-activity", "Meeting")
        await _type(pilot, screen, "setup-new-queue", "Spare")
        await _type(pilot, screen, "setup-new-template", "Closed")
        await _type(pilot, screen, "setup-new-template-body", "We are closed, {{contact_name}}.")
        await _save(pilot, screen)
        assert "Saved 4 changes" in _text(screen.query_one("#setup-message", Static))
        listed = {a.name: a.available for a in await configuration.list_activities(demo_db)}
        assert listed["Coaching"] is True
        assert listed["Meeting"] is False
        assert "Training" not in listed
        queues = {q.name: q for q in await configuration.list_queues(demo_db)}
        assert not queues["Spare"].messaging
        bodies = {t.name: t.body for t in await configuration.list_templates(demo_db)}
        assert bodies["Closed"] == "We are closed, {{contact_name}}."
        # What is stored is shown: the new activity has its row now.
        assert await until(pilot, lambda: screen.query(f"#setup-activity-{training.id + 1}"))


async def test_setup_shows_cores_refusals_under_their_part(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _setup(app, pilot)
        template = (await configuration.list_templates(demo_db))[0]
        await _type(pilot, screen, f"setup-template-{template.id}", "Hi {{contact_nme}}")
        await _save(pilot, screen)
        assert "unknown field 'contact_nme'" in _text(
            screen.query_one("#setup-error-templates", Static)
        )
        assert (await configuration.list_templates(demo_db))[0].body == template.body
        await _type(pilot, screen, f"setup-template-{template.id}", template.body)
        # The front desk's only number moved away would leave it with messaging and no number.
        front = {n.e164: n.id for n in await numbers.list_numbers(demo_db)}["+14155550100"]
        await _type(pilot, screen, f"setup-number-{front}", "Direct lines")
        await _save(pilot, screen)
        assert "leave queue 'Front desk' with messaging on and no number" in _text(
            screen.query_one("#setup-error-queues", Static)
        )
        queues = {q.name: q.numbers for q in await configuration.list_queues(demo_db)}
        assert queues["Front desk"] == ("+14155550100",)


# --- someone else edits the same profile ---------------------------------------------


async def test_an_open_editor_shows_someone_elses_change_when_nothing_is_unsaved(
    app_as, demo_db: Database
):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await _profiles_section(app, pilot)
        form = await _open(app, pilot, "Night shift")
        timeout = form.query_one("#pp-interaction_timeout_seconds", Input)
        assert timeout.value == "30"
        await profiles.edit(demo_db, SYSTEM, "Night shift", interaction_timeout_seconds=50)
        assert await until(pilot, lambda: timeout.value == "50")
        message = form.query_one("#pp-message", Static)
        assert await until(pilot, lambda: "someone else changed this profile" in _text(message))
        assert not form.is_dirty
        # Its users too: the Configuration tab lists bob once he holds it.
        bob = (await agents.by_username(demo_db, "bob")).id
        await profiles.assign(demo_db, SYSTEM, "Night shift", "bob")
        assert await until(pilot, lambda: form.query(f"#cfg-holds-{bob}"))
        # Another profile's change leaves this editor as it is.
        await profiles.edit(demo_db, SYSTEM, "Agent", interaction_timeout_seconds=5)
        await pilot.pause(0.3)
        assert timeout.value == "50"


async def test_unsaved_edits_are_kept_with_a_notice_and_ctrl_r_reloads(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await _profiles_section(app, pilot)
        form = await _open(app, pilot, "Night shift")
        stale = form.query_one("#pp-stale", Static)
        assert not stale.has_class("-shown")
        assert form.check_action("reload", ()) is False
        await _type(pilot, form, "pp-alias", "Mine")
        await profiles.edit(
            demo_db, SYSTEM, "Night shift", interaction_timeout_seconds=60, alias="Theirs"
        )
        assert await until(pilot, lambda: stale.has_class("-shown"))
        assert "This profile was changed by someone else" in _text(stale)
        # What this person typed is not overwritten, nor the rest of the form.
        assert form.query_one("#pp-alias", Input).value == "Mine"
        assert form.query_one("#pp-interaction_timeout_seconds", Input).value == "30"
        assert form.check_action("reload", ()) is True
        await pilot.press("ctrl+r")
        assert await until(pilot, lambda: not stale.has_class("-shown"))
        assert form.query_one("#pp-alias", Input).value == "Theirs"
        assert form.query_one("#pp-interaction_timeout_seconds", Input).value == "60"
        assert not form.is_dirty
        # This editor's own save is not someone else's change: no notice.
        await _type(pilot, form, "pp-alias", "Ours")
        await _save(pilot, form)
        await _type(pilot, form, "pp-reference", "typing on")
        await pilot.pause(0.3)
        assert not stale.has_class("-shown")
        assert (await profiles.get(demo_db, "Night shift")).alias == "Ours"
