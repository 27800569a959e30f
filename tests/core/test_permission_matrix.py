"""The permission matrix: every service action, called through core as the console,
CLI and worker call it, by principals whose profiles allow and deny it.

A denied action raises NotAllowed and changes nothing (the database is dumped
before and after). Then the list scopes: on generated conversations and
profiles, what a principal may see in a list is exactly what the single
check allows, one conversation at a time (Hypothesis).
"""

from __future__ import annotations

import asyncio
import io
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import settings as account
from core.alerts import consent as staff_consent
from core.alerts import readiness
from core.campaigns import campaigns, estimate, lifecycle
from core.campaigns import pool as campaign_pool
from core.campaigns import progress as campaign_progress
from core.campaigns import targets as campaign_targets
from core.cases import case_contacts
from core.cases import cases as case_records
from core.cases import locations as case_locations
from core.cases import notes as case_notes
from core.clock import FakeClock
from core.db import Database, open_database
from core.errors import NotAllowed
from core.notify import closing, hipaa, history, oncall
from core.notify import fields as notify_fields
from core.notify import groups as notify_groups
from core.notify import links as notify_links
from core.notify import outcomes as notify_outcomes
from core.notify import profiles as notify_profiles
from core.people import agents, contacts, contacts_csv, tags
from core.people.authz import RULES, SYSTEM, Action, Actor, allows, authorize, scope
from core.people.contacts import ContactDraft
from core.permissions import configuration, principal, profiles
from core.shifts import ics as shifts_ics
from core.shifts import on_shift, shifts
from core.sms import conversations, numbers, receiving, sending
from tests.core.conftest import ALICE_NUMBER, CARL_MOBILE, DEFAULT_NUMBER, DORA_MOBILE, Team
from tests.processes import dump

OTHER_NUMBER = "+14155550103"


@dataclass(frozen=True, slots=True)
class Case:
    action: str
    needs: dict[str, object]
    """The profile settings that allow it; the denied profile has them off."""
    run: Callable[[Database, Actor, Team], Awaitable[object]]


async def _inbound(db: Database, phone: str) -> int:
    await receiving.receive(db, phone, DEFAULT_NUMBER, "Hello?")
    cid = await db.scalar("SELECT max(id) FROM conversations")
    assert isinstance(cid, int)
    return cid


async def _owned_by_bob(db: Database, team: Team) -> int:
    await sending.send(db, team.bob, DORA_MOBILE, "Hi Dora")
    cid = await db.scalar("SELECT max(id) FROM conversations")
    assert isinstance(cid, int)
    return cid


async def _take(db: Database, actor: Actor, team: Team) -> object:
    cid = await db.scalar("SELECT id FROM conversations WHERE owner_id IS NULL")
    return await conversations.take(db, actor, cid)


async def _take_over(db: Database, actor: Actor, team: Team) -> object:
    cid = await db.scalar("SELECT id FROM conversations WHERE owner_id = ?", (team.bob.id,))
    return await conversations.take_over(db, actor, cid)


async def _view_private(db: Database, actor: Actor, team: Team) -> object:
    cid = await db.scalar("SELECT id FROM conversations WHERE owner_id = ?", (team.bob.id,))
    return await conversations.thread(db, actor, cid)


async def _close_bobs(db: Database, actor: Actor, team: Team) -> object:
    cid = await db.scalar("SELECT id FROM conversations WHERE owner_id = ?", (team.bob.id,))
    return await closing.close(db, actor, cid, "Wrong Number", {})


async def _bobs_last_closure(db: Database, actor: Actor, team: Team) -> object:
    cid = await db.scalar("SELECT id FROM conversations WHERE owner_id = ?", (team.bob.id,))
    return await history.last_closure(db, actor, cid)


# --- notification profiles and groups (n-profiles) ---------------------------------------


async def _notification_profiles(db: Database) -> None:
    """Two profiles for the scene, made before the database is dumped."""
    for alias in ("Dr. Ames", "Dr. Roux"):
        await notify_profiles.add(db, SYSTEM, notify_profiles.ProfileDraft(alias))


async def _notification_profile(db: Database, alias: str = "Dr. Ames") -> int:
    return (await notify_profiles.by_alias(db, SYSTEM, alias)).id


async def _add_notification_profile(db: Database, actor: Actor, team: Team) -> object:
    return await notify_profiles.add(db, actor, notify_profiles.ProfileDraft("Dr. Lee"))


async def _edit_notification_profile(db: Database, actor: Actor, team: Team) -> object:
    return await notify_profiles.edit(db, actor, await _notification_profile(db), alias="Ames")


async def _hold_notification_profile(db: Database, actor: Actor, team: Team) -> object:
    return await notify_profiles.hold(db, actor, await _notification_profile(db))


async def _replace_notification_profile(db: Database, actor: Actor, team: Team) -> object:
    old, new = await _notification_profile(db), await _notification_profile(db, "Dr. Roux")
    return await notify_links.replace(db, actor, old, new)


async def _delete_notification_profile(db: Database, actor: Actor, team: Team) -> object:
    return await notify_profiles.delete(db, actor, await _notification_profile(db))


async def _add_notification_group(db: Database, actor: Actor, team: Team) -> object:
    return await notify_groups.add(db, actor, "Doctors")


async def _read_notification_profiles(db: Database, actor: Actor, team: Team) -> object:
    profile_id = await _notification_profile(db)
    await notify_profiles.get(db, actor, profile_id)
    await notify_links.profile_links(db, actor, profile_id)
    await notify_groups.list_groups(db, actor)
    return await notify_profiles.list_profiles(db, actor)


# --- shifts (b-shifts) --------------------------------------------------------------------


async def _add_weekly_shift(db: Database, actor: Actor, team: Team) -> object:
    return await shifts.add_weekly(db, actor, "bob", "normal", "mon 09:00 to mon 17:00")


async def _add_one_off_shift(db: Database, actor: Actor, team: Team) -> object:
    return await shifts.add_once(
        db, actor, "bob", "oncall", "2026-01-06T18:00", "2026-01-07T08:00", "Europe/Paris"
    )


async def _import_shifts(db: Database, actor: Actor, team: Team) -> object:
    return await shifts_ics.import_ics(
        db,
        actor,
        "bob",
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:n\r\n"
        "DTSTART:20260106T180000Z\r\nDTEND:20260107T080000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    )


async def _read_shifts(db: Database, actor: Actor, team: Team) -> object:
    await shifts.list_shifts(db, actor)
    await on_shift.now_and_next(db, actor)
    return await on_shift.week(db, actor, "UTC")


async def _set_alices_mobile(db: Database, actor: Actor, team: Team) -> object:
    assert team.alice.id is not None
    return await staff_consent.set_mobile(db, actor, team.alice.id, "+12125550152")


async def _see_alices_consent(db: Database, actor: Actor, team: Team) -> object:
    assert team.alice.id is not None
    return await staff_consent.staff_view(db, actor, team.alice.id)


async def _permit_my_phone(db: Database, actor: Actor, team: Team) -> object:
    assert actor.id is not None
    await staff_consent.set_mobile(db, actor, actor.id, "+12125550153")
    await staff_consent.set_new_chat(db, actor, actor.id, True)
    return await staff_consent.permit(db, actor, actor.id, True)


# --- c-targets: a campaign's targets, the pool and moves ---------------------------------


async def _campaign_targets(db: Database, team: Team) -> None:
    """Campaign Matrix: Carl programmed (target 1), Dora waiting (target 2)."""
    async with db.transaction() as tx:
        cid = await tx.insert(
            "INSERT INTO campaigns (name, sender, template, created_at, updated_at)"
            " VALUES ('Matrix', ?, 'Hi', 0, 0)",
            (DEFAULT_NUMBER,),
        )
        await tx.executemany(
            "INSERT INTO campaign_targets (campaign_id, contact_id, phone, state, due_at,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, 0)",
            [
                (cid, team.carl.id, CARL_MOBILE, "programmed", tx.now_ms + 3_600_000),
                (cid, team.dora.id, DORA_MOBILE, "waiting", None),
            ],
        )


def _in_an_hour(db: Database) -> datetime:
    return db.clock.now() + timedelta(hours=1)


async def _spring(db: Database) -> None:
    made = await campaigns.create(db, SYSTEM, "Spring", DEFAULT_NUMBER, "Hello")
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO campaign_targets (campaign_id, phone, created_at, updated_at)"
            " VALUES (?, ?, 0, 0)",
            (made.id, DORA_MOBILE),
        )


def _on_spring(
    call: Callable[[Database, Actor, str], Awaitable[object]],
) -> Callable[[Database, Actor, Team], Awaitable[object]]:
    """``call`` on the scene's campaign, by a principal whose profile lists it when it is
    the allowed one (a denied profile lists nothing: the grant then writes nothing)."""

    async def run(db: Database, actor: Actor, team: Team) -> object:
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO permission_profile_campaigns (profile_id, campaign_id)"
                " SELECT p.id, c.id FROM permission_profiles p, campaigns c"
                " WHERE p.name = 'Allowed' AND c.name = 'Spring'"
            )
        assert actor.id is not None
        return await call(db, await principal.load(db, actor.id), "Spring")

    return run


async def _listed_campaign(db: Database, actor: Actor) -> tuple[int, Actor]:
    """A campaign ``actor``'s profile lists, when it has campaign rights; else one that
    does not exist (the refusal comes first, and writes nothing)."""
    if not actor.settings.campaigns or actor.id is None:
        return 1, actor
    async with db.transaction() as tx:
        cid = await tx.insert(
            "INSERT INTO campaigns (name, sender, template, created_at, updated_at)"
            " VALUES ('Listed', ?, 'Hi', 0, 0)",
            (DEFAULT_NUMBER,),
        )
        await tx.execute(
            "INSERT INTO permission_profile_campaigns (profile_id, campaign_id) VALUES (?, ?)",
            (actor.profile_id, cid),
        )
    return cid, await principal.load(db, actor.id)


async def _campaign_progress(db: Database, actor: Actor, team: Team) -> object:
    cid, actor = await _listed_campaign(db, actor)
    return await campaign_progress.progress(db, actor, cid)


async def _campaign_results(db: Database, actor: Actor, team: Team) -> object:
    cid, actor = await _listed_campaign(db, actor)
    return await campaign_progress.results(db, actor, cid)


async def _case_scene(db: Database) -> None:
    """k-core: location Depot and case 1 on it, made by the operator."""
    await case_locations.create(db, SYSTEM, "Depot", DEFAULT_NUMBER)
    await case_records.create(db, SYSTEM, "Brakes", "Depot")


CASES = [
    Case(
        "settings",
        {"manage_settings": True},
        lambda db, a, t: account.update(db, a, public_minutes=5),
    ),
    Case("add agent", {"manage_users": True}, lambda db, a, t: agents.add(db, a, "gus", "Gus")),
    Case(
        "deactivate agent",
        {"manage_users": True},
        lambda db, a, t: agents.set_active(db, a, "bob", False),
    ),
    Case(
        "add profile", {"manage_users": True}, lambda db, a, t: profiles.add(db, a, "Night shift")
    ),
    Case(
        "add queue",
        {"manage_users": True},
        lambda db, a, t: configuration.add_queue(db, a, "Sales", [DEFAULT_NUMBER]),
    ),
    Case(
        "add number",
        {"manage_numbers": True},
        lambda db, a, t: numbers.add(db, a, "+14155550104"),
    ),
    Case(
        "say a number sends MMS",
        {"manage_numbers": True},
        lambda db, a, t: numbers.change(db, a, ALICE_NUMBER, mms=True),
    ),
    Case(
        "remove a number",
        {"manage_numbers": True},
        lambda db, a, t: numbers.remove(db, a, ALICE_NUMBER),
    ),
    Case(
        "import contacts",
        {"manage_contacts": True},
        lambda db, a, t: contacts_csv.import_csv(
            db, a, io.StringIO("name,mobile\nGus Novak,+12125550150\n")
        ),
    ),
    Case(
        "delete a contact",
        {"manage_contacts": True},
        lambda db, a, t: contacts.delete(db, a, t.erin.id),
    ),
    Case("take a public conversation", {"pool_access": True}, _take),
    Case("take over", {"supervision": True}, _take_over),
    Case("read another agent's thread", {"supervision": True}, _view_private),
    Case(
        "send from a number of the profile",
        {"numbers": [DEFAULT_NUMBER]},
        lambda db, a, t: sending.send(db, a, CARL_MOBILE, "Hello", sender=DEFAULT_NUMBER),
    ),
    Case(
        "edit contacts",
        {},
        lambda db, a, t: contacts.create(db, a, ContactDraft(name="Gus", phones=[])),
    ),
    # n-close: collected fields, outcomes, HIPAA mode, closing
    Case(
        "add a collected field",
        {"manage_settings": True},
        lambda db, a, t: notify_fields.add(db, a, "policy_no", "Policy"),
    ),
    Case(
        "add an outcome",
        {"manage_settings": True},
        lambda db, a, t: notify_outcomes.add(db, a, "Later"),
    ),
    Case(
        "switch HIPAA mode on",
        {"manage_settings": True},
        lambda db, a, t: hipaa.switch(db, a, True),
    ),
    Case("close another agent's conversation", {"supervision": True}, _close_bobs),
    # notification profiles and groups (n-profiles)
    Case("add notification profile", {"manage_settings": True}, _add_notification_profile),
    Case("edit notification profile", {"manage_settings": True}, _edit_notification_profile),
    Case("hold notification profile", {"manage_settings": True}, _hold_notification_profile),
    Case("replace notification profile", {"manage_settings": True}, _replace_notification_profile),
    Case("delete notification profile", {"manage_settings": True}, _delete_notification_profile),
    Case("add notification group", {"manage_settings": True}, _add_notification_group),
    Case("read notification profiles", {}, _read_notification_profiles),
    # On-call schedules (#11)
    Case(
        "add on-call schedule",
        {"manage_settings": True},
        lambda db, a, t: oncall.add_schedule(db, a, "Nights", "America/New_York"),
    ),
    Case("see on-call schedules", {}, lambda db, a, t: oncall.list_schedules(db, a)),
    # c-close: the thread's last closure and its notices
    Case("see another agent's closure", {"supervision": True}, _bobs_last_closure),
    # b-shifts: shifts (A3)
    Case("add a weekly shift", {"manage_users": True}, _add_weekly_shift),
    Case("add a one-off shift", {"manage_users": True}, _add_one_off_shift),
    Case("import shifts from .ics", {"manage_users": True}, _import_shifts),
    Case("see shifts, who is on and the week", {}, _read_shifts),
    # a-settings: alert settings, staff consent, readiness
    Case(
        "switch system SMS to staff on",
        {"manage_settings": True},
        lambda db, a, t: account.update(db, a, staff_sms=True, bundle_segments=1000),
    ),
    Case("correct a colleague's mobile", {"manage_users": True}, _set_alices_mobile),
    Case("see a colleague's consent", {"manage_users": True}, _see_alices_consent),
    Case("permit SMS to my own phone", {}, _permit_my_phone),
    Case("see whether I get mobile alerts", {}, lambda db, a, t: readiness.readiness(db, a)),
    # c-targets: tags, a campaign's targets, the pool and moves (a profile that manages the
    # account reaches every campaign; the per-campaign list is tested in test_campaign_targets)
    Case("tag a contact", {}, lambda db, a, t: tags.tag(db, a, t.carl.id, ["vip"])),
    Case(
        "add campaign targets",
        {"campaigns": True, "manage_settings": True},
        lambda db, a, t: campaign_targets.add_contacts(db, a, "Matrix", [t.erin.id]),
    ),
    Case(
        "see a campaign's targets and moves",
        {"campaigns": True, "manage_settings": True},
        lambda db, a, t: campaign_pool.moves(db, a, "Matrix"),
    ),
    Case(
        "see a campaign's waiting pool",
        {"campaign_pool": True, "manage_settings": True},
        lambda db, a, t: campaign_pool.pool(db, a, "Matrix"),
    ),
    Case(
        "program campaign targets",
        {"campaign_program": True, "manage_settings": True},
        lambda db, a, t: campaign_pool.program(db, a, "Matrix", "all", _in_an_hour(db)),
    ),
    Case(
        "reprogram campaign targets",
        {"campaign_reprogram": True, "manage_settings": True},
        lambda db, a, t: campaign_pool.reprogram(db, a, "Matrix", [1], _in_an_hour(db)),
    ),
    Case(
        "put campaign targets back in the pool",
        {"campaign_reprogram": True, "manage_settings": True},
        lambda db, a, t: campaign_pool.back_to_pool(db, a, "Matrix", [1]),
    ),
    Case(
        "remove campaign targets",
        {"campaign_remove": True, "manage_settings": True},
        lambda db, a, t: campaign_pool.remove(db, a, "Matrix", [2]),
    ),
    # c-model: campaigns themselves (the scene has the draft "Spring", listed by "Allowed")
    Case(
        "create a campaign",
        {"campaigns": True},
        lambda db, a, t: campaigns.create(db, a, "Autumn", DEFAULT_NUMBER, "Hello"),
    ),
    Case("see a campaign", {"campaigns": True}, _on_spring(campaigns.get)),
    Case("estimate a campaign", {"campaigns": True}, _on_spring(estimate.estimate)),
    Case(
        "edit a campaign",
        {"campaigns": True},
        _on_spring(lambda db, a, c: campaigns.edit(db, a, c, rate=2)),
    ),
    Case("start a campaign", {"campaigns": True}, _on_spring(lifecycle.start)),
    Case("cancel a campaign", {"campaigns": True}, _on_spring(lifecycle.cancel)),
    Case("delete a campaign", {"campaigns": True}, _on_spring(campaigns.delete)),
    Case(
        "let a profile see a campaign",
        {"manage_users": True},
        lambda db, a, t: configuration.set_profile_campaign(db, a, "Agent", "Spring"),
    ),
    # c-dispatch: a campaign's progress and per-target results
    Case("see a campaign's progress", {"campaigns": True}, _campaign_progress),
    Case("see a campaign's results", {"campaigns": True}, _campaign_results),
    # k-core: case locations, cases, their contacts and notes (C1, C2)
    Case(
        "add a case location",
        {"manage_settings": True},
        lambda db, a, t: case_locations.create(db, a, "North", DEFAULT_NUMBER),
    ),
    Case("open a case", {}, lambda db, a, t: case_records.create(db, a, "Tyres", "Depot")),
    Case("see cases", {}, lambda db, a, t: case_records.list_cases(db, a)),
    Case("put a contact on a case", {}, lambda db, a, t: case_contacts.add(db, a, 1, t.carl.id)),
    Case("add a case note", {}, lambda db, a, t: case_notes.add(db, a, 1, "Fitted")),
]


async def _principal_with(db: Database, team: Team, needs: dict[str, object], allow: bool) -> Actor:
    """Pat, holding one profile that has ``needs`` (allow) or has them off (deny)."""
    name = "Allowed" if allow else "Denied"
    rights = {k: v for k, v in needs.items() if k != "numbers"}
    await profiles.add(db, SYSTEM, name, **{k: (v if allow else False) for k, v in rights.items()})
    await agents.add(db, SYSTEM, "pat", "Pat", name)
    if "numbers" in needs:
        chosen = needs["numbers"] if allow else [OTHER_NUMBER]
        assert isinstance(chosen, list)
        await configuration.set_profile_numbers(db, SYSTEM, name, chosen)
    if not needs and not allow:
        # An action every profile may do: denied only to a user with no active profile.
        await agents.set_active(db, SYSTEM, "pat", False)
        return await principal.load(
            db, await db.scalar("SELECT id FROM agents WHERE username = 'pat'")
        )
    return (await agents.by_username(db, "pat")).as_actor()


@pytest.fixture
async def scene(db: Database, team: Team) -> Team:
    await numbers.add(db, SYSTEM, OTHER_NUMBER)
    await _inbound(db, "+12125550199")  # a conversation nobody owns: public
    await _owned_by_bob(db, team)
    await _notification_profiles(db)
    await _campaign_targets(db, team)
    await _spring(db)
    await _case_scene(db)
    return team


@pytest.mark.parametrize("case", CASES, ids=[c.action for c in CASES])
@pytest.mark.parametrize("allow", [True, False], ids=["allowed", "denied"])
async def test_every_action_follows_the_profile(
    db: Database, db_path: Path, scene: Team, case: Case, allow: bool
) -> None:
    actor = await _principal_with(db, scene, case.needs, allow)
    if allow:
        await case.run(db, actor, scene)
        return
    before = dump(db_path)
    with pytest.raises(NotAllowed, match="may not"):
        await case.run(db, actor, scene)
    assert dump(db_path) == before


async def test_the_denied_refusal_names_the_profile_and_the_right(db: Database, team: Team) -> None:
    with pytest.raises(NotAllowed) as caught:
        await account.update(db, team.alice, public_minutes=5)
    assert str(caught.value) == (
        "Alice Moreau may not change account settings:"
        " permission profile 'Agent' does not have manage_settings"
    )


def test_every_action_has_a_rule() -> None:
    assert set(RULES) == set(Action)


def test_the_system_principal_may_do_everything() -> None:
    for action in Action:
        authorize(SYSTEM, action)


# --- list scopes = single checks, on generated data ---------------------------------------

AGENT_IDS = (1, 2, 3)
QUEUES = ("Sales", "Support")
NUMBERS = (DEFAULT_NUMBER, OTHER_NUMBER, "+14155550104")
"""Our numbers: one in Sales, one in Support, one in no queue."""

Row = tuple[int | None, frozenset[int], bool, int, str | None]
"""owner, followers, public, our number (index in NUMBERS), routed to queue (or not)."""


@st.composite
def conversation_rows(draw: st.DrawFn) -> list[Row]:
    n = draw(st.integers(0, 12))
    return [
        (
            draw(st.sampled_from((None, *AGENT_IDS))),
            frozenset(draw(st.sets(st.sampled_from(AGENT_IDS), max_size=2))),
            draw(st.booleans()),
            draw(st.integers(0, len(NUMBERS) - 1)),
            draw(st.sampled_from((None, *QUEUES))),
        )
        for _ in range(n)
    ]


async def _scope_matches(
    rows: list[Row],
    pool_access: bool,
    supervision: bool,
    who: int,
    grants: dict[str, bool],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = await open_database(Path(folder) / "s.sqlite3", FakeClock())
        try:
            await profiles.add(
                db, SYSTEM, "Generated", pool_access=pool_access, supervision=supervision
            )
            for i in AGENT_IDS:
                await agents.add(db, SYSTEM, f"agent{i}", f"Agent {i}", "Generated")
            for number in NUMBERS:
                await numbers.add(db, SYSTEM, number, default=number == DEFAULT_NUMBER)
            for queue, number in zip(QUEUES, NUMBERS, strict=False):
                await configuration.add_queue(db, SYSTEM, queue, [number])
            # The profile takes some of the queues, with messaging on or off.
            for queue, messaging in grants.items():
                await configuration.set_profile_queue(
                    db, SYSTEM, "Generated", queue, messaging=messaging
                )
            queue_ids = {
                r["name"]: r["id"] for r in await db.fetchall("SELECT id, name FROM queues")
            }
            async with db.transaction() as tx:
                for i, (owner, followers, public, number, routed) in enumerate(rows):
                    cid = await tx.insert(
                        "INSERT INTO conversations (number_id, phone, owner_id, is_public,"
                        " queue_id, created_at) VALUES ((SELECT id FROM numbers WHERE e164 = ?),"
                        " ?, ?, ?, ?, 0)",
                        (
                            NUMBERS[number],
                            f"+1212555{i:04d}",
                            owner,
                            int(public),
                            None if routed is None else queue_ids[routed],
                        ),
                    )
                    for follower in followers:
                        await tx.execute(
                            "INSERT INTO conversation_subscribers (conversation_id, agent_id,"
                            " since) VALUES (?, ?, 0)",
                            (cid, follower),
                        )
            me = await principal.load(db, who)
            listed = {c.id for c in await conversations.list_for(db, me, limit=1000)}
            takeable_sql = scope(me, Action.TAKE_CONVERSATION, "c")
            takeable = {
                r[0]
                for r in await db.fetchall(
                    f"SELECT c.id FROM conversations c WHERE {takeable_sql.sql}",
                    takeable_sql.params,
                )
            }
            ids = [r["id"] for r in await db.fetchall("SELECT id FROM conversations")]
            checked = set()
            public = set()
            for cid in ids:
                access = await conversations.access_in(db, cid)
                if allows(me, Action.VIEW_CONVERSATION, access):
                    checked.add(cid)
                if allows(me, Action.TAKE_CONVERSATION, access):
                    public.add(cid)
                    # The pool: public (or nobody's), and of a queue the profile has with
                    # messaging on, or of no queue at all.
                    assert access.is_public or access.owner_id is None
                    assert access.queue_id is None or grants.get(
                        next(q for q, i in queue_ids.items() if i == access.queue_id), False
                    )
            assert listed == checked
            assert takeable == public
            pool = {
                c.id
                for c in await conversations.list_for(
                    db, me, conversations.Filter.PUBLIC, limit=1000
                )
            }
            # The pool filter shows only what may be taken, when it may be taken at all.
            assert pool <= checked
            assert public <= checked
        finally:
            await db.close()


@settings(max_examples=60, deadline=None)
@given(
    rows=conversation_rows(),
    pool_access=st.booleans(),
    supervision=st.booleans(),
    who=st.sampled_from(AGENT_IDS),
    grants=st.dictionaries(st.sampled_from(QUEUES), st.booleans(), max_size=2),
)
def test_a_list_shows_exactly_what_the_single_check_allows(
    rows: list[Row],
    pool_access: bool,
    supervision: bool,
    who: int,
    grants: dict[str, bool],
) -> None:
    asyncio.run(_scope_matches(rows, pool_access, supervision, who, grants))
