"""Contact tags: checked text, one tag whatever its case, edit-contacts right."""

from __future__ import annotations

import csv
import io

import pytest

from core.db import Database
from core.errors import InvalidInput, NotAllowed, NotFound
from core.people import agents, contacts, contacts_csv, tags
from core.people.authz import SYSTEM
from tests.core.conftest import Team


async def test_tags_are_one_whatever_their_case_and_keep_their_first_spelling(
    db: Database, team: Team
) -> None:
    carl = team.carl.id
    assert await tags.tag(db, team.alice, carl, ["VIP", " north "]) == ["north", "VIP"]
    assert await tags.tag(db, team.alice, carl, ["vip", "Gold"]) == ["Gold", "north", "VIP"]
    assert await tags.untag(db, team.alice, carl, ["NORTH", "never-had"]) == ["Gold", "VIP"]
    assert await tags.tags_of(db, team.bob, carl) == ["Gold", "VIP"]
    assert await tags.tags_of(db, team.bob, team.dora.id) == []


@pytest.mark.parametrize(
    ("tag", "reason"),
    [
        ("", "at least one character"),
        ("   ", "at least one character"),
        ("x" * 41, "longer than 40"),
        ("bad\x1b[31m", r"holds a control character \(U\+001B\)"),
        ("line\nbreak", r"holds a line break \(U\+000A\)"),
        ("\udcff", "must be text"),
    ],
)
async def test_bad_tags_are_refused_naming_the_rule(
    db: Database, team: Team, tag: str, reason: str
) -> None:
    with pytest.raises(InvalidInput, match=reason):
        await tags.tag(db, team.alice, team.carl.id, [tag])
    assert await tags.tags_of(db, SYSTEM, team.carl.id) == []


async def test_a_40_character_tag_is_fine_and_an_unknown_contact_is_not_found(
    db: Database, team: Team
) -> None:
    assert await tags.tag(db, team.alice, team.carl.id, ["y" * 40]) == ["y" * 40]
    with pytest.raises(NotFound, match="no contact with id 999"):
        await tags.tag(db, team.alice, 999, ["vip"])


async def test_tagging_needs_an_active_profile(db: Database, team: Team) -> None:
    await agents.set_active(db, SYSTEM, "alice", False)
    gone = await agents.get(db, team.alice.id or 0)
    with pytest.raises(NotAllowed, match="may not edit contacts"):
        await tags.tag(db, gone.as_actor(), team.carl.id, ["vip"])


async def test_a_contacts_csv_carries_tags_both_ways(db: Database, team: Team) -> None:
    data = (
        "name,mobile,tags\n"
        "Ada,+12125550170,VIP; north ;vip\n"
        "Bo,+12125550171,'=formula;x\n"
        "Cy,+12125550172," + "z" * 41 + "\n"
    )
    report = await contacts_csv.import_csv(db, SYSTEM, io.StringIO(data))
    assert report.imported == 2
    assert [(e.row, e.column) for e in report.errors] == [(4, "tags")]
    assert "longer than 40" in report.errors[0].reason
    ada = await db.scalar("SELECT id FROM contacts WHERE name = 'Ada'")
    assert await tags.tags_of(db, SYSTEM, ada) == ["north", "VIP"]
    out = io.StringIO()
    await contacts_csv.export_csv(db, SYSTEM, out)
    rows = {r["name"]: r["tags"] for r in csv.DictReader(io.StringIO(out.getvalue()))}
    assert rows["Ada"] == "north;VIP"
    assert rows["Bo"] == "'=formula;x"
    assert rows["Carl Mensah"] == ""


async def test_a_semicolon_and_a_custom_field_named_tags_are_refused(
    db: Database, team: Team
) -> None:
    with pytest.raises(InvalidInput, match="separates tags"):
        await tags.tag(db, team.alice, team.carl.id, ["a;b"])
    with pytest.raises(InvalidInput, match="built-in field"):
        contacts.check_custom_key("Tags")
