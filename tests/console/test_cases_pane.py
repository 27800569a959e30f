"""The Cases tab (C1-C3): the list, the contacts and notes, the keys, live notes.

The real app on the demo database, driven by keys; the case is made through
core (a location, a case, three contacts, two of them texted). dana holds the
built-in Manager profile (may manage locations); alice the Agent profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from textual.widgets import Static

from console.panes.cases import CasesPane
from console.screens.case_forms import ContactPicker, LinkScreen, NoteForm, RecipientPicker
from console.screens.case_locations import LocationsScreen
from console.screens.confirm import ConfirmScreen
from console.widgets.editing import Input, TextArea
from core import settings
from core.cases import case_contacts, cases, links, locations, notes
from core.cases.links import LinkInvalid
from core.clock import FakeClock
from core.db import Database, open_database
from core.people import agents
from core.people.authz import SYSTEM
from core.sms import receiving
from core.sms.phones import display as phone_display
from tests.console.conftest import SIZE, until

SENDER = "+14155550100"
SMALL = (80, 24)


@dataclass
class Seeded:
    case_id: int
    code: str
    texted: list[tuple[int, str, str]]
    """(contact id, name, mobile) of the contacts texted on the case."""
    quiet: tuple[int, str]
    """(contact id, name) of the contact on the case with SMS off."""
    spare: tuple[int, str]
    """(contact id, name) of a contact with a mobile who is not on the case."""


async def mobiles(db: Database, count: int) -> list[tuple[int, str, str]]:
    rows = await db.fetchall(
        "SELECT c.id, c.name, min(p.e164) AS phone FROM contacts c"
        " JOIN contact_phones p ON p.contact_id = c.id AND p.kind = 'mobile'"
        " WHERE p.e164 NOT IN (SELECT phone FROM consent_changes) AND c.name != ''"
        " GROUP BY c.id ORDER BY c.id LIMIT ?",
        (count,),
    )
    return [(r["id"], r["name"], r["phone"]) for r in rows]


async def seed_case(db: Database, *, direct_reply: bool = True) -> Seeded:
    dana = (await agents.by_username(db, "dana")).as_actor()
    await locations.create(db, dana, "North depot", SENDER, direct_reply=direct_reply)
    case = await cases.create(db, dana, "Boiler repair", "North depot")
    people = await mobiles(db, 4)
    for contact_id, _, _ in people[:3]:
        await case_contacts.add(db, dana, case.id, contact_id)
    for contact_id, _, _ in people[:2]:
        await case_contacts.set_sms(db, dana, case.id, contact_id, True)
    return Seeded(
        case.id,
        case.code,
        people[:2],
        (people[2][0], people[2][1]),
        (people[3][0], people[3][1]),
    )


def plain(widget: Static) -> str:
    return str(widget.render())


def notes_text(pane: CasesPane) -> str:
    return "\n".join(plain(w) for w in pane.query("#case-notes Static").results(Static))


async def open_cases(app, pilot) -> CasesPane:  # type: ignore[no-untyped-def]
    await pilot.press("f9")
    assert await until(pilot, lambda: app.query("#cases-pane"))
    pane = app.query_one(CasesPane)
    assert await until(pilot, lambda: app.focused is pane.table)
    return pane


async def open_case(app, pilot, case_id: int) -> CasesPane:  # type: ignore[no-untyped-def]
    """The Cases tab with ``case_id`` selected, its contacts shown (the demo has a case too)."""
    pane = await open_cases(app, pilot)
    assert await until(pilot, lambda: any(c.id == case_id for c in pane.table.shown))
    pane.table.select(case_id)
    assert await until(
        pilot,
        lambda: (
            pane.shown_case is not None
            and pane.shown_case.id == case_id
            and pane.contact_table.row_count >= 3
        ),
    )
    return pane


async def case_texts(db: Database, case_id: int) -> list[tuple[str, str]]:
    rows = await db.fetchall(
        "SELECT recipient, body FROM messages WHERE case_id = ? AND purpose = 'case'"
        " AND status = 'queued' ORDER BY id",
        (case_id,),
    )
    return [(r["recipient"], r["body"]) for r in rows]


async def test_the_tab_shows_the_case_its_contacts_and_notes(app_as, demo_db: Database):
    seeded = await seed_case(demo_db)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_case(app, pilot, seeded.case_id)
        rows = [[c.plain for c in pane.table.get_row_at(i)] for i in range(pane.table.row_count)]
        assert [seeded.code, "Boiler repair", "North depot", "open"] in [r[:4] for r in rows]
        # The demo's own case is listed too.
        assert any(r[1].startswith("Van 14") for r in rows)
        # Both texted contacts got their invitation, shown as notes.
        assert await until(pilot, lambda: notes_text(pane).count("Invitation") == 2)
        title = plain(pane.query_one("#case-title", Static))
        assert f"Case {seeded.code} Boiler repair" in title
        # An agent without manage_settings has no locations key.
        ids = {b.binding.id for b in app.screen.active_bindings.values()}
        assert "cases.locations" not in ids
        assert "cases.note" in ids


async def test_a_quick_action_texts_every_texted_contact(app_as, demo_db: Database):
    seeded = await seed_case(demo_db)
    before = len(await case_texts(demo_db, seeded.case_id))
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_case(app, pilot, seeded.case_id)
        await pilot.press("3")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = plain(app.screen.query_one("#confirm-question", Static))
        assert "Ready for pickup on case" in question
        for _, name, _ in seeded.texted:
            assert name in question
        assert seeded.quiet[1] not in question
        await pilot.press("y")
        assert await until(
            pilot,
            lambda: "Ready for pickup: 2 texted" in plain(pane.query_one("#cases-status", Static)),
        )
        sent = (await case_texts(demo_db, seeded.case_id))[before:]
        assert sorted(r for r, _ in sent) == sorted(p for _, _, p in seeded.texted)
        assert all(f"Case {seeded.code}" in body and "/c/" in body for _, body in sent)
        assert await until(pilot, lambda: "Ready for pickup" in notes_text(pane))


async def test_a_free_note_goes_to_the_picked_recipient(app_as, demo_db: Database):
    seeded = await seed_case(demo_db)
    before = len(await case_texts(demo_db, seeded.case_id))
    first_id, first_name, first_phone = seeded.texted[0]
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_case(app, pilot, seeded.case_id)
        await pilot.press("n")
        assert await until(pilot, lambda: isinstance(app.screen, NoteForm))
        form = app.screen
        await pilot.press(*"Parts arrive Tuesday")
        await pilot.press("ctrl+r")
        assert await until(pilot, lambda: isinstance(app.screen, RecipientPicker))
        picker = app.screen
        # Both texted contacts are ticked; search by the second's name, untick them there.
        second = seeded.texted[1][1]
        listed = picker.query_one("#recipient-list")
        picker.query_one(Input).focus()
        await pilot.press(*second)
        assert await until(pilot, lambda: listed.option_count == 1)
        await pilot.press("down")  # from the search to the list
        assert app.focused is listed
        await pilot.press("space")
        assert await until(pilot, lambda: picker.chosen == {first_id})
        # Clearing the search shows everyone again; the first is still ticked.
        picker.query_one(Input).value = ""
        assert await until(pilot, lambda: listed.option_count == 3)
        assert listed.selected == [first_id]
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: app.screen is form)
        assert first_name in plain(form.query_one("#note-to", Static))
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: not isinstance(app.screen, NoteForm))
        assert await until(pilot, lambda: "Parts arrive Tuesday" in notes_text(pane))
        sent = (await case_texts(demo_db, seeded.case_id))[before:]
        assert [r for r, _ in sent] == [first_phone]
        assert "Parts arrive Tuesday" in sent[0][1]


async def test_a_note_too_long_is_refused_under_the_form_keeping_the_text(
    app_as, demo_db: Database
):
    seeded = await seed_case(demo_db)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await open_case(app, pilot, seeded.case_id)
        await pilot.press("n")
        assert await until(pilot, lambda: isinstance(app.screen, NoteForm))
        body = app.screen.query_one(TextArea)
        body.text = "x" * 2001
        await pilot.press("ctrl+s")
        error = app.screen.query_one(".form-error", Static)
        assert await until(pilot, lambda: "at most 2000 characters" in plain(error))
        assert body.text == "x" * 2001


async def test_a_note_from_another_process_appears_live_and_literally(
    app_as, demo_db: Database, console_clock: FakeClock
):
    seeded = await seed_case(demo_db)
    dana = (await agents.by_username(demo_db, "dana")).as_actor()
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_case(app, pilot, seeded.case_id)
        hostile = "[b]bold[/b] <script>alert(1)</script> [@click=app.quit]x[/]"
        # Another process: its own connection to the same file (the CLI, the worker's page).
        other = await open_database(demo_db.path, console_clock)
        try:
            await notes.add(other, dana, seeded.case_id, hostile, [seeded.texted[0][0]])
        finally:
            await other.close()
        assert await until(pilot, lambda: "<script>alert(1)</script>" in notes_text(pane))
        assert hostile in notes_text(pane)


async def test_an_sms_reply_becomes_a_note_with_from_and_to(app_as, demo_db: Database):
    seeded = await seed_case(demo_db)
    _, name, phone = seeded.texted[0]
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_case(app, pilot, seeded.case_id)
        await receiving.receive(demo_db, phone, SENDER, f"Go ahead [b]now[/b] Case {seeded.code}")
        assert await until(pilot, lambda: "Reply by SMS" in notes_text(pane))
        shown = notes_text(pane)
        assert f"{name} {phone_display(phone)} → {phone_display(SENDER)}" in shown
        assert f"Go ahead [b]now[/b] Case {seeded.code}" in shown


async def test_enabling_sms_sends_the_invitation(app_as, demo_db: Database):
    seeded = await seed_case(demo_db)
    quiet_id, quiet_name = seeded.quiet
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_case(app, pilot, seeded.case_id)
        pane.contact_table.select(quiet_id)
        await pilot.press("s")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = plain(app.screen.query_one("#confirm-question", Static))
        assert "This sends the invitation SMS now" in question
        assert quiet_name in question
        await pilot.press("y")
        status = pane.query_one("#cases-status", Static)
        assert await until(pilot, lambda: "invitation sent" in plain(status))
        invited = await demo_db.fetchone(
            "SELECT sms_enabled, invited_at FROM case_contacts"
            " WHERE case_id = ? AND contact_id = ?",
            (seeded.case_id, quiet_id),
        )
        assert invited["sms_enabled"] == 1
        assert invited["invited_at"] is not None
        texts_ = await case_texts(demo_db, seeded.case_id)
        assert any("invited to follow case" in body for _, body in texts_[-1:])


async def test_add_a_contact_and_show_their_link(app_as, demo_db: Database):
    seeded = await seed_case(demo_db)
    spare_id, spare_name = seeded.spare
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_case(app, pilot, seeded.case_id)
        await pilot.press("a")
        assert await until(pilot, lambda: isinstance(app.screen, ContactPicker))
        await pilot.press(*spare_name)
        listed = app.screen.query_one("#contact-picker-list")
        assert await until(pilot, lambda: listed.option_count >= 1)
        listed.focus()
        index = next(
            i
            for i in range(listed.option_count)
            if listed.get_option_at_index(i).id == str(spare_id)
        )
        listed.highlighted = index
        await pilot.press("enter")
        assert await until(pilot, lambda: pane.contact_table.row_count == 4)
        pane.contact_table.select(spare_id)
        await pilot.press("k")
        assert await until(pilot, lambda: isinstance(app.screen, LinkScreen))
        assert "http://127.0.0.1:8780/c/" in plain(app.screen.query_one("#link-url", Static))


async def test_revoke_a_contacts_links_after_asking(app_as, demo_db: Database):
    seeded = await seed_case(demo_db)
    contact_id, name, _ = seeded.texted[0]
    dana = (await agents.by_username(demo_db, "dana")).as_actor()
    url = await case_contacts.issue_link(demo_db, dana, seeded.case_id, contact_id)
    token = url.rsplit("/c/", 1)[1]
    assert (await links.check(demo_db, token)).grant.contact_id == contact_id
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_case(app, pilot, seeded.case_id)
        pane.contact_table.select(contact_id)
        pane.contact_table.focus()
        await pilot.press("K")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")  # asked first: nothing is revoked on No
        assert await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert (await links.check(demo_db, token)).grant.contact_id == contact_id
        await pilot.press("K")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        status = pane.query_one("#cases-status", Static)
        assert await until(pilot, lambda: "revoked" in plain(status))
    assert f"2 links of {name} revoked" in plain(status)  # seeded and issued here
    with pytest.raises(LinkInvalid):
        await links.check(demo_db, token)


async def test_locations_direct_reply_toggles(app_as, demo_db: Database):
    seeded = await seed_case(demo_db)
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await open_case(app, pilot, seeded.case_id)
        await pilot.press("L")
        assert await until(pilot, lambda: isinstance(app.screen, LocationsScreen))
        screen = app.screen
        assert await until(pilot, lambda: screen.table.row_count == 2)
        location_id = await demo_db.scalar("SELECT id FROM locations WHERE name = 'North depot'")
        screen.table.select(location_id)
        row = screen.table.get_row(str(location_id))
        assert [c.plain for c in row] == ["North depot", "+1 415-555-0100", "on"]
        await pilot.press("d")
        assert await until(pilot, lambda: screen.table.get_row(str(location_id))[2].plain == "off")
        stored = await demo_db.scalar(
            "SELECT direct_reply FROM locations WHERE id = ?", (location_id,)
        )
        assert stored == 0


async def test_new_case_and_close_it(app_as, demo_db: Database):
    seeded = await seed_case(demo_db)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_case(app, pilot, seeded.case_id)
        count = pane.table.row_count
        await pilot.press("c")
        assert await until(pilot, lambda: app.screen.query("#case-title"))
        await pilot.press(*"Van [red]service")
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: pane.table.row_count == count + 1)
        assert await until(
            pilot, lambda: pane.selected is not None and pane.selected.title == "Van [red]service"
        )
        await pilot.press("x")
        assert await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        assert await until(
            pilot, lambda: pane.selected is not None and pane.selected.status == "closed"
        )


async def test_renders_at_80_by_24(app_as, demo_db: Database):
    seeded = await seed_case(demo_db)
    app = await app_as("dana")
    async with app.run_test(size=SMALL) as pilot:
        pane = await open_case(app, pilot, seeded.case_id)
        assert pane.table.region.width <= 80
        assert pane.query_one("#case-notes").region.height >= 3
        assert seeded.code in plain(pane.query_one("#case-title", Static))


async def test_a_change_of_the_account_zone_redraws_the_times_shown(app_as, demo_db: Database):
    seeded = await seed_case(demo_db)
    dana = (await agents.by_username(demo_db, "dana")).as_actor()
    posted = await notes.add(demo_db, dana, seeded.case_id, "Parts ordered")
    written = (await notes.get_in(demo_db, seeded.case_id, posted.note_id)).created_at

    def stamp_in(zone: str) -> str:
        return f"{written.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M}"

    assert stamp_in("UTC") != stamp_in("Asia/Tokyo")  # else this proves nothing
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_case(app, pilot, seeded.case_id)
        assert await until(pilot, lambda: stamp_in("UTC") in notes_text(pane))
        await settings.update(demo_db, SYSTEM, time_zone="Asia/Tokyo")
        # The notes already shown are drawn again in the new zone, and the list's rows.
        assert await until(pilot, lambda: stamp_in("Asia/Tokyo") in notes_text(pane))
        assert stamp_in("UTC") not in notes_text(pane)
        updated = f"{pane.selected.updated_at.astimezone(ZoneInfo('Asia/Tokyo')):%b %d %H:%M}"
        assert await until(
            pilot, lambda: str(pane.table.get_cell(str(seeded.case_id), "updated")) == updated
        )
