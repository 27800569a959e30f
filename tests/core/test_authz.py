"""Who may do what: agents work conversations, managers also run the account."""

from __future__ import annotations

import io

import pytest

from core import settings
from core.db import Database
from core.errors import NotAllowed
from core.people import agents, contacts_csv
from core.people.authz import (
    SYSTEM,
    Action,
    Actor,
    ConversationAccess,
    allows,
    authorize,
)
from core.sms import numbers
from tests.core.conftest import Team

CSV = "name,mobile\nGus Novak,+12125550150\n"


async def test_an_agent_may_not_change_settings(db: Database, team: Team) -> None:
    with pytest.raises(NotAllowed, match=r"Alice Moreau \(agent\) may not change account settings"):
        await settings.update(db, team.alice, public_minutes=5)
    assert (await settings.load(db)).public_minutes == 20
    assert (await settings.update(db, team.dana, public_minutes=5)).public_minutes == 5
    assert (await settings.load(db)).public_minutes == 5


async def test_an_agent_may_not_manage_agents(db: Database, team: Team) -> None:
    with pytest.raises(NotAllowed, match="may not manage agents"):
        await agents.add(db, team.alice, "mallory", "Mallory", "Manager")
    with pytest.raises(NotAllowed, match="may not manage agents"):
        await agents.set_active(db, team.alice, "bob", False)
    assert [a.username for a in await agents.list_agents(db)] == ["alice", "bob", "dana"]
    assert (await agents.by_username(db, "bob")).active

    added = await agents.add(db, team.dana, "gus", "Gus", "Agent")
    assert added.role == "Agent"
    assert not (await agents.set_active(db, team.dana, "gus", False)).active


async def test_an_agent_may_not_manage_numbers(db: Database, team: Team) -> None:
    with pytest.raises(NotAllowed, match="may not manage SMS numbers"):
        await numbers.add(db, team.bob, "+14155550102", agent_id=team.bob.id)
    assert len(await numbers.list_numbers(db)) == 2
    added = await numbers.add(db, team.dana, "+14155550102", agent_id=team.bob.id)
    assert added.agent_id == team.bob.id


async def test_an_agent_may_not_import_or_export_contacts(db: Database, team: Team) -> None:
    with pytest.raises(NotAllowed, match="may not import or export contacts"):
        await contacts_csv.import_csv(db, team.alice, io.StringIO(CSV))
    with pytest.raises(NotAllowed, match="may not import or export contacts"):
        await contacts_csv.export_csv(db, team.alice, io.StringIO())
    assert await db.scalar("SELECT count(*) FROM contacts") == 3
    await contacts_csv.import_csv(db, team.dana, io.StringIO(CSV))
    assert await db.scalar("SELECT count(*) FROM contacts") == 4


def test_role_policy_for_conversations() -> None:
    alice = Actor(1, "alice", "Agent")
    bob = Actor(2, "bob", "Agent")
    dana = Actor(3, "dana", "Manager")
    private = ConversationAccess(owner_id=1, subscriber_ids=frozenset({4}), is_public=False)
    followed = ConversationAccess(owner_id=1, subscriber_ids=frozenset({2}), is_public=False)
    public = ConversationAccess(owner_id=1, subscriber_ids=frozenset(), is_public=True)
    unowned = ConversationAccess(owner_id=None, subscriber_ids=frozenset(), is_public=False)

    for action in (Action.VIEW_CONVERSATION, Action.CONFIRM_OPTOUT):
        assert allows(alice, action, private)
        assert not allows(bob, action, private)
        assert allows(bob, action, followed)
        assert allows(bob, action, public)
        assert allows(bob, action, unowned)
        assert allows(dana, action, private)
    assert not allows(bob, Action.TAKE_CONVERSATION, private)
    assert allows(bob, Action.TAKE_CONVERSATION, public)
    assert allows(bob, Action.TAKE_CONVERSATION, unowned)
    assert not allows(bob, Action.TAKE_OVER_CONVERSATION, private)
    assert allows(dana, Action.TAKE_OVER_CONVERSATION, private)
    assert not allows(alice, Action.VIEW_ALL_CONVERSATIONS)
    assert allows(dana, Action.VIEW_ALL_CONVERSATIONS)


@pytest.mark.parametrize(
    "action",
    [
        Action.MANAGE_SETTINGS,
        Action.MANAGE_AGENTS,
        Action.MANAGE_NUMBERS,
        Action.IMPORT_CONTACTS,
        Action.TAKE_OVER_CONVERSATION,
        Action.VIEW_ALL_CONVERSATIONS,
    ],
)
def test_agents_are_refused_manager_actions_by_name(action: Action) -> None:
    agent = Actor(1, "alice", "Agent", "Alice Moreau")
    with pytest.raises(NotAllowed) as caught:
        authorize(agent, action)
    assert str(caught.value) == f"Alice Moreau (agent) may not {action.value}."
    authorize(Actor(2, "dana", "Manager"), action)
    authorize(SYSTEM, action)


@pytest.mark.parametrize(
    "action",
    [Action.SEND_SMS, Action.VIEW_CONTACTS, Action.EDIT_CONTACTS, Action.CONFIRM_OPTOUT],
)
def test_agents_may_do_agent_work(action: Action) -> None:
    assert allows(Actor(1, "alice", "Agent"), action)


async def test_a_manager_cannot_lock_the_centre_out(db) -> None:
    from core.errors import NotAllowed
    from core.people import agents
    from core.people.authz import SYSTEM

    dana = (await agents.add(db, SYSTEM, "dana", "Dana", "Manager")).as_actor()
    await agents.add(db, SYSTEM, "alice", "Alice", "Agent")
    with pytest.raises(NotAllowed, match="yourself"):
        await agents.set_active(db, dana, "dana", False)
    with pytest.raises(NotAllowed, match="last active manager"):
        await agents.set_active(db, SYSTEM, "dana", False)
    assert (await agents.set_active(db, dana, "alice", False)).active is False
