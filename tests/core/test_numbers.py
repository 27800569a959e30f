"""M1: one of our numbers is given another use, told it can send MMS, or removed."""

from __future__ import annotations

import re

import pytest

from core.campaigns import campaigns, lifecycle
from core.cases import locations as case_locations
from core.db import Database
from core.errors import InUse, InvalidInput, NotAllowed, NotFound
from core.people.authz import SYSTEM
from core.permissions import configuration, profiles
from core.sms import numbers, sending
from tests.core.conftest import ALICE_NUMBER, DEFAULT_NUMBER, DORA_MOBILE, Team

SPARE = "+14155550109"


async def uses(db: Database) -> dict[str, tuple[int | None, bool]]:
    return {n.e164: (n.agent_id, n.is_default) for n in await numbers.list_numbers(db)}


async def test_a_number_becomes_the_default_a_caller_id_or_neither(
    db: Database, team: Team
) -> None:
    await numbers.add(db, team.dana, SPARE)
    assert (await numbers.assign(db, team.dana, SPARE, default=True)).is_default
    # The default before stops being it: there is one.
    assert await uses(db) == {
        DEFAULT_NUMBER: (None, False),
        ALICE_NUMBER: (team.alice.id, False),
        SPARE: (None, True),
    }
    assert (await numbers.sender_for(db, None)).e164 == SPARE
    await numbers.assign(db, team.dana, ALICE_NUMBER)  # neither: alice has no caller ID now
    await numbers.assign(db, team.dana, DEFAULT_NUMBER, agent_id=team.alice.id)
    assert (await numbers.sender_for(db, team.alice.id)).e164 == DEFAULT_NUMBER
    assert await uses(db) == {
        DEFAULT_NUMBER: (team.alice.id, False),
        ALICE_NUMBER: (None, False),
        SPARE: (None, True),
    }
    event = await db.fetchone("SELECT kind, entity_id FROM events ORDER BY id DESC LIMIT 1")
    assert tuple(event) == ("number.assigned", (await numbers.by_e164(db, DEFAULT_NUMBER)).id)


async def test_an_assignment_that_breaks_a_rule_is_refused(db: Database, team: Team) -> None:
    await numbers.add(db, team.dana, SPARE)
    before = await uses(db)
    with pytest.raises(
        InvalidInput, match=re.escape(f"already has a caller ID number, {ALICE_NUMBER}")
    ):
        await numbers.assign(db, team.dana, SPARE, agent_id=team.alice.id)
    with pytest.raises(InvalidInput, match="either the account default or one agent's"):
        await numbers.assign(db, team.dana, SPARE, agent_id=team.bob.id, default=True)
    with pytest.raises(NotFound, match="is not one of our numbers"):
        await numbers.assign(db, team.dana, "+14155550177", default=True)
    with pytest.raises(NotFound, match="no agent with id 999"):
        await numbers.assign(db, team.dana, SPARE, agent_id=999)
    with pytest.raises(NotAllowed):
        await numbers.assign(db, team.alice, SPARE, default=True)
    # Giving alice her own number again is no conflict.
    await numbers.assign(db, team.dana, ALICE_NUMBER, agent_id=team.alice.id)
    assert await uses(db) == before


async def test_a_number_is_told_it_can_send_mms_or_no_longer_can(db: Database, team: Team) -> None:
    assert not team.alice_number.mms
    assert (await numbers.change(db, team.dana, ALICE_NUMBER, mms=True)).mms
    assert (await numbers.by_e164(db, ALICE_NUMBER)).mms
    event = await db.fetchone("SELECT kind, entity_id FROM events ORDER BY id DESC LIMIT 1")
    assert tuple(event) == ("number.changed", team.alice_number.id)
    assert not (await numbers.change(db, team.dana, ALICE_NUMBER, mms=False)).mms
    with pytest.raises(NotAllowed):
        await numbers.change(db, team.alice, ALICE_NUMBER, mms=True)
    with pytest.raises(NotFound, match="is not one of our numbers"):
        await numbers.change(db, team.dana, "+14155550177", mms=True)
    # The console's form says use and MMS at once (one transaction), each its event.
    before = await db.scalar("SELECT max(id) FROM events")
    both = await numbers.assign(db, team.dana, ALICE_NUMBER, agent_id=None, mms=True)
    assert (both.mms, both.agent_id) == (True, None)
    kinds = await db.fetchall("SELECT kind FROM events WHERE id > ? ORDER BY id", (before,))
    assert [k["kind"] for k in kinds] == ["number.assigned", "number.changed"]
    # Unchanged MMS is not a change.
    before = await db.scalar("SELECT max(id) FROM events")
    await numbers.assign(db, team.dana, ALICE_NUMBER, agent_id=team.alice.id, mms=True)
    kinds = await db.fetchall("SELECT kind FROM events WHERE id > ?", (before,))
    assert [k["kind"] for k in kinds] == ["number.assigned"]


async def test_a_number_nothing_uses_is_removed(db: Database, team: Team) -> None:
    await numbers.add(db, team.dana, SPARE)
    await profiles.add(db, SYSTEM, "Night")
    await configuration.set_profile_numbers(db, SYSTEM, "Night", [SPARE, DEFAULT_NUMBER])
    removed = await numbers.remove(db, team.dana, SPARE)
    assert removed.e164 == SPARE
    assert not await numbers.is_ours(db, SPARE)
    # The profile that listed it among others keeps the others, and still restricts.
    assert await configuration.profile_numbers(db, "Night") == [DEFAULT_NUMBER]
    event = await db.fetchone("SELECT kind, entity_id FROM events ORDER BY id DESC LIMIT 1")
    assert tuple(event) == ("number.removed", removed.id)
    # Alice's caller ID goes: she texts from the default again.
    await numbers.remove(db, team.dana, ALICE_NUMBER)
    assert (await numbers.sender_for(db, team.alice.id)).e164 == DEFAULT_NUMBER
    with pytest.raises(NotAllowed):
        await numbers.remove(db, team.alice, DEFAULT_NUMBER)
    # The default alone may go (a fresh account has no number either), once no profile
    # would be left listing none: that would let it send from every number.
    with pytest.raises(InUse, match="only SMS number of permission profile 'Night'"):
        await numbers.remove(db, team.dana, DEFAULT_NUMBER)
    await configuration.set_profile_numbers(db, SYSTEM, "Night", [])
    await numbers.remove(db, team.dana, DEFAULT_NUMBER)
    assert await numbers.list_numbers(db) == []


async def test_a_number_something_uses_stays_and_the_refusal_names_each_use(
    db: Database, team: Team
) -> None:
    await sending.send(db, team.bob, DORA_MOBILE, "Hello")  # a conversation, still queued
    await campaigns.create(db, team.dana, "Spring", DEFAULT_NUMBER, "Hi")
    await case_locations.create(db, team.dana, "Depot", DEFAULT_NUMBER)
    await profiles.add(db, SYSTEM, "Night")
    await configuration.set_profile_numbers(db, SYSTEM, "Night", [DEFAULT_NUMBER])
    await configuration.add_queue(db, SYSTEM, "Sales", [DEFAULT_NUMBER])
    with pytest.raises(InUse) as refused:
        await numbers.remove(db, team.dana, DEFAULT_NUMBER)
    text = str(refused.value)
    assert text.startswith(f"{DEFAULT_NUMBER} cannot be removed: ")
    for use in (
        "1 conversation on it, kept as history (give it no use instead: switchboard numbers"
        f" assign {DEFAULT_NUMBER} --none)",
        "1 message still to send from it",
        "campaign 'Spring' sends from it",
        "case location 'Depot' sends from it",
        "it is the only SMS number of permission profile 'Night', and a profile that lists"
        " none may send from every number",
        "it is the only number of queue 'Sales', whose messaging is on",
        "it is the default sender (make another number the default first",
    ):
        assert use in text
    assert await numbers.is_ours(db, DEFAULT_NUMBER)
    assert await configuration.profile_numbers(db, "Night") == [DEFAULT_NUMBER]


async def test_a_finished_campaign_does_not_hold_its_number(db: Database, team: Team) -> None:
    await numbers.add(db, team.dana, SPARE)
    made = await campaigns.create(db, team.dana, "Spring", SPARE, "Hi")
    with pytest.raises(InUse, match="campaign 'Spring' sends from it"):
        await numbers.remove(db, team.dana, SPARE)
    await lifecycle.cancel(db, team.dana, made.id)
    await numbers.remove(db, team.dana, SPARE)
    assert not await numbers.is_ours(db, SPARE)
