"""M1: one of our numbers is given another use after it was added."""

from __future__ import annotations

import re

import pytest

from core.db import Database
from core.errors import InvalidInput, NotAllowed, NotFound
from core.sms import numbers
from tests.core.conftest import ALICE_NUMBER, DEFAULT_NUMBER, Team

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
