"""Deleting a contact: what goes with it, what stays, and who may."""

from __future__ import annotations

import pytest

from core.cases import case_contacts
from core.cases import cases as case_records
from core.cases import locations as case_locations
from core.db import Database
from core.errors import NotAllowed, NotFound
from core.people import contacts
from core.people.contacts import DELETED_REASON
from core.sms import receiving, sending
from tests.core.conftest import DEFAULT_NUMBER, DORA_MOBILE, ERIN_MOBILE, Team
from tests.core.test_campaigns import spring, states


async def test_a_deleted_contact_leaves_its_conversations_and_is_sent_nothing_more(
    db: Database, team: Team
) -> None:
    dora = team.dora
    sent = await sending.send(db, team.bob, DORA_MOBILE, "Your parcel is here")
    campaign = await spring(db, team)  # dora and erin, waiting
    await case_locations.create(db, team.dana, "Depot", DEFAULT_NUMBER)
    case = await case_records.create(db, team.dana, "Tyres", "Depot")
    await case_contacts.add(db, team.dana, case.id, dora.id)

    done = await contacts.delete(db, team.dana, dora.id)

    assert (done.contact.id, done.contact.name) == (dora.id, "Dora Lindqvist")
    assert (done.conversations, done.targets_removed, done.cases) == (1, 1, 1)
    with pytest.raises(NotFound):
        await contacts.get(db, dora.id)
    assert await contacts.search_page(db, team.dana, "Lindqvist", limit=10) == []
    # The conversation is history: kept, under the number alone.
    kept = await db.fetchone(
        "SELECT phone, contact_id FROM conversations WHERE id = ?", (sent.conversation_id,)
    )
    assert tuple(kept) == (DORA_MOBILE, None)
    # Her campaign target would have gone out as a CSV row does: removed, the move kept.
    assert (await states(db, campaign.id))[DORA_MOBILE] == ("removed", DELETED_REASON)
    assert (await states(db, campaign.id))[ERIN_MOBILE][0] == "waiting"
    move = await db.fetchone(
        "SELECT m.action, m.agent_id FROM campaign_moves m"
        " JOIN campaign_targets t ON t.id = m.target_id WHERE t.phone = ?",
        (DORA_MOBILE,),
    )
    assert tuple(move) == ("remove", team.dana.id)
    assert await case_contacts.list_contacts(db, team.dana, case.id) == []
    event = await db.fetchone("SELECT kind, entity_id FROM events ORDER BY id DESC LIMIT 1")
    assert tuple(event) == ("contact.deleted", dora.id)

    # Her number writing again is a stranger's: a new contact, the same conversation.
    again = await receiving.receive(db, DORA_MOBILE, DEFAULT_NUMBER, "Hello again")
    assert again.conversation_id == sent.conversation_id
    found = await contacts.find_by_phone(db, DORA_MOBILE)
    assert found is not None
    assert found.id != dora.id


async def test_only_who_manages_contacts_deletes_one(db: Database, team: Team) -> None:
    with pytest.raises(NotAllowed):
        await contacts.delete(db, team.alice, team.dora.id)
    assert await contacts.get(db, team.dora.id) == team.dora
    with pytest.raises(NotFound, match="no contact with id 999"):
        await contacts.delete(db, team.dana, 999)
