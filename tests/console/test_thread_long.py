"""A long thread in the message list: opened cheaply, read back without jumps.

The list renders only the messages near the view and estimates the height
of the others. These tests check what that must never show: a gap, a
repeated or a missing line, a view that moves on its own. "The view" is the
lines the widget draws (``render_line``), compared with the thread rendered
independently, message by message, at the same width.
"""

from __future__ import annotations

from console.app import SwitchboardApp
from console.panes.thread import PAGE
from console.widgets.message_list import MessageList, message_text
from core.db import Database
from core.scheduling.worker import Worker
from core.sms import sending
from tests.console.conftest import SIZE, until
from tests.console.test_thread import ALICE_ANSWERED, conversation_with, open_thread, screen_text

LONG = 2_000
WORDS = ("ok", "tomorrow", "appointment", "supercalifragilistic", "at", "the", "clinic")


def body(n: int) -> str:
    """Bodies of many shapes: one word to several wrapped lines, some with line breaks."""
    words = " ".join(WORDS[(n + k) % len(WORDS)] for k in range(n % 23 + 1))
    return f"m{n:04d} {words}" + ("\nsecond line" if n % 5 == 0 else "")


async def add_long_thread(db: Database) -> int:
    cid = await conversation_with(db, ALICE_ANSWERED)
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO messages (conversation_id, direction, kind, body, encoding, segments,"
            " status, created_at, updated_at) VALUES (?, ?, 'chat', ?, 'GSM-7', 1, ?, ?, 0)",
            [
                (
                    cid,
                    "in" if n % 2 else "out",
                    body(n),
                    "received" if n % 2 else "delivered",
                    1_772_400_000_000 + n * 1000,  # 2026-03-01: every header has a date
                )
                for n in range(LONG)
            ],
        )
    return cid


def view(messages: MessageList) -> list[str]:
    """The lines the list draws, top to bottom."""
    height = messages.scrollable_content_region.height
    return [messages.render_line(y).text.rstrip() for y in range(height)]


def true_lines(app: SwitchboardApp, messages: MessageList) -> list[str]:
    """Every loaded message rendered on its own, at the list's width (not its cache)."""
    console = app.console
    options = console.options.update_width(messages.scrollable_content_region.width)
    lines: list[str] = []
    for message in messages.messages:
        text = message_text(message, contact=messages.contact, now=messages._now())
        lines += [
            "".join(s.text for s in line).rstrip()
            for line in console.render_lines(text, options, pad=False)
        ]
        lines.append("")
    return lines


def is_a_window_of(shown: list[str], lines: list[str]) -> bool:
    """``shown`` is consecutive lines of ``lines``: nothing missing, doubled or out of order."""
    return "\n" + "\n".join(shown) + "\n" in "\n" + "\n".join(lines) + "\n"


async def test_a_long_thread_opens_at_its_newest_rendering_only_what_is_in_view(
    app_as, demo_db: Database
):
    await add_long_thread(demo_db)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_thread(app, pilot, demo_db, ALICE_ANSWERED)
        messages = pane.messages
        assert len(messages.messages) == PAGE
        assert await until(pilot, lambda: messages.scroll_y == messages.max_scroll_y > 0)
        await pilot.pause()
        shown = view(messages)
        # The newest message's last line is the last line drawn, then its blank line.
        assert shown == true_lines(app, messages)[-len(shown) :]
        assert "m1999" in screen_text(app)
        # Opening rendered a screenful or so, not the page.
        assert len(messages._rendered) < 30


async def test_reading_back_line_by_line_never_jumps(app_as, demo_db: Database):
    await add_long_thread(demo_db)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_thread(app, pilot, demo_db, ALICE_ANSWERED)
        messages = pane.messages
        assert await until(pilot, lambda: messages.scroll_y == messages.max_scroll_y > 0)
        messages.focus()
        await pilot.pause()
        lines = true_lines(app, messages)
        for _ in range(80):
            before = view(messages)
            await pilot.press("up")
            await pilot.pause()
            after = view(messages)
            # Every line moved down by one: the estimates corrected above stayed invisible.
            assert after[1:] == before[:-1]
            assert is_a_window_of(after, lines)


async def test_the_top_shows_the_oldest_loaded_and_earlier_pages_keep_the_view(
    app_as, demo_db: Database
):
    await add_long_thread(demo_db)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_thread(app, pilot, demo_db, ALICE_ANSWERED)
        messages = pane.messages
        assert await until(pilot, lambda: messages.scroll_y == messages.max_scroll_y > 0)
        messages.focus()
        await pilot.press("home")
        await pilot.pause()
        top = view(messages)
        assert f"m{LONG - PAGE:04d}" in top[1]  # the first body line under its header
        assert is_a_window_of(top, true_lines(app, messages))
        await pilot.press("left_square_bracket")
        assert await until(pilot, lambda: len(messages.messages) == 2 * PAGE)
        await pilot.pause()
        assert messages.scroll_y > 0
        assert view(messages) == top
        # And above it, the page just loaded, down to its first message.
        await pilot.press("home")
        await pilot.pause()
        assert f"m{LONG - 2 * PAGE:04d}" in view(messages)[1]
        assert is_a_window_of(view(messages), true_lines(app, messages))
        await pilot.press("end")
        await pilot.pause()
        shown = view(messages)
        assert shown == true_lines(app, messages)[-len(shown) :]


async def test_a_status_change_updates_the_message_in_place(
    app_as, demo_db: Database, demo_worker: Worker
):
    await add_long_thread(demo_db)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_thread(app, pilot, demo_db, ALICE_ANSWERED)
        messages = pane.messages
        await sending.send(demo_db, app.context.actor, ALICE_ANSWERED, "status probe")
        assert await until(pilot, lambda: messages.messages[-1].body == "status probe")
        await pilot.pause()
        messages.focus()
        await pilot.press("up", "up")  # reading a little above the end
        await pilot.pause()
        before = view(messages)
        assert any("queued" in line for line in before[-5:])
        await demo_worker.run_once()
        assert await until(pilot, lambda: messages.messages[-1].status != "queued")
        await pilot.pause()
        after = view(messages)
        assert after != before
        # Only the probe's header changed: every other line is where it was.
        changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
        assert len(changed) == 1
        assert "queued" not in after[changed[0]]
        assert is_a_window_of(after, true_lines(app, messages))


async def test_a_narrower_terminal_keeps_the_newest_at_the_bottom(app_as, demo_db: Database):
    await add_long_thread(demo_db)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_thread(app, pilot, demo_db, ALICE_ANSWERED)
        messages = pane.messages
        assert await until(pilot, lambda: messages.scroll_y == messages.max_scroll_y > 0)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert await until(pilot, lambda: messages.scroll_y == messages.max_scroll_y > 0)
        shown = view(messages)
        assert len(shown) < 20
        assert shown == true_lines(app, messages)[-len(shown) :]
        assert "m1999" in screen_text(app)
