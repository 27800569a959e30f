"""The contacts pane, driven like a person would: F2, type, space, e, s."""

from __future__ import annotations

from textual.widgets import Select, Static, TabbedContent

from console.panes.contacts import PAGE, WINDOW, ContactsPane, ContactTable
from console.screens.confirm import ConfirmScreen
from console.screens.contact_form import ContactForm, PhoneRow
from console.screens.contact_import import ContactImportForm
from console.screens.csv_problems import ProblemsScreen
from console.widgets.editing import Input
from core.db import Database
from core.people import agents, contacts
from core.people.authz import SYSTEM
from core.people.contacts import Contact, ContactDraft, NewContact, Phone
from core.sms import sending
from tests.console.conftest import PATIENCE, SIZE

# Area code 646 is not used by the demo data; 555-01XX is reserved for fiction.
QUILL_MOBILE = "+16465550101"
QUILLON_MOBILE = "+16465550102"


async def _add(db: Database, name: str, phone: str | None = None, **kw) -> Contact:  # type: ignore[no-untyped-def]
    phones = [(phone, "mobile")] if phone else []
    return await contacts.create(db, SYSTEM, ContactDraft(name=name, phones=phones, **kw))


async def _settle(pilot, until=lambda: True, rounds: int = PATIENCE) -> None:  # type: ignore[no-untyped-def]
    for _ in range(rounds):
        await pilot.pause(0.05)
        if until():
            return


def _table(app) -> ContactTable:  # type: ignore[no-untyped-def]
    return app.query_one(ContactTable)


def _shown_ids(app) -> list[int]:  # type: ignore[no-untyped-def]
    return [c.id for c in _table(app).window]


async def _search(pilot, app, text: str, expect) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("f2")
    await pilot.pause()
    await pilot.press("slash")
    assert isinstance(app.focused, Input)
    await pilot.press(*text)
    await _settle(pilot, lambda: _shown_ids(app) == expect)
    await pilot.press("enter")  # enter in the search box moves to the table
    assert isinstance(app.focused, ContactTable)


async def _edit(pilot, app, contact_id: int) -> ContactForm:  # type: ignore[no-untyped-def]
    """Find Quillfeather, then open its edit form (e)."""
    await _search(pilot, app, "quillfeather", [contact_id])
    await pilot.press("e")
    await _settle(pilot, lambda: isinstance(app.screen, ContactForm))
    form = app.screen
    assert isinstance(form, ContactForm)
    return form


async def test_typing_a_search_shows_only_matches(app_as, demo_db: Database) -> None:
    quill = await _add(demo_db, "Xavier Quillfeather", QUILL_MOBILE, job_title="Scribe")
    quillon = await _add(demo_db, "Xena Quillon", QUILLON_MOBILE)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await _search(pilot, app, "quill", [quill.id, quillon.id])
        table = _table(app)
        assert str(table.get_cell(str(quill.id), "name")) == "Xavier Quillfeather"
        assert str(table.get_cell(str(quill.id), "phones")) == "+1 646-555-0101"
        assert str(table.get_cell(str(quill.id), "job")) == "Scribe"

        await pilot.press("slash", "end", *" quillf")  # focus selects all; end keeps it
        await _settle(pilot, lambda: _shown_ids(app) == [quill.id])
        assert _shown_ids(app) == [quill.id]

        # Keys typed in the search box stay text: "s", "n", "e" and space did nothing else.
        assert app.query_one(TabbedContent).active == "contacts"
        assert app.query_one("#contact-search", Input).value == "quill quillf"


async def test_space_toggles_ready_with_a_reason(app_as, demo_db: Database) -> None:
    quill = await _add(demo_db, "Xavier Quillfeather", QUILL_MOBILE)
    assert quill.ready
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await _search(pilot, app, "quillfeather", [quill.id])
        await pilot.press("space")
        await pilot.pause()

        assert not (await contacts.get(demo_db, quill.id)).ready
        (change,) = await contacts.ready_history(demo_db, quill.id)
        assert change.reason == "changed by Alice Moreau in the console"
        assert str(_table(app).get_cell(str(quill.id), "ready")) == "✗"

        await pilot.press("space")
        await pilot.pause()
        assert (await contacts.get(demo_db, quill.id)).ready
        assert str(_table(app).get_cell(str(quill.id), "ready")) == "✓"


async def test_an_sms_sent_elsewhere_clears_ready_live(app_as, demo_db: Database) -> None:
    quill = await _add(demo_db, "Xavier Quillfeather", QUILL_MOBILE)
    bob = (await agents.by_username(demo_db, "bob")).as_actor()
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        notes: list[str] = []
        real_notify = app.notify

        def spy(message, *args, **kwargs):  # type: ignore[no-untyped-def]
            notes.append(str(message))
            return real_notify(message, *args, **kwargs)

        app.notify = spy  # type: ignore[method-assign]
        await _search(pilot, app, "quillfeather", [quill.id])

        await sending.send(demo_db, bob, QUILL_MOBILE, "Your parcel is here")

        cell = lambda: str(_table(app).get_cell(str(quill.id), "ready"))  # noqa: E731
        await _settle(pilot, lambda: cell() == "✗" and notes)
        assert cell() == "✗"
        assert "Xavier Quillfeather: Ready → not ready (SMS sent by Bob Achebe)" in notes


async def test_edit_form_saves_a_new_name_and_mobile(app_as, demo_db: Database) -> None:
    quill = await _add(demo_db, "Xavier Quillfeather", QUILL_MOBILE)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        form = await _edit(pilot, app, quill.id)

        form.query_one("#name", Input).value = "Xavier Q. Feather"
        await pilot.press("ctrl+n")  # add a phone row, focused on its number
        await pilot.pause()
        await pilot.press(*"6465550109")
        rows = list(form.query(PhoneRow))
        assert len(rows) == 2
        assert rows[1].query_one(Select).value == "mobile"
        await pilot.press("ctrl+s")
        await _settle(pilot, lambda: not isinstance(app.screen, ContactForm))

        saved = await contacts.get(demo_db, quill.id)
        assert saved.name == "Xavier Q. Feather"
        assert saved.phones == (
            Phone(QUILL_MOBILE, "mobile"),
            Phone("+16465550109", "mobile"),
        )
        assert str(_table(app).get_cell(str(quill.id), "name")) == "Xavier Q. Feather"


async def test_an_invalid_phone_keeps_the_form_open(app_as, demo_db: Database) -> None:
    quill = await _add(demo_db, "Xavier Quillfeather", QUILL_MOBILE)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await _search(pilot, app, "quillfeather", [quill.id])
        await pilot.press("enter")  # enter on the table edits too
        await _settle(pilot, lambda: isinstance(app.screen, ContactForm))
        form = app.screen
        form.query_one("#name", Input).value = "Changed"
        await pilot.press("ctrl+n")
        await pilot.pause()
        await pilot.press(*"12")
        await pilot.press("ctrl+s")
        await pilot.pause()

        assert app.screen is form
        error = str(form.query_one("#form-error", Static).render())
        assert "phone 2" in error
        assert await contacts.get(demo_db, quill.id) == quill

        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ContactForm)
        assert await contacts.get(demo_db, quill.id) == quill


async def test_s_starts_a_conversation(app_as, demo_db: Database, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    quill = await _add(demo_db, "Xavier Quillfeather", QUILL_MOBILE)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        called: list[int] = []
        real = app.start_conversation

        async def spy(contact_id: int) -> None:
            called.append(contact_id)
            await real(contact_id)

        monkeypatch.setattr(app, "start_conversation", spy)
        await _search(pilot, app, "quillfeather", [quill.id])
        await pilot.press("s")
        tabs = app.query_one("#main-tabs", TabbedContent)
        await _settle(pilot, lambda: bool(called) and tabs.active == "conversations")
        assert called == [quill.id]
        assert tabs.active == "conversations"


async def test_paging_loads_more_at_the_end_and_never_twice(app_as, demo_db: Database) -> None:
    news = [
        NewContact(f"Paged Person {i:03d}", "", "", True, (), {"n": str(i)}) for i in range(200)
    ]
    async with demo_db.transaction() as tx:
        await contacts.create_many_in(tx, news)
    everyone = [r["id"] for r in await demo_db.fetchall("SELECT id FROM contacts ORDER BY id")]
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        table = _table(app)
        await _settle(pilot, lambda: table.row_count == PAGE)
        assert app.focused is table
        seen: list[int] = list(_shown_ids(app))

        # End goes to the last row held, which loads the next page.
        await pilot.press("end")
        await _settle(pilot, lambda: table.row_count == 2 * PAGE)
        assert _shown_ids(app) == everyone[: 2 * PAGE]

        # Then walk down a screen at a time (pgdn) to the very end.
        for _ in range(3 * len(everyone)):
            before = (_shown_ids(app), table.cursor_row)
            await pilot.press("pagedown")
            await _settle(
                pilot, lambda b=before: (_shown_ids(app), table.cursor_row) != b, rounds=4
            )
            ids = _shown_ids(app)
            assert len(ids) == len(set(ids)) <= WINDOW
            assert ids == sorted(ids)
            seen += [i for i in ids if i > seen[-1]]
            if (ids, table.cursor_row) == before:
                break
        assert seen == everyone  # every contact once, in order
        assert table.row_count <= WINDOW
        assert table.selected().id == everyone[-1]

        # And back up: the window slides back by keyset, one page at a time.
        first_held = _shown_ids(app)[0]
        await pilot.press("home")
        await _settle(pilot, lambda: _shown_ids(app)[0] < first_held)
        ids = _shown_ids(app)
        assert ids[0] < first_held
        assert ids == sorted(ids)
        assert len(ids) == len(set(ids)) <= WINDOW
        assert table.selected().id == first_held  # the cursor stayed on its contact


async def test_contact_text_is_shown_literally(app_as, demo_db: Database) -> None:
    hostile = "[bold]x[/] [@click=app.quit]y"
    evil = await _add(demo_db, hostile, QUILL_MOBILE, job_title="[red]boss", email="")
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await _search(pilot, app, "click quit", [evil.id])
        table = _table(app)
        assert str(table.get_cell(str(evil.id), "name")) == hostile
        assert str(table.get_cell(str(evil.id), "job")) == "[red]boss"
        assert app.is_running
        pane = app.query_one(ContactsPane)
        assert "click quit" in str(pane.query_one("#contacts-status", Static).render())


async def test_at_80x24_the_numbers_are_in_the_list_and_all_in_the_form(
    app_as, demo_db: Database
) -> None:
    numbers = [f"+1646555010{i}" for i in range(1, 6)]
    many = await contacts.create(
        demo_db,
        SYSTEM,
        ContactDraft(
            name="Xavier Quillfeather",
            job_title="Scribe",
            email="xavier@example.com",
            phones=[
                (number, "mobile" if i % 2 == 0 else "landline") for i, number in enumerate(numbers)
            ],
            custom={"branch": "north", "since": "2019"},
        ),
    )
    app = await app_as("alice")
    async with app.run_test(size=(80, 24)) as pilot:
        await _search(pilot, app, "quillfeather", [many.id])
        shown = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
        # Numbers come before job title and email; only a number that cannot be texted
        # says its kind, so two fit in 80 columns.
        assert "+1 646-555-0101, +1 646-555-0102 (landline)" in shown
        await pilot.press("e")
        await _settle(pilot, lambda: isinstance(app.screen, ContactForm))
        await pilot.pause()
        shown = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
        for number in numbers:
            assert number in shown, f"{number} is not visible in the form"
        assert "branch=north" in shown


async def test_the_palette_in_the_contact_form_offers_the_form_only(
    app_as, demo_db: Database
) -> None:
    quill = await _add(demo_db, "Xavier Quillfeather", QUILL_MOBILE)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await _edit(pilot, app, quill.id)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert len(titles) == len(set(titles)), titles
        assert {"Save", "Add phone", "Cancel"} <= set(titles)
        # The tabs and the list behind the dialog are not reachable from it.
        assert not {"Conversations", "Contacts", "Ready", "Take"} & set(titles)


async def test_a_csv_is_imported_from_the_contacts_tab_and_its_bad_rows_listed(
    app_as, demo_db: Database, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "people.csv"
    source.write_text(
        f"name,mobile,region\nXavier Quillfeather,{QUILL_MOBILE},north\n"
        "Bad Row,not-a-phone,south\nEve \x1b[31mRed,,west\n",
        encoding="utf-8",
    )
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        _table(app).focus()
        # A file that is not there: said under the form, which stays with the path.
        await pilot.press("i")
        await _settle(pilot, lambda: isinstance(app.screen, ContactImportForm))
        form = app.screen
        missing = str(tmp_path / "missing.csv")
        form.query_one("#import-path", Input).value = missing
        await pilot.press("ctrl+s")
        await _settle(
            pilot, lambda: "cannot read" in str(form.query_one(".form-error", Static).render())
        )
        assert app.screen is form
        assert form.query_one("#import-path", Input).value == missing

        form.query_one("#import-path", Input).value = str(source)
        await pilot.press("ctrl+s")
        await _settle(pilot, lambda: isinstance(app.screen, ProblemsScreen))
        shown = str(app.screen.query_one("#problems-list", Static).render())
        assert "row 3, column mobile: " in shown
        assert "row 4, column name: name holds a control character (U+001B)" in shown
        assert "\x1b" not in shown
        imported = await contacts.find_by_phone(demo_db, QUILL_MOBILE)
        assert imported is not None
        assert imported.name == "Xavier Quillfeather"
        assert imported.custom == {"region": "north"}
        await pilot.press("escape")
        await _settle(pilot, lambda: not isinstance(app.screen, ProblemsScreen))
        await _search(pilot, app, "quillfeather", [imported.id])
        assert _shown_ids(app) == [imported.id]


async def test_an_agent_without_the_right_is_not_offered_the_import(
    app_as, demo_db: Database
) -> None:
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        _table(app).focus()
        await pilot.press("i")
        await pilot.pause()
        assert not isinstance(app.screen, ContactImportForm)


async def test_a_contact_is_deleted_after_asking_and_leaves_the_list(
    app_as, demo_db: Database
) -> None:
    quill = await _add(demo_db, "Xavier Quillfeather", QUILL_MOBILE)
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await _search(pilot, app, "quillfeather", [quill.id])
        await pilot.press("delete")
        await _settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")  # No keeps the contact
        await _settle(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert await contacts.get(demo_db, quill.id) == quill
        await pilot.press("delete")
        await _settle(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await _settle(pilot, lambda: _shown_ids(app) == [])
        assert _shown_ids(app) == []
        assert await contacts.find_by_phone(demo_db, QUILL_MOBILE) is None


async def test_an_agent_is_not_offered_deleting_a_contact(app_as, demo_db: Database) -> None:
    quill = await _add(demo_db, "Xavier Quillfeather", QUILL_MOBILE)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await _search(pilot, app, "quillfeather", [quill.id])
        await pilot.press("delete")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert await contacts.get(demo_db, quill.id) == quill


async def test_a_name_saved_before_the_rule_is_drawn_visible_and_its_save_refused(
    app_as, demo_db: Database
) -> None:
    quill = await _add(demo_db, "Xavier Quillfeather", QUILL_MOBILE)
    # Saved before contacts refused control characters (a migration keeps such values).
    async with demo_db.transaction() as tx:
        await tx.execute(
            "UPDATE contacts SET name = ? WHERE id = ?", ("Xavier\x1b[31m Quillfeather", quill.id)
        )
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        form = await _edit(pilot, app, quill.id)
        name = form.query_one("#name", Input)
        drawn = "".join(s.text for s in name.render_line(0))
        assert "Xavier␛[31m Quillfeather" in drawn
        assert "\x1b" not in drawn
        assert name.value == "Xavier\x1b[31m Quillfeather"

        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is form
        error = str(form.query_one("#form-error", Static).render())
        assert "control character (U+001B)" in error
        assert (await contacts.get(demo_db, quill.id)).name == "Xavier\x1b[31m Quillfeather"
