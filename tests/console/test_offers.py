"""The agent's side of routing in the console (issue #10 item 9): offers with a countdown,
accept and refuse, the activity and permission-profile pickers, transfers from the thread.

On the demo database: bob (Agent profile, no open conversation) is the one
offered conversations when his console opens; alice holds more open
conversations than the Agent profile's maximum, so she is never offered one.
The worker is driven by hand (``run_once``) and the clock moved, never slept.
"""

from __future__ import annotations

import pytest
from textual.widgets import OptionList

from console.panes.offers import OfferBar
from console.panes.thread import ThreadPane
from console.screens.choice import ChoiceScreen
from console.widgets.status_bar import StatusBar
from console.widgets.transfer_history import TransferHistory
from core.clock import FakeClock
from core.db import Database
from core.errors import NotAllowed
from core.people import agents
from core.people.authz import SYSTEM
from core.permissions import configuration, profiles
from core.routing import activities, offers
from core.scheduling.worker import Worker
from core.sms import receiving
from tests.console.conftest import SIZE, until

FRONT_DESK = "+14155550100"
"""The demo's Front desk queue number."""
CONTACT = "+12125550170"
OTHER_CONTACT = "+12125550171"


def bar_text(app) -> str:  # type: ignore[no-untyped-def]
    return app.query_one(OfferBar).drawn


def notes(app) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(n.message for n in app._notifications)


async def offers_of(db: Database, conversation_id: int) -> list[tuple[str, str]]:
    rows = await db.fetchall(
        "SELECT a.username, o.status FROM offers o JOIN agents a ON a.id = o.agent_id"
        " WHERE o.conversation_id = ? ORDER BY o.id",
        (conversation_id,),
    )
    return [(r[0], r[1]) for r in rows]


async def offered_to_bob(app, pilot, db: Database, worker: Worker) -> int:  # type: ignore[no-untyped-def]
    """A new text on the Front desk number, offered to bob; the conversation's id."""
    await pilot.pause()
    # Only the new conversation waits: the demo's own waiting one is taken first.
    async with db.transaction() as tx:
        await tx.execute("UPDATE conversations SET route_due_at = NULL")
    received = await receiving.receive(db, CONTACT, FRONT_DESK, "Is my order [b]ready?")
    await worker.run_once()
    # Drawn, not only held: the bar shows its text on the next refresh.
    assert await until(pilot, lambda: CONTACT in bar_text(app))
    return received.conversation_id


async def _activity(db: Database, username: str) -> str | None:
    actor = (await agents.by_username(db, username)).as_actor()
    now = await activities.current(db, actor)
    return None if now.activity is None else now.activity.name


async def test_opening_the_console_makes_the_agent_available(app_as, demo_db: Database):
    assert await _activity(demo_db, "bob") is None
    app = await app_as("bob")
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: app.query_one(StatusBar).activity == "Available")
        assert await _activity(demo_db, "bob") == "Available"
        assert "Available (F7)" in app.query_one(StatusBar).render().plain
    # Next time, what they left is kept: the default is only for no activity at all.
    bob = (await agents.by_username(demo_db, "bob")).as_actor()
    await activities.choose(demo_db, bob, "Lunch")
    app = await app_as("bob")
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: app.query_one(StatusBar).activity == "Lunch")
        assert await _activity(demo_db, "bob") == "Lunch"


async def test_an_offer_shows_counts_down_and_accepting_opens_it(
    app_as, demo_db: Database, demo_worker: Worker, console_clock: FakeClock
):
    app = await app_as("bob")
    async with app.run_test(size=SIZE) as pilot:
        assert not app.query_one(OfferBar).display
        assert app.check_action("accept_offer", ()) is False
        conversation_id = await offered_to_bob(app, pilot, demo_db, demo_worker)
        bar = app.query_one(OfferBar)
        assert bar.display
        # The contact's own text, shown literally; the queue; the offer's 30 s.
        assert CONTACT in bar_text(app)
        assert "[b]ready?" in bar_text(app)
        assert "queue Front desk" in bar_text(app)
        assert "30 s left" in bar_text(app)
        assert app.check_action("accept_offer", ()) is True
        console_clock.advance(seconds=12)
        assert await until(pilot, lambda: "18 s left" in bar_text(app))
        await pilot.press("f5")
        assert await until(
            pilot, lambda: app.query_one("#agent-thread", ThreadPane).conversation_id
        )
        assert app.query_one("#agent-thread", ThreadPane).conversation_id == conversation_id
        assert not bar.display
        assert await offers_of(demo_db, conversation_id) == [("bob", "accepted")]
        owner = await demo_db.scalar(
            "SELECT a.username FROM conversations c JOIN agents a ON a.id = c.owner_id"
            " WHERE c.id = ?",
            (conversation_id,),
        )
        assert owner == "bob"


async def test_refusing_passes_the_offer_on(app_as, demo_db: Database, demo_worker: Worker):
    app = await app_as("bob")
    async with app.run_test(size=SIZE) as pilot:
        conversation_id = await offered_to_bob(app, pilot, demo_db, demo_worker)
        carol = (await agents.by_username(demo_db, "carol")).as_actor()
        await activities.choose(demo_db, carol, "Available")
        await pilot.press("f6")
        assert await until(pilot, lambda: not app.query_one(OfferBar).display)
        await demo_worker.run_once()
        assert await offers_of(demo_db, conversation_id) == [
            ("bob", "refused"),
            ("carol", "pending"),
        ]
        await pilot.pause(0.3)
        assert not app.query_one(OfferBar).display  # carol's offer is not shown to bob


async def test_f6_is_offered_only_when_the_profile_may_refuse(
    app_as, demo_db: Database, demo_worker: Worker
):
    await profiles.edit(demo_db, SYSTEM, "Agent", may_refuse=False)
    app = await app_as("bob")
    async with app.run_test(size=SIZE) as pilot:
        conversation_id = await offered_to_bob(app, pilot, demo_db, demo_worker)
        assert app.check_action("accept_offer", ()) is True
        assert app.check_action("refuse_offer", ()) is False
        assert "app.refuse_offer" not in _live_keys(app)
        assert "F5 accept" in bar_text(app)
        assert "F6" not in bar_text(app)
        await pilot.press("f6")  # not a key here: nothing happens
        await pilot.pause(0.2)
        assert app.query_one(OfferBar).display
        assert await offers_of(demo_db, conversation_id) == [("bob", "pending")]
        # Core stays the enforcer: asked anyway, it refuses naming the rule.
        bob = app.context.actor
        with pytest.raises(NotAllowed, match=r"cannot be refused.*may refuse is off"):
            await offers.refuse(demo_db, bob, app.query_one(OfferBar).current.id)
        # A manager turns it on: the key comes at once, without a new login.
        await profiles.edit(demo_db, SYSTEM, "Agent", may_refuse=True)
        assert await until(pilot, lambda: "F6 refuse" in bar_text(app))
        assert "app.refuse_offer" in _live_keys(app)
        await pilot.press("f6")
        assert await until(pilot, lambda: not app.query_one(OfferBar).display)
        assert await offers_of(demo_db, conversation_id) == [("bob", "refused")]


def _live_keys(app) -> set[str]:  # type: ignore[no-untyped-def]
    """The ids of the keys the footer shows now."""
    return {
        active.binding.id
        for active in app.screen.active_bindings.values()
        if active.enabled and active.binding.id
    }


async def test_two_offers_f10_chooses_which_one_f5_answers(
    app_as, demo_db: Database, demo_worker: Worker
):
    await profiles.edit(demo_db, SYSTEM, "Agent", max_simultaneous=3)
    app = await app_as("bob")
    async with app.run_test(size=(80, 24)) as pilot:
        first = await offered_to_bob(app, pilot, demo_db, demo_worker)
        second = (
            await receiving.receive(demo_db, OTHER_CONTACT, FRONT_DESK, "Second")
        ).conversation_id
        await demo_worker.run_once()
        bar = app.query_one(OfferBar)
        assert await until(pilot, lambda: len(bar.offers) == 2)
        # The oldest is current; the bar says how many and which one (once drawn: the
        # offers change before the next refresh draws them).
        assert bar.current.conversation_id == first
        assert await until(pilot, lambda: "F10 next (1 of 2)" in bar_text(app))
        assert bar_text(app).splitlines()[0].startswith("▶ Offer ")
        assert app.check_action("next_offer", ()) is True
        await pilot.press("f10")
        assert await until(pilot, lambda: "F10 next (2 of 2)" in bar_text(app))
        assert bar.current.conversation_id == second
        assert "▶ Offer " + OTHER_CONTACT in bar_text(app)
        await pilot.press("f5")
        thread = app.query_one("#agent-thread", ThreadPane)
        assert await until(pilot, lambda: thread.conversation_id == second)
        assert await offers_of(demo_db, second) == [("bob", "accepted")]
        assert await offers_of(demo_db, first) == [("bob", "pending")]
        # One left: it is current, and there is nothing to move to.
        assert await until(pilot, lambda: len(bar.offers) == 1)
        assert bar.current.conversation_id == first
        assert await until(pilot, lambda: "F10" not in bar_text(app))
        assert app.check_action("next_offer", ()) is False
        await pilot.press("f10", "f5")
        assert await until(pilot, lambda: thread.conversation_id == first)
        assert await offers_of(demo_db, first) == [("bob", "accepted")]


async def test_an_expired_offer_goes_with_a_notice_and_the_missed_limit_moves_the_agent(
    app_as, demo_db: Database, demo_worker: Worker, console_clock: FakeClock
):
    await profiles.edit(demo_db, SYSTEM, "Agent", max_missed_offers=1, missed_activity="Away")
    app = await app_as("bob")
    async with app.run_test(size=SIZE) as pilot:
        conversation_id = await offered_to_bob(app, pilot, demo_db, demo_worker)
        assert app.query_one(StatusBar).activity == "Available"
        console_clock.advance(seconds=31)
        await demo_worker.run_once()
        assert await until(pilot, lambda: not app.query_one(OfferBar).display)
        assert await until(pilot, lambda: "expired" in notes(app))
        assert "next agent" in notes(app)
        assert await offers_of(demo_db, conversation_id) == [("bob", "expired")]
        # The limit of one missed offer: bob is Away, and told why.
        assert await until(pilot, lambda: app.query_one(StatusBar).activity == "Away")
        assert await until(pilot, lambda: "You missed 1 offers in a row" in notes(app))


async def test_a_withdrawn_offer_goes_with_a_notice(app_as, demo_db: Database, demo_worker: Worker):
    app = await app_as("bob")
    async with app.run_test(size=SIZE) as pilot:
        conversation_id = await offered_to_bob(app, pilot, demo_db, demo_worker)
        dana = (await agents.by_username(demo_db, "dana")).as_actor()
        from core.routing import transfers

        await transfers.to_agent(demo_db, dana, conversation_id, "carol")
        assert await until(pilot, lambda: not app.query_one(OfferBar).display)
        assert await until(pilot, lambda: "withdrawn" in notes(app))


async def test_auto_accept_counts_down_and_opens_the_conversation(
    app_as, demo_db: Database, demo_worker: Worker, console_clock: FakeClock
):
    await profiles.edit(demo_db, SYSTEM, "Agent", auto_accept_seconds=10)
    app = await app_as("bob")
    async with app.run_test(size=SIZE) as pilot:
        conversation_id = await offered_to_bob(app, pilot, demo_db, demo_worker)
        assert ", auto-accept in 10 s" in bar_text(app)
        console_clock.advance(seconds=4)
        assert await until(pilot, lambda: "auto-accept in 6 s" in bar_text(app))
        console_clock.advance(seconds=6)
        await demo_worker.run_once()
        thread = app.query_one("#agent-thread", ThreadPane)
        assert await until(pilot, lambda: thread.conversation_id == conversation_id)
        assert "auto-accept" in notes(app)
        assert await offers_of(demo_db, conversation_id) == [("bob", "accepted")]


async def _choose(app, pilot, label: str) -> None:  # type: ignore[no-untyped-def]
    screen = app.screen
    assert isinstance(screen, ChoiceScreen)
    options = screen.query_one(OptionList)
    prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
    index = next(i for i, prompt in enumerate(prompts) if label in prompt)
    options.highlighted = index
    await pilot.press("enter")


async def test_the_activity_picker_switches_and_shows_cores_refusal(app_as, demo_db: Database):
    app = await app_as("bob")
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: app.query_one(StatusBar).activity == "Available")
        await pilot.press("f7")
        assert await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await _choose(app, pilot, "Lunch")
        assert await until(pilot, lambda: app.query_one(StatusBar).activity == "Lunch")
        assert not isinstance(app.screen, ChoiceScreen)
        assert await _activity(demo_db, "bob") == "Lunch"
        # The picker lists what the profile offers; a manager's change meanwhile is
        # caught by core, and its refusal shown in the picker.
        await pilot.press("f7")
        assert await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await configuration.set_profile_activities(
            demo_db, SYSTEM, "Agent", ["Available", "Lunch"], "Available"
        )
        await _choose(app, pilot, "Away")
        screen = app.screen
        assert isinstance(screen, ChoiceScreen)
        assert await until(pilot, lambda: "does not offer the activity 'Away'" in screen.error)
        assert await _activity(demo_db, "bob") == "Lunch"
        await pilot.press("escape")
        assert not isinstance(app.screen, ChoiceScreen)


async def test_the_profile_picker_switches_the_active_profile(app_as, demo_db: Database):
    app = await app_as("carol")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.sub_title == "Carol Jensen (Agent)"
        # Also in the command palette, by the binding's description.
        commands = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Permission profile", "Activity"} <= commands
        await pilot.press("f8")
        assert await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await _choose(app, pilot, "Night shift")
        assert await until(pilot, lambda: app.sub_title == "Carol Jensen (Night shift)")
        assert app.context.actor.profile_name == "Night shift"
        # Unassigned meanwhile: core refuses, the picker says so.
        await pilot.press("f8")
        assert await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await profiles.activate(demo_db, SYSTEM, "carol", "Night shift")
        await profiles.unassign(demo_db, SYSTEM, "Agent", "carol")
        await _choose(app, pilot, "Agent")
        screen = app.screen
        assert isinstance(screen, ChoiceScreen)
        assert await until(pilot, lambda: "does not hold" in screen.error)


async def _open_thread(app, pilot, conversation_id: int) -> ThreadPane:  # type: ignore[no-untyped-def]
    await app.open_conversation(conversation_id)
    thread = app.query_one("#agent-thread", ThreadPane)
    assert await until(pilot, lambda: thread.conversation_id == conversation_id)
    thread.messages.focus()
    await pilot.pause()
    return thread


async def test_a_transfer_to_a_queue_then_to_an_agent_shows_in_the_thread(
    app_as, demo_db: Database, demo_worker: Worker
):
    app = await app_as("dana")  # Manager: may transfer both ways
    async with app.run_test(size=SIZE) as pilot:
        thread = await _open_thread(app, pilot, 1)  # alice's
        history = thread.query_one(TransferHistory)
        assert not history.display
        await pilot.press("f9")
        assert await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await _choose(app, pilot, "Front desk")
        assert await until(pilot, lambda: len(history.transfers) == 1)
        assert history.display
        assert "alice → queue Front desk (by dana)" in str(history.render())
        owner = await demo_db.scalar("SELECT owner_id FROM conversations WHERE id = 1")
        assert owner is None
        await pilot.press("f9")
        assert await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await _choose(app, pilot, "carol")
        assert await until(pilot, lambda: len(history.transfers) == 2)
        assert "nobody → carol (by dana)" in str(history.render())
        assert "Transferred to carol" in notes(app)
        owner = await demo_db.scalar(
            "SELECT a.username FROM conversations c JOIN agents a ON a.id = c.owner_id"
            " WHERE c.id = 1"
        )
        assert owner == "carol"


async def test_a_transfer_the_profile_lacks_is_refused_with_cores_message(
    app_as, demo_db: Database
):
    await profiles.edit(demo_db, SYSTEM, "Agent", transfer_to_queue=True)
    app = await app_as("alice")
    async with app.run_test(size=SIZE) as pilot:
        await _open_thread(app, pilot, 1)
        await pilot.press("f9")
        assert await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await _choose(app, pilot, "bob")
        screen = app.screen
        assert isinstance(screen, ChoiceScreen)
        assert await until(pilot, lambda: "does not have transfer_to_agent" in screen.error)
        owner = await demo_db.scalar("SELECT owner_id FROM conversations WHERE id = 1")
        assert owner == 1  # still alice's
        # To a queue the profile may.
        await _choose(app, pilot, "Front desk")
        assert await until(pilot, lambda: not isinstance(app.screen, ChoiceScreen))
        assert await demo_db.scalar("SELECT count(*) FROM transfers") == 1


async def test_offer_and_pickers_at_80x24(app_as, demo_db: Database, demo_worker: Worker):
    app = await app_as("bob")
    async with app.run_test(size=(80, 24)) as pilot:
        await offered_to_bob(app, pilot, demo_db, demo_worker)
        bar = app.query_one(OfferBar)
        assert bar.region.width == 80
        assert bar.region.height >= 1
        assert "F5 accept" in bar_text(app)
        await pilot.press("f7")
        assert await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        options = app.screen.query_one(OptionList)
        assert options.region.height >= options.option_count  # every activity visible
        assert options.region.right <= 80
        await pilot.press("escape")
        await pilot.press("f5")
        assert await until(
            pilot, lambda: app.query_one("#agent-thread", ThreadPane).conversation_id
        )
