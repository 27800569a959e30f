"""P3: closing outcomes and who each notifies (at most 10; a group or a schedule is one)."""

from __future__ import annotations

import pytest

from core.db import Database
from core.errors import InvalidInput, LimitExceeded, NotFound
from core.notify import outcomes
from core.people.authz import SYSTEM
from tests.core.notify_setup import add_group, add_profile


async def test_the_seeded_outcomes_are_listed_in_order(db: Database) -> None:
    found = await outcomes.list_outcomes(db, SYSTEM)
    assert [(o.name, o.kind) for o in found] == [
        ("General Message", "message"),
        ("Urgent", "message"),
        ("Wrong Number", "non_message"),
        ("Prank Call", "non_message"),
        ("No Caller", "non_message"),
    ]


async def test_add_rename_and_archive(db: Database) -> None:
    made = await outcomes.add(db, SYSTEM, "  After  hours ", "non_message")
    assert (made.name, made.kind, made.position) == ("After hours", "non_message", 6)
    await outcomes.rename(db, SYSTEM, "after HOURS", "Out of hours")
    archived = await outcomes.archive(db, SYSTEM, "Out of hours")
    assert archived.archived
    assert "Out of hours" not in [o.name for o in await outcomes.list_outcomes(db, SYSTEM)]
    every = await outcomes.list_outcomes(db, SYSTEM, archived=True)
    assert every[-1].name == "Out of hours"
    await outcomes.archive(db, SYSTEM, "Out of hours", archived=False)
    assert len(await outcomes.list_outcomes(db, SYSTEM)) == 6


@pytest.mark.parametrize(
    ("name", "kind", "message"),
    [
        ("", "message", "needs a name"),
        ("x" * 61, "message", "at most 60 characters, not 61"),
        ("bell\x07", "message", r"an outcome's name holds a control character \(U\+0007\)"),
        ("urgent", "message", "exists already"),
        ("Later", "maybe", "kind is one of message, non_message"),
    ],
)
async def test_a_bad_outcome_is_refused_naming_the_rule(
    db: Database, name: str, kind: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        await outcomes.add(db, SYSTEM, name, kind)


async def test_renaming_onto_another_outcome_is_refused(db: Database) -> None:
    with pytest.raises(InvalidInput, match="exists already"):
        await outcomes.rename(db, SYSTEM, "Urgent", "prank call")
    with pytest.raises(NotFound, match="no outcome named 'Lunch'"):
        await outcomes.rename(db, SYSTEM, "Lunch", "Dinner")


async def test_the_101st_outcome_is_refused(db: Database) -> None:
    for i in range(outcomes.MAX_OUTCOMES - 5):
        await outcomes.add(db, SYSTEM, f"Outcome {i}")
    with pytest.raises(LimitExceeded, match="at most 100 outcomes"):
        await outcomes.add(db, SYSTEM, "One more")


async def test_profiles_switch_outcomes_on_and_off(db: Database) -> None:
    await add_profile(db, "Dr Hale")
    await outcomes.switch(db, SYSTEM, "Urgent", "dr hale")
    await outcomes.switch(db, SYSTEM, "Urgent", "Dr Hale")  # twice: still one
    found = await outcomes.recipients(db, SYSTEM, "Urgent")
    assert [(r.kind, r.name) for r in found] == [("profile", "Dr Hale")]
    await outcomes.switch(db, SYSTEM, "Urgent", "Dr Hale", on=False)
    assert await outcomes.recipients(db, SYSTEM, "Urgent") == []
    with pytest.raises(NotFound, match="no notification profile named 'Dr Who'"):
        await outcomes.switch(db, SYSTEM, "Urgent", "Dr Who")


async def test_groups_and_schedules_are_recipients_that_count_as_one(db: Database) -> None:
    members = [await add_profile(db, f"Member {i}") for i in range(50)]
    await add_group(db, "Everyone", members)
    async with db.transaction() as tx:
        await tx.insert(
            "INSERT INTO oncall_schedules (name, time_zone, created_at)"
            " VALUES ('Nights', 'Europe/Paris', 0)"
        )
    await outcomes.set_recipient(db, SYSTEM, "Urgent", "group", "Everyone")
    found = await outcomes.set_recipient(db, SYSTEM, "Urgent", "schedule", "nights")
    assert [(r.kind, r.name) for r in found] == [("group", "Everyone"), ("schedule", "Nights")]
    for i in range(8):
        await outcomes.switch(db, SYSTEM, "Urgent", f"Member {i}")
    with pytest.raises(LimitExceeded) as caught:
        await outcomes.switch(db, SYSTEM, "Urgent", "Member 8")
    assert str(caught.value) == (
        "outcome Urgent notifies at most 10 recipients (a group or an on-call schedule"
        " counts as one); remove one first"
    )
    await outcomes.set_recipient(db, SYSTEM, "Urgent", "group", "Everyone", on=False)
    await outcomes.switch(db, SYSTEM, "Urgent", "Member 8")
    with pytest.raises(InvalidInput, match="a recipient is one of profile, group, schedule"):
        await outcomes.set_recipient(db, SYSTEM, "Urgent", "team", "Everyone")
