"""S1: campaigns themselves: what is checked at save, who sees them, every transition.

Targets are inserted as rows (the schema is the contract; the targets module
is another part), with the team's contacts from tests/core/conftest.py.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from core import settings
from core.campaigns import campaigns, filters, lifecycle
from core.campaigns.campaigns import Campaign
from core.clock import FakeClock, to_ms
from core.db import Database
from core.errors import (
    InvalidInput,
    LimitExceeded,
    NeedsConfirmation,
    NoEligibleTargets,
    NotAllowed,
    NotFound,
    WrongStatus,
)
from core.events import after
from core.people import agents, contacts
from core.people.authz import SYSTEM, Actor
from core.people.contacts import ContactDraft
from core.permissions import configuration, principal, profiles
from core.sms import consent
from tests.core.conftest import (
    ALICE_NUMBER,
    CARL_LANDLINE,
    DEFAULT_NUMBER,
    DORA_MOBILE,
    ERIN_MOBILE,
    Team,
)

SPRING = "Hello {{first_name}}, spring sale!"


async def add_target(db: Database, campaign_id: int, contact_id: int | None, phone: str) -> int:
    async with db.transaction() as tx:
        return await tx.insert(
            "INSERT INTO campaign_targets (campaign_id, contact_id, phone, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (campaign_id, contact_id, phone, tx.now_ms, tx.now_ms),
        )


async def spring(db: Database, team: Team, actor: Actor | None = None) -> Campaign:
    made = await campaigns.create(db, actor or team.dana, "Spring", DEFAULT_NUMBER, SPRING)
    await add_target(db, made.id, team.dora.id, DORA_MOBILE)
    await add_target(db, made.id, team.erin.id, ERIN_MOBILE)
    return made


async def campaigner(db: Database, username: str, numbers: list[str] | None = None) -> Actor:
    """A user whose profile has the campaign rights but does not manage the account."""
    name = f"Campaigns {username}"
    await profiles.add(db, SYSTEM, name, campaigns=True)
    if numbers is not None:
        await configuration.set_profile_numbers(db, SYSTEM, name, numbers)
    await agents.add(db, SYSTEM, username, username.title(), name)
    return (await agents.by_username(db, username)).as_actor()


async def states(db: Database, campaign_id: int) -> dict[str, tuple[str, str | None]]:
    rows = await db.fetchall(
        "SELECT phone, state, reason FROM campaign_targets WHERE campaign_id = ?", (campaign_id,)
    )
    return {r["phone"]: (r["state"], r["reason"]) for r in rows}


# --- create and edit -------------------------------------------------------------------


async def test_a_campaign_is_created_as_a_draft_with_its_defaults(db: Database, team: Team) -> None:
    made = await campaigns.create(db, team.dana, "Spring", "(415) 555-0100", SPRING)
    assert made.status == "draft"
    assert made.sender == DEFAULT_NUMBER
    assert (made.rate, made.window, made.unknown_zone) == (1.0, "08:00-21:00", "account")
    assert made.created_by == team.dana.id
    events = [(e.kind, e.entity_id, e.data) for e in await after(db, 0)]
    assert ("campaign.created", made.id, {}) in events


async def test_the_name_is_unique_without_case_and_plain_text(db: Database, team: Team) -> None:
    await campaigns.create(db, team.dana, "Spring", DEFAULT_NUMBER, SPRING)
    with pytest.raises(InvalidInput, match="already a campaign named 'Spring'"):
        await campaigns.create(db, team.dana, " SPRING ", DEFAULT_NUMBER, SPRING)
    with pytest.raises(InvalidInput, match="holds a control character"):
        await campaigns.create(db, team.dana, "Red\x1b[31m", DEFAULT_NUMBER, SPRING)
    with pytest.raises(InvalidInput, match="cannot be empty"):
        await campaigns.create(db, team.dana, "  ", DEFAULT_NUMBER, SPRING)


async def test_a_sender_that_is_not_ours_is_refused(db: Database, team: Team) -> None:
    with pytest.raises(NotFound, match=r"\+14155550199 is not one of our numbers"):
        await campaigns.create(db, team.dana, "Spring", "+14155550199", SPRING)


async def test_a_sender_not_allowed_to_the_users_profile_is_refused(
    db: Database, team: Team
) -> None:
    pat = await campaigner(db, "pat", numbers=[ALICE_NUMBER])
    with pytest.raises(NotAllowed, match=r"\+14155550100 is not one of the SMS numbers"):
        await campaigns.create(db, pat, "Spring", DEFAULT_NUMBER, SPRING)
    assert await db.scalar("SELECT count(*) FROM campaigns") == 0
    made = await campaigns.create(db, pat, "Spring", ALICE_NUMBER, SPRING)
    assert made.sender == ALICE_NUMBER


async def test_an_unknown_field_is_refused_by_name(db: Database, team: Team) -> None:
    with pytest.raises(InvalidInput, match=r"unknown field 'frist_name' \(did you mean first_name"):
        await campaigns.create(db, team.dana, "Spring", DEFAULT_NUMBER, "Hi {{frist_name}}")
    # A new campaign has no CSV yet: the refusal says how a CSV column becomes a field.
    with pytest.raises(InvalidInput) as caught:
        await campaigns.create(db, team.dana, "Spring", DEFAULT_NUMBER, "Order {{order}}")
    assert str(caught.value).endswith(
        ". A CSV's columns are fields once its rows are targets: create the campaign with its"
        " CSV (the new campaign form's CSV file, or campaigns create --csv FILE), or add the"
        " CSV, then edit the text"
    )


async def test_a_text_with_a_control_character_is_refused(db: Database, team: Team) -> None:
    with pytest.raises(
        InvalidInput, match=r"the campaign's text holds a control character \(U\+001B\)"
    ):
        await campaigns.create(db, team.dana, "Spring", DEFAULT_NUMBER, "Hi\x1b[31m")
    made = await campaigns.create(db, team.dana, "Spring", DEFAULT_NUMBER, "Hi\n\tthere")
    with pytest.raises(InvalidInput, match=r"control character \(U\+0007\)"):
        await campaigns.edit(db, team.dana, made.id, template="Hi\a")
    assert (await campaigns.row_in(db, made.id))["template"] == "Hi\n\tthere"


async def test_custom_fields_and_csv_columns_are_fields(db: Database, team: Team) -> None:
    await contacts.create(
        db,
        SYSTEM,
        ContactDraft(
            name="Gus Novak", phones=[("+12125550150", "mobile")], custom={"Account manager": "Jo"}
        ),
    )
    made = await campaigns.create(
        db, team.dana, "Spring", DEFAULT_NUMBER, "Ask {{account_manager}}"
    )
    with pytest.raises(InvalidInput, match="unknown field 'store'") as caught:
        await campaigns.edit(db, team.dana, made.id, template="Visit {{store}}")
    assert "CSV" not in str(caught.value)  # an edit: the columns of CSVs added are fields
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO campaign_targets (campaign_id, phone, merge_values, created_at,"
            ' updated_at) VALUES (?, ?, \'{"store": "Main St"}\', 0, 0)',
            (made.id, DORA_MOBILE),
        )
    edited = await campaigns.edit(db, team.dana, made.id, template="Visit {{store}}")
    assert edited.template == "Visit {{store}}"


async def test_the_longest_values_must_fit_the_most_sms_parts(db: Database, team: Team) -> None:
    await settings.update(db, SYSTEM, max_message_parts=2)
    await campaigns.create(db, team.dana, "Plain", DEFAULT_NUMBER, "x" * 306)
    # The longest name today has 14 characters; at worst each an emoji: UCS-2, 148 units.
    with pytest.raises(LimitExceeded) as caught:
        await campaigns.create(db, team.dana, "Named", DEFAULT_NUMBER, "x" * 120 + "{{name}}")
    assert str(caught.value) == (
        "with the longest values its fields hold today, this text would go as 3 SMS parts"
        " and the most allowed is 2 (setting max_message_parts); shorten it or use fewer"
        " of name"
    )
    # The check uses the longest name the contacts have, not the 200 a name may take.
    await settings.update(db, SYSTEM, max_message_parts=3)
    await campaigns.create(db, team.dana, "Named", DEFAULT_NUMBER, "x" * 120 + "{{name}}")


async def test_the_rate_must_stay_inside_the_senders(db: Database, team: Team) -> None:
    await settings.update(db, SYSTEM, rate_segments_per_second=5)
    with pytest.raises(LimitExceeded) as caught:
        await campaigns.create(db, team.dana, "Spring", DEFAULT_NUMBER, SPRING, rate=6)
    assert str(caught.value) == (
        "the rate 6 segments/s is above the sender's rate limit of 5 segments/s"
        " (setting rate_segments_per_second); a campaign runs inside it"
    )
    for bad in (0, -1, "fast", float("nan")):
        with pytest.raises(InvalidInput, match="rate must be"):
            await campaigns.create(db, team.dana, "Spring", DEFAULT_NUMBER, SPRING, rate=bad)  # type: ignore[arg-type]
    made = await campaigns.create(db, team.dana, "Spring", DEFAULT_NUMBER, SPRING, rate=5)
    assert made.rate == 5


@pytest.mark.parametrize(
    ("window", "why"),
    [
        ("21:00-08:00", "must start before it ends"),
        ("09:00-09:00", "must start before it ends"),
        ("8-21", "is not two times"),
        ("08:60-21:00", "is not two times"),
        ("08:00-24:01", "is not two times"),
    ],
)
async def test_a_bad_window_is_refused(db: Database, team: Team, window: str, why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        await campaigns.create(db, team.dana, "Spring", DEFAULT_NUMBER, SPRING, window=window)


async def test_window_and_unknown_zone_are_kept(db: Database, team: Team) -> None:
    made = await campaigns.create(
        db, team.dana, "Spring", DEFAULT_NUMBER, SPRING, window="9:30-24:00", unknown_zone="skip"
    )
    assert (made.window_start, made.window_end, made.window) == (570, 1440, "09:30-24:00")
    assert made.unknown_zone == "skip"
    with pytest.raises(InvalidInput, match="unknown_zone must be account or skip"):
        await campaigns.create(db, team.dana, "Other", DEFAULT_NUMBER, SPRING, unknown_zone="x")


async def test_edit_changes_only_what_is_given(db: Database, team: Team) -> None:
    made = await spring(db, team)
    edited = await campaigns.edit(db, team.dana, "spring", rate=0.5, window="10:00-18:00")
    assert (edited.name, edited.template, edited.rate, edited.window) == (
        "Spring",
        SPRING,
        0.5,
        "10:00-18:00",
    )
    kinds = [e.kind for e in await after(db, 0) if e.entity_id == made.id]
    assert kinds[-1] == "campaign.changed"


# --- who sees what ---------------------------------------------------------------------


async def test_the_creator_sees_the_campaign_others_only_when_their_profile_lists_it(
    db: Database, team: Team
) -> None:
    pat = await campaigner(db, "pat")
    sam = await campaigner(db, "sam")
    made = await campaigns.create(db, pat, "Spring", DEFAULT_NUMBER, SPRING)
    assert pat.profile_id is not None
    pat = await principal.load(db, pat.id)  # type: ignore[arg-type]
    assert [c.name for c in await campaigns.list_campaigns(db, pat)] == ["Spring"]
    assert (await campaigns.get(db, pat, made.id)).name == "Spring"
    assert await campaigns.list_campaigns(db, sam) == []
    with pytest.raises(NotAllowed, match="the campaign is not one of permission profile"):
        await campaigns.get(db, sam, "Spring")
    with pytest.raises(NotAllowed):
        await campaigns.edit(db, sam, "Spring", rate=2)
    # The manager's profile manages the account: every campaign.
    assert [c.name for c in await campaigns.list_campaigns(db, team.dana)] == ["Spring"]
    # An agent's profile has no campaign rights at all.
    assert await campaigns.list_campaigns(db, team.alice) == []
    with pytest.raises(NotAllowed, match="does not have campaigns"):
        await campaigns.get(db, team.alice, "Spring")
    await configuration.set_profile_campaign(db, SYSTEM, "Campaigns sam", "Spring")
    assert await configuration.profile_campaigns(db, "Campaigns sam") == ["Spring"]
    sam = await principal.load(db, sam.id)  # type: ignore[arg-type]
    assert [c.name for c in await campaigns.list_campaigns(db, sam)] == ["Spring"]
    await configuration.set_profile_campaign(db, SYSTEM, "Campaigns sam", "Spring", granted=False)
    sam = await principal.load(db, sam.id)  # type: ignore[arg-type]
    assert await campaigns.list_campaigns(db, sam) == []


async def test_only_a_draft_is_deleted(db: Database, team: Team) -> None:
    made = await spring(db, team)
    await lifecycle.start(db, team.dana, made.id)
    with pytest.raises(WrongStatus, match="'Spring' is running; only a draft can be deleted"):
        await campaigns.delete(db, team.dana, made.id)
    other = await campaigns.create(db, team.dana, "Other", DEFAULT_NUMBER, SPRING)
    await campaigns.delete(db, team.dana, other.id)
    with pytest.raises(NotFound, match="no campaign named 'Other'"):
        await campaigns.get(db, team.dana, "Other")


# --- the lifecycle ---------------------------------------------------------------------


async def test_start_now_programs_every_waiting_target_and_records_the_moves(
    db: Database, team: Team, clock: FakeClock
) -> None:
    made = await spring(db, team)
    started = await lifecycle.start(db, team.dana, made.id)
    assert started.campaign.status == "running"
    assert started.campaign.started_at == clock.now()
    assert started.estimate.eligible == 2
    rows = await db.fetchall(
        "SELECT state, due_at FROM campaign_targets WHERE campaign_id = ?", (made.id,)
    )
    assert {(r["state"], r["due_at"]) for r in rows} == {("programmed", to_ms(clock.now()))}
    moves = await db.fetchall("SELECT action, agent_id, due_at, at FROM campaign_moves")
    assert [(m["action"], m["agent_id"]) for m in moves] == [("program", team.dana.id)] * 2
    event = next(e for e in await after(db, 0) if e.kind == "campaign.started")
    assert (event.entity_id, event.actor_id, event.data) == (
        made.id,
        team.dana.id,
        {"programmed": 2},
    )


async def test_start_programs_the_filters_new_matches_and_records_only_the_moves_it_makes(
    db: Database, team: Team, clock: FakeClock
) -> None:
    """The filter's matches are programmed as they are made (one write each), and each
    gets its move, as a waiting target does; a target programmed before keeps its time."""
    made = await campaigns.create(db, team.dana, "Spring", DEFAULT_NUMBER, SPRING,
                                  filter="ready=true")  # fmt: skip
    later = to_ms(clock.now() + timedelta(hours=1))
    dora = await add_target(db, made.id, team.dora.id, DORA_MOBILE)
    await db.write(
        "UPDATE campaign_targets SET state = 'programmed', due_at = ? WHERE id = ?", (later, dora)
    )
    erin = await add_target(db, made.id, team.erin.id, ERIN_MOBILE)
    fay = await contacts.create(
        db, SYSTEM, ContactDraft(name="Fay Okafor", phones=[("+12125550140", "mobile")])
    )
    await lifecycle.start(db, team.dana, made.id)
    rows = await db.fetchall(
        "SELECT id, contact_id, state, due_at FROM campaign_targets WHERE campaign_id = ?",
        (made.id,),
    )
    now = to_ms(clock.now())
    by_contact = {r["contact_id"]: (r["state"], r["due_at"]) for r in rows}
    assert by_contact == {
        team.carl.id: ("programmed", now),  # the filter's, made at start
        fay.id: ("programmed", now),
        team.dora.id: ("programmed", later),
        team.erin.id: ("programmed", now),
    }
    moves = await db.fetchall("SELECT target_id, action, agent_id, due_at FROM campaign_moves")
    made_now = {r["id"] for r in rows if r["contact_id"] in (team.carl.id, fay.id)}
    assert {m["target_id"] for m in moves} == {erin, *made_now}
    assert {(m["action"], m["agent_id"], m["due_at"]) for m in moves} == {
        ("program", team.dana.id, now)
    }


async def test_start_later_schedules_and_a_start_in_the_past_is_refused(
    db: Database, team: Team, clock: FakeClock
) -> None:
    made = await spring(db, team)
    with pytest.raises(InvalidInput) as caught:
        await lifecycle.start(db, team.dana, made.id, at=clock.now() - timedelta(minutes=5))
    assert str(caught.value) == (
        "the start 2026-01-05 08:55 UTC is in the past (it is now 2026-01-05 09:00 UTC);"
        " give a later time, or none to start now"
    )
    # The console's time prompt asks core the same before the estimate is shown.
    with pytest.raises(InvalidInput) as asked:
        lifecycle.check_start(db, clock.now() - timedelta(minutes=5), ZoneInfo("UTC"))
    assert str(asked.value) == str(caught.value)
    lifecycle.check_start(db, clock.now(), ZoneInfo("UTC"))
    # Its times are the account's zone's.
    await settings.update(db, SYSTEM, time_zone="America/Chicago")
    with pytest.raises(
        InvalidInput,
        match=r"the start 2026-01-05 02:55 CST is in the past \(it is"
        r" now 2026-01-05 03:00 CST\)",
    ):
        await lifecycle.start(db, team.dana, made.id, at=clock.now() - timedelta(minutes=5))
    assert (await campaigns.get(db, team.dana, made.id)).status == "draft"
    at = clock.now() + timedelta(days=1)
    started = await lifecycle.start(db, team.dana, made.id, at=at)
    assert (started.campaign.status, started.campaign.starts_at) == ("scheduled", at)
    assert started.campaign.started_at is None
    due = await db.fetchall("SELECT DISTINCT due_at FROM campaign_targets")
    assert [r[0] for r in due] == [to_ms(at)]


async def test_zero_eligible_targets_is_refused_saying_why(db: Database, team: Team) -> None:
    made = await campaigns.create(db, team.dana, "Spring", DEFAULT_NUMBER, SPRING)
    with pytest.raises(NoEligibleTargets, match="'Spring' has no targets to send to"):
        await lifecycle.start(db, team.dana, made.id)
    await add_target(db, made.id, team.dora.id, DORA_MOBILE)
    await add_target(db, made.id, team.carl.id, CARL_LANDLINE)
    async with db.transaction() as tx:
        await consent.opt_out_in(tx, DORA_MOBILE, keyword="STOP")
    with pytest.raises(NoEligibleTargets) as caught:
        await lifecycle.start(db, team.dana, made.id)
    assert str(caught.value) == (
        "campaign 'Spring' has nobody to send to: all 2 targets are skipped"
        " (1 opted out, 1 not a mobile number)"
    )
    assert (await campaigns.get(db, team.dana, made.id)).status == "draft"
    assert {s for s, _ in (await states(db, made.id)).values()} == {"waiting"}


async def test_start_skips_opted_out_and_not_mobile_targets_with_the_reason(
    db: Database, team: Team
) -> None:
    made = await spring(db, team)
    await add_target(db, made.id, team.carl.id, CARL_LANDLINE)
    await add_target(db, made.id, None, "+12125550199")  # a CSV row: checked at import
    async with db.transaction() as tx:
        await consent.opt_out_in(tx, ERIN_MOBILE, keyword="STOP")
    await lifecycle.start(db, team.dana, made.id)
    found = await states(db, made.id)
    assert found[ERIN_MOBILE] == ("skipped", "opted out")
    assert found[CARL_LANDLINE] == ("skipped", "not a mobile number")
    assert found[DORA_MOBILE] == ("programmed", None)
    assert found["+12125550199"] == ("programmed", None)


async def test_a_warning_needs_confirmation_and_carries_the_estimate(
    db: Database, team: Team
) -> None:
    await settings.update(db, SYSTEM, bundle_segments=10, bundle_when_full="hold")
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO bundle_usage (month, segments) VALUES ('2026-01', 9)")
    made = await spring(db, team)
    with pytest.raises(NeedsConfirmation) as caught:
        await lifecycle.start(db, team.dana, made.id)
    assert "'Spring' needs confirmation to start" in str(caught.value)
    assert "held until the month turns" in str(caught.value)
    shown = caught.value.details
    assert isinstance(shown, lifecycle.Estimate)
    assert (shown.bundle_used, shown.bundle_after, shown.total_segments) == (9, 11, 2)
    assert (await campaigns.get(db, team.dana, made.id)).status == "draft"
    assert await db.scalar("SELECT count(*) FROM campaign_moves") == 0
    started = await lifecycle.start(db, team.dana, made.id, confirm=True)
    assert started.campaign.status == "running"


async def test_pause_resume_keep_the_targets_and_cancel_skips_the_rest(
    db: Database, team: Team, clock: FakeClock
) -> None:
    made = await spring(db, team)
    await lifecycle.start(db, team.dana, made.id)
    before = await db.fetchall("SELECT id, state, due_at FROM campaign_targets ORDER BY id")
    clock.advance(minutes=1)
    assert (await lifecycle.pause(db, team.dana, made.id)).status == "paused"
    assert await db.fetchall("SELECT id, state, due_at FROM campaign_targets ORDER BY id") == before
    assert (await lifecycle.resume(db, team.dana, made.id)).status == "running"
    cancelled = await lifecycle.cancel(db, team.dana, made.id)
    assert (cancelled.status, cancelled.finished_at) == ("cancelled", clock.now())
    assert set((await states(db, made.id)).values()) == {("skipped", "the campaign was cancelled")}
    kinds = [e.kind for e in await after(db, 0) if e.entity == "campaign"]
    assert kinds == [
        "campaign.created",
        "campaign.started",
        "campaign.paused",
        "campaign.resumed",
        "campaign.cancelled",
    ]


async def test_resume_before_the_start_is_scheduled_again(
    db: Database, team: Team, clock: FakeClock
) -> None:
    made = await spring(db, team)
    await lifecycle.start(db, team.dana, made.id, at=clock.now() + timedelta(hours=2))
    assert (await lifecycle.pause(db, team.dana, made.id)).status == "paused"
    assert (await lifecycle.resume(db, team.dana, made.id)).status == "scheduled"
    await lifecycle.pause(db, team.dana, made.id)
    clock.advance(hours=3)
    resumed = await lifecycle.resume(db, team.dana, made.id)
    assert (resumed.status, resumed.started_at) == ("running", clock.now())


async def test_a_campaign_needs_the_campaign_right_to_be_managed(db: Database, team: Team) -> None:
    made = await spring(db, team)
    await configuration.set_profile_campaign(db, SYSTEM, "Agent", "Spring")
    alice = await principal.load(db, team.alice.id)  # type: ignore[arg-type]
    with pytest.raises(NotAllowed, match="does not have campaigns"):
        await lifecycle.start(db, alice, made.id)


async def test_a_live_filter_is_checked_when_the_campaign_is_made(db: Database, team: Team) -> None:
    with pytest.raises(
        InvalidInput, match="filter part 'colour=red': 'colour' is not something to filter on"
    ):
        await campaigns.create(db, team.dana, "Spring", DEFAULT_NUMBER, "Hi", filter="colour=red")
    made = await campaigns.create(
        db, team.dana, "Spring", DEFAULT_NUMBER, "Hi", filter="ready=true tag=vip"
    )
    assert filters.from_json(made.filter or "").written() == "ready=true tag=vip"
