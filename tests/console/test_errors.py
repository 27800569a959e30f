"""One error path: background work fails into the app's one Worker.StateChanged handler.

A refusal (a SwitchboardError) becomes one error notification with its text;
anything else is logged with its traceback and shown in a dialog.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from console import logs
from console.app import SwitchboardApp, make_app
from console.context import ConsoleContext
from console.panes import conversations as conversations_pane
from console.panes.conversations import ConversationList
from console.panes.thread import ThreadPane
from console.screens.error import ErrorScreen
from core.db import Database
from core.people import agents
from core.sms import conversations
from providers.sandbox import SandboxGateway
from tests.console.conftest import SIZE, until
from tests.console.test_thread import OPTED_OUT, open_thread

CONSOLE = Path(__file__).resolve().parents[2] / "console"

# The only places that still catch a refusal themselves, and why (see the comments there):
# a form shows it under its fields and keeps what was typed; the thread shows a refusal
# to open it in place of the thread, and a live refresh nobody asked for stays quiet.
REACT_DIFFERENTLY = {
    "panes/settings_form.py": 1,
    "screens/contact_form.py": 1,
    "screens/agent_form.py": 1,
    "panes/thread.py": 2,  # show() and refresh_thread()
    "panes/offers.py": 1,  # an offer gone before it could be read: nothing to show
    "screens/choice.py": 1,  # a picker shows core's refusal under its list, as forms do
    "widgets/transfer_history.py": 1,  # a quiet refresh, like the thread's
    # a new profile, the one all-or-nothing save (each shown under its field), a reload of
    # a profile deleted meanwhile (the editor says so)
    "screens/permission_profile_form.py": 3,
    "screens/centre_setup.py": 1,
    "panes/permission_profiles.py": 1,  # a refused delete: the section's one line
    # the small forms (schedule, slot, outcome, collected field): under their fields
    "screens/small_form.py": 1,
    # notification profiles and groups: a refused hold, delete or member change on the
    # section's one line; the editor's save under its field; a prompt under its input
    "panes/notify_profiles.py": 2,
    "panes/notify_groups.py": 1,
    "screens/notification_group_members.py": 2,  # and a group deleted meanwhile
    "screens/notification_profile_form.py": 1,
    "screens/prompt.py": 1,
    # outcomes and fields: a refused archive, PHI switch or delete on the section's line;
    # the 11th recipient under the list
    "panes/notify_outcomes.py": 1,
    "panes/notify_fields.py": 2,
    "screens/outcome_recipients.py": 1,
    "screens/close_form.py": 1,  # the close form: under the field core names
    "widgets/closure_notices.py": 1,  # a quiet refresh, like the thread's
    "commands/messages.py": 1,  # send --batch: a refused line is reported by its number
    "options.py": 1,  # the CLI's runner, not the app: prints the refusal and exits 1
    # alert settings: the save's refusal under the form; a preview that cannot be made
    # (reminders chosen before a frequency) says why where the preview would be
    "panes/alert_settings.py": 2,
    "screens/my_alerts.py": 1,  # My alerts: under the form, what was typed kept
    "screens/campaign_start.py": 1,  # a start time refused under its input, typed text kept
}


def errors(app: SwitchboardApp) -> list[tuple[str, str]]:
    return [(n.title, n.message) for n in app._notifications if n.severity == "error"]


async def quiet_app(db: Database, username: str, log_path: Path | None = None) -> SwitchboardApp:
    """No live feed in these tests: the refusal must come from the action, not a refresh."""
    actor = (await agents.by_username(db, username)).as_actor()
    context = ConsoleContext(
        db,
        actor,
        SandboxGateway(db),
        embedded_worker=False,
        feed_poll_seconds=3600,
        log_path=log_path,
        settle_heap=False,
    )
    return make_app(context)


async def test_sending_to_an_opted_out_contact_is_one_error_notification(app_as, demo_db: Database):
    app = await app_as("carol")
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_thread(app, pilot, demo_db, OPTED_OUT)
        # The composer is disabled for an opted-out contact; the rule still holds below it.
        pane._send("hello again", None, None)
        assert await until(pilot, lambda: errors(app))
        await app.workers.wait_for_complete()
        await pilot.pause()
        ((title, message),) = errors(app)
        assert title == "Could not send the message"
        # The rule's own text, literally (core/sms/consent.py).
        assert message.startswith(f"{OPTED_OUT} opted out of SMS by replying STOP on ")
        assert message.endswith("; nothing can be sent until they text START")
        assert not isinstance(app.screen, ErrorScreen)
        assert pane.composer.sending is False  # the worker's finally still ran


async def test_taking_a_conversation_someone_else_took_is_one_error_notification(
    demo_db: Database,
):
    app = await quiet_app(demo_db, "alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        table = app.query_one(ConversationList)
        thread = app.query_one("#agent-thread", ThreadPane)
        assert await until(pilot, lambda: table.shown and thread.conversation_id)
        target = table.selected_id()
        assert target is not None
        bob = (await agents.by_username(demo_db, "bob")).as_actor()
        await conversations.take(demo_db, bob, target)  # bob was quicker

        await pilot.press("t")
        assert await until(pilot, lambda: errors(app))
        await app.workers.wait_for_complete()
        await pilot.pause()
        ((title, message),) = errors(app)
        assert title == "Could not take the conversation"
        assert message == "this conversation is not public: bob already has it"
        owner = await demo_db.scalar(
            "SELECT a.username FROM conversations c JOIN agents a ON a.id = c.owner_id"
            " WHERE c.id = ?",
            (target,),
        )
        assert owner == "bob"
        assert not isinstance(app.screen, ErrorScreen)


async def test_an_unexpected_error_is_logged_and_shown_in_a_dialog(
    demo_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
):
    async def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(conversations_pane.conversations, "take", broken)
    log_path = tmp_path / "console.log"
    app = await quiet_app(demo_db, "alice", log_path)
    caplog.set_level(logging.ERROR, logger="switchboard")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        table = app.query_one(ConversationList)
        thread = app.query_one("#agent-thread", ThreadPane)
        assert await until(pilot, lambda: table.shown and thread.conversation_id)
        await pilot.press("t")
        assert await until(pilot, lambda: isinstance(app.screen, ErrorScreen))
        dialog = app.screen
        assert isinstance(dialog, ErrorScreen)
        shown = str(dialog.query_one("#error-text").render())
        assert "take the conversation" in shown
        assert "RuntimeError: disk on fire" in shown
        assert str(log_path) in shown
        assert not errors(app)  # a dialog, not a toast

        (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert "take the conversation" in record.getMessage()
        assert record.exc_info is not None
        assert isinstance(record.exc_info[1], RuntimeError)
        assert "disk on fire" in caplog.text
        assert "Traceback" in caplog.text

        await pilot.press("enter")
        assert await until(pilot, lambda: not isinstance(app.screen, ErrorScreen))
        await pilot.press("t")
        assert await until(pilot, lambda: isinstance(app.screen, ErrorScreen))
        await pilot.press("escape")
        assert await until(pilot, lambda: not isinstance(app.screen, ErrorScreen))


def test_no_refusal_is_caught_outside_the_one_handler():
    found: dict[str, int] = {}
    for path in CONSOLE.rglob("*.py"):
        count = len(re.findall(r"except\s*\(?[^:\n]*\bSwitchboardError\b", path.read_text()))
        if count:
            found[str(path.relative_to(CONSOLE))] = count
    assert found == REACT_DIFFERENTLY


def test_the_console_log_file_keeps_the_traceback(tmp_path: Path) -> None:
    logger = logging.getLogger("switchboard")
    level = logger.level
    path = logs.setup_console(tmp_path / "logs" / "console.log")
    added = logger.handlers[-1]
    try:
        try:
            raise RuntimeError("disk on fire")
        except RuntimeError as exc:
            logging.getLogger("switchboard.console").error("failed to send", exc_info=exc)
    finally:
        logger.removeHandler(added)
        logger.setLevel(level)
        added.close()
    written = path.read_text()
    assert "ERROR switchboard.console: failed to send" in written
    assert "Traceback" in written
    assert "RuntimeError: disk on fire" in written
