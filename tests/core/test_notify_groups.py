"""P3 profile groups: names, up to 50 members, refused deletes while used."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import events
from core.db import Database
from core.errors import AlreadyTaken, InUse, InvalidInput, LimitExceeded, NotFound
from core.notify import groups, links
from core.notify import profiles as np
from core.notify.profiles import ProfileDraft
from core.people.authz import SYSTEM
from tests.processes import dump


async def _profiles(db: Database, count: int) -> list[int]:
    return [(await np.add(db, SYSTEM, ProfileDraft(f"P{i:02d}"))).id for i in range(count)]


async def test_a_group_is_added_renamed_and_listed_with_its_members(db: Database):
    ames, roux = await _profiles(db, 2)
    doctors = await groups.add(db, SYSTEM, "  Doctors ")
    assert (doctors.name, doctors.members) == ("Doctors", ())
    await groups.add_member(db, SYSTEM, doctors.id, roux)
    await groups.add_member(db, SYSTEM, doctors.id, ames)
    await groups.add(db, SYSTEM, "Admins")

    renamed = await groups.rename(db, SYSTEM, doctors.id, "Physicians")

    assert renamed.name == "Physicians"
    listed = await groups.list_groups(db, SYSTEM)
    assert [(g.name, [m.alias for m in g.members]) for g in listed] == [
        ("Admins", []),
        ("Physicians", ["P00", "P01"]),
    ]
    assert (await groups.by_name(db, SYSTEM, "PHYSICIANS")).id == doctors.id
    kinds = [e.kind for e in await events.after(db, 0) if e.entity == "notification_group"]
    assert kinds == [
        "notification_group.added",
        "notification_group.changed",
        "notification_group.changed",
        "notification_group.added",
        "notification_group.changed",
    ]


async def test_names_are_required_one_line_and_unique_whatever_the_case(db: Database):
    first = await groups.add(db, SYSTEM, "Équipe")
    with pytest.raises(AlreadyTaken, match="already exists"):
        await groups.add(db, SYSTEM, "équipe")
    other = await groups.add(db, SYSTEM, "Nurses")
    with pytest.raises(AlreadyTaken, match="already exists"):
        await groups.rename(db, SYSTEM, other.id, "ÉQUIPE")
    await groups.rename(db, SYSTEM, first.id, "équipe")  # its own name, recased
    for bad, message in (
        ("", "cannot be empty"),
        ("a\nb", r"holds a line break \(U\+000A\)"),
        ("x" * 101, "too long"),
    ):
        with pytest.raises(InvalidInput, match=message):
            await groups.add(db, SYSTEM, bad)


async def test_the_51st_member_is_refused_naming_the_limit(db: Database, db_path: Path):
    ids = await _profiles(db, 51)
    big = await groups.add(db, SYSTEM, "Everyone")
    for profile_id in ids[:50]:
        await groups.add_member(db, SYSTEM, big.id, profile_id)
    before = dump(db_path)

    with pytest.raises(LimitExceeded) as refused:
        await groups.add_member(db, SYSTEM, big.id, ids[50])

    assert str(refused.value) == (
        "a notification group has at most 50 members and 'Everyone' has 50;"
        " remove one first, or make another group"
    )
    assert dump(db_path) == before


async def test_members_are_added_once_and_removed_only_if_there(db: Database):
    [ames] = await _profiles(db, 1)
    group = await groups.add(db, SYSTEM, "Doctors")
    await groups.add_member(db, SYSTEM, group.id, ames)
    with pytest.raises(AlreadyTaken, match="'P00' is already a member of group 'Doctors'"):
        await groups.add_member(db, SYSTEM, group.id, ames)
    await groups.remove_member(db, SYSTEM, group.id, ames)
    with pytest.raises(NotFound, match="'P00' is not a member of group 'Doctors'"):
        await groups.remove_member(db, SYSTEM, group.id, ames)
    with pytest.raises(NotFound, match="no notification profile with id 77"):
        await groups.add_member(db, SYSTEM, group.id, 77)
    with pytest.raises(NotFound, match="no notification group with id 78"):
        await groups.add_member(db, SYSTEM, 78, ames)


async def test_a_group_in_use_is_not_deleted_and_the_error_names_each_place(
    db: Database, db_path: Path
):
    [ames] = await _profiles(db, 1)
    group = await groups.add(db, SYSTEM, "Doctors")
    await groups.add_member(db, SYSTEM, group.id, ames)
    async with db.transaction() as tx:
        schedule = await tx.insert(
            "INSERT INTO oncall_schedules (name, time_zone, created_at) VALUES ('Nights', 'UTC', 0)"
        )
        await tx.execute(
            "INSERT INTO oncall_slots (schedule_id, start_minute, minutes, group_id)"
            " VALUES (?, 4 * 1440 + 17 * 60, 60, ?)",
            (schedule, group.id),
        )
        await tx.execute(
            "INSERT INTO outcome_recipients (outcome_id, group_id)"
            " SELECT id, ? FROM outcomes WHERE name = 'Urgent'",
            (group.id,),
        )
    before = dump(db_path)

    with pytest.raises(InUse) as refused:
        await groups.delete(db, SYSTEM, group.id)

    assert str(refused.value) == (
        "notification group 'Doctors' is used in 2 places: on-call schedule 'Nights'"
        " (Fri 17:00-Fri 18:00); outcome 'Urgent'; remove it from each, then delete it"
    )
    assert [link.kind for link in refused.value.links] == [links.ONCALL_SLOT, links.OUTCOME]
    assert dump(db_path) == before

    async with db.transaction() as tx:
        await tx.execute("DELETE FROM oncall_slots")
        await tx.execute("DELETE FROM outcome_recipients")
    await groups.delete(db, SYSTEM, group.id)
    assert await groups.list_groups(db, SYSTEM) == []
    # The member profile stays; only the membership went with the group.
    assert [p.alias for p in await np.list_profiles(db, SYSTEM)] == ["P00"]
