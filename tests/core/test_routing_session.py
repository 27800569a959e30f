"""The login default activity and what an agent is shown of an offer (issue #10 item 9's core)."""

from __future__ import annotations

import pytest

from core.db import Database
from core.errors import NotAllowed
from core.events import since
from core.routing import activities, offered
from core.scheduling.worker import Worker
from tests.core.conftest import Team
from tests.core.routing_setup import (
    available,
    give_profile,
    inbound,
    make_profile,
    phone,
    routing,
    take_queue,
)


async def test_a_session_start_puts_an_agent_with_no_activity_in_the_default(
    db: Database, team: Team
) -> None:
    assert (await activities.current(db, team.alice)).activity is None
    chosen = await activities.start_session(db, team.alice)
    assert chosen is not None
    assert chosen.name == "Available"
    now = await activities.current(db, team.alice)
    assert now.activity is not None
    assert now.activity.name == "Available"
    [event] = [e for e in (await since(db, 0)).events if e.kind == "agent.activity_changed"]
    assert event.entity_id == team.alice.id
    assert event.data["reason"] == activities.LOGIN


async def test_a_session_start_keeps_an_activity_already_chosen(db: Database, team: Team) -> None:
    await activities.choose(db, team.alice, "Lunch")
    before = (await since(db, 0)).events
    assert await activities.start_session(db, team.alice) is None
    now = await activities.current(db, team.alice)
    assert now.activity is not None
    assert now.activity.name == "Lunch"
    assert (await since(db, 0)).events == before  # nothing written


async def test_the_default_is_the_profiles(db: Database, team: Team) -> None:
    profile = await make_profile(db, "Late")
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE permission_profile_activities SET is_default = (activity_id ="
            " (SELECT id FROM activities WHERE name = 'Wrap-up')) WHERE profile_id = ?",
            (profile,),
        )
    await give_profile(db, team.bob, profile)
    chosen = await activities.start_session(db, team.bob)
    assert chosen is not None
    assert chosen.name == "Wrap-up"


async def test_the_offered_agent_sees_the_contact_and_nobody_else_does(
    db: Database, team: Team, worker: Worker
) -> None:
    r = await routing(db)
    profile = await make_profile(db, "Sales desk")
    await take_queue(db, profile, r.sales)
    await give_profile(db, team.alice, profile)
    await available(db, team.alice)
    conversation = await inbound(db, 3, "Where is [b]my order?")
    await worker.run_once()
    [shown] = await offered.pending(db, team.alice)
    assert shown.conversation_id == conversation
    assert (shown.contact, shown.phone, shown.queue) == (phone(3), phone(3), "Sales")
    assert shown.last_text == "Where is [b]my order?"
    assert shown.seconds_left(db.clock.now()) == 30
    assert await offered.get(db, team.alice, shown.id) == shown
    assert await offered.pending(db, team.bob) == []
    with pytest.raises(NotAllowed, match="another agent"):
        await offered.get(db, team.bob, shown.id)
