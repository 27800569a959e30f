"""The manager dashboard: every conversation, take over, settings, agents (M7, M8).

The real app on the demo database, driven by keys; each test checks the screen
and the database.
"""

from __future__ import annotations

import pytest
from textual.widgets import Select, Static, TabbedContent
from textual.widgets._select import SelectOverlay

from console.panes.manager import AgentTable, ManagerConversationList
from console.panes.numbers import NumberTable
from console.panes.thread import ThreadPane
from console.screens.agent_form import AgentForm
from console.screens.confirm import ConfirmScreen
from console.screens.number_form import DEFAULT, NumberForm
from console.widgets.editing import Input, TextArea
from core import events, settings
from core.db import Database
from core.errors import NotAllowed
from core.people import agents
from core.people.authz import SYSTEM
from core.permissions import profiles
from core.sms import conversations, numbers
from core.sms.conversations import Filter
from tests.console.conftest import SIZE, until


async def _dana_on(app, pilot, section: str) -> None:
    """Open the manager tab (F3) and then a section by its number key."""
    await pilot.press("f3")
    await pilot.pause()
    assert app.query_one(TabbedContent).active == "manager"
    await pilot.press({"conversations": "1", "settings": "2", "agents": "3"}[section])
    await pilot.pause()
    assert app.query_one("#manager-sections", TabbedContent).active == f"manager-{section}"


async def _new_agent(app, pilot) -> AgentForm:
    """The agents section's new-agent form (n)."""
    await _dana_on(app, pilot, "agents")
    await pilot.press("n")
    await pilot.pause()
    assert isinstance(app.screen, AgentForm)
    return app.screen


async def _wait_for(pilot, condition) -> None:
    assert await until(pilot, condition)


def _error_text(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


# --- conversations -----------------------------------------------------------------


async def test_manager_sees_every_conversation_with_its_owner(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await _dana_on(app, pilot, "conversations")
        table = app.query_one(ManagerConversationList)
        owners = {c.owner for c in table.shown}
        assert {"alice", "bob", "carol"} <= owners
        dana = (await agents.by_username(demo_db, "dana")).as_actor()
        every = await conversations.list_for(demo_db, dana, Filter.ALL)
        assert [c.id for c in table.shown] == [c.id for c in every]
        assert table.row_count == len(every)
        assert app.focused is table


async def test_unanswered_and_answered_filters(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await _dana_on(app, pilot, "conversations")
        table = app.query_one(ManagerConversationList)
        everything = len(table.shown)
        await pilot.press("u")
        await pilot.pause()
        assert table.shown
        assert all(c.waiting_since is not None for c in table.shown)
        waits = [c.waiting_since for c in table.shown]
        assert waits == sorted(waits)
        await pilot.press("r")
        await pilot.pause()
        assert table.shown
        assert all(c.waiting_since is None for c in table.shown)
        await pilot.press("a")
        await pilot.pause()
        assert len(table.shown) == everything


async def test_selecting_a_row_opens_the_thread_read_only(app_as):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await _dana_on(app, pilot, "conversations")
        table = app.query_one(ManagerConversationList)
        thread = app.query_one("#manager-thread", ThreadPane)
        assert thread.read_only
        await pilot.press("down", "down")
        await pilot.pause()
        assert thread.conversation_id == table.shown[2].id
        assert not thread.query(TextArea)


async def test_take_over_a_conversation_owned_by_bob(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await _dana_on(app, pilot, "conversations")
        table = app.query_one(ManagerConversationList)
        bobs = next(i for i, c in enumerate(table.shown) if c.owner == "bob")
        conversation_id = table.shown[bobs].id
        table.move_cursor(row=bobs)
        await pilot.pause()
        await pilot.press("T")
        await pilot.pause()
        dana = (await agents.by_username(demo_db, "dana")).as_actor()
        after = await conversations.get(demo_db, dana, conversation_id)
        assert after.owner == "dana"
        bob = await agents.by_username(demo_db, "bob")
        row = await demo_db.fetchone(
            "SELECT 1 FROM conversation_subscribers WHERE conversation_id = ? AND agent_id = ?",
            (conversation_id, bob.id),
        )
        assert row is not None
        shown = {c.id: c for c in table.shown}
        assert shown[conversation_id].owner == "dana"
        assert any("bob stays on" in str(n.message) for n in app._notifications)


# --- settings ----------------------------------------------------------------------


async def _type_setting(pilot, app, name: str, value: str) -> None:
    field = app.query_one(f"#setting-{name}", Input)
    field.focus()
    await pilot.pause()
    field.value = ""
    await pilot.press(*value)
    await pilot.pause()


async def test_saving_public_minutes(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await _dana_on(app, pilot, "settings")
        minutes = app.query_one("#setting-public_minutes", Input)
        assert minutes.value == str((await settings.load(demo_db)).public_minutes)
        await _type_setting(pilot, app, "public_minutes", "7")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert (await settings.load(demo_db)).public_minutes == 7
        assert any(n.message == "Settings saved" for n in app._notifications)
        assert _error_text(app, "#settings-error") == ""
        # Digits are typed into the form; Esc leaves it so the section keys work again.
        await pilot.press("escape", "3")
        await pilot.pause()
        assert app.query_one("#manager-sections", TabbedContent).active == "manager-agents"
        assert (await settings.load(demo_db)).public_minutes == 7


async def test_a_refused_setting_shows_the_error_and_keeps_the_values(app_as, demo_db: Database):
    app = await app_as("dana")
    before = await settings.load(demo_db)
    async with app.run_test(size=SIZE) as pilot:
        await _dana_on(app, pilot, "settings")
        await _type_setting(pilot, app, "public_minutes", "0")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "between 1 and 1440" in _error_text(app, "#settings-error")
        assert app.query_one("#setting-public_minutes", Input).value == "0"
        assert (await settings.load(demo_db)) == before
        # An empty opt-out reply is refused too: it is sent to contacts as it is.
        await _type_setting(pilot, app, "public_minutes", "9")
        app.query_one("#setting-optout_reply", Input).value = "  "
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "optout_reply cannot be empty" in _error_text(app, "#settings-error")
        assert (await settings.load(demo_db)) == before


async def test_changing_the_opt_out_keywords(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await _dana_on(app, pilot, "settings")
        await _type_setting(pilot, app, "optout_keywords", "STOP, QUIT, ARRET")
        await pilot.press("enter")
        await pilot.pause()
        assert (await settings.load(demo_db)).optout_keywords == ("STOP", "QUIT", "ARRET")


async def test_settings_changed_elsewhere_refresh_the_form(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await _dana_on(app, pilot, "settings")
        dana = (await agents.by_username(demo_db, "dana")).as_actor()
        await settings.update(demo_db, dana, public_minutes=33)
        field = app.query_one("#setting-public_minutes", Input)
        await _wait_for(pilot, lambda: field.value == "33")
        # While someone is typing, a change from elsewhere does not overwrite the form.
        app.query_one("#setting-help_reply", Input).value = "Call us."
        await settings.update(demo_db, dana, public_minutes=44)
        # Wait until the console has read that change from the feed, then look.
        last = await events.last_id(demo_db)
        assert await until(pilot, lambda: app._feed_cursor >= last)
        await pilot.pause()
        assert field.value == "33"
        assert app.query_one("#setting-help_reply", Input).value == "Call us."


# --- agents ------------------------------------------------------------------------


async def test_adding_an_agent(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await _new_agent(app, pilot)
        await pilot.press(*"erin", "tab", *"Erin Cho")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not isinstance(app.screen, AgentForm)
        erin = await agents.by_username(demo_db, "erin")
        assert (erin.name, erin.profile, erin.active) == ("Erin Cho", "Agent", True)
        table = app.query_one(AgentTable)
        assert "erin" in {a.username for a in table.shown}
        assert table.selected().username == "erin"


async def test_an_invalid_username_is_refused_in_the_form(app_as, demo_db: Database):
    app = await app_as("dana")
    before = await agents.list_agents(demo_db)
    async with app.run_test(size=SIZE) as pilot:
        await _dana_on(app, pilot, "agents")
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"bad name!", "enter")
        await pilot.pause()
        assert isinstance(app.screen, AgentForm)
        assert "not a valid username" in _error_text(app, "#agent-form-error")
        assert app.screen.query_one("#agent-username", Input).value == "bad name!"
        # A taken username is refused the same way.
        app.screen.query_one("#agent-username", Input).value = "bob"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "already exists" in _error_text(app, "#agent-form-error")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, AgentForm)
        assert await agents.list_agents(demo_db) == before


async def test_our_numbers_are_listed_added_and_given_a_use(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await _dana_on(app, pilot, "agents")
        table = app.query_one(NumberTable)
        await _wait_for(pilot, lambda: len(table.shown) == 3)
        assert [(s.number.e164, s.use) for s in table.shown] == [
            ("+14155550100", "default"),
            ("+14155550101", "caller ID of alice"),
            ("+14155550102", "caller ID of bob"),
        ]
        table.focus()
        await pilot.press("a")
        await _wait_for(pilot, lambda: isinstance(app.screen, NumberForm))
        form = app.screen
        await pilot.press(*"415 555 0133")
        await pilot.press("ctrl+s")
        await _wait_for(pilot, lambda: not isinstance(app.screen, NumberForm))
        added = await numbers.by_e164(demo_db, "+14155550133")
        assert (added.is_default, added.agent_id) == (False, None), "no use unless chosen"
        await _wait_for(pilot, lambda: table.selected().number.e164 == "+14155550133")

        # Made the default: the one before stops being it.
        await pilot.press("u")
        await _wait_for(pilot, lambda: isinstance(app.screen, NumberForm))
        form = app.screen
        form.query_one("#number-use", Select).value = DEFAULT
        await pilot.press("ctrl+s")
        await _wait_for(pilot, lambda: not isinstance(app.screen, NumberForm))
        await _wait_for(pilot, lambda: table.shown[0].use == "none yet")
        assert (await numbers.by_e164(demo_db, "+14155550133")).is_default

        # Alice keeps one caller ID: core's refusal shows in the form, which stays.
        await pilot.press("u")
        await _wait_for(pilot, lambda: isinstance(app.screen, NumberForm))
        form = app.screen
        alice = await agents.by_username(demo_db, "alice")
        form.query_one("#number-use", Select).value = str(alice.id)
        await pilot.press("ctrl+s")
        await _wait_for(
            pilot, lambda: "already has a caller ID number" in _error_text(app, ".form-error")
        )
        assert isinstance(app.screen, NumberForm)


async def test_a_number_is_told_it_sends_mms_and_removed_when_nothing_uses_it(
    app_as, demo_db: Database
):
    await numbers.add(demo_db, SYSTEM, "+14155550133")
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await _dana_on(app, pilot, "agents")
        table = app.query_one(NumberTable)
        await _wait_for(pilot, lambda: len(table.shown) == 4)
        table.focus()
        table.select((await numbers.by_e164(demo_db, "+14155550133")).id)
        await pilot.press("u")
        await _wait_for(pilot, lambda: isinstance(app.screen, NumberForm))
        app.screen.query_one("#number-kind", Select).value = "mms"
        await pilot.press("ctrl+s")
        await _wait_for(pilot, lambda: not isinstance(app.screen, NumberForm))
        await _wait_for(pilot, lambda: table.selected().number.mms)
        assert (await numbers.by_e164(demo_db, "+14155550133")).mms

        # Asked first; no keeps it.
        await pilot.press("r")
        await _wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await _wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert await numbers.is_ours(demo_db, "+14155550133")
        await pilot.press("r")
        await _wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await _wait_for(pilot, lambda: len(table.shown) == 3)
        assert not await numbers.is_ours(demo_db, "+14155550133")

        # The demo's default has conversations: the refusal says so, and it stays.
        table.select((await numbers.by_e164(demo_db, "+14155550100")).id)
        await pilot.press("r")
        await _wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await _wait_for(
            pilot,
            lambda: any("kept as history" in str(n.message) for n in app._notifications),
        )
        assert await numbers.is_ours(demo_db, "+14155550100")
        assert len(table.shown) == 3


async def test_deactivating_and_reactivating_an_agent(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await _dana_on(app, pilot, "agents")
        table = app.query_one(AgentTable)
        table.select("bob")
        await pilot.pause()
        # Saying no leaves bob alone.
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert (await agents.get(demo_db, table.selected().id)).active
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        bob = next(a for a in await agents.list_agents(demo_db) if a.username == "bob")
        assert not bob.active
        assert str(table.get_cell("bob", "active")) == "no"
        await pilot.press("e")
        await _wait_for(pilot, lambda: str(table.get_cell("bob", "active")) == "yes")
        bob = next(a for a in await agents.list_agents(demo_db) if a.username == "bob")
        assert bob.active


# --- agents are not managers -------------------------------------------------------


async def test_an_agent_has_no_manager_tab(app_as, demo_db: Database):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not app.query("#manager-pane")
        await pilot.press("f3")
        await pilot.pause()
        assert app.query_one(TabbedContent).active == "conversations"
        assert app.check_action("show_tab", ("manager",)) is False  # hidden from the footer
    alice = (await agents.by_username(demo_db, "alice")).as_actor()
    with pytest.raises(NotAllowed):
        await settings.update(demo_db, alice, public_minutes=5)


# --- digits in the settings form are typed, never section keys ---------------------------


async def test_a_digit_typed_in_a_setting_stays_in_the_field(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=(80, 24)) as pilot:
        await _dana_on(app, pilot, "settings")
        sections = app.query_one("#manager-sections", TabbedContent)
        field = app.query_one("#setting-public_minutes", Input)
        assert app.focused is field
        await pilot.press("end", "3")
        await pilot.pause()
        assert field.value == "203"
        assert sections.active == "manager-settings"


async def test_a_click_beside_a_field_then_a_digit_does_not_switch_sections(
    app_as, demo_db: Database
):
    app = await app_as("dana")
    async with app.run_test(size=(80, 24)) as pilot:
        await _dana_on(app, pilot, "settings")
        sections = app.query_one("#manager-sections", TabbedContent)
        field = app.query_one("#setting-public_minutes", Input)
        # A click on the label "Public minutes" means its field.
        await pilot.click("#label-public_minutes")
        await pilot.pause()
        assert app.focused is field
        await pilot.press("end", "3")
        await pilot.pause()
        assert field.value == "203"
        assert sections.active == "manager-settings"
        # On the Save button, or on the form itself, a digit is not a section key either.
        for place in ("#settings-save", "#settings-form"):
            app.query_one(place).focus()
            await pilot.pause()
            await pilot.press("3", "1")
            await pilot.pause()
            assert sections.active == "manager-settings", place
        assert (await settings.load(demo_db)).public_minutes == 20, "nothing saved by a digit"
        # Esc leaves the form: there the digits switch sections.
        field.focus()
        await pilot.press("escape", "3")
        await pilot.pause()
        assert sections.active == "manager-agents"


async def test_the_manager_filters_and_footer_fit_80x24(app_as):
    app = await app_as("dana")
    async with app.run_test(size=(80, 24)) as pilot:
        await _dana_on(app, pilot, "conversations")
        lines = [
            strip.text.replace("\N{NO-BREAK SPACE}", " ")
            for strip in app.screen._compositor.render_strips()
        ]
        filters = next(line for line in lines if "a all" in line)
        for label in ("a all", "u unanswered", "r answered"):
            assert label in filters
        for key in ("a All", "u Unanswered", "r Answered", "T Take over", "? Help"):
            assert key in lines[-1]


async def test_the_role_choices_show_profile_names_literally(app_as, demo_db: Database):
    hostile = "[b]Night[/b] [@click=app.quit]desk"
    await profiles.add(demo_db, SYSTEM, hostile)
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await _new_agent(app, pilot)
        role = app.screen.query_one("#agent-role", Select)
        role.expanded = True
        await pilot.pause()
        overlay = role.query_one(SelectOverlay)
        drawn = [
            "".join(s.text for s in overlay.render_line(y)) for y in range(overlay.size.height)
        ]
        # Not read as markup (bold, and a click that quits).
        assert any(hostile in line for line in drawn)
        role.expanded = False
        role.value = hostile
        app.screen.query_one("#agent-username", Input).focus()
        await pilot.press(*"nina", "tab", *"Nina Ode", "ctrl+s")
        await pilot.pause()
        assert (await agents.by_username(demo_db, "nina")).profile == hostile
