"""A small team for the messaging tests: agents, numbers, contacts, a worker.

- alice, bob: agents; dana: manager.
- DEFAULT_NUMBER: the account's default sender, MMS-enabled (bob texts from it).
- ALICE_NUMBER: alice's caller ID, SMS only.
- carl: a mobile and a landline; dora, erin: one mobile each. All Ready.
- STRANGER: a mobile number that is nobody's contact yet.

Every number is in 555-01XX, the range reserved for fiction.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from core.db import Database
from core.people import agents, contacts
from core.people.authz import SYSTEM, Actor
from core.people.contacts import Contact, ContactDraft
from core.scheduling.worker import Worker
from core.sms import numbers
from core.sms.numbers import Number
from providers.sandbox import SandboxGateway

DEFAULT_NUMBER = "+14155550100"
ALICE_NUMBER = "+14155550101"
CARL_MOBILE = "+12125550110"
CARL_LANDLINE = "+12125550111"
DORA_MOBILE = "+12125550120"
ERIN_MOBILE = "+12125550130"
STRANGER = "+12125550140"


@dataclass(frozen=True, slots=True)
class Team:
    alice: Actor
    bob: Actor
    dana: Actor
    default: Number
    alice_number: Number
    carl: Contact
    dora: Contact
    erin: Contact


@pytest.fixture
async def team(db: Database) -> Team:
    alice = (await agents.add(db, SYSTEM, "alice", "Alice Moreau", "Agent")).as_actor()
    bob = (await agents.add(db, SYSTEM, "bob", "Bob Achebe", "Agent")).as_actor()
    dana = (await agents.add(db, SYSTEM, "dana", "Dana Whitfield", "Manager")).as_actor()
    default = await numbers.add(db, SYSTEM, DEFAULT_NUMBER, mms=True, default=True)
    alice_number = await numbers.add(db, SYSTEM, ALICE_NUMBER, agent_id=alice.id)
    carl = await contacts.create(
        db,
        SYSTEM,
        ContactDraft(
            name="Carl Mensah", phones=[(CARL_MOBILE, "mobile"), (CARL_LANDLINE, "landline")]
        ),
    )
    dora = await contacts.create(
        db, SYSTEM, ContactDraft(name="Dora Lindqvist", phones=[(DORA_MOBILE, "mobile")])
    )
    erin = await contacts.create(
        db, SYSTEM, ContactDraft(name="Erin Tanaka", phones=[(ERIN_MOBILE, "mobile")])
    )
    return Team(alice, bob, dana, default, alice_number, carl, dora, erin)


@pytest.fixture
def alice(team: Team) -> Actor:
    return team.alice


@pytest.fixture
def bob(team: Team) -> Actor:
    return team.bob


@pytest.fixture
def dana(team: Team) -> Actor:
    return team.dana


@pytest.fixture
def worker(db: Database) -> Worker:
    """Delivers through the sandbox; drive it with ``await worker.run_once()``."""
    return Worker(db, SandboxGateway(db), holder="test")
