"""Canned replies in the composer (Ctrl+L): the picker, the inserted text, and why not.

The real app on a copy of the demo database, where the Agent and Manager
profiles have the canned replies "On the way" and "Pick-up".
"""

from __future__ import annotations

from textual.widgets import OptionList

from console.app import SwitchboardApp
from console.panes.thread import ThreadPane
from console.screens.choice import ChoiceScreen
from console.widgets.composer import ComposerText
from core.db import Database
from core.people.authz import SYSTEM
from core.permissions import configuration
from tests.console.conftest import SIZE, until
from tests.console.test_thread import (
    ALICE_ANSWERED,
    OPTED_OUT,
    conversation_with,
    counter_text,
    open_thread,
    screen_text,
    type_in_composer,
)

PICK_UP = "Hi {{contact_name}}, your order is ready. {{agent_name}}"


def notes(app: SwitchboardApp) -> list[str]:
    return [n.message for n in app._notifications]


async def open_picker(app: SwitchboardApp, pilot) -> ChoiceScreen[int]:
    await pilot.press("ctrl+l")
    assert await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
    await pilot.pause()
    assert app.screen.id == "canned-reply-picker"
    return app.screen  # type: ignore[return-value]


async def pick(app: SwitchboardApp, pilot, picker: ChoiceScreen[int], name: str) -> None:
    names = [t.name for t in await configuration.list_templates(app.context.db)]
    picker.query_one(OptionList).highlighted = names.index(name)
    await pilot.press("enter")
    assert await until(pilot, lambda: not isinstance(app.screen, ChoiceScreen))
    await pilot.pause()


async def test_a_canned_reply_goes_in_at_the_cursor_filled_in(app_as, demo_db: Database):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_thread(app, pilot, demo_db, ALICE_ANSWERED)
        contact = pane.conversation.contact_name
        assert contact
        await type_in_composer(pilot, pane, "PS")
        pane.composer.text_area.move_cursor((0, 0))
        before = counter_text(pane)
        picker = await open_picker(app, pilot)
        # Name and the template as written: the placeholders are not filled in here.
        shown = screen_text(app)
        assert "Pick-up" in shown
        assert "On the way" in shown
        assert "Hi {{contact_name}}, your order is ready." in shown
        await pick(app, pilot, picker, "Pick-up")
        rendered = f"Hi {contact}, your order is ready. Alice Moreau"
        assert pane.composer.text == rendered + "PS"
        assert pane.composer.text_area.cursor_location == (0, len(rendered))
        assert counter_text(pane) != before
        assert f"{len(rendered) + 2} chars" in counter_text(pane)
        assert isinstance(app.focused, ComposerText)
        assert any("Inserted the canned reply Pick-up" in n for n in notes(app))
        # Through the edit API: one Ctrl+Z takes it out again.
        await pilot.press("ctrl+z")
        assert pane.composer.text == "PS"


async def test_the_key_works_from_the_conversation_list(app_as, demo_db: Database):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_thread(app, pilot, demo_db, ALICE_ANSWERED)
        assert app.focused.id == "conversation-list"
        picker = await open_picker(app, pilot)
        await pick(app, pilot, picker, "On the way")
        assert pane.composer.text.endswith(". To reach us, call +14155550101. Alice Moreau")
        assert await until(pilot, lambda: isinstance(app.focused, ComposerText))


async def test_a_hostile_contact_name_is_inserted_literally(app_as, demo_db: Database):
    hostile = "{{agent_name}} [b]x[/b] [@click=app.quit]y[/]"
    cid = await conversation_with(demo_db, ALICE_ANSWERED)
    async with demo_db.transaction() as tx:
        await tx.execute(
            "UPDATE contacts SET name = ? WHERE id = (SELECT contact_id FROM conversations"
            " WHERE id = ?)",
            (hostile, cid),
        )
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_thread(app, pilot, demo_db, ALICE_ANSWERED)
        picker = await open_picker(app, pilot)
        await pick(app, pilot, picker, "Pick-up")
        assert pane.composer.text == f"Hi {hostile}, your order is ready. Alice Moreau"
        assert app.is_running


async def test_a_profile_without_canned_replies_is_told_so(app_as, demo_db: Database):
    for template in ("Pick-up", "On the way"):
        await configuration.set_profile_template(demo_db, SYSTEM, "Agent", template, granted=False)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_thread(app, pilot, demo_db, ALICE_ANSWERED)
        await type_in_composer(pilot, pane, "x")
        await pilot.press("ctrl+l")
        assert await until(pilot, lambda: any("No canned replies" in n for n in notes(app)))
        assert "No canned replies for your profile (Agent)" in " ".join(notes(app))
        assert not isinstance(app.screen, ChoiceScreen)
        assert pane.composer.text == "x"


async def test_a_grant_taken_away_while_the_picker_is_open_is_refused_there(
    app_as, demo_db: Database
):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_thread(app, pilot, demo_db, ALICE_ANSWERED)
        picker = await open_picker(app, pilot)
        await configuration.set_profile_template(demo_db, SYSTEM, "Agent", "Pick-up", granted=False)
        # The console reloads its principal from the change feed.
        assert await until(pilot, lambda: len(app.context.actor.template_ids) == 1)
        names = [t.name for t in await configuration.list_templates(demo_db)]
        picker.query_one(OptionList).highlighted = names.index("Pick-up")
        await pilot.press("enter")
        assert await until(pilot, lambda: "use this SMS template" in picker.error)
        assert pane.composer.text == ""


async def test_an_opted_out_conversation_says_why(app_as, demo_db: Database):
    app = await app_as("carol")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_thread(app, pilot, demo_db, OPTED_OUT)
        assert pane.composer.text_area.disabled
        await pilot.press("ctrl+l")
        assert await until(pilot, lambda: any("composer is off" in n for n in notes(app)))
        assert not isinstance(app.screen, ChoiceScreen)


async def test_no_conversation_open_says_why(app_as, demo_db: Database):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        pane = ThreadPane(app.context, id="blank-thread")
        await app.screen.mount(pane)
        await pilot.pause()
        assert pane.is_blank
        assert pane.check_action("canned_reply", ()) is True  # the key is live: it says why
        pane.action_canned_reply()
        assert await until(pilot, lambda: any("Open a conversation first" in n for n in notes(app)))
        assert not isinstance(app.screen, ChoiceScreen)


async def test_a_read_only_thread_says_why(app_as, demo_db: Database):
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("f3")
        pane = app.query_one("#manager-thread", ThreadPane)
        await pane.show(await conversation_with(demo_db, ALICE_ANSWERED))
        pane.messages.focus()
        await pilot.pause()
        await pilot.press("ctrl+l")
        assert await until(pilot, lambda: any("read-only" in n for n in notes(app)))
        assert not isinstance(app.screen, ChoiceScreen)
