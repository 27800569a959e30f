"""Locations and cases: names, senders, codes, owners, open and closed, search."""

from __future__ import annotations

import pytest

from core.cases import cases, locations
from core.cases.cases import CODE_ALPHABET
from core.db import Database
from core.errors import InvalidInput, NotAllowed, NotFound, WrongStatus
from core.people.authz import SYSTEM
from tests.core.cases.conftest import Scene
from tests.core.conftest import ALICE_NUMBER, DEFAULT_NUMBER, STRANGER, Team


async def test_a_location_texts_from_one_of_our_numbers_and_has_a_unique_name(
    db: Database, team: Team
) -> None:
    made = await locations.create(db, team.dana, "North depot", DEFAULT_NUMBER, direct_reply=False)
    assert (made.name, made.sender, made.direct_reply) == ("North depot", DEFAULT_NUMBER, False)
    with pytest.raises(InvalidInput, match="already a case location named 'north DEPOT'"):
        await locations.create(db, team.dana, "north DEPOT", DEFAULT_NUMBER)
    with pytest.raises(NotFound, match="not one of our numbers"):
        await locations.create(db, team.dana, "South", STRANGER)
    with pytest.raises(NotAllowed, match="manage case locations"):
        await locations.create(db, team.alice, "South", DEFAULT_NUMBER)
    edited = await locations.edit(
        db, team.dana, "north depot", sender=ALICE_NUMBER, direct_reply=True
    )
    assert (edited.sender, edited.direct_reply) == (ALICE_NUMBER, True)
    assert [loc.name for loc in await locations.list_locations(db, team.alice)] == ["North depot"]


async def test_a_case_gets_a_short_unambiguous_code_and_its_creator_as_owner(
    db: Database, scene: Scene
) -> None:
    case = scene.case
    assert len(case.code) == 5
    assert set(case.code) <= set(CODE_ALPHABET)
    assert not set(case.code) & set("0O1I")
    assert (case.title, case.location, case.status) == ("Brake pads", "Depot", "open")
    assert case.owner_id == scene.team.alice.id
    assert (await cases.get(db, scene.team.bob, case.code.lower())).id == case.id
    events = await db.fetchall("SELECT kind FROM events WHERE kind = 'case.changed'")
    assert events


async def test_codes_are_unique_even_when_a_draw_repeats(
    db: Database, scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    draws = iter([scene.case.code, "ABCDE"])
    monkeypatch.setattr(cases, "new_code", lambda: next(draws))
    again = await cases.create(db, SYSTEM, "Tyres", "Depot")
    assert again.code == "ABCDE"


def test_a_code_is_never_all_digits(monkeypatch) -> None:
    """All digits, a code would be read as a case's id (``cases.find``): drawn again."""
    draws = iter("23456" + "7A8B9")
    monkeypatch.setattr(cases.secrets, "choice", lambda _alphabet: next(draws))
    assert cases.new_code() == "7A8B9"


async def test_an_all_digit_code_from_before_is_still_found(db: Database, scene: Scene) -> None:
    made = scene.case
    async with db.transaction() as tx:
        await tx.execute("UPDATE cases SET code = '62423' WHERE id = ?", (made.id,))
    assert (await cases.find(db, "62423")).id == made.id
    assert (await cases.find(db, str(made.id))).id == made.id  # an id still wins


async def test_title_is_checked_and_a_closed_case_refuses_changes(
    db: Database, scene: Scene
) -> None:
    alice = scene.team.alice
    with pytest.raises(InvalidInput, match="cannot be empty"):
        await cases.create(db, alice, "  ", "Depot")
    with pytest.raises(InvalidInput, match="too long: 201"):
        await cases.create(db, alice, "x" * 201, "Depot")
    closed = await cases.close(db, alice, scene.case.code)
    assert closed.status == "closed"
    assert closed.closed_at is not None
    with pytest.raises(WrongStatus, match="is closed: a closed case can be read but not changed"):
        await cases.edit(db, alice, scene.case.code, title="Brakes")
    with pytest.raises(WrongStatus, match="already closed"):
        await cases.close(db, alice, scene.case.code)
    reopened = await cases.reopen(db, alice, scene.case.code)
    assert reopened.status == "open"
    assert reopened.closed_at is None
    edited = await cases.edit(db, alice, scene.case.id, title="Brakes", owner_id=scene.team.bob.id)
    assert (edited.title, edited.owner) == ("Brakes", "Bob Achebe")


async def test_the_list_shows_open_cases_first_and_searches_title_and_code(
    db: Database, scene: Scene
) -> None:
    alice = scene.team.alice
    tyres = await cases.create(db, alice, "Tyres 100%", "Depot")
    await cases.close(db, alice, tyres.code)
    oil = await cases.create(db, alice, "Oil change", "Depot")
    assert [c.title for c in await cases.list_cases(db, alice)] == [
        "Oil change",
        "Brake pads",
        "Tyres 100%",
    ]
    assert [c.title for c in await cases.list_cases(db, alice, "OIL")] == ["Oil change"]
    assert [c.title for c in await cases.list_cases(db, alice, oil.code.lower())] == ["Oil change"]
    assert [c.title for c in await cases.list_cases(db, alice, "100%")] == ["Tyres 100%"]
    assert await cases.list_cases(db, alice, "0%x") == []
