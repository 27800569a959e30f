"""Who may do what: the built-in profiles keep what agents and managers could do."""

from __future__ import annotations

import io

import pytest

from core import settings
from core.db import Database
from core.errors import NotAllowed
from core.people import agents, contacts_csv
from core.people.authz import SYSTEM, Action, ConversationAccess, allows
from core.sms import numbers
from tests.core.conftest import Team

CSV = "name,mobile\nGus Novak,+12125550150\n"


async def test_an_agent_may_not_change_settings(db: Database, team: Team) -> None:
    with pytest.raises(NotAllowed, match=r"Alice Moreau may not change account settings"):
        await settings.update(db, team.alice, public_minutes=5)
    assert (await settings.load(db)).public_minutes == 20
    assert (await settings.update(db, team.dana, public_minutes=5)).public_minutes == 5


async def test_an_agent_may_not_manage_agents(db: Database, team: Team) -> None:
    with pytest.raises(NotAllowed, match="may not manage agents"):
        await agents.add(db, team.alice, "mallory", "Mallory", "Manager")
    with pytest.raises(NotAllowed, match="may not manage agents"):
        await agents.set_active(db, team.alice, "bob", False)
    assert [a.username for a in await agents.list_agents(db)] == ["alice", "bob", "dana"]
    added = await agents.add(db, team.dana, "gus", "Gus", "Agent")
    assert added.profile == "Agent"
    assert not (await agents.set_active(db, team.dana, "gus", False)).active


async def test_an_agent_may_not_manage_numbers(db: Database, team: Team) -> None:
    with pytest.raises(NotAllowed, match="may not manage SMS numbers"):
        await numbers.add(db, team.bob, "+14155550102", agent_id=team.bob.id)
    assert len(await numbers.list_numbers(db)) == 2
    await numbers.add(db, team.dana, "+14155550102", agent_id=team.bob.id)


async def test_an_agent_may_not_import_or_export_contacts(db: Database, team: Team) -> None:
    with pytest.raises(NotAllowed, match="may not import or export contacts"):
        await contacts_csv.import_csv(db, team.alice, io.StringIO(CSV))
    await contacts_csv.import_csv(db, team.dana, io.StringIO(CSV))
    assert await db.scalar("SELECT count(*) FROM contacts") == 4


async def test_the_builtin_profiles_reach_conversations_as_the_roles_did(team: Team) -> None:
    alice, bob, dana = team.alice, team.bob, team.dana
    assert alice.id is not None
    assert bob.id is not None
    private = ConversationAccess(alice.id, frozenset({99}), is_public=False)
    followed = ConversationAccess(alice.id, frozenset({bob.id}), is_public=False)
    public = ConversationAccess(alice.id, frozenset(), is_public=True)
    unowned = ConversationAccess(None, frozenset(), is_public=False)
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
    assert not allows(alice, Action.VIEW_STATISTICS)
    assert allows(dana, Action.VIEW_STATISTICS)


async def test_a_manager_cannot_lock_the_centre_out(db: Database) -> None:
    dana = (await agents.add(db, SYSTEM, "dana", "Dana", "Manager")).as_actor()
    await agents.add(db, SYSTEM, "alice", "Alice", "Agent")
    with pytest.raises(NotAllowed, match="yourself"):
        await agents.set_active(db, dana, "dana", False)
    with pytest.raises(NotAllowed, match=r"no active user who can manage users \(manage_users\)"):
        await agents.set_active(db, SYSTEM, "dana", False)
    assert (await agents.set_active(db, dana, "alice", False)).active is False
