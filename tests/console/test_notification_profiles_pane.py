"""The Notifications section's Profiles and Groups sub-tabs (issue 11 item 9).

The real app on the demo database, driven by keys; each test checks the
screen and the database. Refusals come from core and are shown as core words
them; nothing is saved when core refuses.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import OptionList, Select, Static, TabbedContent

from console.panes.notify_groups import GroupTable
from console.panes.notify_outcomes import OutcomeTable
from console.panes.notify_profiles import NotifyProfileTable
from console.screens.choice import ChoiceScreen
from console.screens.confirm import ConfirmScreen
from console.screens.notification_group_members import GroupMembersScreen
from console.screens.notification_links import LinksScreen
from console.screens.notification_profile_form import NotificationProfileForm
from console.screens.prompt import PromptScreen
from console.widgets.editing import Input, TextArea
from core.db import Database, open_database
from core.errors import NotFound
from core.notify import groups, profiles
from core.notify.profiles import ProfileDraft
from core.people import agents
from tests.console.conftest import SIZE, choose, replace_text, until

SMALL = (80, 24)


async def _dana(db: Database):  # type: ignore[no-untyped-def]
    return (await agents.by_username(db, "dana")).as_actor()


async def _section(app, pilot, subtab: str = "notify-profiles"):  # type: ignore[no-untyped-def]
    """Manager (F3), Notifications (5), then the sub-tab, moving with > as a person would."""
    await pilot.press("f3")
    await pilot.pause()
    await pilot.press("5")
    tabs = app.query_one("#notify-tabs", TabbedContent)
    assert await until(pilot, lambda: tabs.active == "notify-profiles")
    if subtab != tabs.active:
        await pilot.press("greater_than_sign")
        assert await until(pilot, lambda: tabs.active == subtab)
    table = app.query_one(NotifyProfileTable if subtab == "notify-profiles" else GroupTable)
    await app.workers.wait_for_complete()
    await pilot.pause()
    return table


def _column(table, column: int = 0) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(table.get_row_at(row)[column]) for row in range(table.row_count)]


def _text(widget) -> str:  # type: ignore[no-untyped-def]
    return str(widget.render())


async def _open_form(app, pilot) -> NotificationProfileForm:  # type: ignore[no-untyped-def]
    assert await until(pilot, lambda: isinstance(app.screen, NotificationProfileForm))
    form = app.screen
    assert await until(pilot, lambda: "np-alias" in form.loaded)
    await pilot.pause()
    return form


async def _type(pilot, form, name: str, text: str) -> None:  # type: ignore[no-untyped-def]
    """Replace what a field (an Input or a TextArea) holds."""
    await replace_text(pilot, form.query_one(f"#np-{name}"), text)


async def _save(pilot, form) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("ctrl+s")
    await pilot.pause()
    await form.app.workers.wait_for_complete()
    await pilot.pause()


def _error_at(form: NotificationProfileForm, name: str) -> str:
    error = form.query_one(f"#np-error-{name}", Static)
    return _text(error) if error.has_class("-shown") else ""


async def _add(db: Database, alias: str, **draft: object) -> int:
    return (await profiles.add(db, await _dana(db), ProfileDraft(alias, **draft))).id  # type: ignore[arg-type]


# --- the editor ----------------------------------------------------------------------


async def test_add_a_profile_through_the_editor(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        table = await _section(app, pilot)
        assert table.row_count == 0
        await pilot.press("n")
        form = await _open_form(app, pilot)
        await _type(pilot, form, "alias", "Dr. Ames")
        await _type(pilot, form, "emails", "ames@example.com\nfront@example.com")
        form.query_one("#np-email_on").focus()
        await pilot.press("space")
        await _type(pilot, form, "sms_numbers", "+1 212 555 0110")
        form.query_one("#np-sms_on").focus()
        await pilot.press("space")
        form.query_one("#np-sms_mode", Select).value = "custom"
        await _type(pilot, form, "sms_body", "Call from ")
        # Ctrl+F lists the merge fields; Enter puts the one chosen at the cursor.
        await pilot.press("ctrl+f")
        assert await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        picker = app.screen
        labels = [str(o.prompt) for o in picker.query_one(OptionList).options]
        assert any(label.startswith("{{caller_id}}") for label in labels)
        picker.query_one(OptionList).highlighted = next(
            i for i, label in enumerate(labels) if label.startswith("{{caller_id}}")
        )
        await pilot.press("enter")
        assert await until(pilot, lambda: app.screen is form)
        assert form.query_one("#np-sms_body", TextArea).text == "Call from {{caller_id}}"
        preview = form.query_one("#np-preview", Static)
        assert await until(pilot, lambda: "Longest render: 1 segment" in _text(preview))
        # The text as it would go, with a readable stand-in for each field.
        assert "Call from <Caller ID>" in _text(preview)
        # A built-in mode previews too: the default message, from core's own template.
        form.query_one("#np-sms_mode", Select).value = "default"
        assert await until(pilot, lambda: "<First name>" in _text(preview))
        form.query_one("#np-sms_mode", Select).value = "custom"
        assert await until(pilot, lambda: "Call from <Caller ID>" in _text(preview))
        await _save(pilot, form)
        assert "Saved" in _text(form.query_one("#np-message", Static))
        stored = await profiles.by_alias(demo_db, await _dana(demo_db), "dr. ames")
        assert stored.draft.emails == ("ames@example.com", "front@example.com")
        assert stored.draft.sms_numbers == ("+12125550110",)
        assert stored.draft.email_on
        assert stored.draft.sms_on
        assert stored.draft.sms_body == "Call from {{caller_id}}"
        await pilot.press("escape")
        assert await until(pilot, lambda: table.row_count == 1)
        assert [str(c) for c in table.get_row_at(0)] == [
            "Dr. Ames",
            "on · 2",
            "on · 1",
            "available",
        ]


async def test_a_refusal_shows_under_its_field_and_saves_nothing(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await _section(app, pilot)
        await pilot.press("n")
        form = await _open_form(app, pilot)
        await _type(pilot, form, "alias", "Big list")
        six = "\n".join(f"p{i}@example.com" for i in range(6))
        await _type(pilot, form, "emails", six)
        await _save(pilot, form)
        assert "at most 5 email addresses" in _error_at(form, "emails")
        assert _error_at(form, "alias") == ""
        assert form.focused is form.query_one("#np-emails")
        # A template error is shown as the text is typed, and again under it on save.
        form.query_one("#np-sms_mode", Select).value = "custom"
        await _type(pilot, form, "sms_body", "{{nope}}")
        assert "unknown field 'nope'" in _text(form.query_one("#np-preview", Static))
        assert await profiles.list_profiles(demo_db, await _dana(demo_db)) == []


async def test_edit_sends_what_changed(app_as, demo_db: Database):
    profile_id = await _add(demo_db, "Dr. Ames", emails=("ames@example.com",), email_on=True)
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        table = await _section(app, pilot)
        assert table.row_count == 1
        await pilot.press("e")
        form = await _open_form(app, pilot)
        assert form.query_one("#np-emails", TextArea).text == "ames@example.com"
        await _type(pilot, form, "alias", "Dr. Ames-Roux")
        await _save(pilot, form)
        await pilot.press("escape")
        assert await until(pilot, lambda: _column(table) == ["Dr. Ames-Roux"])
        stored = await profiles.get(demo_db, await _dana(demo_db), profile_id)
        assert stored.alias == "Dr. Ames-Roux"
        assert stored.draft.emails == ("ames@example.com",)
        assert stored.draft.email_on
        assert "Saved notification profile Dr. Ames-Roux" in _text(
            app.query_one("#nprofile-status")
        )


async def test_the_editor_fits_80x24(app_as, demo_db: Database):
    await _add(demo_db, "Dr. Ames")
    app = await app_as("dana")
    async with app.run_test(size=SMALL) as pilot:
        await _section(app, pilot)
        await pilot.press("enter")
        form = await _open_form(app, pilot)
        frame = form.query_one("#np-frame")
        assert frame.region.width == 80
        assert frame.region.height <= 24
        assert form.query_one("#np-alias", Input).value == "Dr. Ames"
        await pilot.press("escape")
        assert await until(pilot, lambda: not isinstance(app.screen, NotificationProfileForm))


# --- hold my calls ---------------------------------------------------------------------


async def test_hold_until_a_time_then_unhold(app_as, demo_db: Database):
    profile_id = await _add(demo_db, "Dr. Ames")
    dana = await _dana(demo_db)
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        table = await _section(app, pilot)
        await pilot.press("h")
        assert await until(pilot, lambda: isinstance(app.screen, PromptScreen))
        prompt = app.screen
        await pilot.press(*"2026-03-01 09:00", "enter")  # the day before the clock's now
        assert await until(pilot, lambda: "must end in the future" in prompt.error)
        await pilot.press(*["backspace"] * 16, *"tomorrow", "enter")
        assert await until(pilot, lambda: "YYYY-MM-DD HH:MM" in prompt.error)
        await pilot.press(*["backspace"] * 8, *"2026-03-03 09:00", "enter")
        assert await until(pilot, lambda: not isinstance(app.screen, PromptScreen))
        held = await profiles.get(demo_db, dana, profile_id)
        assert held.status(demo_db.clock.now()).kind == "held_until"
        assert await until(pilot, lambda: _column(table, 3) == ["held until 2026-03-03 09:00"])
        await pilot.press("u")
        assert await until(pilot, lambda: _column(table, 3) == ["available"])
        # Blank: held until unheld.
        await pilot.press("h")
        assert await until(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press("enter")
        assert await until(pilot, lambda: _column(table, 3) == ["held"])
        assert (await profiles.get(demo_db, dana, profile_id)).hold == "indefinite"


# --- delete or replace -------------------------------------------------------------------


async def _in_a_group_and_an_outcome(db: Database) -> tuple[int, int, int]:
    dana = await _dana(db)
    old = await _add(db, "Old")
    new = await _add(db, "New")
    doctors = (await groups.add(db, dana, "Doctors")).id
    await groups.add(db, dana, "Aardvarks")  # sorts first: the link must select Doctors
    await groups.add_member(db, dana, doctors, old)
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO outcome_recipients (outcome_id, profile_id)"
            " SELECT id, ? FROM outcomes WHERE name = 'Urgent'",
            (old,),
        )
    return old, new, doctors


async def _delete_selected(app, pilot) -> LinksScreen:  # type: ignore[no-untyped-def]
    await pilot.press("d")
    assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
    await pilot.press("y")
    assert await until(pilot, lambda: isinstance(app.screen, LinksScreen))
    return app.screen


async def test_delete_is_refused_with_every_link_and_a_link_opens_its_place(
    app_as, demo_db: Database
):
    old, _, doctors = await _in_a_group_and_an_outcome(demo_db)
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        table = await _section(app, pilot)
        assert _column(table) == ["New", "Old"]
        table.move_cursor(row=1)
        links = await _delete_selected(app, pilot)
        shown = [str(o.prompt) for o in links.query_one(OptionList).options]
        assert shown == ["group 'Doctors'", "outcome 'Urgent'"]
        assert "used in 2 places" in _text(links.query_one("#links-title"))
        # The outcome's link opens the Outcomes sub-tab on Urgent.
        await choose(pilot, 1)
        tabs = app.query_one("#notify-tabs", TabbedContent)
        assert await until(pilot, lambda: tabs.active == "notify-outcomes")
        outcomes_table = app.query_one(OutcomeTable)
        assert await until(
            pilot,
            lambda: (
                (chosen := outcomes_table.selected()) is not None
                and chosen.outcome.name == "Urgent"
            ),
        )
        tabs.active = "notify-profiles"
        profile_table = app.query_one(NotifyProfileTable)
        profile_table.focus()
        profile_table.move_cursor(row=1)
        await _delete_selected(app, pilot)
        await choose(pilot, 0)  # group 'Doctors'

        assert await until(pilot, lambda: tabs.active == "notify-groups")
        group_table = app.query_one(GroupTable)
        assert await until(pilot, lambda: group_table.selected() is not None)
        assert group_table.selected().id == doctors
        assert app.focused is group_table
        assert await profiles.get(demo_db, await _dana(demo_db), old)


async def test_replace_with_another_profile_then_delete(app_as, demo_db: Database):
    old, new, doctors = await _in_a_group_and_an_outcome(demo_db)
    dana = await _dana(demo_db)
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        table = await _section(app, pilot)
        table.move_cursor(row=1)
        await _delete_selected(app, pilot)
        await pilot.press("r")
        assert await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        assert [str(o.prompt) for o in app.screen.query_one(OptionList).options] == ["New"]
        await pilot.press("enter")
        assert await until(pilot, lambda: _column(table) == ["New"])
        with pytest.raises(NotFound):
            await profiles.get(demo_db, dana, old)
        members = (await groups.get(demo_db, dana, doctors)).members
        assert [m.profile_id for m in members] == [new]
        assert "Deleted notification profile Old" in _text(app.query_one("#nprofile-status"))


# --- groups ----------------------------------------------------------------------------


async def test_groups_add_rename_members(app_as, demo_db: Database):
    await _add(demo_db, "Dr. Ames")
    await _add(demo_db, "Dr. Roux")
    dana = await _dana(demo_db)
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        table = await _section(app, pilot, "notify-groups")
        await pilot.press("n")
        assert await until(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press(*"Doctors", "enter")
        assert await until(pilot, lambda: _column(table) == ["Doctors"] and app.focused is table)
        # A name taken whatever the case is refused in the prompt, in core's words.
        await pilot.press("n")
        assert await until(pilot, lambda: isinstance(app.screen, PromptScreen))
        prompt = app.screen
        await pilot.press(*"doctors", "enter")
        assert await until(pilot, lambda: "already exists" in prompt.error)
        await pilot.press("escape")
        assert await until(pilot, lambda: app.focused is table)
        await pilot.press("r")
        assert await until(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press(*" on call", "enter")
        assert await until(pilot, lambda: _column(table) == ["Doctors on call"])
        await pilot.press("enter")
        assert await until(pilot, lambda: isinstance(app.screen, GroupMembersScreen))
        members = app.screen
        await pilot.press("a")
        assert await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await choose(pilot, 1)  # Dr. Roux
        assert await until(pilot, lambda: app.screen is members)
        listed = members.query_one(OptionList)
        assert await until(pilot, lambda: listed.option_count == 1)
        assert str(listed.get_option_at_index(0).prompt) == "Dr. Roux"
        [group] = await groups.list_groups(demo_db, dana)
        assert [m.alias for m in group.members] == ["Dr. Roux"]
        await pilot.press("x")
        assert await until(pilot, lambda: listed.option_count == 0)
        await pilot.press("a")
        assert await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.press("enter")  # Dr. Ames
        assert await until(pilot, lambda: listed.option_count == 1)
        await pilot.press("escape")
        assert await until(pilot, lambda: _column(table, 1) == ["1"])
        await pilot.press("d")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        assert await until(pilot, lambda: table.row_count == 0)
        assert await groups.list_groups(demo_db, dana) == []


# --- live, literal, rights -------------------------------------------------------------


async def test_a_change_from_another_connection_updates_the_row_in_place(app_as, demo_db: Database):
    first = await _add(demo_db, "Alpha")
    await _add(demo_db, "Beta")
    other = await open_database(Path(demo_db.path), demo_db.clock)
    try:
        app = await app_as("dana")
        async with app.run_test(size=SIZE) as pilot:
            table = await _section(app, pilot)
            table.move_cursor(row=1)
            await pilot.pause()
            dana = await _dana(other)
            await profiles.edit(other, dana, first, emails=("a@example.com",), email_on=True)
            assert await until(pilot, lambda: _column(table, 1) == ["on · 1", "off · 0"])
            assert table.cursor_row == 1
            await profiles.hold(other, dana, first)
            assert await until(pilot, lambda: _column(table, 3) == ["held", "available"])
            await _add(other, "Gamma")
            assert await until(pilot, lambda: _column(table) == ["Alpha", "Beta", "Gamma"])
            assert table.selected() is not None
            assert table.selected().alias == "Beta"
    finally:
        await other.close()


async def test_a_hostile_alias_is_shown_literally(app_as, demo_db: Database):
    hostile = "[@click=app.quit]Eve[/] [b"
    await _add(demo_db, hostile)
    dana = await _dana(demo_db)
    group = await groups.add(demo_db, dana, "[red]Ops")
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        table = await _section(app, pilot)
        assert _column(table) == [hostile]
        await pilot.press("d")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert hostile in _text(app.screen.query_one("#confirm-question"))
        await pilot.press("n")
        groups_table = await _section(app, pilot, "notify-groups")
        assert _column(groups_table) == [group.name]


async def test_the_sub_tabs_do_not_pull_the_manager_to_their_section(app_as, demo_db: Database):
    await _add(demo_db, "Dr. Ames")
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await app.workers.wait_for_complete()
        await pilot.pause()
        sections = app.query_one("#manager-sections", TabbedContent)
        assert sections.active == "manager-conversations"
        # The section is made when chosen (DeferredTab), so nothing of it mounts behind 1.
        assert not app.query(NotifyProfileTable)
        await pilot.press("5", "1")
        assert await until(pilot, lambda: sections.active == "manager-conversations")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert sections.active == "manager-conversations"
        assert app.focused is not app.query_one(NotifyProfileTable)


async def test_an_agent_without_manage_settings_has_no_notifications_section(app_as):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not app.query("#notify-profiles-section")


async def test_hipaa_mode_heads_the_editor_with_the_seeds_warnings(
    app_as, demo_db: Database, monkeypatch: pytest.MonkeyPatch
):
    from types import SimpleNamespace

    from console.screens import notification_profile_form

    async def hipaa(db: Database) -> object:
        return SimpleNamespace(hipaa_mode=True)  # the editor reads only this setting

    # The setting comes with HIPAA mode (P6); until then the editor reads it if there.
    monkeypatch.setattr(notification_profile_form, "settings", SimpleNamespace(load=hipaa))
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await _section(app, pilot)
        await pilot.press("n")
        form = await _open_form(app, pilot)
        shown = _text(form.query_one("#np-hipaa", Static))
        assert "PHI cannot be sent via SMS or Email." in shown
        assert "Emails cannot be sent to the caller." in shown
