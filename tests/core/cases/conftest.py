"""A case scene on the messaging team: location Depot (texts from the default number),
case "Brake pads" owned by alice, carl and dora on it, erin not on it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from core.cases import case_contacts, cases, locations
from core.cases.cases import Case
from core.db import Database
from core.people.authz import SYSTEM
from tests.core.conftest import DEFAULT_NUMBER, Team


@dataclass(frozen=True, slots=True)
class Scene:
    team: Team
    case: Case


@pytest.fixture
async def scene(db: Database, team: Team) -> Scene:
    await locations.create(db, SYSTEM, "Depot", DEFAULT_NUMBER)
    case = await cases.create(db, team.alice, "Brake pads", "Depot")
    for contact in (team.carl, team.dora):
        await case_contacts.add(db, team.alice, case.code, contact.id)
    return Scene(team, case)


async def case_messages(db: Database) -> list[tuple[str, str]]:
    """(recipient, body) of every case text queued, oldest first."""
    rows = await db.fetchall(
        "SELECT recipient, body FROM messages WHERE purpose = 'case' AND case_id IS NOT NULL"
        " ORDER BY id"
    )
    return [(r["recipient"], r["body"]) for r in rows]
