"""Transfers (issue #10 item 7): to a queue (offered again) or to a named agent, recorded."""

from __future__ import annotations

import pytest

from core.db import Database
from core.errors import InvalidInput, NotAllowed, NotFound
from core.people import agents
from core.people.authz import SYSTEM
from core.routing import offers, transfers
from core.scheduling.worker import Worker
from core.sms import conversations
from tests.core.conftest import Team
from tests.core.routing_setup import (
    available,
    give_profile,
    inbound,
    make_profile,
    offers_of,
    routing,
    take_queue,
)


async def _alices(db: Database, team: Team, worker: Worker) -> tuple[int, int]:
    """A Sales conversation alice accepted; bob takes Support. (conversation, Support id)."""
    r = await routing(db)
    sales = await make_profile(db, "Sales desk")
    await take_queue(db, sales, r.sales)
    support = await make_profile(db, "Support desk")
    await take_queue(db, support, r.support)
    await give_profile(db, team.alice, sales)
    await give_profile(db, team.bob, support)
    await available(db, team.alice, team.bob)
    conversation = await inbound(db, 0)
    await worker.run_once()
    [offer] = await offers.pending_for(db, team.alice)
    await offers.accept(db, team.alice, offer.id)
    return conversation, r.support


async def test_to_a_queue_it_is_offered_again_and_recorded(
    db: Database, team: Team, worker: Worker
) -> None:
    conversation, support = await _alices(db, team, worker)
    done = await transfers.to_queue(db, team.dana, conversation, "support")
    assert (done.by, done.from_agent, done.to_agent, done.to_queue) == (
        "dana",
        "alice",
        None,
        "Support",
    )
    row = await db.fetchone(
        "SELECT owner_id, is_public, queue_id FROM conversations WHERE id = ?", (conversation,)
    )
    assert row is not None
    assert tuple(row) == (None, 0, support)
    await worker.run_once()
    assert (await offers_of(db, conversation))[-1] == (team.bob.id, "pending")
    # alice still follows it; the thread's history shows the hand-over.
    assert team.alice.id in (await conversations.access_in(db, conversation)).subscriber_ids
    [shown] = await transfers.history(db, team.alice, conversation)
    assert shown == done
    event = await db.fetchone(
        "SELECT entity_id FROM events WHERE kind = 'conversation.transferred'"
    )
    assert event is not None
    assert event[0] == conversation


async def test_the_agent_who_transferred_it_is_not_offered_it_back(
    db: Database, team: Team, worker: Worker
) -> None:
    r = await routing(db)
    profile = await make_profile(db, "Sales desk")
    await take_queue(db, profile, r.sales)
    await give_profile(db, team.alice, profile, distribution=100)
    await give_profile(db, team.bob, profile, distribution=0)
    await give_profile(db, team.dana, profile, distribution=0)
    await available(db, team.alice, team.bob)
    conversation = await inbound(db, 0)
    await worker.run_once()
    [offer] = await offers.pending_for(db, team.alice)
    await offers.accept(db, team.alice, offer.id)
    # dana (a manager) sends alice's conversation back to Sales: bob gets it, not alice
    # (whose distribution score is higher).
    await transfers.to_queue(db, team.dana, conversation, "Sales")
    await worker.run_once()
    assert (await offers_of(db, conversation))[-1] == (team.bob.id, "pending")


async def test_to_an_agent(db: Database, team: Team, worker: Worker) -> None:
    conversation, _ = await _alices(db, team, worker)
    done = await transfers.to_agent(db, team.dana, conversation, "bob")
    assert (done.from_agent, done.to_agent, done.to_queue) == ("alice", "bob", None)
    access = await conversations.access_in(db, conversation)
    assert access.owner_id == team.bob.id
    assert team.alice.id in access.subscriber_ids
    with pytest.raises(InvalidInput, match="bob already has this conversation"):
        await transfers.to_agent(db, team.dana, conversation, "bob")


async def test_refusals_change_nothing(db: Database, team: Team, worker: Worker) -> None:
    conversation, _ = await _alices(db, team, worker)
    # The built-in Agent profile has neither transfer right (R2 transfer_to_queue/_agent).
    with pytest.raises(NotAllowed, match="transfer"):
        await transfers.to_queue(db, team.alice, conversation, "Support")
    with pytest.raises(NotAllowed, match="transfer"):
        await transfers.to_agent(db, team.alice, conversation, "bob")
    with pytest.raises(NotFound, match="no queue called 'Nowhere'"):
        await transfers.to_queue(db, team.dana, conversation, "Nowhere")
    await db.write("UPDATE queues SET messaging = 0 WHERE name = 'Support'")
    with pytest.raises(InvalidInput, match="has messaging off"):
        await transfers.to_queue(db, team.dana, conversation, "Support")
    await agents.set_active(db, SYSTEM, "bob", False)
    with pytest.raises(NotAllowed, match="bob has been deactivated"):
        await transfers.to_agent(db, team.dana, conversation, "bob")
    with pytest.raises(NotFound, match="no agent with username 'zed'"):
        await transfers.to_agent(db, team.dana, conversation, "zed")
    assert await transfers.history(db, team.dana, conversation) == []
    assert (await conversations.access_in(db, conversation)).owner_id == team.alice.id


async def test_a_pending_offer_is_withdrawn_by_a_transfer(
    db: Database, team: Team, worker: Worker
) -> None:
    r = await routing(db)
    profile = await make_profile(db, "Sales desk")
    await take_queue(db, profile, r.sales)
    await give_profile(db, team.alice, profile)
    await available(db, team.alice)
    conversation = await inbound(db, 0)
    await worker.run_once()
    await transfers.to_agent(db, team.dana, conversation, "bob")
    assert await offers_of(db, conversation) == [(team.alice.id, "withdrawn")]
