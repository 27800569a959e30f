"""Manager › 5 Notify › Outcomes (issue 11 item 9): the outcomes and who each notifies.

The real app on the demo database, driven by keys; each test checks the
screen and the database. Core decides; its refusals are shown as it words them.
"""

from __future__ import annotations

from textual.widgets import Select, Static, TabbedContent

from console.panes.notify_outcomes import OutcomeTable
from console.screens.outcome_form import OutcomeForm
from console.screens.outcome_recipients import OutcomeRecipients, RecipientTable
from core.db import Database
from core.notify import groups, oncall, outcomes, profiles
from core.notify.profiles import ProfileDraft
from core.people.authz import SYSTEM
from tests.console.conftest import SIZE, until

SMALL = (80, 24)
HOSTILE = "[b]Bold[/b] [@click=app.quit]quit[/]"


async def _outcomes_tab(app, pilot) -> OutcomeTable:
    await pilot.press("f3")
    await pilot.pause()
    await pilot.press("5")
    assert await until(
        pilot,
        lambda: app.query_one("#manager-sections", TabbedContent).active == "manager-notifications",
    )
    app.query_one("#notify-tabs", TabbedContent).active = "notify-outcomes"
    table = app.query_one(OutcomeTable)
    assert await until(pilot, lambda: table.row_count > 0)
    table.focus()
    await pilot.pause()
    return table


def _rows(table: OutcomeTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(r)] for r in range(table.row_count)]


def _row(table: OutcomeTable, name: str) -> list[str]:
    return next(r for r in _rows(table) if r[0] == name)


def _status(app) -> str:
    return str(app.query_one("#outcome-status", Static).render())


async def _select(table, pilot, key) -> None:
    table.select(key)
    await pilot.pause()


async def _open_recipients(app, pilot, table: OutcomeTable, name: str) -> OutcomeRecipients:
    outcome = await outcomes.by_name_in(app.context.db, name)
    await _select(table, pilot, outcome.id)
    await pilot.press("enter")
    assert await until(pilot, lambda: isinstance(app.screen, OutcomeRecipients))
    screen = app.screen
    assert await until(pilot, lambda: screen.query_one(RecipientTable).row_count > 0)
    return screen


async def _names(db: Database, outcome: str) -> list[str]:
    return [r.name for r in await outcomes.recipients(db, SYSTEM, outcome)]


async def test_the_list_shows_each_outcome_its_kind_and_recipients(app_as, demo_db: Database):
    await profiles.add(demo_db, SYSTEM, ProfileDraft("Dr Hale"))
    await outcomes.switch(demo_db, SYSTEM, "Urgent", "Dr Hale")
    await outcomes.archive(demo_db, SYSTEM, "Prank Call")
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        table = await _outcomes_tab(app, pilot)
        assert _rows(table) == [
            ["General Message", "message", "0/10", ""],
            ["Urgent", "message", "1/10", ""],
            ["Wrong Number", "non-message", "0/10", ""],
            ["Prank Call", "non-message", "0/10", "archived"],
            ["No Caller", "non-message", "0/10", ""],
        ]


async def test_adding_an_outcome_with_its_kind(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        table = await _outcomes_tab(app, pilot)
        await pilot.press("n")
        assert await until(pilot, lambda: isinstance(app.screen, OutcomeForm))
        form = app.screen
        await pilot.press(*"Callback")
        form.query_one("#outcome-kind", Select).value = "non_message"
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: not isinstance(app.screen, OutcomeForm))
        added = await outcomes.by_name_in(demo_db, "Callback")
        assert added.kind == "non_message"
        assert await until(
            pilot, lambda: _rows(table)[-1] == ["Callback", "non-message", "0/10", ""]
        )
        # The new row is selected and the line says what was done.
        assert table.selected().outcome.id == added.id
        assert _status(app) == "Saved outcome Callback"


async def test_a_taken_name_is_refused_in_the_form_as_core_words_it(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await _outcomes_tab(app, pilot)
        await pilot.press("n", *"urgent", "enter")
        await pilot.pause()
        await app.workers.wait_for_complete()
        form = app.screen
        assert isinstance(form, OutcomeForm)
        error = str(form.query_one("#outcome-form-error", Static).render())
        assert error == "an outcome named urgent exists already"
        assert len(await outcomes.list_outcomes(demo_db, SYSTEM, archived=True)) == 5


async def test_renaming_and_archiving(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        table = await _outcomes_tab(app, pilot)
        wrong = await outcomes.by_name_in(demo_db, "Wrong Number")
        await _select(table, pilot, wrong.id)
        await pilot.press("r")
        assert await until(pilot, lambda: isinstance(app.screen, OutcomeForm))
        await pilot.press("end", *["backspace"] * 6, *"Line", "enter")
        assert await until(pilot, lambda: _row(table, "Wrong Line")[1] == "non-message")
        await pilot.press("a")
        assert await until(pilot, lambda: _row(table, "Wrong Line")[3] == "archived")
        assert (await outcomes.by_name_in(demo_db, "Wrong Line")).archived
        assert _status(app) == "Archived outcome Wrong Line"
        await pilot.press("a")
        assert await until(pilot, lambda: _row(table, "Wrong Line")[3] == "")
        assert not (await outcomes.by_name_in(demo_db, "Wrong Line")).archived


async def test_switching_a_profile_on_for_general_message(app_as, demo_db: Database):
    for alias in ("Dr Ames", "Dr Hale"):
        await profiles.add(demo_db, SYSTEM, ProfileDraft(alias))
    await groups.add(demo_db, SYSTEM, "Nurses")
    await oncall.add_schedule(demo_db, SYSTEM, "Nights", "America/New_York")
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        table = await _outcomes_tab(app, pilot)
        screen = await _open_recipients(app, pilot, table, "General Message")
        recipients = screen.query_one(RecipientTable)
        assert [[str(c) for c in recipients.get_row_at(r)] for r in range(4)] == [
            ["off", "profile", "Dr Ames"],
            ["off", "profile", "Dr Hale"],
            ["off", "group", "Nurses"],
            ["off", "on call", "Nights"],
        ]
        recipients.move_cursor(row=1)
        await pilot.press("space")
        assert await until(pilot, lambda: str(recipients.get_row_at(1)[0]) == "on")
        assert await _names(demo_db, "General Message") == ["Dr Hale"]
        # Groups and schedules are added the same way; Enter works as space does.
        recipients.move_cursor(row=3)
        await pilot.press("enter")
        assert await until(pilot, lambda: str(recipients.get_row_at(3)[0]) == "on")
        assert await _names(demo_db, "General Message") == ["Dr Hale", "Nights"]
        assert "2/10" in str(screen.query_one("#recipients-title", Static).render())
        # And switched off again.
        await pilot.press("space")
        assert await until(pilot, lambda: str(recipients.get_row_at(3)[0]) == "off")
        assert await _names(demo_db, "General Message") == ["Dr Hale"]
        await pilot.press("escape")
        assert await until(pilot, lambda: _row(table, "General Message")[2] == "1/10")


async def test_the_eleventh_recipient_is_refused_as_core_words_it(app_as, demo_db: Database):
    for n in range(11):
        await profiles.add(demo_db, SYSTEM, ProfileDraft(f"Doctor {n:02}"))
        if n < 10:
            await outcomes.switch(demo_db, SYSTEM, "Urgent", f"Doctor {n:02}")
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        table = await _outcomes_tab(app, pilot)
        assert _row(table, "Urgent")[2] == "10/10"
        screen = await _open_recipients(app, pilot, table, "Urgent")
        recipients = screen.query_one(RecipientTable)
        recipients.move_cursor(row=10)
        await pilot.press("space")
        assert await until(pilot, lambda: screen.error)
        assert screen.error == (
            "outcome Urgent notifies at most 10 recipients"
            " (a group or an on-call schedule counts as one); remove one first"
        )
        assert str(recipients.get_row_at(10)[0]) == "off"
        assert len(await _names(demo_db, "Urgent")) == 10
        # Room made: the refusal goes and the switch works.
        recipients.move_cursor(row=0)
        await pilot.press("space")
        assert await until(pilot, lambda: str(recipients.get_row_at(0)[0]) == "off")
        assert screen.error == ""
        recipients.move_cursor(row=10)
        await pilot.press("space")
        assert await until(pilot, lambda: str(recipients.get_row_at(10)[0]) == "on")
        assert "Doctor 10" in await _names(demo_db, "Urgent")


async def test_changes_made_elsewhere_come_in_live(app_as, demo_db: Database):
    await profiles.add(demo_db, SYSTEM, ProfileDraft("Dr Hale"))
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        table = await _outcomes_tab(app, pilot)
        table.move_cursor(row=2)
        await outcomes.add(demo_db, SYSTEM, "Callback", "message")
        assert await until(pilot, lambda: _rows(table)[-1][0] == "Callback")
        await outcomes.switch(demo_db, SYSTEM, "Urgent", "Dr Hale")
        assert await until(pilot, lambda: _row(table, "Urgent")[2] == "1/10")
        # Updated in place: the cursor stayed on its row.
        assert table.cursor_row == 2
        screen = await _open_recipients(app, pilot, table, "Urgent")
        recipients = screen.query_one(RecipientTable)
        await profiles.add(demo_db, SYSTEM, ProfileDraft("Dr Ames"))
        assert await until(pilot, lambda: recipients.row_count == 2)
        assert [str(c) for c in recipients.get_row_at(0)] == ["off", "profile", "Dr Ames"]
        await outcomes.switch(demo_db, SYSTEM, "Urgent", "Dr Ames")
        assert await until(pilot, lambda: str(recipients.get_row_at(0)[0]) == "on")
        await outcomes.rename(demo_db, SYSTEM, "Urgent", "Very urgent")
        title = screen.query_one("#recipients-title", Static)
        assert await until(pilot, lambda: "Who Very urgent notifies: 2/10" in str(title.render()))


async def test_hostile_names_are_shown_literally(app_as, demo_db: Database):
    await outcomes.add(demo_db, SYSTEM, HOSTILE, "message")
    await profiles.add(demo_db, SYSTEM, ProfileDraft("[red]Dr[/red] [@click=app.quit]x[/]"))
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        table = await _outcomes_tab(app, pilot)
        assert _rows(table)[-1][0] == HOSTILE
        screen = await _open_recipients(app, pilot, table, HOSTILE)
        title = str(screen.query_one("#recipients-title", Static).render())
        assert title.startswith(f"Who {HOSTILE} notifies")
        row = [str(c) for c in screen.query_one(RecipientTable).get_row_at(0)]
        assert row == ["off", "profile", "[red]Dr[/red] [@click=app.quit]x[/]"]
        # Switched by its name as stored: the markup is part of the alias.
        await pilot.press("space")
        assert await until(pilot, lambda: screen.query_one(RecipientTable).shown[0].on)
        assert app.is_running


async def test_the_outcomes_fit_80x24(app_as, demo_db: Database):
    await profiles.add(demo_db, SYSTEM, ProfileDraft("Dr Hale"))
    app = await app_as("dana")
    async with app.run_test(size=SMALL) as pilot:
        table = await _outcomes_tab(app, pilot)
        # Every column is on screen: nothing scrolls sideways.
        assert table.virtual_size.width <= table.scrollable_content_region.width
        assert table.row_count == 5
        assert table.region.height >= 6
        screen = await _open_recipients(app, pilot, table, "Urgent")
        recipients = screen.query_one(RecipientTable)
        assert recipients.virtual_size.width <= recipients.scrollable_content_region.width


async def test_the_manager_tab_still_opens_at_its_first_section(app_as):
    # The sub-tabs mount behind section 1: their first activation must not pull
    # the Manager tab, or the focus, to Notifications.
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await app.workers.wait_for_complete()
        await pilot.pause()
        sections = app.query_one("#manager-sections", TabbedContent)
        assert sections.active == "manager-conversations"
        assert app.focused is not None
        assert app.focused.id == "manager-conversation-list"
