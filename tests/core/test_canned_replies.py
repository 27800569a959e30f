"""R3: canned replies: who may use which, and their text for a conversation."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.db import Database
from core.errors import NotAllowed, NotFound
from core.people import contacts
from core.people.authz import SYSTEM
from core.people.contacts import ContactDraft
from core.permissions import configuration, principal
from core.permissions.configuration import CANNED_REPLY_FIELDS
from core.sms import canned_replies, sending
from tests.core.conftest import ALICE_NUMBER, CARL_MOBILE, DORA_MOBILE, Team
from tests.processes import dump

HOSTILE_MOBILE = "+12125550150"


async def _templates(db: Database) -> None:
    await configuration.save_template(
        db, SYSTEM, "Pick-up", "Hi {{contact_name}}, it's ready. {{agent_name}}, {{our_number}}"
    )
    await configuration.save_template(db, SYSTEM, "Internal", "Escalate {{contact_name}}")
    await configuration.set_profile_template(db, SYSTEM, "Agent", "Pick-up")


async def _conversation(db: Database, team: Team, phone: str = CARL_MOBILE) -> int:
    await sending.send(db, team.alice, phone, "Hello", sender=ALICE_NUMBER)
    cid = await db.scalar("SELECT max(id) FROM conversations")
    assert isinstance(cid, int)
    return cid


async def test_an_agent_gets_only_the_templates_of_their_profile(db: Database, team: Team) -> None:
    await _templates(db)
    alice = await principal.load(db, team.alice.id or 0)
    dana = await principal.load(db, team.dana.id or 0)
    assert [t.name for t in await canned_replies.templates_for(db, alice)] == ["Pick-up"]
    # The Manager profile was granted none: an empty list, for the console to say so.
    assert await canned_replies.templates_for(db, dana) == []
    # The local operator may use every one.
    assert [t.name for t in await canned_replies.templates_for(db, SYSTEM)] == [
        "Internal",
        "Pick-up",
    ]


async def test_a_granted_template_renders_with_the_conversations_values(
    db: Database, team: Team
) -> None:
    await _templates(db)
    alice = await principal.load(db, team.alice.id or 0)
    cid = await _conversation(db, team)
    (pick_up,) = await canned_replies.templates_for(db, alice)
    text = await canned_replies.render(db, alice, pick_up.id, cid)
    assert text == f"Hi Carl Mensah, it's ready. Alice Moreau, {ALICE_NUMBER}"


async def test_every_declared_field_gets_a_value(db: Database, team: Team) -> None:
    cid = await _conversation(db, team)
    values = await canned_replies.reply_values(db, team.alice, cid)
    assert set(values) == set(CANNED_REPLY_FIELDS.names)


async def test_values_are_inserted_literally(db: Database, team: Team) -> None:
    await _templates(db)
    hostile = "{{agent_name}} [b]x[/b] [@click=app.quit]y[/]"
    await contacts.create(
        db, SYSTEM, ContactDraft(name=hostile, phones=[(HOSTILE_MOBILE, "mobile")])
    )
    alice = await principal.load(db, team.alice.id or 0)
    cid = await _conversation(db, team, HOSTILE_MOBILE)
    (pick_up,) = await canned_replies.templates_for(db, alice)
    text = await canned_replies.render(db, alice, pick_up.id, cid)
    # The name's braces are not a placeholder to the renderer: they stay as typed.
    assert text.startswith(f"Hi {hostile}, it's ready. Alice Moreau")


async def test_a_template_not_granted_is_refused_and_changes_nothing(
    db: Database, db_path: Path, team: Team
) -> None:
    await _templates(db)
    alice = await principal.load(db, team.alice.id or 0)
    cid = await _conversation(db, team)
    internal = next(t for t in await configuration.list_templates(db) if t.name == "Internal")
    before = dump(db_path)
    with pytest.raises(NotAllowed, match=r"may not use this SMS template: .*'Agent'"):
        await canned_replies.render(db, alice, internal.id, cid)
    assert dump(db_path) == before


async def test_a_grant_taken_away_refuses_the_template(db: Database, team: Team) -> None:
    await _templates(db)
    cid = await _conversation(db, team)
    alice = await principal.load(db, team.alice.id or 0)
    (pick_up,) = await canned_replies.templates_for(db, alice)
    await configuration.set_profile_template(db, SYSTEM, "Agent", "Pick-up", granted=False)
    alice = await principal.load(db, team.alice.id or 0)
    assert await canned_replies.templates_for(db, alice) == []
    with pytest.raises(NotAllowed, match="use this SMS template"):
        await canned_replies.render(db, alice, pick_up.id, cid)


async def test_a_conversation_the_agent_cannot_see_is_refused(db: Database, team: Team) -> None:
    await _templates(db)
    await configuration.set_profile_template(db, SYSTEM, "Agent", "Pick-up")
    await sending.send(db, team.bob, DORA_MOBILE, "Hi Dora")
    bobs = await db.scalar("SELECT max(id) FROM conversations")
    alice = await principal.load(db, team.alice.id or 0)
    (pick_up,) = await canned_replies.templates_for(db, alice)
    with pytest.raises(NotAllowed, match="view this conversation"):
        await canned_replies.render(db, alice, pick_up.id, bobs)


async def test_a_deleted_template_is_not_found(db: Database, team: Team) -> None:
    await _templates(db)
    cid = await _conversation(db, team)
    template = next(t for t in await configuration.list_templates(db) if t.name == "Pick-up")
    await configuration.delete_template(db, SYSTEM, "Pick-up")
    with pytest.raises(NotFound, match="no SMS template"):
        await canned_replies.render(db, SYSTEM, template.id, cid)
