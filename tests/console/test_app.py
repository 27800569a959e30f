"""The console's frame: start-up, tabs, help, palette, live updates, hostile text."""

from __future__ import annotations

from console.panes.campaigns import CampaignsPane
from console.panes.cases import CasesPane
from console.panes.contacts import ContactsPane
from console.panes.conversations import ConversationsPane
from console.panes.manager import ManagerPane
from console.panes.settings_form import SettingsForm
from console.panes.thread import ThreadPane
from console.widgets.editing import Input
from core import settings
from core.db import Database
from core.people.authz import SYSTEM
from core.sms import receiving
from tests.console.conftest import PATIENCE, SIZE, until


async def test_agent_sees_their_conversations_oldest_waiting_first(app_as, demo_db: Database):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.query_one("#conversation-list")
        assert table.row_count > 0
        waits = [c.waiting_since for c in table.shown if c.waiting_since is not None]
        assert waits == sorted(waits)


async def test_a_message_from_another_process_appears_without_a_key(app_as, demo_db: Database):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await receiving.receive(demo_db, "+12125550177", "+14155550100", "brand new contact")
        table = app.query_one("#conversation-list")
        assert await until(pilot, lambda: any(c.phone == "+12125550177" for c in table.shown))


async def test_help_lists_switchboard_keys_with_their_ids(app_as):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        help_screen = app.screen
        ids = [row[2] for row in help_screen.rows]
        assert "app.help" in ids
        assert "conversations.take" in ids
        assert all(ids), "only Switchboard's own bindings, each with an id"
        await pilot.press("escape")
        assert app.screen is not help_screen


async def test_every_binding_is_also_a_palette_command(app_as):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert {"Take", "Public", "Unanswered", "Help", "Contacts"} <= titles


async def test_the_filter_keys_change_what_is_listed(app_as, demo_db: Database):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.query_one("#conversation-list")
        await pilot.press("p")
        await pilot.pause()
        assert table.shown
        assert all(c.is_public for c in table.shown)
        await pilot.press("u")
        await pilot.pause()
        assert all(c.waiting_since is not None for c in table.shown)


async def test_taking_a_public_conversation_makes_it_mine_and_keeps_it_selected(
    app_as, demo_db: Database
):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        await pilot.pause()
        table = app.query_one("#conversation-list")
        thread = app.query_one("#agent-thread", ThreadPane)
        target = table.selected_id()
        assert await until(pilot, lambda: thread.conversation_id == target)
        await pilot.press("t")

        async def owner() -> str | None:
            return await demo_db.scalar(
                "SELECT a.username FROM conversations c JOIN agents a ON a.id = c.owner_id"
                " WHERE c.id = ?",
                (target,),
            )

        for _ in range(PATIENCE):
            if await owner() == "alice":
                break
            await pilot.pause(0.05)
        assert await owner() == "alice"
        assert not await demo_db.scalar(
            "SELECT is_public FROM conversations WHERE id = ?", (target,)
        )
        await app.workers.wait_for_complete()
        # No longer public, it is still the one selected and open, not the next public one.
        assert await until(pilot, lambda: any(c.id == target for c in table.shown))
        await pilot.pause()
        assert table.selected_id() == target
        assert thread.conversation_id == target
        assert app.query_one(ConversationsPane).view == "all"


async def test_hostile_text_in_the_list_is_shown_literally(app_as, demo_db: Database):
    hostile = "[@click=app.quit]win[/] [b \x1b]0;pwned\x07\x1b[31m"
    await receiving.receive(demo_db, "+12125550178", "+14155550100", hostile)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.query_one("#conversation-list")
        [row] = [c for c in table.shown if c.phone == "+12125550178"]
        cell = table.get_cell(str(row.id), "last")
        assert "[@click=app.quit]win[/] [b" in cell.plain
        assert "\\x1b]0;pwned\\x07" in cell.plain, "escape sequences are shown, not sent"
        assert not any(getattr(span.style, "meta", None) for span in cell.spans)
        assert "\x1b" not in app.export_screenshot()
        await pilot.click("#conversation-list")
        assert app.is_running


async def test_a_name_saved_before_the_rule_is_shown_escaped_in_the_header(
    app_as, demo_db: Database
):
    # Agents' names refuse control characters now; one saved before keeps its value.
    async with demo_db.transaction() as tx:
        await tx.execute(
            "UPDATE agents SET name = ? WHERE username = 'alice'", ("Al\x1b]0;pwned\x07",)
        )
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.sub_title.startswith("Al\\x1b]0;pwned\\x07 (")
        assert "\x1b" not in app.export_screenshot()


async def test_the_status_bar_says_when_another_process_holds_the_lease(app_as, demo_db):
    from core.scheduling import lease

    assert await lease.acquire(demo_db, "headless-worker", ttl_seconds=60)
    app = await app_as("alice")
    app.context.embedded_worker = True
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "another process holds the lease" in app.worker_state


async def test_owner_and_subscribers_are_alerted_of_a_new_message(app_as, demo_db: Database):
    app = await app_as("bob")  # bob follows alice's conversation with +12125550101
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await receiving.receive(demo_db, "+12125550101", "+14155550101", "[b]are you there?")
        assert await until(pilot, lambda: bool(app._notifications))
        [note] = list(app._notifications)
        assert note.message.startswith("New SMS from ")
        assert note.markup is False


async def test_every_notification_shows_outside_text_literally(app_as):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one("#conversation-list")
        pane.notify("New SMS from [b]Eve\x1b]0;pwned\x07")  # a widget's notify, default markup
        await pilot.pause()
        [note] = list(app._notifications)
        assert note.markup is False
        assert note.message == "New SMS from [b]Eve\\x1b]0;pwned\\x07"


# --- keys while typing, the palette, 80x24 -------------------------------------------

SMALL = (80, 24)


def screen_lines(app) -> list[str]:  # type: ignore[no-untyped-def]
    """Every line on screen as the terminal shows it (no-break spaces read as spaces)."""
    strips = app.screen._compositor.render_strips()
    return [strip.text.replace("\N{NO-BREAK SPACE}", " ") for strip in strips]


async def test_plain_keys_typed_in_the_composer_are_text(app_as, demo_db: Database):
    app = await app_as("alice")
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        pane = app.query_one(ConversationsPane)
        thread = app.query_one("#agent-thread", ThreadPane)
        assert await until(pilot, lambda: thread.conversation_id is not None)
        shown = thread.conversation_id
        thread.composer.text_area.focus()
        await pilot.pause()
        typed = "a m p u t [ o x ? 1 2 3 T"
        await pilot.press(*typed)
        await pilot.pause()
        assert thread.composer.text == typed
        assert pane.view == "all"
        assert thread.conversation_id == shown
        assert app.screen is app.screen_stack[0], "no help screen, no dialog"
        assert "t Take" not in screen_lines(app)[-1], "the footer offers no key that is typed"
        assert "^s Send" in screen_lines(app)[-1]


async def test_the_palette_lists_each_action_once_and_send_and_ready_where_they_apply(
    app_as, demo_db: Database
):
    app = await app_as("alice")
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        thread = app.query_one("#agent-thread", ThreadPane)
        assert await until(pilot, lambda: thread.conversation_id is not None)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert len(titles) == len(set(titles)), titles
        # The list has focus and a conversation is open: its message can be sent.
        assert app.focused.id == "conversation-list"
        assert {"Send", "Take", "Mine", "Help"} <= set(titles)

        await pilot.press("f2")
        await pilot.press("slash")
        assert app.focused.id == "contact-search"
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        assert len(commands) == len(list(app.get_system_commands(app.screen)))
        # Space is typed in the search box, yet Ready is in the palette, and works.
        assert {"Ready", "Edit", "New", "Text", "Search"} <= set(commands)
        table = app.query_one("#contact-list")
        assert await until(pilot, lambda: table.selected() is not None)
        contact = table.selected()
        await commands["Ready"].callback()
        assert await until(pilot, lambda: table.selected().ready != contact.ready)


async def test_at_80x24_the_filters_and_the_footer_keys_are_all_visible(app_as):
    app = await app_as("alice")
    async with app.run_test(size=SMALL) as pilot:
        # The footer is drawn after the first frame: wait for it, not for a fixed pause.
        assert await until(pilot, lambda: "a All" in screen_lines(app)[-1])
        lines = screen_lines(app)
        filters = next(line for line in lines if "a all" in line)
        for label in ("a all", "m mine", "p public", "u unanswered"):
            assert label in filters
        footer = lines[-1]
        shown = [
            f"{app.get_key_display(active.binding)} {active.binding.description}"
            for active in app.screen.active_bindings.values()
            if active.binding.show
        ]
        assert shown
        for key in shown:
            assert key in footer, f"{key!r} is cut from the footer: {footer!r}"
        assert "F1 Conversations" in lines[1], "the tab keys are on the tabs"


async def test_the_welcome_is_shown_once_with_its_lines_and_without_escapes(app_as):
    app = await app_as("alice")
    app.context.welcome = "Demo data.\nexport SWITCHBOARD_DB=/tmp/x\x1b[2J"
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: bool(app._notifications))
        [note] = list(app._notifications)
        assert note.message == "Demo data.\nexport SWITCHBOARD_DB=/tmp/x\\x1b[2J"


async def test_a_tab_is_made_when_first_chosen_and_kept(app_as, demo_db: Database):
    """A manager's console opens on Conversations without making the other tabs, their
    sections or sub-tabs (each reads its data when made); each is made once, when
    first chosen, and shows what changed while it was not there."""
    app = await app_as("dana")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for pane in (ContactsPane, ManagerPane, CampaignsPane, CasesPane, SettingsForm):
            assert not app.query(pane), pane
        await settings.update(demo_db, SYSTEM, public_minutes=35)  # no Manager tab yet
        await pilot.press("f3")
        assert await until(pilot, lambda: bool(app.query(ManagerPane)))
        assert not app.query(SettingsForm)  # section 2 is not chosen yet
        await pilot.press("2")
        assert await until(pilot, lambda: bool(app.query(SettingsForm)))
        form = app.query_one(SettingsForm)
        assert await until(
            pilot, lambda: form.query_one("#setting-public_minutes", Input).value == "35"
        )
        assert app.focused is not None
        assert form in app.focused.ancestors_with_self
        # Chosen again: the same pane, not a second one.
        await pilot.press("f1", "f3", "2")
        await pilot.pause()
        assert list(app.query(SettingsForm)) == [form]
        await pilot.press("f12")
        assert await until(pilot, lambda: bool(app.query(CampaignsPane)))
        assert len(app.query(CampaignsPane)) == 1
