"""R1-R4 in core: profiles, settings, configuration, several profiles per user, the upgrade."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from core import db as dbmod
from core import events
from core.clock import FakeClock
from core.db import Database, open_database
from core.errors import AlreadyTaken, InvalidInput, LimitExceeded, NotAllowed
from core.people import agents
from core.people.authz import SYSTEM, Action, ConversationAccess, NumberAccess, allows
from core.permissions import configuration, principal, profiles
from core.sms import sending
from tests.core.conftest import ALICE_NUMBER, CARL_MOBILE, DEFAULT_NUMBER, Team
from tests.processes import dump


async def test_the_51st_profile_is_refused_naming_the_limit(db: Database, db_path: Path) -> None:
    for i in range(profiles.MAX_PROFILES - 2):  # Manager and Agent are built in
        await profiles.add(db, SYSTEM, f"Profile {i}")
    before = dump(db_path)
    with pytest.raises(LimitExceeded, match="at most 50 permission profiles"):
        await profiles.add(db, SYSTEM, "One too many")
    assert dump(db_path) == before
    assert len(await profiles.list_profiles(db)) == 50


async def test_names_are_unique_and_general_fields_are_kept(db: Database) -> None:
    made = await profiles.add(
        db, SYSTEM, "Night", alias="NGT", reference="ref-7", description="After 8pm"
    )
    assert (made.alias, made.reference, made.description) == ("NGT", "ref-7", "After 8pm")
    with pytest.raises(AlreadyTaken, match="'night' already exists"):
        await profiles.add(db, SYSTEM, "night")
    assert [p.name for p in await profiles.list_profiles(db, "ref-")] == ["Night"]


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("interaction_timeout_seconds", -1, "cannot be negative"),
        ("interaction_timeout_seconds", "soon", "must be a whole number"),
        ("max_simultaneous", 0, "between 1 and 100"),
        ("max_missed_offers", 0, "between 1 and 100"),
        ("auto_accept_seconds", -5, "cannot be negative"),
        ("missed_activity", "Gardening", "there is no activity 'Gardening'"),
        ("supervision", "maybe", "must be yes or no"),
        ("colour", "blue", "unknown permission profile setting 'colour'"),
        ("name", "", "cannot be empty"),
        ("alias", "a\x1b[31m", "holds a control character"),
    ],
)
async def test_bad_settings_are_refused_naming_the_rule(
    db: Database, setting: str, value: object, message: str
) -> None:
    await profiles.add(db, SYSTEM, "Night")
    with pytest.raises(InvalidInput, match=message):
        await profiles.edit(db, SYSTEM, "Night", **{setting: value})


async def test_settings_reach_the_principal(db: Database) -> None:
    await profiles.add(db, SYSTEM, "Night")
    await profiles.edit(
        db,
        SYSTEM,
        "Night",
        interaction_timeout_seconds="30",
        max_missed_offers=3,
        missed_activity="Away",
        max_simultaneous=2,
        auto_accept_seconds="never",
        may_refuse="no",
        transfer_to_queue="yes",
    )
    gus = await agents.add(db, SYSTEM, "gus", "Gus", "Night")
    who = gus.as_actor()
    away = await db.scalar("SELECT id FROM activities WHERE name = 'Away'")
    assert who.settings.interaction_timeout_seconds == 30
    assert (who.settings.max_missed_offers, who.settings.missed_activity_id) == (3, away)
    assert who.settings.max_simultaneous == 2
    assert who.settings.auto_accept_seconds is None
    assert not who.settings.may_refuse
    assert allows(who, Action.TRANSFER_TO_QUEUE)
    assert not allows(who, Action.TRANSFER_TO_AGENT)
    available = await db.scalar("SELECT id FROM activities WHERE name = 'Available'")
    assert who.default_activity_id == available


async def test_pool_access_off_hides_and_refuses_public_conversations(
    db: Database, team: Team
) -> None:
    await profiles.add(db, SYSTEM, "Closed", pool_access=False)
    gus = (await agents.add(db, SYSTEM, "gus", "Gus", "Closed")).as_actor()
    public = ConversationAccess(team.alice.id, frozenset(), is_public=True)
    assert not allows(gus, Action.VIEW_CONVERSATION, public)
    assert not allows(gus, Action.TAKE_CONVERSATION, public)
    assert allows(team.bob, Action.TAKE_CONVERSATION, public)


async def test_deleting_someones_only_profile_is_refused_naming_them(db: Database) -> None:
    await profiles.add(db, SYSTEM, "Night")
    await agents.add(db, SYSTEM, "gus", "Gus", "Night")
    await agents.add(db, SYSTEM, "hal", "Hal", "Night")
    await profiles.assign(db, SYSTEM, "Agent", "hal")
    with pytest.raises(NotAllowed, match="the only profile of gus: give them another first"):
        await profiles.delete(db, SYSTEM, "Night")
    await profiles.assign(db, SYSTEM, "Agent", "gus")
    await profiles.delete(db, SYSTEM, "Night")
    gus = await agents.by_username(db, "gus")
    assert gus.profile == "Agent"  # the active one switched to what they still hold


async def test_removing_the_last_user_manager_is_refused(db: Database, db_path: Path) -> None:
    await agents.add(db, SYSTEM, "dana", "Dana", "Manager")
    await profiles.assign(db, SYSTEM, "Agent", "dana")
    before = dump(db_path)
    with pytest.raises(NotAllowed, match=r"no active user who can manage users"):
        await profiles.activate(db, SYSTEM, "dana", "Agent")
    with pytest.raises(NotAllowed, match=r"no active user who can manage users"):
        await profiles.unassign(db, SYSTEM, "Manager", "dana")
    with pytest.raises(NotAllowed, match=r"no active user who can manage users"):
        await profiles.edit(db, SYSTEM, "Manager", manage_users=False)
    assert dump(db_path) == before
    await agents.add(db, SYSTEM, "erin", "Erin", "Manager")
    await profiles.activate(db, SYSTEM, "dana", "Agent")  # erin can still manage users


async def test_a_user_switches_profile_at_once_and_the_feed_says_so(
    db: Database, team: Team
) -> None:
    await profiles.assign(db, SYSTEM, "Manager", "alice")
    assert not allows(await principal.load(db, team.alice.id or 0), Action.MANAGE_SETTINGS)
    cursor = await events.last_id(db)
    await profiles.activate(db, team.alice, "alice", "Manager")  # her own: no right needed
    now = await principal.load(db, team.alice.id or 0)
    assert now.profile_name == "Manager"
    assert allows(now, Action.MANAGE_SETTINGS)
    fed = (await events.since(db, cursor)).events
    assert [(e.kind, e.entity_id) for e in fed] == [("permission_profile.activated", team.alice.id)]
    with pytest.raises(NotAllowed, match="does not hold permission profile 'Agent'"):
        await profiles.activate(db, SYSTEM, "dana", "Agent")
    with pytest.raises(NotAllowed, match="may not manage permission profiles"):
        await profiles.activate(db, team.bob, "alice", "Agent")


async def test_distribution_and_queue_scores_are_0_to_100(db: Database, team: Team) -> None:
    await configuration.add_queue(db, SYSTEM, "Sales", [DEFAULT_NUMBER])
    with pytest.raises(InvalidInput, match="score must be between 0 and 100, not 101"):
        await configuration.set_profile_queue(db, SYSTEM, "Agent", "Sales", score=101)
    with pytest.raises(InvalidInput, match="distribution_score cannot be negative"):
        await profiles.set_distribution_score(db, SYSTEM, "Agent", "alice", -1)
    await configuration.set_profile_queue(db, SYSTEM, "Agent", "Sales", score=80)
    await profiles.set_distribution_score(db, SYSTEM, "Agent", "alice", 90)
    alice = await principal.load(db, team.alice.id or 0)
    assert [(q.messaging, q.score) for q in alice.queues] == [(True, 80)]
    assert alice.distribution_score == 90


async def test_a_queue_with_messaging_needs_a_number(db: Database, team: Team) -> None:
    with pytest.raises(InvalidInput, match="queue 'Sales' has no number"):
        await configuration.add_queue(db, SYSTEM, "Sales")
    await configuration.add_queue(db, SYSTEM, "Sales", [DEFAULT_NUMBER])
    await configuration.add_queue(db, SYSTEM, "Later", messaging=False)
    with pytest.raises(NotAllowed, match="would leave queue 'Sales' with messaging on and no"):
        await configuration.set_number_queue(db, SYSTEM, DEFAULT_NUMBER, "Later")
    with pytest.raises(NotAllowed, match="'Later' with messaging on and no number"):
        await configuration.edit_queue(db, SYSTEM, "Later", messaging=True)
    await configuration.edit_queue(db, SYSTEM, "Sales", rename="Sales EU", messaging=False)
    assert [(q.name, q.messaging, q.numbers) for q in await configuration.list_queues(db)] == [
        ("Later", False, ()),
        ("Sales EU", False, (DEFAULT_NUMBER,)),
    ]


async def test_a_profile_sends_only_from_its_numbers(
    db: Database, db_path: Path, team: Team
) -> None:
    # None named: every number (the built-in profiles name none).
    await sending.send(db, team.alice, CARL_MOBILE, "Hi", sender=DEFAULT_NUMBER)
    await configuration.set_profile_numbers(db, SYSTEM, "Agent", [ALICE_NUMBER])
    alice = await principal.load(db, team.alice.id or 0)
    before = dump(db_path)
    with pytest.raises(NotAllowed, match=r"\+14155550100 is not one of the SMS numbers"):
        await sending.send(db, alice, CARL_MOBILE, "Hi", sender=DEFAULT_NUMBER)
    assert dump(db_path) == before
    assert allows(alice, Action.SEND_SMS, NumberAccess(team.alice_number.id))


async def test_templates_are_checked_at_save_and_given_to_profiles(
    db: Database, team: Team
) -> None:
    with pytest.raises(InvalidInput, match="unknown field 'contact_nme'"):
        await configuration.save_template(db, SYSTEM, "Hello", "Hi {{contact_nme}}")
    saved = await configuration.save_template(db, SYSTEM, "Hello", "Hi {{contact_name}}")
    await configuration.set_profile_template(db, SYSTEM, "Agent", "Hello")
    alice = await principal.load(db, team.alice.id or 0)
    assert saved.id in alice.template_ids
    assert [t.name for t in await configuration.list_templates(db, "Agent")] == ["Hello"]


async def test_activities_one_default_and_must_exist(db: Database) -> None:
    await configuration.add_activity(db, SYSTEM, "Training")
    with pytest.raises(InvalidInput, match="there is no activity 'Gardening'"):
        await configuration.set_profile_activities(
            db, SYSTEM, "Agent", ["Available", "Gardening"], "Available"
        )
    with pytest.raises(InvalidInput, match="default activity 'Lunch' must be one of"):
        await configuration.set_profile_activities(db, SYSTEM, "Agent", ["Available"], "Lunch")
    await configuration.set_profile_activities(
        db, SYSTEM, "Agent", ["Available", "Training"], "Training"
    )
    assert [(a.name, d) for a, d in await configuration.profile_activities(db, "Agent")] == [
        ("Available", False),
        ("Training", True),
    ]


async def test_an_added_activity_is_renamed_and_flagged_a_builtin_is_not(db: Database) -> None:
    await configuration.add_activity(db, SYSTEM, "Training")
    cursor = await events.last_id(db)
    edited = await configuration.edit_activity(
        db, SYSTEM, "Training", rename="Coaching", available=True
    )
    assert (edited.name, edited.available) == ("Coaching", True)
    listed = {a.name: a.available for a in await configuration.list_activities(db)}
    assert listed["Coaching"] is True
    assert "Training" not in listed
    assert [e.kind for e in (await events.since(db, cursor)).events] == ["activity.changed"]
    with pytest.raises(AlreadyTaken, match="an activity named 'Lunch' already exists"):
        await configuration.edit_activity(db, SYSTEM, "Coaching", rename="Lunch")
    with pytest.raises(NotAllowed, match="Available is a built-in activity"):
        await configuration.edit_activity(db, SYSTEM, "Available", available=False)
    with pytest.raises(NotAllowed, match="Away is a built-in activity"):
        await configuration.edit_activity(db, SYSTEM, "Away", rename="Out")
    listed = {a.name: a.available for a in await configuration.list_activities(db)}
    assert listed["Available"] is True
    assert "Away" in listed


async def test_schema_6_managers_and_agents_keep_their_rights(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    for _version, sql in dbmod.migrations()[:6]:
        for statement in dbmod._statements(sql):
            old.execute(statement)
    old.executescript(
        "INSERT INTO agents (id, username, name, role, created_at) VALUES"
        " (1, 'dana', 'Dana', 'manager', 0), (2, 'alice', 'Alice', 'agent', 0);"
        "PRAGMA user_version = 6;"
    )
    old.close()
    db = await open_database(path, clock)
    try:
        dana, alice = await principal.load(db, 1), await principal.load(db, 2)
        assert (dana.profile_name, alice.profile_name) == ("Manager", "Agent")
        for action in Action:
            if action in (
                Action.SEND_SMS,
                Action.ANSWER_OFFER,
                Action.REFUSE_OFFER,
                Action.USE_TEMPLATE,
                Action.SET_OWN_ALERTS,
            ):
                continue  # these need their target
            assert allows(dana, action), action
        assert allows(dana, Action.SEND_SMS, NumberAccess(1))
        assert allows(alice, Action.SEND_SMS, NumberAccess(1))
        managerial = {
            Action.VIEW_ALL_CONVERSATIONS,
            Action.TAKE_OVER_CONVERSATION,
            Action.IMPORT_CONTACTS,
            Action.MANAGE_NUMBERS,
            Action.MANAGE_AGENTS,
            Action.MANAGE_PERMISSIONS,
            Action.MANAGE_SETTINGS,
            Action.TRANSFER_TO_QUEUE,
            Action.TRANSFER_TO_AGENT,
            Action.VIEW_STATISTICS,
        }
        for action in managerial:
            assert not allows(alice, action), action
        for action in (Action.VIEW_CONTACTS, Action.EDIT_CONTACTS, Action.TAKE_CONVERSATION):
            assert allows(alice, action)
        columns = {r["name"] for r in await db.fetchall("PRAGMA table_info(agents)")}
        assert "role" not in columns
    finally:
        await db.close()
