"""A permission profile's settings and whole configuration saved at once: all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import events
from core.db import Database
from core.errors import InvalidInput, NotAllowed, NotFound
from core.people.authz import SYSTEM
from core.permissions import configuration, profiles, saving
from tests.core.conftest import ALICE_NUMBER, DEFAULT_NUMBER, Team
from tests.processes import dump


@pytest.fixture
async def night(db: Database, team: Team) -> None:
    """A Night profile held by bob (besides Agent), a Sales queue, a Hello template."""
    await profiles.add(db, SYSTEM, "Night")
    await profiles.assign(db, SYSTEM, "Night", "bob")
    await configuration.add_queue(db, SYSTEM, "Sales", [DEFAULT_NUMBER])
    await configuration.add_queue(db, SYSTEM, "Later", messaging=False)
    await configuration.save_template(db, SYSTEM, "Hello", "Hi {{contact_name}}")


def _everything(middle: saving.Change) -> list[saving.Change]:
    """One change of every kind, ``middle`` among them."""
    return [
        saving.GiveUser("alice"),
        saving.UserScore("bob", 80),
        saving.Activities(("Available", "Lunch"), "Lunch"),
        saving.GrantQueue("Sales", True, 70),
        middle,
        saving.RevokeQueue("Later"),
        saving.Numbers((ALICE_NUMBER,)),
        saving.GrantTemplate("Hello", True),
    ]


async def test_every_change_is_saved_in_one_go(db: Database, night: None) -> None:
    cursor = await events.last_id(db)
    saved = await saving.save(
        db,
        SYSTEM,
        "Night",
        {"max_simultaneous": 3, "name": "Nights"},
        _everything(saving.GrantQueue("Later", False, 10)),
    )
    assert (saved.name, saved.settings.max_simultaneous) == ("Nights", 3)
    holders = {h.username: h.distribution_score for h in await profiles.holders(db, "Nights")}
    assert holders == {"alice": 50, "bob": 80}
    used = [(a.name, d) for a, d in await configuration.profile_activities(db, "Nights")]
    assert used == [("Available", False), ("Lunch", True)]
    # Granted, then revoked later in the same save: the last word stands.
    assert await configuration.profile_queues(db, "Nights") == [("Sales", True, 70)]
    assert await configuration.profile_numbers(db, "Nights") == [ALICE_NUMBER]
    assert [t.name for t in await configuration.list_templates(db, "Nights")] == ["Hello"]
    kinds = [e.kind for e in (await events.since(db, cursor)).events]
    assert kinds == ["permission_profile.assigned", "permission_profile.changed"]


@pytest.mark.parametrize(
    ("middle", "error", "words"),
    [
        # Checked before the transaction opens.
        (
            saving.GrantQueue("Later", True, 101),
            InvalidInput,
            "the score of queue 'Later' must be between 0 and 100, not 101",
        ),
        (
            saving.UserScore("bob", -4),
            InvalidInput,
            "the distribution score of bob cannot be negative",
        ),
        (
            saving.Activities(("Available",), "Lunch"),
            InvalidInput,
            "the default activity 'Lunch' must be one of the profile's",
        ),
        # Refused inside it, after the changes before it were made: rolled back.
        (
            saving.TakeUser("bob"),
            NotAllowed,
            "'Night' is bob's only permission profile: a user holds at least one",
        ),
        (saving.GrantTemplate("Goodbye", True), NotFound, "no SMS template named 'Goodbye'"),
        (saving.Numbers(("+14155550199",)), NotFound, "is not one of our numbers"),
        (saving.GiveUser("zed"), NotFound, "no agent with username 'zed'"),
    ],
)
async def test_a_refused_change_in_the_middle_saves_nothing(
    db: Database,
    db_path: Path,
    night: None,
    middle: saving.Change,
    error: type[Exception],
    words: str,
) -> None:
    await profiles.unassign(db, SYSTEM, "Agent", "bob")  # Night is now bob's only profile
    before = dump(db_path)
    changes = _everything(middle)
    with pytest.raises(error, match=words) as caught:
        await saving.save(db, SYSTEM, "Night", {"max_simultaneous": 3}, changes)
    assert caught.value.about is middle  # type: ignore[attr-defined]
    assert dump(db_path) == before


async def test_a_refused_setting_saves_no_configuration(
    db: Database, db_path: Path, night: None
) -> None:
    before = dump(db_path)
    with pytest.raises(InvalidInput, match="max_simultaneous must be between 1 and 100") as caught:
        await saving.save(db, SYSTEM, "Night", {"max_simultaneous": 0}, [saving.GiveUser("alice")])
    assert caught.value.about is None
    assert dump(db_path) == before


async def test_the_last_user_manager_is_kept_across_the_whole_save(
    db: Database, db_path: Path, team: Team
) -> None:
    await profiles.assign(db, SYSTEM, "Agent", "dana")
    before = dump(db_path)
    with pytest.raises(NotAllowed, match="no active user who can manage users"):
        await saving.save(db, SYSTEM, "Manager", {}, [saving.TakeUser("dana")])
    assert dump(db_path) == before


async def test_only_a_user_manager_saves(db: Database, db_path: Path, team: Team) -> None:
    before = dump(db_path)
    with pytest.raises(NotAllowed, match="may not manage permission profiles"):
        await saving.save(db, team.alice, "Agent", {}, [saving.GiveUser("dana")])
    assert dump(db_path) == before
