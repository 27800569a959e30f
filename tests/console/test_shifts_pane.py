"""The Manager's Alerts section, Shifts sub-tab (A3): the board, the week, the shifts.

The real app on the demo database, driven by keys. The clock is Monday
2026-03-02 14:30 UTC; the account has no time zone setting, so the viewer's
clock is UTC. New York is UTC-5 until 8 March.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import OptionList, Select, Static, TabbedContent

from console.panes.shifts import READ_ONLY, ShiftsTab
from console.screens.confirm import ConfirmScreen
from console.screens.ics_problems import IcsProblems
from console.screens.shift_forms import ImportForm, ShiftForm
from console.widgets.editing import Input
from core.clock import FakeClock
from core.db import Database, open_database
from core.people import agents
from core.people.authz import SYSTEM
from core.permissions import profiles
from core.shifts import shifts
from tests.console.conftest import SIZE, replace_text, until

GOOD_ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:desk@test
SUMMARY:Desk
DTSTART;TZID=Europe/Paris:20260303T090000
DTEND;TZID=Europe/Paris:20260303T120000
RRULE:FREQ=WEEKLY;BYDAY=TU,TH
END:VEVENT
BEGIN:VEVENT
UID:cover@test
SUMMARY:Cover
CATEGORIES:on-call
DTSTART:20260305T180000Z
DTEND:20260306T060000Z
END:VEVENT
END:VCALENDAR
"""

BAD_ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:fine@test
SUMMARY:Fine
DTSTART:20260304T090000Z
DTEND:20260304T170000Z
END:VEVENT
BEGIN:VEVENT
UID:nights@test
SUMMARY:[b]Nights
DTSTART:20260303T180000Z
DTEND:20260304T060000Z
RRULE:FREQ=WEEKLY;COUNT=4
END:VEVENT
BEGIN:VEVENT
SUMMARY:No uid
DTSTART:20260306T090000Z
DTEND:20260306T170000Z
END:VEVENT
END:VCALENDAR
"""


async def rota(db: Database) -> None:
    """Alice on now (UTC), Bob next at 16:00, Dana on call from 10:00 New York (15:00 UTC)."""
    await shifts.add_weekly(db, SYSTEM, "alice", "normal", "mon 08:00 to mon 16:00", "UTC")
    await shifts.add_weekly(db, SYSTEM, "bob", "normal", "mon 16:00 to tue 00:00", "UTC")
    await shifts.add_weekly(
        db, SYSTEM, "dana", "oncall", "mon 10:00 to mon 18:00", "America/New_York"
    )


async def open_shifts(app, pilot) -> ShiftsTab:  # type: ignore[no-untyped-def]
    await pilot.press("f3")
    await pilot.pause()
    await pilot.press("6")
    assert await until(pilot, lambda: app.query("#alerts-tabs"))
    app.query_one("#alerts-tabs", TabbedContent).active = "alerts-shifts"
    assert await until(pilot, lambda: app.query("#shifts-tab"))
    tab = app.query_one(ShiftsTab)
    assert await until(pilot, lambda: app.focused is tab.table)
    return tab


def plain(widget: Static) -> str:
    return str(widget.render())


def board(tab: ShiftsTab) -> list[str]:
    return plain(tab.query_one("#shifts-board", Static)).splitlines()


def rows(tab: ShiftsTab) -> list[tuple[str, ...]]:
    table = tab.table
    return [tuple(c.plain for c in table.get_row_at(i)) for i in range(table.row_count)]


def binding_ids(app) -> set[str]:  # type: ignore[no-untyped-def]
    return {b.binding.id for b in app.screen.active_bindings.values() if b.binding.id}


async def fill(pilot, form, widget_id: str, text: str) -> None:  # type: ignore[no-untyped-def]
    await replace_text(pilot, form.query_one(f"#{widget_id}", Input), text)


async def choose(pilot, form, select_id: str, label: str) -> None:  # type: ignore[no-untyped-def]
    """Open a list with Enter and pick the option whose label holds ``label``, by arrows."""
    select = form.query_one(f"#{select_id}", Select)
    assert await until(pilot, lambda: len(select._options) > 1)  # read from core on mount
    select.focus()
    await pilot.press("enter")
    overlay = select.query_one(OptionList)
    assert await until(pilot, lambda: overlay.has_focus)
    labels = [str(overlay.get_option_at_index(i).prompt) for i in range(overlay.option_count)]
    target = next(i for i, shown in enumerate(labels) if label in shown)
    while overlay.highlighted != target:
        await pilot.press("down" if (overlay.highlighted or 0) < target else "up")
    await pilot.press("enter")
    assert await until(pilot, lambda: not overlay.has_focus)


async def count(db: Database) -> int:
    return int(await db.scalar("SELECT count(*) FROM shifts"))


async def test_the_board_says_who_is_on_and_next_and_follows_the_clock(
    app_as, demo_db: Database, console_clock: FakeClock
):
    await rota(demo_db)
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        tab = await open_shifts(app, pilot)
        assert await until(pilot, lambda: len(board(tab)) == 2)
        normal, oncall = board(tab)
        assert normal == "Normal  now: Alice Moreau until 16:00 · next: Bob Achebe 16:00"
        assert oncall == "On call now: nobody · next: Dana Whitfield 15:00"
        assert [r[:3] for r in rows(tab)] == [
            ("Alice Moreau", "normal", "mon 08:00 → mon 16:00"),
            ("Bob Achebe", "normal", "mon 16:00 → tue 00:00"),
            ("Dana Whitfield", "on call", "mon 10:00 → mon 18:00"),
        ]
        assert rows(tab)[2][3] == "America/New_York"
        # The week on the viewer's clock: Dana's New York shift from 15:00 UTC.
        grid = tab.grid
        assert grid.get_cell("480", "mon").plain == "Alice Moreau"
        assert grid.get_cell("900", "mon").plain == "+1 Alice Moreau"
        assert grid.get_cell("960", "mon").plain == "+1 Bob Achebe"
        grid.move_cursor(row=grid.get_row_index("900"), column=1)
        cell = tab.query_one("#shifts-cell", Static)
        assert await until(pilot, lambda: "Alice Moreau, *Dana Whitfield" in plain(cell))
        assert plain(cell).startswith("mon 15:00 to mon 16:00 (UTC): ")

        # No event: the clock alone moves the board, within its minute.
        console_clock.advance(hours=1)
        assert await until(pilot, lambda: "Dana Whitfield until 23:00" in board(tab)[1])
        console_clock.advance(hours=1)
        assert await until(pilot, lambda: board(tab)[0].startswith("Normal  now: Bob Achebe"))
        assert "until Tue 00:00" in board(tab)[0]
        assert "next: Alice Moreau 2026-03-09 08:00" in board(tab)[0]


async def test_a_weekly_and_a_one_off_shift_added_through_the_form(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        tab = await open_shifts(app, pilot)
        assert "No shift yet: n adds one." in plain(tab.query_one("#shifts-cell", Static))
        await pilot.press("n")
        assert await until(pilot, lambda: isinstance(app.screen, ShiftForm))
        form = app.screen
        # The viewer's zone, to start from.
        assert form.query_one("#shift-zone", Input).value == "UTC"
        await choose(pilot, form, "shift-person", "alice")
        await fill(pilot, form, "shift-span", "mon 18:00 to tue 08:00")
        await fill(pilot, form, "shift-zone", "Europe/Paris")
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: not isinstance(app.screen, ShiftForm))
        assert await until(pilot, lambda: tab.table.row_count == 1)
        assert rows(tab)[0][:4] == (
            "Alice Moreau",
            "normal",
            "mon 18:00 → tue 08:00",
            "Europe/Paris",
        )
        status = plain(tab.query_one("#shifts-status", Static))
        assert "Added Alice Moreau's normal shift weekly mon 18:00 to tue 08:00" in status
        stored = await shifts.list_shifts(demo_db, SYSTEM)
        assert [(s.username, s.time_zone, s.source) for s in stored] == [
            ("alice", "Europe/Paris", "console")
        ]

        await pilot.press("n")
        assert await until(pilot, lambda: isinstance(app.screen, ShiftForm))
        form = app.screen
        await choose(pilot, form, "shift-person", "bob")
        await choose(pilot, form, "shift-kind", "on call")
        await fill(pilot, form, "shift-from", "2026-03-03T18:00")
        await fill(pilot, form, "shift-to", "2026-03-04T08:00")
        await pilot.press("enter")
        assert await until(pilot, lambda: tab.table.row_count == 2)
        assert ("Bob Achebe", "on call", "03-03 18:00 → 03-04 08:00", "UTC") in [
            r[:4] for r in rows(tab)
        ]
        assert await until(pilot, lambda: "next: Bob Achebe Tue 18:00" in board(tab)[1])


async def test_an_overlap_is_refused_under_the_form_with_what_was_typed_kept(
    app_as, demo_db: Database
):
    await rota(demo_db)
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await open_shifts(app, pilot)
        await pilot.press("n")
        assert await until(pilot, lambda: isinstance(app.screen, ShiftForm))
        form = app.screen
        await choose(pilot, form, "shift-person", "alice")
        await fill(pilot, form, "shift-span", "mon 12:00 to mon 13:00")
        await pilot.press("ctrl+s")
        error = form.query_one(".form-error", Static)
        assert await until(pilot, lambda: "cannot overlap" in plain(error))
        assert "overlaps alice's shift" in plain(error)
        assert app.screen is form
        assert form.query_one("#shift-span", Input).value == "mon 12:00 to mon 13:00"
        assert await count(demo_db) == 3

        # A span and one-off times together: which was meant is asked, nothing saved.
        await fill(pilot, form, "shift-from", "2026-03-03T18:00")
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: "not both" in plain(error))
        await pilot.press("escape")
        assert await until(pilot, lambda: not isinstance(app.screen, ShiftForm))
        assert await count(demo_db) == 3


async def test_a_shift_removed_after_asking(app_as, demo_db: Database):
    await rota(demo_db)
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        tab = await open_shifts(app, pilot)
        assert await until(pilot, lambda: tab.table.row_count == 3)
        await pilot.press("down")
        await pilot.press("d")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = plain(app.screen.query_one("#confirm-question", Static))
        assert "Remove Bob Achebe's normal shift weekly mon 16:00 to tue 00:00 (UTC)?" in question
        await pilot.press("n")  # no: nothing happens
        assert await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert await count(demo_db) == 3
        await pilot.press("d")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        assert await until(pilot, lambda: tab.table.row_count == 2)
        assert [r[0] for r in rows(tab)] == ["Alice Moreau", "Dana Whitfield"]
        assert [s.username for s in await shifts.list_shifts(demo_db, SYSTEM)] == [
            "alice",
            "dana",
        ]
        assert "Removed Bob Achebe's" in plain(tab.query_one("#shifts-status", Static))


async def test_an_ics_file_imported_all_or_nothing(app_as, demo_db: Database, tmp_path: Path):
    good, bad = tmp_path / "carol.ics", tmp_path / "bad.ics"
    good.write_text(GOOD_ICS)
    bad.write_text(BAD_ICS)
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        tab = await open_shifts(app, pilot)
        await pilot.press("i")
        assert await until(pilot, lambda: isinstance(app.screen, ImportForm))
        form = app.screen
        await fill(pilot, form, "shift-path", str(bad))
        await choose(pilot, form, "shift-person", "carol")
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: isinstance(app.screen, IcsProblems))
        listed = plain(app.screen.query_one("#ics-problem-list", Static))
        assert "Nothing was saved: 2 problems." in listed
        assert "line 10 (UID nights@test, [b]Nights)" in listed  # the file's text, literally
        assert "COUNT, not supported (a weekly shift has no end)" in listed
        assert "line 17 (no UID, No uid)" in listed
        assert "Fine" not in listed
        assert await count(demo_db) == 0
        await pilot.press("escape")
        assert await until(pilot, lambda: app.screen is form)
        assert form.query_one("#shift-path", Input).value == str(bad)
        assert "Nothing imported: 2 problems" in plain(form.query_one(".form-error", Static))

        await fill(pilot, form, "shift-path", str(tmp_path / "missing.ics"))
        await pilot.press("ctrl+s")
        assert await until(
            pilot, lambda: "No such file" in plain(form.query_one(".form-error", Static))
        )

        await fill(pilot, form, "shift-path", str(good))
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: not isinstance(app.screen, ImportForm))
        assert await until(pilot, lambda: tab.table.row_count == 3)
        assert "Imported 3 shifts" in plain(tab.query_one("#shifts-status", Static))
        assert sorted((r[1], r[2], r[3], r[4]) for r in rows(tab)) == [
            ("normal", "thu 09:00 → thu 12:00", "Europe/Paris", "ics"),
            ("normal", "tue 09:00 → tue 12:00", "Europe/Paris", "ics"),
            ("on call", "03-05 18:00 → 03-06 06:00", "UTC", "ics"),
        ]


async def test_without_manage_users_the_shifts_show_and_the_keys_do_not(app_as, demo_db: Database):
    await rota(demo_db)
    # Supervision shows the Manager tab; the Agent profile cannot manage users.
    await profiles.edit(demo_db, SYSTEM, "Agent", supervision=True)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        tab = await open_shifts(app, pilot)
        assert await until(pilot, lambda: tab.table.row_count == 3)
        assert plain(tab.query_one("#shifts-status", Static)) == READ_ONLY
        ids = binding_ids(app)
        assert not ids & {"shifts.add", "shifts.remove", "shifts.import"}
        await pilot.press("n", "d", "i")
        await pilot.pause()
        assert isinstance(app.screen.query_one("#shifts-tab"), ShiftsTab)
        assert await count(demo_db) == 3

        # Given the right meanwhile: the keys come, without reopening anything.
        await profiles.edit(demo_db, SYSTEM, "Agent", manage_users=True)
        assert await until(pilot, lambda: "shifts.add" in binding_ids(app))
        status = tab.query_one("#shifts-status", Static)
        assert await until(pilot, lambda: plain(status).startswith("n add"))

    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await open_shifts(app, pilot)
        assert {"shifts.add", "shifts.remove", "shifts.import"} <= binding_ids(app)


async def test_changes_elsewhere_show_live_and_names_literally(app_as, demo_db: Database):
    other = await open_database(Path(demo_db.path), demo_db.clock)
    try:
        app = await app_as("dana")
        async with app.run_test(size=SIZE) as pilot:
            tab = await open_shifts(app, pilot)
            await agents.add(other, SYSTEM, "eve", "[red]Eve[/red]")
            await shifts.add_weekly(other, SYSTEM, "eve", "normal", "mon 14:00 to mon 15:00")
            assert await until(pilot, lambda: tab.table.row_count == 1)
            assert rows(tab)[0][0] == "[red]Eve[/red]"
            assert await until(pilot, lambda: "[red]Eve[/red] until 15:00" in board(tab)[0])
            await agents.set_active(other, SYSTEM, "eve", False)
            # Deactivated: off the board, the shift itself stays listed.
            assert await until(pilot, lambda: board(tab)[0] == "Normal  now: nobody")
            assert tab.table.row_count == 1
    finally:
        await other.close()


async def test_the_sub_tab_and_its_form_read_at_80x24(app_as, demo_db: Database):
    await rota(demo_db)
    app = await app_as("dana")
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_shifts(app, pilot)
        assert await until(pilot, lambda: tab.table.row_count == 3)
        table, grid = tab.table, tab.grid
        assert table.region.right <= 80
        assert table.virtual_size.width <= table.region.width
        assert grid.virtual_size.width <= grid.region.width
        assert table.region.height >= 4  # the header and three shifts
        assert grid.region.height >= 3
        assert tab.query_one("#shifts-board", Static).region.height == 2
        assert tab.query_one("#shifts-cell", Static).region.bottom <= 22
        await pilot.press("n")
        assert await until(pilot, lambda: isinstance(app.screen, ShiftForm))
        save = app.screen.query_one("#form-save")
        assert await until(pilot, lambda: save.region.bottom <= 24 and save.region.height > 0)
