"""M6-M8: the conversations page, visibility, public minutes and taking."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from core import settings
from core.clock import FakeClock
from core.db import Database, open_database
from core.errors import AlreadyTaken, NotAllowed
from core.people import agents
from core.people.authz import SYSTEM
from core.scheduling.worker import Worker
from core.sms import conversations, receiving, sending
from core.sms.conversations import Filter
from tests.core.conftest import (
    ALICE_NUMBER,
    CARL_MOBILE,
    DEFAULT_NUMBER,
    DORA_MOBILE,
    ERIN_MOBILE,
    STRANGER,
    Team,
)


async def _alice_conversation_waiting(db: Database, team: Team, text: str = "Any news?") -> int:
    """Alice texts Dora from her caller ID, Dora answers: alice owns a waiting conversation."""
    await sending.send(db, team.alice, DORA_MOBILE, "Your order is ready")
    return (await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, text)).conversation_id


# --- M7: the list ----------------------------------------------------------------


async def test_filters_order_and_wait_times(db: Database, team: Team, clock: FakeClock) -> None:
    t0 = clock.now()
    # c_dora: alice's, Dora waiting since t0+1.
    await sending.send(db, team.alice, DORA_MOBILE, "Hello Dora")
    clock.advance(minutes=1)
    c_dora = (await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "Hi")).conversation_id
    # c_carl: alice's, answered (nobody waiting).
    clock.advance(minutes=1)
    c_carl = (await sending.send(db, team.alice, CARL_MOBILE, "Hello Carl")).conversation_id
    # c_erin: bob's and private, Erin waiting since t0+3.
    clock.advance(minutes=1)
    await sending.send(db, team.bob, ERIN_MOBILE, "Hello Erin")
    c_erin = (await receiving.receive(db, ERIN_MOBILE, DEFAULT_NUMBER, "Yes?")).conversation_id
    # c_new: a stranger texts the default number: nobody owns it, public at once.
    clock.advance(minutes=2)
    c_new = (await receiving.receive(db, STRANGER, DEFAULT_NUMBER, "Hello?")).conversation_id
    clock.advance(minutes=4)  # now t0+9

    def ids(convs: list[conversations.Conversation]) -> list[int]:
        return [c.id for c in convs]

    dana, alice, bob = team.dana, team.alice, team.bob
    # Oldest waiting first, then the answered ones, most recent first.
    assert ids(await conversations.list_for(db, dana)) == [c_dora, c_erin, c_new, c_carl]
    assert ids(await conversations.list_for(db, dana, Filter.UNANSWERED)) == [c_dora, c_erin, c_new]
    assert ids(await conversations.list_for(db, dana, Filter.ANSWERED)) == [c_carl]
    assert ids(await conversations.list_for(db, dana, Filter.PUBLIC)) == [c_new]
    assert ids(await conversations.list_for(db, dana, Filter.MINE)) == []

    assert ids(await conversations.list_for(db, alice)) == [c_dora, c_new, c_carl]
    assert ids(await conversations.list_for(db, alice, Filter.MINE)) == [c_dora, c_carl]
    assert ids(await conversations.list_for(db, alice, Filter.UNANSWERED)) == [c_dora, c_new]
    assert ids(await conversations.list_for(db, alice, Filter.ANSWERED)) == [c_carl]
    assert ids(await conversations.list_for(db, alice, Filter.PUBLIC)) == [c_new]
    assert ids(await conversations.list_for(db, bob)) == [c_erin, c_new]
    assert ids(await conversations.list_for(db, bob, Filter.MINE)) == [c_erin]

    waits = {c.id: c.wait(clock.now()) for c in await conversations.list_for(db, dana)}
    assert waits == {
        c_dora: timedelta(minutes=8),
        c_erin: timedelta(minutes=6),
        c_new: timedelta(minutes=4),
        c_carl: None,
    }
    listed = {c.id: c for c in await conversations.list_for(db, dana)}
    assert listed[c_dora].waiting_since == t0 + timedelta(minutes=1)
    assert (listed[c_dora].owner, listed[c_dora].contact_name) == ("alice", "Dora Lindqvist")
    assert listed[c_dora].last_body == "Hi"
    assert listed[c_dora].answered is False
    assert listed[c_carl].answered is True

    # An answer ends the wait and moves it to answered.
    clock.advance(minutes=1)
    await sending.send(db, alice, DORA_MOBILE, "Here")
    assert ids(await conversations.list_for(db, alice, Filter.ANSWERED)) == [c_dora, c_carl]


async def test_limit_pages_the_list(db: Database, team: Team, clock: FakeClock) -> None:
    for phone in (DORA_MOBILE, CARL_MOBILE, ERIN_MOBILE):
        clock.advance(minutes=1)
        await receiving.receive(db, phone, DEFAULT_NUMBER, "Hi")
    assert len(await conversations.list_for(db, team.dana, limit=2)) == 2


async def test_an_agent_cannot_see_another_agents_private_conversation(
    db: Database, team: Team
) -> None:
    private = await _alice_conversation_waiting(db, team)

    assert private not in [c.id for c in await conversations.list_for(db, team.bob)]
    with pytest.raises(NotAllowed, match="may not view this conversation"):
        await conversations.thread(db, team.bob, private)
    with pytest.raises(NotAllowed):
        await conversations.get(db, team.bob, private)
    # The manager sees everything.
    assert [c.id for c in await conversations.list_for(db, team.dana)] == [private]
    assert [m.body for m in await conversations.thread(db, team.dana, private)] == [
        "Your order is ready\nReply STOP to unsubscribe.",
        "Any news?",
    ]


async def test_thread_pages_backwards(db: Database, team: Team) -> None:
    conv = None
    for i in range(5):
        conv = (await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, f"m{i}")).conversation_id
    assert conv is not None
    last_two = await conversations.thread(db, team.alice, conv, limit=2)
    assert [m.body for m in last_two] == ["m3", "m4"]
    before = await conversations.thread(db, team.alice, conv, before_id=last_two[0].id, limit=2)
    assert [m.body for m in before] == ["m1", "m2"]


# --- M8: public minutes ------------------------------------------------------------


async def test_unanswered_becomes_public_after_exactly_the_public_minutes(
    db: Database, team: Team, clock: FakeClock, worker: Worker
) -> None:
    conv = await _alice_conversation_waiting(db, team)
    t0 = clock.now()
    assert (await conversations.get(db, team.dana, conv)).public_due_at == t0 + timedelta(
        minutes=20
    )
    # A second message does not push the deadline back.
    clock.advance(minutes=10)
    await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "Hello??")

    clock.set(t0 + timedelta(minutes=19, seconds=59))
    assert await conversations.make_due_public(db) == 0
    assert not (await conversations.get(db, team.dana, conv)).is_public
    assert conv not in [c.id for c in await conversations.list_for(db, team.bob)]

    clock.set(t0 + timedelta(minutes=20))
    assert await conversations.make_due_public(db) == 1
    public = await conversations.get(db, team.dana, conv)
    assert public.is_public
    assert public.owner_id == team.alice.id
    assert public.public_due_at is None
    assert [c.id for c in await conversations.list_for(db, team.bob, Filter.PUBLIC)] == [conv]
    # Now bob can read it.
    assert len(await conversations.thread(db, team.bob, conv)) == 3
    # The sweep is done: nothing more becomes public, and the worker's sweep agrees.
    clock.advance(minutes=30)
    assert await conversations.make_due_public(db) == 0
    await worker.run_once()
    events = await db.fetchall("SELECT entity_id FROM events WHERE kind = 'conversation.public'")
    assert [e["entity_id"] for e in events] == [conv]


async def test_the_worker_sweep_makes_conversations_public(
    db: Database, team: Team, clock: FakeClock, worker: Worker
) -> None:
    conv = await _alice_conversation_waiting(db, team)
    clock.advance(minutes=19)
    await worker.run_once()
    assert not (await conversations.get(db, team.dana, conv)).is_public
    clock.advance(minutes=1)
    await worker.run_once()
    assert (await conversations.get(db, team.dana, conv)).is_public


async def test_public_minutes_setting_is_honoured(
    db: Database, team: Team, clock: FakeClock
) -> None:
    await settings.update(db, team.dana, public_minutes=5)
    conv = await _alice_conversation_waiting(db, team)
    clock.advance(minutes=4)
    assert await conversations.make_due_public(db) == 0
    clock.advance(minutes=1)
    assert await conversations.make_due_public(db) == 1
    assert (await conversations.get(db, team.dana, conv)).is_public


async def test_an_agent_reply_before_the_deadline_clears_it(
    db: Database, team: Team, clock: FakeClock
) -> None:
    conv = await _alice_conversation_waiting(db, team)
    clock.advance(minutes=15)
    await sending.send(db, team.alice, DORA_MOBILE, "On it")
    after = await conversations.get(db, team.dana, conv)
    assert after.public_due_at is None
    assert after.answered
    clock.advance(minutes=60)
    assert await conversations.make_due_public(db) == 0
    assert not (await conversations.get(db, team.dana, conv)).is_public
    # A new inbound starts a new full wait from its own time.
    t1 = clock.now()
    await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "Thanks, and?")
    assert (await conversations.get(db, team.dana, conv)).public_due_at == t1 + timedelta(
        minutes=20
    )


async def test_a_new_conversation_nobody_owns_is_public_at_once(db: Database, team: Team) -> None:
    conv = (await receiving.receive(db, STRANGER, DEFAULT_NUMBER, "Hello?")).conversation_id
    listed = await conversations.get(db, team.bob, conv)
    assert listed.is_public
    assert listed.owner_id is None
    assert listed.public_due_at is None
    assert [c.id for c in await conversations.list_for(db, team.alice, Filter.PUBLIC)] == [conv]
    assert [c.id for c in await conversations.list_for(db, team.bob, Filter.PUBLIC)] == [conv]


async def test_two_agents_take_at_once_exactly_one_wins(db: Database, team: Team) -> None:
    conv = (await receiving.receive(db, STRANGER, DEFAULT_NUMBER, "Hello?")).conversation_id

    results = await asyncio.gather(
        conversations.take(db, team.alice, conv),
        conversations.take(db, team.bob, conv),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, conversations.Conversation)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 1
    assert len(lost) == 1
    assert isinstance(lost[0], AlreadyTaken)
    winner = won[0].owner
    assert winner in ("alice", "bob")
    assert f"{winner} already has it" in str(lost[0])
    stored = await conversations.get(db, team.dana, conv)
    assert (stored.owner, stored.is_public) == (winner, False)
    # The winner's clock restarts: the contact is still waiting.
    assert stored.public_due_at is not None
    taken = await db.fetchall("SELECT actor_id FROM events WHERE kind = 'conversation.taken'")
    assert len(taken) == 1


async def test_a_race_for_a_timed_out_conversation_has_one_winner_and_keeps_the_owner(
    db: Database, team: Team, clock: FakeClock
) -> None:
    carol = (await agents.add(db, SYSTEM, "carol", "Carol Jensen", "Agent")).as_actor()
    conv = await _alice_conversation_waiting(db, team)
    clock.advance(minutes=20)
    assert await conversations.make_due_public(db) == 1

    results = await asyncio.gather(
        conversations.take(db, carol, conv),
        conversations.take(db, team.bob, conv),
        return_exceptions=True,
    )
    [won] = [r for r in results if isinstance(r, conversations.Conversation)]
    [lost] = [r for r in results if isinstance(r, BaseException)]
    assert isinstance(lost, AlreadyTaken)
    assert won.owner in ("carol", "bob")
    assert f"{won.owner} already has it" in str(lost)
    assert (await conversations.access_in(db, conv)).subscriber_ids == {team.alice.id}


async def test_taking_a_timed_out_conversation_keeps_the_previous_owner_subscribed(
    db: Database, team: Team, clock: FakeClock
) -> None:
    conv = await _alice_conversation_waiting(db, team)
    clock.advance(minutes=20)
    assert await conversations.make_due_public(db) == 1

    taken = await conversations.take(db, team.bob, conv)
    assert (taken.owner_id, taken.is_public) == (team.bob.id, False)
    assert taken.public_due_at == clock.now() + timedelta(minutes=20)
    access = await conversations.access_in(db, conv)
    assert access.subscriber_ids == {team.alice.id}
    assert [c.id for c in await conversations.list_for(db, team.alice, Filter.MINE)] == [conv]
    # Alice may still read it; a further take is refused, naming bob.
    await conversations.thread(db, team.alice, conv)
    with pytest.raises(AlreadyTaken, match="bob already has it"):
        await conversations.take(db, team.alice, conv)
    with pytest.raises(AlreadyTaken, match="you already have it"):
        await conversations.take(db, team.bob, conv)


async def test_taking_a_private_conversation_is_refused(db: Database, team: Team) -> None:
    conv = await _alice_conversation_waiting(db, team)
    with pytest.raises(AlreadyTaken, match="alice already has it"):
        await conversations.take(db, team.bob, conv)
    with pytest.raises(NotAllowed, match="take over"):
        await conversations.take_over(db, team.bob, conv)
    # A manager may take it over; alice stays on as a subscriber.
    over = await conversations.take_over(db, team.dana, conv)
    assert over.owner_id == team.dana.id
    assert (await conversations.access_in(db, conv)).subscriber_ids == {team.alice.id}


async def test_the_owner_answering_a_public_conversation_makes_it_private_again(
    db: Database, team: Team, clock: FakeClock
) -> None:
    conv = await _alice_conversation_waiting(db, team)
    clock.advance(minutes=20)
    assert await conversations.make_due_public(db) == 1

    await sending.send(db, team.alice, DORA_MOBILE, "Sorry for the wait")
    after = await conversations.get(db, team.dana, conv)
    assert (after.owner_id, after.is_public, after.answered) == (team.alice.id, False, True)
    assert conv not in [c.id for c in await conversations.list_for(db, team.bob)]
    with pytest.raises(AlreadyTaken):
        await conversations.take(db, team.bob, conv)


async def test_another_agent_answering_a_public_conversation_takes_it(
    db: Database, team: Team, clock: FakeClock
) -> None:
    conv = await _alice_conversation_waiting(db, team)
    clock.advance(minutes=20)
    await conversations.make_due_public(db)

    await sending.send(db, team.bob, DORA_MOBILE, "Bob here, I can help", sender=ALICE_NUMBER)
    after = await conversations.get(db, team.dana, conv)
    assert (after.owner_id, after.is_public, after.answered) == (team.bob.id, False, True)
    assert (await conversations.access_in(db, conv)).subscriber_ids == {team.alice.id}


async def test_the_due_time_survives_a_restart(
    db: Database, db_path: Path, team: Team, clock: FakeClock
) -> None:
    conv = await _alice_conversation_waiting(db, team)
    t0 = clock.now()
    await db.close()

    early = await open_database(db_path, FakeClock(t0 + timedelta(minutes=19)))
    try:
        assert await conversations.make_due_public(early) == 0
    finally:
        await early.close()

    later = await open_database(db_path, FakeClock(t0 + timedelta(minutes=21)))
    try:
        assert await conversations.make_due_public(later) == 1
        assert (await conversations.get(later, team.dana, conv)).is_public
    finally:
        await later.close()


async def test_pages_follow_each_other_in_the_list_order(
    db: Database, team: Team, clock: FakeClock, worker: Worker
) -> None:
    """A list loads in pages: each starts after the last row of the one before."""
    for n in range(7):  # waiting, answered, and some with the same last-message time
        clock.advance(timedelta(seconds=n % 3))
        phone = f"+1212555{160 + n:04d}"
        if n % 2:
            await sending.send(db, team.bob, phone, f"hello {n}")
        else:
            await receiving.receive(db, phone, DEFAULT_NUMBER, f"hi {n}")
    await worker.run_once()
    every = await conversations.list_for(db, team.dana)
    assert len(every) == 7
    assert sorted(every, key=conversations.order_key) == every  # the key agrees with the SQL

    paged: list[conversations.Conversation] = []
    after = None
    while page := await conversations.list_for(db, team.dana, after=after, limit=3):
        paged += page
        after = conversations.order_key(page[-1])
    assert [c.id for c in paged] == [c.id for c in every]

    some = {every[1].id, every[5].id, 999_999}
    named = await conversations.list_for(db, team.dana, ids=some)
    assert [c.id for c in named] == [every[1].id, every[5].id]  # in order; the unknown absent
    unanswered = await conversations.list_for(db, team.dana, Filter.UNANSWERED, ids=some)
    assert all(c.waiting_since is not None for c in unanswered)
