"""Manager › 5 Notify › Fields (issue 11 item 9): the collected data and merge fields.

The real app on the demo database, driven by keys; each test checks the
screen and the database. Core decides; its refusals are shown as it words them.
"""

from __future__ import annotations

from textual.widgets import Select, Static, TabbedContent

from console.panes.notify_fields import HIPAA_NOTE, FieldTable
from console.screens.collected_field_form import CollectedFieldForm
from console.screens.confirm import ConfirmScreen
from console.screens.form_fields import Tick
from console.widgets.editing import Input
from core import settings
from core.db import Database
from core.notify import fields, profiles
from core.notify.profiles import ProfileDraft
from core.people.authz import SYSTEM
from tests.console.conftest import SIZE, replace_text, until

SMALL = (80, 24)


async def _fields_tab(app, pilot) -> FieldTable:
    await pilot.press("f3")
    await pilot.pause()
    await pilot.press("5")
    assert await until(
        pilot,
        lambda: app.query_one("#manager-sections", TabbedContent).active == "manager-notifications",
    )
    tabs = app.query_one("#notify-tabs", TabbedContent)
    for _ in range(5):  # Fields is the fourth sub-tab: > until it shows
        if tabs.active == "notify-fields":
            break
        await pilot.press("greater_than_sign")
        await pilot.pause()
    assert await until(pilot, lambda: tabs.active == "notify-fields")
    table = app.query_one(FieldTable)
    assert await until(pilot, lambda: table.row_count > 0)
    assert table.has_focus
    return table


def _row(table: FieldTable, name: str) -> list[str]:
    field = next(f for f in table.shown if f.name == name)
    return [str(c) for c in table.get_row(str(field.id))]


def _status(app) -> str:
    return str(app.query_one("#field-status", Static).render())


async def _select(table: FieldTable, pilot, name: str) -> None:
    table.select(next(f.id for f in table.shown if f.name == name))
    await pilot.pause()


async def _open_form(app, pilot, key: str) -> CollectedFieldForm:
    await pilot.press(key)
    assert await until(pilot, lambda: isinstance(app.screen, CollectedFieldForm))
    await pilot.pause()
    return app.screen


async def _save(app, pilot) -> None:
    await pilot.press("ctrl+s")
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def _type(pilot, form, widget_id: str, text: str) -> None:
    await replace_text(pilot, form.query_one(f"#{widget_id}", Input), text)


async def test_the_list_shows_every_field_as_a_template_names_it(app_as):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        table = await _fields_tab(app, pilot)
        assert _row(table, "first_name") == [
            "{{first_name}}",
            "First name",
            "text",
            "60",
            "yes",
            "",
            "built-in",
        ]
        assert _row(table, "message")[2:5] == ["long text", "1000", "yes"]
        # Filled by the system at the close, never asked for.
        assert _row(table, "caller_id") == [
            "{{caller_id}}",
            "Caller ID",
            "phone",
            "20",
            "",
            "",
            "system",
        ]
        assert not app.query_one("#field-hipaa", Static).display


async def test_adding_a_field(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        table = await _fields_tab(app, pilot)
        form = await _open_form(app, pilot, "n")
        await pilot.press(*"account")
        await _type(pilot, form, "field-label", "Account number")
        form.query_one("#field-type", Select).value = "number"
        await _type(pilot, form, "field-max", "12")
        form.query_one("#field-required", Tick).focus()
        await pilot.press("space")
        await _save(app, pilot)
        assert not isinstance(app.screen, CollectedFieldForm)
        added = next(f for f in await fields.all_in(demo_db) if f.name == "account")
        assert (added.label, added.type, added.max_length, added.phi, added.required) == (
            "Account number",
            "number",
            12,
            False,
            True,
        )
        assert await until(
            pilot,
            lambda: (
                [str(c) for c in table.get_row_at(table.row_count - 1)]
                == ["{{account}}", "Account number", "number", "12", "", "yes", "custom"]
            ),
        )
        assert table.selected().name == "account"
        assert _status(app) == "Saved field account"


async def test_a_bad_name_or_length_is_refused_in_the_form(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await _fields_tab(app, pilot)
        form = await _open_form(app, pilot, "n")
        await pilot.press(*"Account")
        await _type(pilot, form, "field-label", "Account")
        await _save(app, pilot)
        error = form.query_one("#field-form-error", Static)
        assert str(error.render()) == (
            "field name 'Account' must be 1-64 lowercase letters, digits or _,"
            " starting with a letter"
        )
        await _type(pilot, form, "field-max", "ten")
        await _save(app, pilot)
        assert str(error.render()) == (
            "the maximum length is a whole number of characters, not 'ten'"
        )
        assert app.screen is form
        assert len(await fields.all_in(demo_db)) == 10


async def test_the_phi_flag_on_and_off(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        table = await _fields_tab(app, pilot)
        await _select(table, pilot, "callback_time")
        await pilot.press("p")
        assert await until(pilot, lambda: _row(table, "callback_time")[4] == "yes")
        assert next(f for f in await fields.all_in(demo_db) if f.name == "callback_time").phi
        assert _status(app) == "callback_time is PHI"
        # From the form too: a built-in keeps its type, length and "required".
        form = await _open_form(app, pilot, "e")
        assert form.query_one("#field-type", Select).disabled
        assert form.query_one("#field-max", Input).disabled
        assert form.query_one("#field-required", Tick).disabled
        form.query_one("#field-phi", Tick).focus()
        await pilot.press("space")
        await _type(pilot, form, "field-label", "Call back at")
        await _save(app, pilot)
        assert await until(
            pilot,
            lambda: _row(table, "callback_time")[1:5] == ["Call back at", "datetime", "40", ""],
        )
        stored = next(f for f in await fields.all_in(demo_db) if f.name == "callback_time")
        assert (stored.label, stored.phi) == ("Call back at", False)


async def test_phi_refused_in_hipaa_mode_for_a_field_a_template_uses(app_as, demo_db: Database):
    await fields.add(demo_db, SYSTEM, "account", "Account")
    await profiles.add(
        demo_db, SYSTEM, ProfileDraft("Dr Hale", sms_mode="custom", sms_body="Acct {{account}}")
    )
    await settings.update(demo_db, SYSTEM, hipaa_mode=True)
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        table = await _fields_tab(app, pilot)
        note = app.query_one("#field-hipaa", Static)
        assert note.display
        assert str(note.render()) == HIPAA_NOTE
        await _select(table, pilot, "account")
        await pilot.press("p")
        assert await until(pilot, lambda: "cannot" in _status(app))
        assert _status(app) == (
            "cannot mark as PHI (HIPAA mode is on) the field account:"
            " saved templates use it: Dr Hale (sms_body)"
        )
        assert _row(table, "account")[4] == ""
        # HIPAA mode switched off elsewhere: the note goes, live.
        await settings.update(demo_db, SYSTEM, hipaa_mode=False)
        assert await until(pilot, lambda: not note.display)


async def test_deleting_a_field_a_template_uses_is_refused_naming_it(app_as, demo_db: Database):
    await fields.add(demo_db, SYSTEM, "account", "Account")
    await fields.add(demo_db, SYSTEM, "spare", "Spare")
    await profiles.add(
        demo_db, SYSTEM, ProfileDraft("Dr Hale", sms_mode="custom", sms_body="Acct {{ account }}")
    )
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        table = await _fields_tab(app, pilot)
        await _select(table, pilot, "account")
        await pilot.press("d")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        assert await until(pilot, lambda: "cannot" in _status(app))
        assert _status(app) == (
            "cannot delete field account: saved templates use it: Dr Hale (sms_body)"
        )
        assert app.query_one("#field-status").has_class("-error")
        assert "account" in [f.name for f in await fields.all_in(demo_db)]
        # A built-in one is refused too; one nothing uses goes.
        await _select(table, pilot, "phone")
        await pilot.press("d", "y")
        assert await until(pilot, lambda: "built-in" in _status(app))
        await _select(table, pilot, "spare")
        await pilot.press("d", "y")
        assert await until(pilot, lambda: _status(app) == "Deleted field spare")
        assert "spare" not in [f.name for f in table.shown]
        assert "spare" not in [f.name for f in await fields.all_in(demo_db)]


async def test_fields_changed_elsewhere_come_in_live(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        table = await _fields_tab(app, pilot)
        table.move_cursor(row=3)
        await fields.add(demo_db, SYSTEM, "account", "Account")
        assert await until(pilot, lambda: table.row_count == 11)
        await fields.edit(demo_db, SYSTEM, "first_name", label="Given name")
        assert await until(pilot, lambda: _row(table, "first_name")[1] == "Given name")
        await fields.delete(demo_db, SYSTEM, "account")
        assert await until(pilot, lambda: table.row_count == 10)
        assert table.cursor_row == 3


async def test_a_hostile_label_is_shown_literally(app_as, demo_db: Database):
    hostile = "[b]Acct[/b] [@click=app.quit]x[/]"
    await fields.add(demo_db, SYSTEM, "account", hostile)
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        table = await _fields_tab(app, pilot)
        assert _row(table, "account")[1] == hostile
        await _select(table, pilot, "account")
        await pilot.press("d")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = str(app.screen.query_one("#confirm-question", Static).render())
        assert hostile in question
        await pilot.press("n")
        assert app.is_running


async def test_the_fields_fit_80x24(app_as, demo_db: Database):
    await settings.update(demo_db, SYSTEM, hipaa_mode=True)
    app = await app_as("dana")
    async with app.run_test(size=SMALL) as pilot:
        table = await _fields_tab(app, pilot)
        assert table.virtual_size.width <= table.scrollable_content_region.width
        form = await _open_form(app, pilot, "e")
        assert form.query_one("#field-form-hint").region.bottom <= SMALL[1]
