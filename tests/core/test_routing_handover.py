"""Every way a conversation changes hands tells routing at once (issue #10 follow-ups).

A take, a take-over, a reply to a public conversation, an accepted offer, a
transfer and the public minutes each withdraw the conversation's pending
offer in their own transaction (no sweep runs between the act and the
check here), and an agent whose last open conversation left them starts
their idle time: the interaction timeout runs from that moment. A public
conversation is not open: it stops taking its owner's room.
"""

from __future__ import annotations

import pytest

from core import settings
from core.clock import FakeClock, to_ms
from core.db import Database
from core.errors import NotAllowed
from core.people.authz import SYSTEM, Actor
from core.permissions import principal
from core.routing import offers, transfers
from core.scheduling.worker import Worker
from core.sms import conversations, receiving, sending
from tests.core.conftest import DEFAULT_NUMBER, Team
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


async def _desk(db: Database, clock: FakeClock, *agents: Actor, **columns: object) -> int:
    """``agents`` hold one profile taking Sales (``columns`` its settings), Available."""
    r = await routing(db)
    profile = await make_profile(db, "Sales desk", **columns)
    await take_queue(db, profile, r.sales)
    for agent in agents:
        await give_profile(db, agent, profile)
    await available(db, *agents)
    rest = columns.get("interaction_timeout_seconds", 0)
    assert isinstance(rest, int)
    clock.advance(seconds=rest)  # past the rest before a first offer
    return profile


async def _idle_since(db: Database, agent: Actor) -> int | None:
    value = await db.scalar("SELECT idle_since FROM agents WHERE id = ?", (agent.id,))
    assert value is None or isinstance(value, int)
    return value


async def _withdrawn_events(db: Database) -> list[tuple[int, int]]:
    rows = await db.fetchall(
        "SELECT data ->> 'agent_id', data ->> 'conversation_id' FROM events"
        " WHERE kind = 'offer.withdrawn' ORDER BY id"
    )
    return [(r[0], r[1]) for r in rows]


async def _accepted(db: Database, agent: Actor, worker: Worker, n: int) -> int:
    """Contact ``n`` texts Sales and ``agent`` (the only one Available) accepts it."""
    conversation = await inbound(db, n)
    await worker.run_once()
    [offer] = [o for o in await offers.pending_for(db, agent) if o.conversation_id == conversation]
    await offers.accept(db, agent, offer.id)
    return conversation


async def test_a_take_withdraws_the_offer_in_its_own_transaction(
    db: Database, team: Team, worker: Worker, clock: FakeClock
) -> None:
    profile = await _desk(db, clock, team.alice)
    await give_profile(db, team.bob, profile)  # Sales is in his pool; not Available
    conversation = await inbound(db, 0)
    await worker.run_once()
    assert await offers_of(db, conversation) == [(team.alice.id, "pending")]
    bob = await principal.load(db, team.bob.id or 0)
    await conversations.take(db, bob, conversation)
    assert await offers_of(db, conversation) == [(team.alice.id, "withdrawn")]
    assert await _withdrawn_events(db) == [(team.alice.id, conversation)]
    assert await offers.pending_for(db, team.alice) == []
    route_due = await db.scalar(
        "SELECT route_due_at FROM conversations WHERE id = ?", (conversation,)
    )
    assert route_due is None, "a taken conversation is not routed again"


async def test_a_take_over_withdraws_and_starts_the_idle_time(
    db: Database, team: Team, worker: Worker, clock: FakeClock
) -> None:
    await _desk(db, clock, team.alice, interaction_timeout_seconds=60)
    mine = await _accepted(db, team.alice, worker, 0)
    waiting = await inbound(db, 1)
    clock.advance(minutes=5)
    await worker.run_once()
    assert await offers_of(db, waiting) == [(team.alice.id, "pending")]
    dana = await principal.load(db, team.dana.id or 0)
    await conversations.take_over(db, dana, waiting)
    assert await offers_of(db, waiting) == [(team.alice.id, "withdrawn")]
    before = await _idle_since(db, team.alice)

    clock.advance(seconds=30)
    await conversations.take_over(db, dana, mine)  # alice's last open conversation
    released = to_ms(clock.now())
    assert before != released
    assert await _idle_since(db, team.alice) == released
    # The interaction timeout runs from that moment: 60 s of rest before the next offer.
    later = await inbound(db, 2)
    clock.advance(seconds=59)
    await worker.run_once()
    assert await offers_of(db, later) == []
    clock.advance(seconds=6)
    await worker.run_once()
    assert await offers_of(db, later) == [(team.alice.id, "pending")]


async def test_idle_time_starts_only_when_the_last_open_conversation_leaves(
    db: Database, team: Team, worker: Worker, clock: FakeClock
) -> None:
    await _desk(db, clock, team.alice)
    first = await _accepted(db, team.alice, worker, 0)
    second = await _accepted(db, team.alice, worker, 1)
    start = await _idle_since(db, team.alice)
    dana = await principal.load(db, team.dana.id or 0)
    clock.advance(minutes=1)
    await conversations.take_over(db, dana, first)
    assert await _idle_since(db, team.alice) == start, "she still holds the second one"
    clock.advance(minutes=1)
    await transfers.to_agent(db, dana, second, "bob")
    assert await _idle_since(db, team.alice) == to_ms(clock.now())


async def test_a_reply_to_a_public_conversation_releases_its_owner(
    db: Database, team: Team, worker: Worker, clock: FakeClock
) -> None:
    await _desk(db, clock, team.alice)
    conversation = await _accepted(db, team.alice, worker, 0)
    clock.advance(minutes=20)  # unanswered for the public minutes: public
    await worker.run_once()
    went_public = to_ms(clock.now())
    assert await _idle_since(db, team.alice) == went_public
    clock.advance(minutes=1)
    bob = await principal.load(db, team.bob.id or 0)
    await sending.send(db, bob, phone(0), "I can help", sender=QUEUE_NUMBER)
    assert (await conversations.access_in(db, conversation)).owner_id == team.bob.id
    assert await _idle_since(db, team.alice) == went_public  # not moved again


async def test_going_public_withdraws_the_offer_at_once(
    db: Database, team: Team, worker: Worker, clock: FakeClock
) -> None:
    await settings.update(db, SYSTEM, offer_seconds=3600)
    await _desk(db, clock, team.alice)
    conversation = await inbound(db, 0)
    await worker.run_once()
    clock.advance(minutes=20)
    # The public-minutes sweep alone (no routing sweep): the offer is gone with it.
    assert await conversations.make_due_public(db) == 1
    assert await offers_of(db, conversation) == [(team.alice.id, "withdrawn")]
    assert await _withdrawn_events(db) == [(team.alice.id, conversation)]
    row = await db.fetchone(
        "SELECT is_public, route_due_at FROM conversations WHERE id = ?", (conversation,)
    )
    assert row is not None
    assert tuple(row) == (1, None)


async def test_a_public_conversation_stops_taking_room(
    db: Database, team: Team, worker: Worker, clock: FakeClock
) -> None:
    await _desk(db, clock, team.alice, max_simultaneous=1, interaction_timeout_seconds=60)
    await _accepted(db, team.alice, worker, 0)
    waiting = await inbound(db, 1)
    await worker.run_once()
    assert await offers_of(db, waiting) == [], "alice's one conversation fills her"
    clock.advance(minutes=20)  # hers goes public (and so does the waiting one: re-route it)
    await worker.run_once()
    assert await _idle_since(db, team.alice) == to_ms(clock.now())
    fresh = await inbound(db, 2)
    clock.advance(seconds=61)  # past her interaction timeout
    await worker.run_once()
    assert await offers_of(db, fresh) == [(team.alice.id, "pending")]


async def test_the_waiting_pool_is_the_profiles_queues(
    db: Database, team: Team, worker: Worker, clock: FakeClock
) -> None:
    """R2 pool access: a conversation of a queue is in the pool of the profiles that have
    that queue with messaging on; one of no queue is in everyone's."""
    profile = await _desk(db, clock, team.alice)
    sales = await inbound(db, 0)  # routed to Sales, offered to alice
    await worker.run_once()
    bob = await principal.load(db, team.bob.id or 0)  # the built-in Agent: no queue
    assert sales not in {c.id for c in await conversations.list_for(db, bob)}
    with pytest.raises(NotAllowed, match="does not reach this conversation"):
        await conversations.take(db, bob, sales)
    # A conversation on a number of no queue is everyone's.
    nobody = (await receiving.receive(db, phone(1), DEFAULT_NUMBER, "Hi")).conversation_id
    assert nobody in {c.id for c in await conversations.list_for(db, bob)}

    await give_profile(db, team.bob, profile)
    bob = await principal.load(db, team.bob.id or 0)
    assert {sales, nobody} <= {c.id for c in await conversations.list_for(db, bob)}
    await conversations.take(db, bob, sales)
    assert await offers_of(db, sales) == [(team.alice.id, "withdrawn")]
