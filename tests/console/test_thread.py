"""The thread pane: messages, the composer and its segment counter, opt-outs, MMS, send-to.

Each test drives the real app on a copy of the demo database and asserts on
what the screen shows and on what the database holds.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from console.app import SwitchboardApp
from console.panes.conversations import ConversationList
from console.panes.thread import PAGE, ThreadPane
from console.widgets.composer import Composer, ComposerText
from console.widgets.editing import Input
from console.widgets.message_list import MessageList
from console.widgets.segment_counter import SegmentCounter
from core import settings
from core.clock import FakeClock, from_ms
from core.db import Database
from core.delivery.gateway import MmsLimits
from core.people import agents
from core.people.authz import SYSTEM
from core.scheduling.worker import Worker
from core.sms import consent, receiving, sending
from providers.sandbox import SandboxGateway
from tests.console.conftest import NOW, SIZE, until

ALICE_ANSWERED = "+12125550100"  # alice's SMS-only number, an answered conversation
OPTED_OUT = "+12125550121"  # texted STOP (carol's)
POSSIBLE_OPTOUT = "+12125550122"  # "please stop texting me about offers", pending (carol's)
LANDLINE_ONLY = "+12125550148"  # demo contact 48 has only a landline
HOSTILE = "[bold]x[/] [@click=app.quit]y[/] [b \x1b[31mred\x1b]0;title\x07"


def screen_text(app: SwitchboardApp) -> str:
    """Every character on screen, as the terminal would show it."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def conversation_with(db: Database, phone: str) -> int:
    return await db.scalar("SELECT id FROM conversations WHERE phone = ?", (phone,))


async def contact_with(db: Database, phone: str) -> int:
    return await db.scalar("SELECT contact_id FROM contact_phones WHERE e164 = ?", (phone,))


async def open_thread(app: SwitchboardApp, pilot, db: Database, phone: str) -> ThreadPane:
    """Highlight the conversation in the list, as an agent would, and wait for the thread."""
    conversation_id = await conversation_with(db, phone)
    await pilot.pause()
    table = app.query_one(ConversationList)
    table.focus()  # the agent is on the list: moving along it opens conversations
    await pilot.pause()
    table.move_cursor(row=[c.id for c in table.shown].index(conversation_id))
    pane = app.query_one("#agent-thread", ThreadPane)
    assert await until(pilot, lambda: pane.conversation_id == conversation_id)
    await pilot.pause()
    return pane


async def type_in_composer(pilot, pane: ThreadPane, text: str) -> None:
    pane.composer.text_area.focus()
    await pilot.pause()
    await pilot.press(*text)


def header_of(pane: ThreadPane, body: str) -> str:
    """The header line (who, when, status) of the last message with ``body``."""
    lines = pane.messages.plain_text().splitlines()
    return lines[max(i for i, line in enumerate(lines) if body in line) - 1]


def counter_text(pane: ThreadPane) -> str:
    return str(pane.query_one(SegmentCounter).render())


async def count_messages(db: Database) -> int:
    return await db.scalar("SELECT count(*) FROM messages")


# --- the thread ----------------------------------------------------------


async def test_thread_shows_each_message_newest_at_the_bottom(app_as, demo_db: Database):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_thread(app, pilot, demo_db, ALICE_ANSWERED)
        text = pane.messages.plain_text()
        assert "▶ out alice" in text
        assert "◀ in" in text
        assert "delivered" in text
        assert "received" in text
        assert "1 seg" in text
        assert text.index("Great, thanks!") < text.index("Yes, until 6 pm today.")
        assert "Yes, until 6 pm today." in screen_text(app)
        header = str(pane.query_one("#thread-header").render())
        assert ALICE_ANSWERED in header
        assert "owner: alice" in header


async def test_times_are_shown_in_the_account_zone_and_follow_its_change(app_as, demo_db: Database):
    """Not the machine's zone (over SSH, the server's): the account's, read when the
    console opens and again when a manager changes it."""
    await settings.update(demo_db, SYSTEM, time_zone="Asia/Tokyo")
    cid = await conversation_with(demo_db, ALICE_ANSWERED)
    first = from_ms(
        await demo_db.scalar(
            "SELECT max(created_at) FROM messages WHERE conversation_id = ?", (cid,)
        )
    )

    def shown(zone: str) -> str:
        at = first.astimezone(ZoneInfo(zone))
        today = NOW.astimezone(ZoneInfo(zone)).date()
        return f"{at:%H:%M}" if at.date() == today else f"{at:%b %d %H:%M}"

    assert shown("Asia/Tokyo") != shown("UTC")  # else this proves nothing
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_thread(app, pilot, demo_db, ALICE_ANSWERED)
        assert f"· {shown('Asia/Tokyo')} ·" in pane.messages.plain_text()
        await settings.update(demo_db, SYSTEM, time_zone="America/Los_Angeles")
        assert await until(
            pilot, lambda: f"· {shown('America/Los_Angeles')} ·" in pane.messages.plain_text()
        )
        assert app.context.zone.key == "America/Los_Angeles"


async def test_a_long_thread_loads_200_at_a_time(app_as, demo_db: Database):
    cid = await conversation_with(demo_db, ALICE_ANSWERED)
    async with demo_db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO messages (conversation_id, direction, kind, body, encoding, segments,"
            " status, created_at, updated_at) VALUES (?, 'in', 'chat', ?, 'GSM-7', 1,"
            " 'received', ?, ?)",
            [(cid, f"old message {i}", 1_700_000_000_000 + i, 0) for i in range(10_000)],
        )
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_thread(app, pilot, demo_db, ALICE_ANSWERED)
        messages = pane.query_one(MessageList)
        assert len(messages.messages) == PAGE
        # Scrolled to the end once laid out (the thread opens when the cursor rests).
        assert await until(pilot, lambda: messages.scroll_y == messages.max_scroll_y > 0)
        assert "old message 9999" in screen_text(app)
        messages.focus()
        await pilot.press("home")
        await pilot.pause()
        assert "old message 9800" in screen_text(app)
        await pilot.press("left_square_bracket")
        assert await until(pilot, lambda: len(messages.messages) == 2 * PAGE)
        await pilot.pause()
        # The earlier page went above: what was in view stays in view.
        assert messages.scroll_y > 0
        assert "old message 9800" in screen_text(app)
        assert messages.messages[0].body == "old message 9600"


async def test_hostile_text_is_shown_literally(app_as, demo_db: Database):
    # A stranger texts the account's number: public, so every agent sees it.
    await receiving.receive(demo_db, "+13125550177", "+14155550100", HOSTILE)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_thread(app, pilot, demo_db, "+13125550177")
        text = pane.messages.plain_text()
        assert "[@click=app.quit]y[/]" in text
        assert "[bold]x[/]" in text
        assert "[b" in text
        assert "\\x1b[31mred" in text
        await pilot.click(MessageList)
        pane.messages.focus()
        await pilot.press("enter", "y")
        await pilot.pause()
        assert app.is_running
        shown = screen_text(app)
        assert "[@click=app.quit]" in shown
        assert "\x1b" not in shown
        assert "\x07" not in shown
        assert "\x1b[31m" not in app.export_screenshot()


# --- the composer ----------------------------------------------------------


async def test_counter_updates_on_every_key(app_as, demo_db: Database):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_thread(app, pilot, demo_db, ALICE_ANSWERED)
        await type_in_composer(pilot, pane, "abc")
        assert "3 chars" in counter_text(pane)
        assert "157 septets left" in counter_text(pane)
        # The rest of 160 at once (a paste); then key by key again.
        pane.composer.text_area.insert("a" * 154)
        await pilot.press("x", "y")
        assert "159 chars" in counter_text(pane)
        assert "1 septets left" in counter_text(pane)
        await pilot.press("z")
        assert "GSM-7" in counter_text(pane)
        assert "160 chars" in counter_text(pane)
        assert " 1 segment " in counter_text(pane)
        assert "0 septets left" in counter_text(pane)
        assert "0.0079 USD" in counter_text(pane)
        await pilot.press("b")
        assert "2 segments" in counter_text(pane)
        assert "0.0158 USD" in counter_text(pane)
        pane.composer.text_area.insert("🙂")
        await pilot.pause()
        assert "UCS-2" in counter_text(pane)


async def test_smart_encoding_is_offered_and_applied_with_one_key(app_as, demo_db: Database):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_thread(app, pilot, demo_db, ALICE_ANSWERED)
        await type_in_composer(pilot, pane, "Hi all, ")
        # Curly quotes as a phone keyboard or a word processor types them.
        pane.composer.text_area.insert("“ok” " * 25)
        await pilot.pause()
        shown = counter_text(pane)
        assert "UCS-2" in shown
        assert "2 segments" in shown
        assert "ctrl+e: replace 50 look-alike characters → saves 1 segment" in shown
        await pilot.press("ctrl+e")
        await pilot.pause()
        assert pane.composer.text == "Hi all, " + '"ok" ' * 25
        assert "GSM-7" in counter_text(pane)
        assert " 1 segment " in counter_text(pane)
        assert "ctrl+e" not in counter_text(pane)


async def test_send_queues_then_shows_delivered(
    app_as, demo_db: Database, demo_worker: Worker, console_clock: FakeClock
):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_thread(app, pilot, demo_db, ALICE_ANSWERED)
        await type_in_composer(pilot, pane, "See you at five")
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        row = await demo_db.fetchone(
            "SELECT status, direction, author_id, conversation_id FROM messages"
            " WHERE body = 'See you at five'"
        )
        assert row["status"] == "queued"
        assert row["direction"] == "out"
        assert row["conversation_id"] == pane.conversation_id
        assert pane.composer.text == ""
        last = lambda: pane.messages.messages[-1]  # noqa: E731
        assert last().body == "See you at five"
        assert last().status == "queued"
        assert "queued" in header_of(pane, "See you at five")

        await demo_worker.run_once()
        console_clock.advance(seconds=5)
        await demo_worker.run_once()
        assert await until(pilot, lambda: last().status == "delivered")
        assert "delivered" in header_of(pane, "See you at five")


async def test_sending_to_a_ready_contact_says_it_is_not_ready_any_more(app_as, demo_db: Database):
    contact_id = await contact_with(demo_db, ALICE_ANSWERED)
    async with demo_db.transaction() as tx:
        await tx.execute("UPDATE contacts SET ready = 1 WHERE id = ?", (contact_id,))
    seen = []
    app = await app_as("alice")
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        pane = await open_thread(app, pilot, demo_db, ALICE_ANSWERED)
        await type_in_composer(pilot, pane, "hello")
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        notes = [n.message for n in app._notifications]
        assert "Contact was Ready; sending this SMS set it to not ready" in notes


async def test_an_opted_out_number_cannot_be_texted(app_as, demo_db: Database):
    before = await count_messages(demo_db)
    app = await app_as("carol")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_thread(app, pilot, demo_db, OPTED_OUT)
        banner = str(pane.query_one("#thread-banner").render())
        assert "Opted out (STOP) on " in banner
        assert "nothing can be sent until they text START" in banner
        assert pane.query_one("#thread-banner").display
        assert pane.composer.text_area.disabled
        assert "Opted out (STOP)" in screen_text(app)
        pane.composer.action_send()
        await pilot.pause()
        assert await count_messages(demo_db) == before


async def test_an_opt_out_elsewhere_disables_the_open_composer(app_as, demo_db: Database):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_thread(app, pilot, demo_db, ALICE_ANSWERED)
        assert not pane.composer.text_area.disabled
        await receiving.receive(demo_db, ALICE_ANSWERED, "+14155550101", "STOP")
        assert await until(pilot, lambda: pane.composer.text_area.disabled)
        assert "Opted out (STOP)" in str(pane.query_one("#thread-banner").render())


async def test_confirming_a_possible_opt_out(app_as, demo_db: Database):
    app = await app_as("carol")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_thread(app, pilot, demo_db, POSSIBLE_OPTOUT)
        assert "possible opt-out" in pane.messages.plain_text()
        pane.messages.focus()
        await pilot.press("o")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert await consent.is_opted_out(demo_db, POSSIBLE_OPTOUT)
        row = await demo_db.fetchone(
            "SELECT status FROM messages WHERE kind = 'optout_confirmation'"
            " AND conversation_id = ?",
            (pane.conversation_id,),
        )
        assert row["status"] == "queued"
        assert "opt-out confirmed" in pane.messages.plain_text()
        assert pane.composer.text_area.disabled
        assert any("opted out" in n.message for n in app._notifications)


async def test_dismissing_a_possible_opt_out(app_as, demo_db: Database):
    app = await app_as("carol")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_thread(app, pilot, demo_db, POSSIBLE_OPTOUT)
        pane.messages.focus()
        await pilot.press("x")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not await consent.is_opted_out(demo_db, POSSIBLE_OPTOUT)
        flag = await demo_db.scalar(
            "SELECT optout_flag FROM messages WHERE body LIKE 'please stop%'"
        )
        assert flag == "dismissed"
        assert "opt-out dismissed" in pane.messages.plain_text()
        assert not pane.composer.text_area.disabled


async def test_a_draft_waits_while_another_conversation_is_open(app_as, demo_db: Database):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_thread(app, pilot, demo_db, ALICE_ANSWERED)
        await type_in_composer(pilot, pane, "half")
        await open_thread(app, pilot, demo_db, "+12125550101")
        assert pane.composer.text == ""
        await open_thread(app, pilot, demo_db, ALICE_ANSWERED)
        assert pane.composer.text == "half"
        assert "4 chars" in counter_text(pane)


# --- send to a contact -------------------------------------------------------


async def test_compose_to_a_contact_picks_their_mobile_and_opens_the_new_conversation(
    app_as, demo_db: Database
):
    phone = "+12125550125"  # a demo contact nobody has texted yet
    assert await conversation_with(demo_db, phone) is None
    contact_id = await contact_with(demo_db, phone)
    seen = []
    app = await app_as("alice")
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await pilot.pause()
        await app.start_conversation(contact_id)
        await pilot.pause()
        pane = app.query_one("#agent-thread", ThreadPane)
        assert pane.composer.recipient == phone
        assert pane.composer.recipient_select.display
        assert phone in screen_text(app)
        assert await until(pilot, lambda: isinstance(app.focused, ComposerText))
        await pilot.press(*"Hello")
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        created = await conversation_with(demo_db, phone)
        assert created is not None
        body = await demo_db.scalar(
            "SELECT body FROM messages WHERE conversation_id = ? AND direction = 'out'", (created,)
        )
        assert body.startswith("Hello")
        # The pane moved on to the new conversation (the list, re-laid by the change
        # feed, may then re-open its highlighted row: see ThreadPane.Opened).
        assert await until(
            pilot,
            lambda: (
                created in [m.conversation_id for m in seen if isinstance(m, ThreadPane.Opened)]
            ),
        ), "the pane opened the new conversation"


async def test_compose_to_a_contact_with_only_a_landline_is_refused(app_as, demo_db: Database):
    contact_id = await contact_with(demo_db, LANDLINE_ONLY)
    before = await count_messages(demo_db)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.start_conversation(contact_id)
        await pilot.pause()
        pane = app.query_one("#agent-thread", ThreadPane)
        assert pane.composer.text_area.disabled
        assert "has no mobile number" in str(pane.query_one("#thread-banner").render())
        pane.composer.action_send()
        await pilot.pause()
        assert await count_messages(demo_db) == before


# --- MMS ---------------------------------------------------------------------


async def test_an_attachment_from_an_sms_only_number_is_refused(
    app_as, demo_db: Database, tmp_path: Path
):
    picture = tmp_path / "photo.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    before = await count_messages(demo_db)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_thread(app, pilot, demo_db, ALICE_ANSWERED)
        await type_in_composer(pilot, pane, "here it is")
        await pilot.press("ctrl+o")
        await pilot.pause()
        path_box = pane.composer.query_one("#composer-attach-path", Input)
        assert app.focused is path_box
        path_box.value = str(picture)
        await pilot.press("enter")
        await pilot.pause()
        assert pane.composer.attachment == picture
        assert "📎 photo.png" in screen_text(app)
        assert isinstance(app.focused, ComposerText)
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        errors = [n.message for n in app._notifications if n.severity == "error"]
        assert any("MMS" in e for e in errors)
        assert await count_messages(demo_db) == before
        assert pane.composer.text == "here it is"  # kept to fix and send again
        await pilot.press("ctrl+r")
        assert pane.composer.attachment is None


class NoMmsGateway(SandboxGateway):
    """The sandbox, declaring (as Sinch does without a public URL) that it cannot send MMS."""

    @property
    def mms_limits(self) -> MmsLimits:
        return MmsLimits(max_attachments=1, unavailable="the test provider has no MMS")


async def test_an_attachment_is_refused_with_the_reason_the_provider_gives(
    app_as, demo_db: Database, tmp_path: Path
):
    picture = tmp_path / "photo.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    before = await count_messages(demo_db)
    app = await app_as("alice")
    app.context.gateway = NoMmsGateway(demo_db)
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_thread(app, pilot, demo_db, ALICE_ANSWERED)
        await type_in_composer(pilot, pane, "here it is")
        await pilot.press("ctrl+o")
        await pilot.pause()
        pane.composer.query_one("#composer-attach-path", Input).value = str(picture)
        await pilot.press("enter")
        await pilot.pause()
        assert pane.composer.attachment == picture
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        errors = [n.message for n in app._notifications if n.severity == "error"]
        assert any("the test provider has no MMS" in e for e in errors), errors
        assert await count_messages(demo_db) == before


# --- read-only -------------------------------------------------------------


async def test_a_read_only_thread_has_no_composer(app_as, demo_db: Database):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        pane = ThreadPane(app.context, read_only=True, id="read-only-thread")
        await app.screen.mount(pane)
        await pane.show(await conversation_with(demo_db, ALICE_ANSWERED))
        await pilot.pause()
        assert not pane.query(Composer)
        # Words only: the pane may wrap at whatever width layout gave it so far.
        assert "Yes, until 6 pm today." in " ".join(pane.messages.plain_text().split())
        assert pane.check_action("resolve_optout", (True,)) is False


async def test_tab_moves_from_the_list_to_the_thread_to_the_composer(app_as, demo_db: Database):
    app = await app_as("alice")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.focused.id == "conversation-list"
        await pilot.press("tab")
        assert isinstance(app.focused, MessageList)
        await pilot.press("tab")
        assert isinstance(app.focused, ComposerText)


# --- the counter counts what is sent ----------------------------------------------

NEVER_TEXTED = "+12125550125"  # a demo contact nobody has texted: the opt-out line is due


async def test_the_counter_counts_the_opt_out_line_the_first_sms_carries(app_as, demo_db: Database):
    contact_id = await contact_with(demo_db, NEVER_TEXTED)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.start_conversation(contact_id)
        pane = app.query_one("#agent-thread", ThreadPane)
        assert await until(pilot, lambda: isinstance(app.focused, ComposerText))
        # 150 characters are one SMS alone; the opt-out line makes them two.
        pane.composer.text_area.insert("x" * 149)
        await pilot.press("y")
        assert await until(pilot, lambda: " 2 segments " in counter_text(pane))
        assert "opt-out line" in counter_text(pane)
        await pilot.press("ctrl+s")
        created = None

        async def sent() -> int | None:
            return await demo_db.scalar(
                "SELECT m.segments FROM messages m JOIN conversations c"
                " ON c.id = m.conversation_id WHERE c.phone = ? AND m.direction = 'out'",
                (NEVER_TEXTED,),
            )

        for _ in range(600):
            if (created := await sent()) is not None:
                break
            await pilot.pause(0.05)
        assert created == 2, "the SMS went as the two segments the counter said"
        await app.workers.wait_for_complete()
        # The next SMS to this number goes without the line, and is counted so.
        assert await until(pilot, lambda: pane.conversation_id is not None)
        assert await until(pilot, lambda: pane.composer.counter.notice is None)
        pane.composer.text_area.focus()
        pane.composer.text_area.insert("x" * 149)
        await pilot.press("y")
        assert await until(pilot, lambda: " 1 segment " in counter_text(pane))
        assert "opt-out line" not in counter_text(pane)


async def test_the_gsm7_rewrite_is_offered_on_the_text_with_the_opt_out_line(
    app_as, demo_db: Database
):
    contact_id = await contact_with(demo_db, NEVER_TEXTED)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.start_conversation(contact_id)
        pane = app.query_one("#agent-thread", ThreadPane)
        assert await until(pilot, lambda: isinstance(app.focused, ComposerText))
        # One curly apostrophe in 60 characters: one UCS-2 segment alone, two
        # with the opt-out line, one in GSM-7.
        pane.composer.text_area.insert("We’ll call you back " + "a" * 39)
        await pilot.press("a")
        assert await until(pilot, lambda: "saves 1 segment" in counter_text(pane))
        assert "UCS-2" in counter_text(pane)
        await pilot.press("ctrl+e")
        await pilot.pause()
        assert pane.composer.text == "We'll call you back " + "a" * 40, "the line is not typed in"
        assert "GSM-7" in counter_text(pane)
        assert " 1 segment " in counter_text(pane)


async def test_the_line_leaves_the_count_once_another_agent_has_sent_the_first_sms(
    app_as, demo_db: Database
):
    contact_id = await contact_with(demo_db, NEVER_TEXTED)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.start_conversation(contact_id)
        pane = app.query_one("#agent-thread", ThreadPane)
        assert await until(pilot, lambda: isinstance(app.focused, ComposerText))
        await pilot.press(*"Hello")
        assert await until(pilot, lambda: "opt-out line" in counter_text(pane))
        bob = (await agents.by_username(demo_db, "bob")).as_actor()
        await sending.send(demo_db, bob, NEVER_TEXTED, "Bob here")  # another console
        assert await until(pilot, lambda: "opt-out line" not in counter_text(pane))
        assert "5 chars" in counter_text(pane)
