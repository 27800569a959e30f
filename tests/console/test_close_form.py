"""Close with an outcome from the thread (P4): the form, core's refusals under their
fields, the notices under the messages with their live status, the list's state.

The real app on a copy of the demo database; the worker is driven by hand
(``run_once``) with the fake clock moved between runs.
"""

from __future__ import annotations

import sqlite3

from textual.widgets import Label, Select, Static

from console.panes.conversations import ConversationList
from console.screens.close_form import CloseForm
from console.widgets.closure_notices import ClosureNotices
from console.widgets.editing import Input, TextArea
from core.clock import FakeClock
from core.db import Database
from core.delivery.gateway import OutboundEmail, PermanentFailure
from core.notify import fields, outcomes
from core.people.authz import SYSTEM
from core.scheduling.worker import Worker
from core.sms import receiving
from providers.sandbox import SandboxGateway
from tests.console.conftest import SIZE, until
from tests.console.test_thread import ALICE_ANSWERED, open_thread, screen_text

HALE_SMS = "+12125550160"
HALE_MAIL = "hale@example.com"
REFUSED_MAIL = "nobody@example.com"
BOB_FOLLOWS = "+12125550101"  # alice's conversation, bob a subscriber
HOSTILE = "[bold]x[/] [@click=app.quit]y[/]"
HOSTILE_RAW = HOSTILE + " \x1b[31mred\x1b]0;title\x07"


class Mail:
    """A mail server that takes every email but one address's."""

    name = "test-mail"

    def __init__(self) -> None:
        self.sent: list[OutboundEmail] = []

    async def send(self, email: OutboundEmail) -> None:
        if email.to == REFUSED_MAIL:
            raise PermanentFailure("550 5.1.1 no such user here")
        self.sent.append(email)


async def add_profile(db: Database, alias: str, *, extra_mail: bool = False) -> None:
    """A profile notified by SMS and email, written as the profile helpers' tables hold it."""
    async with db.transaction() as tx:
        profile_id = await tx.insert(
            "INSERT INTO notification_profiles (alias, sms_on, email_on, created_at, updated_at)"
            " VALUES (?, 1, 1, 0, 0)",
            (alias,),
        )
        rows = [("sms", HALE_SMS, 0), ("email", HALE_MAIL, 0)]
        if extra_mail:
            rows.append(("email", REFUSED_MAIL, 1))
        for kind, value, position in rows:
            await tx.execute(
                "INSERT INTO notification_profile_contacts VALUES (?, ?, ?, ?)",
                (profile_id, kind, value, position),
            )


def form(app) -> CloseForm:  # type: ignore[no-untyped-def]
    assert isinstance(app.screen, CloseForm)
    return app.screen


def block_text(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.query_one("#closure-text", Static).render())


def error_under(app, name: str) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one(f"#error-{name}", Static).render())


async def open_form(app, pilot) -> CloseForm:  # type: ignore[no-untyped-def]
    await pilot.press("ctrl+g")
    assert await until(pilot, lambda: isinstance(app.screen, CloseForm))
    await pilot.pause()
    return form(app)


async def test_close_with_an_outcome_shows_the_notices_and_follows_their_status(
    app_as, demo_db: Database, console_clock: FakeClock
):
    await add_profile(demo_db, "Dr Hale", extra_mail=True)
    await outcomes.switch(demo_db, SYSTEM, "Urgent", "Dr Hale")
    mail = Mail()
    worker = Worker(demo_db, SandboxGateway(demo_db), holder="test-worker", email_gateway=mail)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        thread = await open_thread(app, pilot, demo_db, ALICE_ANSWERED)
        assert not app.query_one(ClosureNotices).display
        close = await open_form(app, pilot)
        shown = screen_text(app)
        assert "Message" in shown
        assert "PHI" in shown
        assert isinstance(close.query_one("#field-message"), TextArea)  # long_text
        # Left empty, the caller's name and number are told as the conversation knows them.
        placeholders = {
            name: close.query_one(f"#field-{name}", Input).placeholder
            for name in ("first_name", "last_name", "phone")
        }
        assert placeholders == {
            "first_name": "empty: Dmitri (from the conversation)",
            "last_name": "empty: Rossi (from the conversation)",
            "phone": f"empty: {ALICE_ANSWERED} (from the conversation)",
        }
        close.query_one("#close-outcome", Select).value = "Urgent"
        close.query_one("#field-first_name", Input).value = "Ann"
        close.query_one("#field-message", TextArea).text = "Call me back\nabout the parcel"
        close.query_one("#close-comment", TextArea).text = "Sounded worried"
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: not isinstance(app.screen, CloseForm))

        conversation_id = thread.conversation_id
        assert await demo_db.scalar(
            "SELECT closed_at FROM conversations WHERE id = ?", (conversation_id,)
        )
        assert await until(pilot, lambda: "Dr Hale" in block_text(app))
        text = block_text(app)
        assert "Closed: Urgent by alice" in text
        assert "Sounded worried" in text
        assert f"queued    SMS Dr Hale {HALE_SMS}" in text
        assert f"queued    email Dr Hale {HALE_MAIL}" in text
        table = app.query_one(ConversationList)
        assert await until(pilot, lambda: str(table.get_row(str(conversation_id))[3]) == "closed")
        assert not thread.check_action("close_conversation", ())  # closed: no Close… key

        await worker.run_once()
        assert await until(pilot, lambda: f"sent      SMS Dr Hale {HALE_SMS}" in block_text(app))
        assert await until(pilot, lambda: f"sent      email Dr Hale {HALE_MAIL}" in block_text(app))
        text = block_text(app)
        assert f"failed    email Dr Hale {REFUSED_MAIL}" in text
        assert "550 5.1.1 no such user here" in text
        assert [m.to for m in mail.sent] == [HALE_MAIL]

        console_clock.advance(seconds=5)  # the sandbox's delivery report comes
        await worker.run_once()
        assert await until(pilot, lambda: f"delivered SMS Dr Hale {HALE_SMS}" in block_text(app))


async def test_a_new_message_opens_it_again_and_the_list_says_so(app_as, demo_db: Database):
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        thread = await open_thread(app, pilot, demo_db, ALICE_ANSWERED)
        close = await open_form(app, pilot)
        close.query_one("#close-outcome", Select).value = "Wrong Number"
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: "Closed: Wrong Number" in block_text(app))
        assert "No one is notified of this outcome." in block_text(app)
        conversation_id = thread.conversation_id
        table = app.query_one(ConversationList)
        assert await until(pilot, lambda: str(table.get_row(str(conversation_id))[3]) == "closed")

        await receiving.receive(demo_db, ALICE_ANSWERED, "+14155550101", "One more thing")
        assert await until(pilot, lambda: "Last closed: Wrong Number" in block_text(app))
        assert "no notices" in block_text(app)
        assert await until(pilot, lambda: str(table.get_row(str(conversation_id))[3]) != "closed")
        assert await until(pilot, lambda: thread.check_action("close_conversation", ()))


async def test_a_refusal_is_shown_under_the_field_it_names_and_what_was_typed_stays(
    app_as, demo_db: Database
):
    await fields.add(demo_db, SYSTEM, "account", "Account number", required=True)
    app = await app_as("alice")
    async with app.run_test(size=(80, 24)) as pilot:  # an SSH session's terminal
        thread = await open_thread(app, pilot, demo_db, ALICE_ANSWERED)
        close = await open_form(app, pilot)
        assert "Account number *" in screen_text(app)

        await pilot.press("ctrl+s")  # no outcome chosen
        await pilot.pause()
        assert "no outcome named" in error_under(app, "outcome")

        close.query_one("#close-outcome", Select).value = "General Message"
        close.query_one("#field-first_name", Input).value = "Ann"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, CloseForm)
        assert "required fields are empty: account" in error_under(app, "account")
        assert error_under(app, "outcome") == ""
        assert app.focused is close.query_one("#field-account")

        close.query_one("#field-account", Input).value = "A-17"
        close.query_one("#field-phone", Input).value = "not a phone"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "not a phone" in error_under(app, "phone")
        assert error_under(app, "account") == ""
        assert close.query_one("#field-first_name", Input).value == "Ann"
        assert await demo_db.scalar("SELECT count(*) FROM closures") == 0

        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, CloseForm)
        assert thread.check_action("close_conversation", ())


async def test_the_key_is_hidden_for_whoever_may_not_close(app_as, demo_db: Database):
    app = await app_as("bob")  # follows alice's conversation: sees it, does not own it
    async with app.run_test(size=SIZE) as pilot:
        thread = await open_thread(app, pilot, demo_db, BOB_FOLLOWS)
        thread.messages.focus()
        await pilot.pause()
        assert not thread.check_action("close_conversation", ())
        assert "Close…" not in screen_text(app)
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert not isinstance(app.screen, CloseForm)

    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        thread = await open_thread(app, pilot, demo_db, BOB_FOLLOWS)
        thread.messages.focus()
        assert thread.check_action("close_conversation", ())
        assert await until(pilot, lambda: "Close…" in screen_text(app))


async def test_names_and_addresses_from_outside_are_shown_literally(app_as, demo_db: Database):
    await outcomes.add(demo_db, SYSTEM, HOSTILE, "non_message")
    await fields.add(demo_db, SYSTEM, "ward", HOSTILE)
    await add_profile(demo_db, "Dr Hale")
    # A profile saved by hand, with what no form lets in: shown, never obeyed.
    conn = sqlite3.connect(demo_db.path, isolation_level=None)
    try:
        conn.execute("UPDATE notification_profiles SET alias = ?", (HOSTILE_RAW,))
    finally:
        conn.close()
    await outcomes.set_recipient(demo_db, SYSTEM, HOSTILE, "profile", HOSTILE_RAW)
    app = await app_as("alice")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_thread(app, pilot, demo_db, ALICE_ANSWERED)
        close = await open_form(app, pilot)
        labels = "".join(str(label.render()) for label in close.query(Label))
        assert HOSTILE in labels  # the field's label, as typed
        close.query_one("#close-outcome", Select).value = HOSTILE
        close.query_one("#field-ward", Input).value = HOSTILE
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: "Closed:" in block_text(app))
        text = block_text(app)
        assert f"Closed: {HOSTILE} by alice" in text
        assert HOSTILE in text
        assert "\x1b" not in text
        assert "\x07" not in text
        assert app.is_running  # the [@click=app.quit] was never an action
