"""The On-call sub-tab of the Manager's Notifications section, and the on-call numbers
in the transfer picker (issue #11 item 9).

The real app on the demo database, driven by keys. The clock is Monday
2026-03-02 14:30 UTC: 09:30 in New York, so a New York slot Mon 08:00 to
Mon 18:00 is on call now.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import OptionList, Select, Static, TabbedContent

from console.panes.notify_outcomes import OutcomeTable
from console.panes.oncall import OnCallSection, ScheduleTable
from console.panes.thread import ThreadPane
from console.screens.choice import ChoiceScreen
from console.screens.confirm import ConfirmScreen
from console.screens.oncall_forms import ScheduleForm, SlotForm
from console.widgets.editing import Input
from console.widgets.week_grid import HELD_MARK, WeekGrid
from core.db import Database, open_database
from core.notify import groups, oncall, profiles
from core.notify.profiles import ProfileDraft
from core.people.authz import SYSTEM
from tests.console.conftest import SIZE, choose, replace_text, until

LEE = "+12125550101"
LEE_2 = "+12125550102"
KIM = "+12125550103"


@pytest.fixture
async def people(demo_db: Database) -> None:
    """Two notification profiles and a group of both; no schedule yet."""
    lee = await profiles.add(demo_db, SYSTEM, ProfileDraft("Dr Lee", contact_numbers=(LEE, LEE_2)))
    kim = await profiles.add(demo_db, SYSTEM, ProfileDraft("Dr [b]Kim", contact_numbers=(KIM,)))
    group = await groups.add(demo_db, SYSTEM, "Surgeons")
    await groups.add_member(demo_db, SYSTEM, group.id, lee.id)
    await groups.add_member(demo_db, SYSTEM, group.id, kim.id)


@pytest.fixture
async def nights(demo_db: Database, people: None) -> None:
    """'Nights' in New York: Dr Lee on call Monday 08:00-18:00 (now), Surgeons Monday night."""
    await oncall.add_schedule(demo_db, SYSTEM, "Nights", "America/New_York")
    await oncall.add_slot(demo_db, SYSTEM, "Nights", "mon 08:00", "mon 18:00", profile="Dr Lee")
    await oncall.add_slot(demo_db, SYSTEM, "Nights", "mon 18:00", "tue 08:00", group="Surgeons")


async def open_oncall(app, pilot) -> OnCallSection:  # type: ignore[no-untyped-def]
    await pilot.press("f3")
    await pilot.pause()
    await pilot.press("5")
    assert await until(pilot, lambda: app.query("#oncall-section"))
    tabs = app.query_one("#notify-tabs", TabbedContent)
    for _ in range(6):  # On-call is the last sub-tab: > until it shows
        if tabs.active == "notify-oncall":
            break
        await pilot.press("greater_than_sign")
        await pilot.pause()
    assert await until(pilot, lambda: tabs.active == "notify-oncall")
    section = app.query_one(OnCallSection)
    assert await until(pilot, lambda: app.focused is section.schedules)
    return section


def plain(widget: Static) -> str:
    return str(widget.render())


def grid_cells(grid: WeekGrid) -> dict[tuple[str, str], str]:
    """{(row's start, day): text} of every filled cell."""
    found = {}
    for row in range(grid.row_count):
        cells = grid.get_row_at(row)
        for day, cell in zip(
            ("mon", "tue", "wed", "thu", "fri", "sat", "sun"), cells[1:], strict=True
        ):
            if cell.plain:
                found[(cells[0].plain, day)] = cell.plain
    return found


async def fill(pilot, form, widget_id: str, text: str) -> None:  # type: ignore[no-untyped-def]
    await replace_text(pilot, form.query_one(f"#{widget_id}", Input), text)


async def choose_who(pilot, form: SlotForm, label: str) -> None:  # type: ignore[no-untyped-def]
    """Open the Who list with Enter and pick ``label`` with the arrows, as a person does."""
    who = form.query_one("#slot-who", Select)
    assert await until(pilot, lambda: len(who._options) > 1)  # read from core on mount
    who.focus()
    await pilot.press("enter")
    overlay = form.query_one(OptionList)
    assert await until(pilot, lambda: overlay.has_focus)
    labels = [str(overlay.get_option_at_index(i).prompt) for i in range(overlay.option_count)]
    target = labels.index(label)
    while overlay.highlighted != target:
        await pilot.press("down")
    await pilot.press("enter")
    assert await until(pilot, lambda: form.chosen() is not None)


async def test_a_schedule_and_a_slot_added_through_the_console(
    app_as, demo_db: Database, people: None
):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        section = await open_oncall(app, pilot)
        assert "No on-call schedule yet" in plain(section.query_one("#oncall-now", Static))
        await pilot.press("n")
        assert await until(pilot, lambda: isinstance(app.screen, ScheduleForm))
        form = app.screen
        await fill(pilot, form, "schedule-name", "Nights")
        await fill(pilot, form, "schedule-zone", "Mars/Olympus")
        await pilot.press("ctrl+s")
        error = form.query_one(".form-error", Static)
        # Core's words, in the form, and nothing stored.
        assert await until(pilot, lambda: "is not a time zone" in plain(error))
        assert await demo_db.scalar("SELECT count(*) FROM oncall_schedules") == 0
        await fill(pilot, form, "schedule-zone", "America/New_York")
        await pilot.press("enter")
        assert await until(pilot, lambda: not isinstance(app.screen, ScheduleForm))
        assert await until(pilot, lambda: section.schedules.row_count == 1)
        assert [s.name for s in section.schedules.schedules] == ["Nights"]

        await pilot.press("s")
        assert await until(pilot, lambda: isinstance(app.screen, SlotForm))
        form = app.screen
        # From the grid's cursor: Monday, the whole day (no slots, one band).
        assert form.query_one("#slot-start", Input).value == "mon 00:00"
        await fill(pilot, form, "slot-start", "mon 08:00")
        await fill(pilot, form, "slot-end", "mon 18:00")
        await choose_who(pilot, form, "Dr Lee")
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: not isinstance(app.screen, SlotForm))

        [slot] = await oncall.week(demo_db, SYSTEM, "Nights")
        assert (slot.day, slot.start, slot.end_day, slot.end, slot.who) == (
            "mon",
            "08:00",
            "mon",
            "18:00",
            "Dr Lee",
        )
        grid = section.grid
        assert await until(pilot, lambda: grid_cells(grid) == {("08:00", "mon"): "Dr Lee"})
        now = section.query_one("#oncall-now", Static)
        assert await until(pilot, lambda: f"now: Dr Lee ({LEE}, {LEE_2})" in plain(now))
        assert "next: no other slot" in plain(now)
        assert "Dr Lee" in section.schedules.get_row_at(0)[3].plain


async def test_an_overlapping_slot_is_refused_in_cores_words(
    app_as, demo_db: Database, nights: None
):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        section = await open_oncall(app, pilot)
        assert await until(pilot, lambda: section.grid.row_count == 3)
        await pilot.press("s")
        assert await until(pilot, lambda: isinstance(app.screen, SlotForm))
        form = app.screen
        await fill(pilot, form, "slot-start", "mon 12:00")
        await fill(pilot, form, "slot-end", "mon 20:00")
        await choose_who(pilot, form, "Dr [b]Kim")
        await pilot.press("ctrl+s")
        error = form.query_one(".form-error", Static)
        assert await until(pilot, lambda: "slots of one schedule cannot overlap" in plain(error))
        assert "mon 12:00 to mon 20:00 overlaps slot" in plain(error)
        assert isinstance(app.screen, SlotForm)  # open, with what was typed
        assert form.query_one("#slot-start", Input).value == "mon 12:00"
        assert len(await oncall.week(demo_db, SYSTEM, "Nights")) == 2


async def test_the_week_grid_shows_each_slot_and_enter_edits_one(
    app_as, demo_db: Database, nights: None
):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        section = await open_oncall(app, pilot)
        grid = section.grid
        # A band per edge: 00:00-08:00 (Surgeons' Tuesday morning), 08:00-18:00, 18:00-24:00.
        assert await until(
            pilot,
            lambda: (
                grid_cells(grid)
                == {
                    ("00:00", "tue"): "Surgeons",
                    ("08:00", "mon"): "Dr Lee",
                    ("18:00", "mon"): "Surgeons",
                }
            ),
        )
        # The name is shown literally: "[b]" is text, not bold markup.
        await oncall.add_slot(
            demo_db, SYSTEM, "Nights", "sat 00:00", "sun 00:00", profile="Dr [b]Kim"
        )
        assert await until(pilot, lambda: grid_cells(grid).get(("00:00", "sat")) == "Dr [b]Kim")

        await pilot.press("enter")  # from the schedule list to the grid
        assert await until(pilot, lambda: app.focused is grid)
        await pilot.press("down")  # the 08:00 band, Monday: Dr Lee's slot
        slot_line = section.query_one("#oncall-slot", Static)
        assert await until(pilot, lambda: "mon 08:00 to mon 18:00 · Dr Lee" in plain(slot_line))
        await pilot.press("enter")
        assert await until(pilot, lambda: isinstance(app.screen, SlotForm))
        form = app.screen
        assert form.query_one("#slot-start", Input).value == "mon 08:00"
        assert form.query_one("#slot-end", Input).value == "mon 18:00"
        await fill(pilot, form, "slot-end", "mon 17:00")
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: not isinstance(app.screen, SlotForm))
        lee = next(s for s in await oncall.week(demo_db, SYSTEM, "Nights") if s.start == "08:00")
        assert (lee.end, lee.who) == ("17:00", "Dr Lee")
        assert await until(pilot, lambda: grid_cells(grid).get(("08:00", "mon")) == "Dr Lee")
        assert grid_cells(grid).get(("17:00", "mon")) is None  # the hour it gave up

        # x removes the slot under the cursor, after asking.
        grid.focus()
        grid.move_cursor(row=grid.get_row_index("480"), column=1)
        await pilot.press("x")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        assert await until(pilot, lambda: ("08:00", "mon") not in grid_cells(grid))
        assert len(await oncall.week(demo_db, SYSTEM, "Nights")) == 2


async def test_delete_refused_with_every_link_and_a_link_opens_its_place(
    app_as, demo_db: Database, nights: None
):
    schedule = await oncall.get(demo_db, SYSTEM, "Nights")
    async with demo_db.transaction() as tx:
        # The outcomes' own service is another part of #11: the shared table is the contract.
        for name in ("Urgent", "General Message"):
            await tx.execute(
                "INSERT INTO outcome_recipients (outcome_id, schedule_id)"
                " SELECT id, ? FROM outcomes WHERE name = ?",
                (schedule.id, name),
            )
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        section = await open_oncall(app, pilot)
        assert await until(pilot, lambda: section.schedules.row_count == 1)
        await pilot.press("d")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        assert await until(
            pilot, lambda: isinstance(app.screen, ChoiceScreen) and app.screen.id == "oncall-links"
        )
        links = app.screen.query_one(OptionList)
        shown = [str(links.get_option_at_index(i).prompt) for i in range(links.option_count)]
        assert shown == ["outcome 'General Message'", "outcome 'Urgent'"]
        title = plain(app.screen.query_one("#choice-title", Static))
        assert "on-call schedule 'Nights' is used in 2 places" in title
        assert "take it off those outcomes first" in title
        await choose(pilot, 1)
        assert await until(pilot, lambda: not isinstance(app.screen, ChoiceScreen))
        assert await until(
            pilot,
            lambda: any(
                "Outcome 'Urgent' notifies this schedule" in str(n.message)
                for n in app._notifications
            ),
        )
        # The link opened its place: the Outcomes sub-tab, on Urgent.
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
        assert await oncall.get(demo_db, SYSTEM, "Nights")  # still there
        assert section.schedules.row_count == 1


async def test_another_connection_changes_show_live(app_as, demo_db: Database, nights: None):
    other = await open_database(Path(demo_db.path), demo_db.clock)
    try:
        app = await app_as("dana")
        async with app.run_test(size=SIZE) as pilot:
            section = await open_oncall(app, pilot)
            grid = section.grid
            assert await until(pilot, lambda: grid_cells(grid).get(("08:00", "mon")) == "Dr Lee")
            now = section.query_one("#oncall-now", Static)
            assert f"now: Dr Lee ({LEE}, {LEE_2})" in plain(now)

            await oncall.add_slot(
                other, SYSTEM, "Nights", "wed 09:00", "wed 17:00", group="Surgeons"
            )
            assert await until(pilot, lambda: grid_cells(grid).get(("09:00", "wed")) == "Surgeons")
            assert "3" in section.schedules.get_row_at(0)[2].plain

            # Held elsewhere: Dr Lee's cell is marked and Surgeons stand in (Dr Kim).
            lee = await profiles.by_alias(other, SYSTEM, "Dr Lee")
            await profiles.hold(other, SYSTEM, lee.id)
            assert await until(
                pilot, lambda: grid_cells(grid).get(("08:00", "mon")) == f"{HELD_MARK}Dr Lee"
            )
            assert await until(pilot, lambda: "Dr Lee held → Dr [b]Kim" in plain(now))
            assert f"({KIM}) (of the mon 18:00 slot)" in plain(now)
            assert "(stand-in)" in section.schedules.get_row_at(0)[3].plain

            await oncall.add_schedule(other, SYSTEM, "Days", "Europe/London")
            table = app.query_one(ScheduleTable)
            assert await until(
                pilot, lambda: [s.name for s in table.schedules] == ["Days", "Nights"]
            )
            assert table.schedule().name == "Nights"  # the cursor stayed on its schedule
    finally:
        await other.close()


async def test_the_section_reads_at_80x24(app_as, demo_db: Database, nights: None):
    app = await app_as("dana")
    async with app.run_test(size=(80, 24)) as pilot:
        section = await open_oncall(app, pilot)
        grid = section.grid
        assert await until(pilot, lambda: grid.row_count == 3)
        # Seven days side by side, every band, no scrolling either way.
        assert grid.region.right <= 80
        assert grid.virtual_size.width <= grid.region.width
        assert grid.region.height >= grid.row_count + 1
        assert section.schedules.region.height >= 2
        assert section.query_one("#oncall-now", Static).region.height >= 1


# --- the transfer picker -------------------------------------------------------------


async def open_transfer(app, pilot) -> ChoiceScreen:  # type: ignore[no-untyped-def]
    if app.query_one("#agent-thread", ThreadPane).conversation_id != 1:
        await app.open_conversation(1)  # alice's, in the demo
        thread = app.query_one("#agent-thread", ThreadPane)
        assert await until(pilot, lambda: thread.conversation_id == 1)
    app.query_one("#agent-thread", ThreadPane).messages.focus()
    await pilot.pause()
    await pilot.press("f9")
    assert await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
    return app.screen


def note_of(screen: ChoiceScreen) -> str:
    return plain(screen.query_one("#choice-note Static", Static))


async def test_the_transfer_picker_shows_who_is_on_call_and_their_numbers(
    app_as, demo_db: Database, nights: None
):
    app = await app_as("alice")  # an agent: reads on-call numbers, manages nothing
    async with app.run_test(size=(80, 24)) as pilot:
        picker = await open_transfer(app, pilot)
        note = note_of(picker)
        assert "On call now" in note
        assert "SMS cannot place the call" in note
        assert f"Nights  Dr Lee  {LEE}, {LEE_2}" in note
        # The destinations are still there, and the part fits the screen.
        assert picker.query_one(OptionList).option_count >= 2
        shown = picker.query_one("#choice-note")
        assert shown.region.bottom <= 24
        assert shown.region.right <= 80
        assert shown.region.height >= 2
        await pilot.press("escape")

        lee = await profiles.by_alias(demo_db, SYSTEM, "Dr Lee")
        await profiles.hold(demo_db, SYSTEM, lee.id)
        picker = await open_transfer(app, pilot)
        note = note_of(picker)
        # Core's refusal is the reason shown; the next on-call profile stands in.
        assert (
            "notification profile 'Dr Lee' is held indefinitely (hold my calls):"
            " transfers to a held profile are refused"
        ) in " ".join(note.split())
        assert f"next on call Dr [b]Kim  {KIM}" in note
        assert f"Dr Lee  {LEE}" not in note


async def test_no_schedules_no_on_call_part(app_as, demo_db: Database):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        picker = await open_transfer(app, pilot)
        assert not picker.query("#choice-note")
