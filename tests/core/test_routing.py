"""Routing (issue #10 item 6): offers to the best available agent, answered or missed.

Driven with the FakeClock and Worker.run_once(); each test sets up the
permission profiles it needs (tests/core/routing_setup.py).
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest

from core import settings
from core.clock import FakeClock
from core.db import Database, open_database
from core.errors import AlreadyTaken, InvalidInput, NotAllowed, NotFound
from core.people.authz import SYSTEM
from core.permissions import principal
from core.routing import activities, offers
from core.scheduling.worker import Worker
from core.sms import conversations, receiving
from providers.sandbox import SandboxGateway
from tests.core.conftest import Team
from tests.core.routing_setup import (
    QUEUE_NUMBER,
    available,
    give_profile,
    inbound,
    make_profile,
    offers_of,
    phone,
    routing,
    take_queue,
)


async def _one_profile(db: Database, team: Team, **columns: object) -> int:
    """alice and bob hold one profile taking Sales; both Available. The profile's id."""
    r = await routing(db)
    profile = await make_profile(db, "Sales desk", **columns)
    await take_queue(db, profile, r.sales)
    await give_profile(db, team.alice, profile)
    await give_profile(db, team.bob, profile)
    await available(db, team.alice, team.bob)
    return profile


async def _owner(db: Database, conversation_id: int) -> int | None:
    row = await db.fetchone("SELECT owner_id FROM conversations WHERE id = ?", (conversation_id,))
    assert row is not None
    return row[0]


async def _pending(db: Database, conversation_id: int) -> offers.Offer:
    row = await db.fetchone(
        "SELECT id FROM offers WHERE conversation_id = ? AND status = 'pending'",
        (conversation_id,),
    )
    assert row is not None, "a pending offer"
    return await offers.get(db, row[0])


# --- who is offered -------------------------------------------------------------


async def test_the_highest_queue_score_is_offered_first(
    db: Database, team: Team, worker: Worker
) -> None:
    r = await routing(db)
    low = await make_profile(db, "Juniors")
    high = await make_profile(db, "Seniors")
    await take_queue(db, low, r.sales, score=10)
    await take_queue(db, high, r.sales, score=90)
    await give_profile(db, team.alice, low, distribution=100)
    await give_profile(db, team.bob, high, distribution=0)
    await available(db, team.alice, team.bob)

    conversation = await inbound(db, 0)
    row = await db.fetchone(
        "SELECT queue_id, is_public, route_due_at FROM conversations WHERE id = ?",
        (conversation,),
    )
    assert row is not None
    assert (row[0], row[1]) == (r.sales, 0), "on the number's queue, not public while offered"
    await worker.run_once()
    assert await offers_of(db, conversation) == [(team.bob.id, "pending")]


async def test_then_the_distribution_score(db: Database, team: Team, worker: Worker) -> None:
    r = await routing(db)
    profile = await make_profile(db, "Sales desk")
    await take_queue(db, profile, r.sales)
    await give_profile(db, team.alice, profile, distribution=30)
    await give_profile(db, team.bob, profile, distribution=80)
    await available(db, team.alice, team.bob)
    conversation = await inbound(db, 0)
    await worker.run_once()
    assert await offers_of(db, conversation) == [(team.bob.id, "pending")]


async def test_then_the_longest_idle_and_an_offer_sends_you_to_the_back(
    db: Database, team: Team, worker: Worker, clock: FakeClock
) -> None:
    r = await routing(db)
    profile = await make_profile(db, "Sales desk")
    await take_queue(db, profile, r.sales)
    await give_profile(db, team.alice, profile)
    await give_profile(db, team.bob, profile)
    await available(db, team.bob)
    clock.advance(minutes=1)
    await available(db, team.alice)  # bob has been idle longer
    first, second, third = [await inbound(db, n) for n in range(3)]
    await worker.run_once()
    assert await offers_of(db, first) == [(team.bob.id, "pending")]
    assert await offers_of(db, second) == [(team.alice.id, "pending")]
    assert await offers_of(db, third) == [(team.bob.id, "pending")]


async def test_an_agent_at_capacity_is_passed_over(
    db: Database, team: Team, worker: Worker, clock: FakeClock
) -> None:
    r = await routing(db)
    one = await make_profile(db, "One at a time", max_simultaneous=1)
    await take_queue(db, one, r.sales, score=90)
    await give_profile(db, team.alice, one)
    await available(db, team.alice)
    first = await inbound(db, 0)
    await worker.run_once()
    await offers.accept(db, team.alice, (await _pending(db, first)).id)
    second = await inbound(db, 1)
    await worker.run_once()
    assert await offers_of(db, second) == [], "alice holds one open conversation: her maximum"
    row = await db.fetchone("SELECT route_due_at FROM conversations WHERE id = ?", (second,))
    assert row is not None
    assert row[0] == int(clock.now().timestamp() * 1000) + offers.RETRY_MS

    # bob comes in (lower score, but room): he is offered it when he becomes Available.
    other = await make_profile(db, "Backup")
    await take_queue(db, other, r.sales, score=10)
    await give_profile(db, team.bob, other)
    await available(db, team.bob)
    await worker.run_once()
    assert await offers_of(db, second) == [(team.bob.id, "pending")]


async def test_a_pending_offer_takes_room(db: Database, team: Team, worker: Worker) -> None:
    r = await routing(db)
    one = await make_profile(db, "One at a time", max_simultaneous=1)
    await take_queue(db, one, r.sales)
    await give_profile(db, team.alice, one)
    await available(db, team.alice)
    first, second = await inbound(db, 0), await inbound(db, 1)
    await worker.run_once()  # within one sweep
    assert await offers_of(db, first) == [(team.alice.id, "pending")]
    assert await offers_of(db, second) == []
    third = await inbound(db, 2)
    await worker.run_once()  # and in the next one, from the offers table
    assert await offers_of(db, third) == []


async def test_the_interaction_timeout_runs_from_idle(
    db: Database, team: Team, worker: Worker, clock: FakeClock
) -> None:
    r = await routing(db)
    profile = await make_profile(db, "Breathers", interaction_timeout_seconds=60)
    await take_queue(db, profile, r.sales)
    await give_profile(db, team.alice, profile)
    await available(db, team.alice)
    conversation = await inbound(db, 0)
    clock.advance(seconds=59)
    await worker.run_once()
    assert await offers_of(db, conversation) == []
    clock.advance(seconds=6)  # past the timeout and the retry
    await worker.run_once()
    assert await offers_of(db, conversation) == [(team.alice.id, "pending")]


async def test_only_queues_with_messaging_on_and_available_agents(
    db: Database, team: Team, worker: Worker
) -> None:
    r = await routing(db)
    off = await make_profile(db, "Messaging off")
    await take_queue(db, off, r.sales, messaging=False)
    await give_profile(db, team.alice, off)
    on = await make_profile(db, "Messaging on")
    await take_queue(db, on, r.sales)
    await give_profile(db, team.bob, on)
    await available(db, team.alice)
    await activities.choose(db, team.bob, "Lunch")
    conversation = await inbound(db, 0)
    await worker.run_once()
    assert await offers_of(db, conversation) == []
    await available(db, team.bob)
    await worker.run_once()
    assert await offers_of(db, conversation) == [(team.bob.id, "pending")]


async def test_keywords_and_numbers_without_a_queue_are_not_routed(
    db: Database, team: Team, worker: Worker
) -> None:
    await _one_profile(db, team)
    help_only = (await receiving.receive(db, phone(0), QUEUE_NUMBER, "HELP")).conversation_id
    no_queue = (await receiving.receive(db, phone(1), "+14155550100", "Hi")).conversation_id
    await worker.run_once()
    assert await offers_of(db, help_only) == []
    assert await offers_of(db, no_queue) == []


# --- answers ----------------------------------------------------------------------


async def test_accept_makes_it_yours_and_the_feed_says_so(
    db: Database, team: Team, worker: Worker
) -> None:
    await _one_profile(db, team)
    conversation = await inbound(db, 0)
    await worker.run_once()
    offer = await _pending(db, conversation)
    assert [o.id for o in await offers.pending_for(db, team.alice)] == [offer.id]
    made = await db.fetchone(
        "SELECT entity_id, data FROM events WHERE kind = 'offer.made' ORDER BY id DESC"
    )
    assert made is not None
    assert made[0] == offer.id
    assert json.loads(made[1])["agent_id"] == team.alice.id
    with pytest.raises(NotAllowed):
        await offers.accept(db, team.bob, offer.id)  # not bob's offer
    accepted = await offers.accept(db, team.alice, offer.id)
    assert accepted.status == "accepted"
    assert await _owner(db, conversation) == team.alice.id
    assert await offers.pending_for(db, team.alice) == []


async def test_auto_accept(db: Database, team: Team, worker: Worker, clock: FakeClock) -> None:
    await _one_profile(db, team, auto_accept_seconds=10)
    conversation = await inbound(db, 0)
    await worker.run_once()
    offer = await _pending(db, conversation)
    assert offer.auto_accept_at == clock.now() + timedelta(seconds=10)
    clock.advance(seconds=9)
    await worker.run_once()
    assert await _owner(db, conversation) is None
    clock.advance(seconds=1)
    await worker.run_once()
    assert await _owner(db, conversation) == offer.agent_id
    assert (await offers.get(db, offer.id)).status == "accepted"


async def test_refused_goes_to_the_next_agent_and_counts_as_missed(
    db: Database, team: Team, worker: Worker
) -> None:
    await _one_profile(db, team)
    conversation = await inbound(db, 0)
    await worker.run_once()
    first = await _pending(db, conversation)
    refuser = team.alice if first.agent_id == team.alice.id else team.bob
    other = team.bob if refuser is team.alice else team.alice
    await offers.refuse(db, refuser, first.id)
    assert (await activities.current(db, refuser)).missed_offers == 1
    await worker.run_once()
    assert await offers_of(db, conversation) == [(refuser.id, "refused"), (other.id, "pending")]
    # The other refuses too: only the two who missed it are left, so it comes round again.
    await offers.refuse(db, other, (await _pending(db, conversation)).id)
    await worker.run_once()
    assert len(await offers_of(db, conversation)) == 3


async def test_refusing_needs_may_refuse(db: Database, team: Team, worker: Worker) -> None:
    await _one_profile(db, team, may_refuse=0)
    conversation = await inbound(db, 0)
    await worker.run_once()
    offer = await _pending(db, conversation)
    agent = team.alice if offer.agent_id == team.alice.id else team.bob
    with pytest.raises(NotAllowed, match="may refuse is off"):
        await offers.refuse(db, agent, offer.id)
    assert (await offers.get(db, offer.id)).status == "pending"
    assert (await activities.current(db, agent)).missed_offers == 0


async def test_an_offer_expires_and_passes_on(
    db: Database, team: Team, worker: Worker, clock: FakeClock
) -> None:
    await _one_profile(db, team)
    conversation = await inbound(db, 0)
    await worker.run_once()
    first = await _pending(db, conversation)
    assert first.expires_at == clock.now() + timedelta(seconds=30)  # offer_seconds' default
    clock.advance(seconds=30)
    await worker.run_once()
    assert (await offers.get(db, first.id)).status == "expired"
    second = await _pending(db, conversation)
    assert second.agent_id != first.agent_id
    missed = await db.scalar("SELECT missed_offers FROM agents WHERE id = ?", (first.agent_id,))
    assert missed == 1
    with pytest.raises(InvalidInput, match="was expired"):
        await offers.accept(
            db, team.alice if first.agent_id == team.alice.id else team.bob, first.id
        )


async def test_offer_seconds_is_a_setting_with_a_rule(
    db: Database, team: Team, worker: Worker, clock: FakeClock
) -> None:
    with pytest.raises(InvalidInput, match="offer_seconds must be a whole number between 5"):
        await settings.update(db, SYSTEM, offer_seconds=1)
    await settings.update(db, SYSTEM, offer_seconds=90)
    await _one_profile(db, team)
    conversation = await inbound(db, 0)
    await worker.run_once()
    assert (await _pending(db, conversation)).expires_at == clock.now() + timedelta(seconds=90)


async def test_reaching_max_missed_moves_the_agent_and_says_why(
    db: Database, team: Team, worker: Worker, clock: FakeClock
) -> None:
    r = await routing(db)
    away = await db.scalar("SELECT id FROM activities WHERE name = 'Away'")
    profile = await make_profile(db, "Strict", max_missed_offers=2, missed_activity_id=away)
    await take_queue(db, profile, r.sales)
    await give_profile(db, team.alice, profile)
    await available(db, team.alice)
    conversation = await inbound(db, 0)
    await worker.run_once()
    clock.advance(seconds=30)
    await worker.run_once()  # missed one; offered to her again (nobody else)
    assert await offers_of(db, conversation) == [
        (team.alice.id, "expired"),
        (team.alice.id, "pending"),
    ]
    clock.advance(seconds=30)
    await worker.run_once()  # missed two: Away
    now = await activities.current(db, team.alice)
    assert now.activity is not None
    assert now.activity.name == "Away"
    assert now.missed_offers == 2
    event = await db.fetchone(
        "SELECT entity_id, data FROM events WHERE kind = 'agent.activity_changed' ORDER BY id DESC"
    )
    assert event is not None
    assert event[0] == team.alice.id
    assert json.loads(event[1])["reason"] == activities.MISSED_OFFERS
    assert await offers_of(db, conversation) == [
        (team.alice.id, "expired"),
        (team.alice.id, "expired"),
    ], "not offered to an agent who is Away"
    await available(db, team.alice)
    assert (await activities.current(db, team.alice)).missed_offers == 0
    await worker.run_once()
    assert (await offers_of(db, conversation))[-1] == (team.alice.id, "pending")


async def test_an_activity_must_exist_and_be_in_the_profile(db: Database, team: Team) -> None:
    r = await routing(db)
    profile = await make_profile(db, "No lunch")
    await take_queue(db, profile, r.sales)
    await give_profile(db, team.alice, profile)
    await db.write(
        "DELETE FROM permission_profile_activities WHERE profile_id = ?"
        " AND activity_id = (SELECT id FROM activities WHERE name = 'Lunch')",
        (profile,),
    )
    with pytest.raises(NotFound, match="no activity called 'Nap'"):
        await activities.choose(db, team.alice, "Nap")
    with pytest.raises(NotAllowed, match="does not offer the activity 'Lunch'"):
        await activities.choose(db, team.alice, "Lunch")
    # Bob holds the built-in Agent profile, which offers every activity.
    assert (await activities.choose(db, team.bob, "Lunch")).name == "Lunch"
    assert (await activities.current(db, team.alice)).activity is None
    chosen = await activities.choose(db, team.alice, "  available ")
    assert chosen.name == "Available"


# --- public minutes, takes, races, restarts --------------------------------------------


async def test_nobody_accepts_so_the_public_minutes_apply(
    db: Database, team: Team, worker: Worker, clock: FakeClock
) -> None:
    await settings.update(db, SYSTEM, offer_seconds=3600)
    await _one_profile(db, team)
    conversation = await inbound(db, 0)
    await worker.run_once()
    offer = await _pending(db, conversation)
    clock.advance(minutes=20)  # public_minutes' default
    await worker.run_once()
    assert (await offers.get(db, offer.id)).status == "withdrawn"
    row = await db.fetchone(
        "SELECT is_public, route_due_at FROM conversations WHERE id = ?", (conversation,)
    )
    assert row is not None
    assert (row[0], row[1]) == (1, None)
    await worker.run_once()
    assert len(await offers_of(db, conversation)) == 1, "a public conversation is not offered"


async def test_taken_another_way_the_offer_is_withdrawn(
    db: Database, team: Team, worker: Worker
) -> None:
    await _one_profile(db, team)
    conversation = await inbound(db, 0)
    await worker.run_once()
    offer = await _pending(db, conversation)
    offered = team.alice if offer.agent_id == team.alice.id else team.bob
    other = team.bob if offered is team.alice else team.alice
    # Loaded now: the Sales desk profile (its queue's pool) is their active one.
    other = await principal.load(db, other.id or 0)
    await conversations.take(db, other, conversation)
    # Withdrawn by the take itself, not at the sweep's next tick.
    assert (await offers.get(db, offer.id)).status == "withdrawn"
    with pytest.raises(AlreadyTaken, match=f"{other.username} has the conversation"):
        await offers.accept(db, offered, offer.id)


async def test_an_accept_and_a_take_at_once_one_wins_the_other_is_told_who(
    db: Database, team: Team, worker: Worker
) -> None:
    r = await routing(db)
    profile = await make_profile(db, "Sales desk")
    await take_queue(db, profile, r.sales)
    await give_profile(db, team.alice, profile)
    await available(db, team.alice)
    conversation = await inbound(db, 0)
    await worker.run_once()
    offer = await _pending(db, conversation)
    # Only alice may answer her offer (core refuses dana); dana, a supervisor, takes
    # the conversation over at the same moment: one wins, the other is told who.
    with pytest.raises(NotAllowed, match="made to another agent"):
        await offers.accept(db, team.dana, offer.id)
    results = await asyncio.gather(
        offers.accept(db, team.alice, offer.id),
        conversations.take(db, team.dana, conversation),
        return_exceptions=True,
    )
    lost = [r for r in results if isinstance(r, AlreadyTaken)]
    assert len(lost) == 1, results
    assert not [r for r in results if isinstance(r, BaseException) and r not in lost]
    winner = await _owner(db, conversation)
    name = team.alice.username if winner == team.alice.id else team.dana.username
    assert f"{name} has" in str(lost[0]) or f"{name} already has" in str(lost[0])


async def test_a_restart_mid_offer_loses_nothing(
    db_path: Path, team: Team, worker: Worker, db: Database, clock: FakeClock
) -> None:
    await _one_profile(db, team)
    conversation = await inbound(db, 0)
    await worker.run_once()
    first = await _pending(db, conversation)
    await db.close()

    clock.advance(seconds=31)  # the offer expired while nothing ran; the lease lapsed too
    reopened = await open_database(db_path, clock)
    try:
        await Worker(reopened, SandboxGateway(reopened), holder="after-restart").run_once()
        assert (await offers.get(reopened, first.id)).status == "expired"
        second = await _pending(reopened, conversation)
        assert second.agent_id != first.agent_id
    finally:
        await reopened.close()


async def test_next_due_wakes_the_worker_at_the_expiry(
    db: Database, team: Team, worker: Worker, clock: FakeClock
) -> None:
    await _one_profile(db, team)
    assert await offers.next_due(db) is None
    await inbound(db, 0)
    assert await offers.next_due(db) == clock.now()
    await worker.run_once()
    assert await offers.next_due(db) == clock.now() + timedelta(seconds=30)
