"""A case the mobile page serves: location Depot, case "Brake pads", three customer contacts
on it (Carl, the one holding the link; Dora, a fleet manager; Erin, an accountant), SMS on
for all, a note from Alice to Carl and Dora; the worker's HTTP server on a free port."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from core.cases import case_contacts, cases, locations, notes
from core.clock import FakeClock
from core.db import Database
from core.people import agents, contacts
from core.people.authz import SYSTEM, Actor
from core.people.contacts import ContactDraft
from core.sms import numbers
from providers.config import WebhookConfig
from providers.webhooks import WebhookServer

OUR_NUMBER = "+14155550100"
PEOPLE = (
    ("Carl Mensah", "Site foreman", "+12125550101"),
    ("Dora Lindqvist", "Fleet manager", "+12125550102"),
    ("Erin Tanaka", "Accountant", "+12125550103"),
)


@dataclass(frozen=True, slots=True)
class Scene:
    alice: Actor
    code: str
    carl: int
    dora: int
    erin: int
    note_id: int
    token: str
    """Carl's link, as texted with the note."""


async def link_of(db: Database, note_id: int, contact_id: int) -> str:
    """The token of the link texted to ``contact_id`` with ``note_id``."""
    body = await db.scalar(
        "SELECT m.body FROM case_note_recipients r JOIN messages m ON m.id = r.message_id"
        " WHERE r.note_id = ? AND r.contact_id = ?",
        (note_id, contact_id),
    )
    found = re.search(r"/c/(\S+)", str(body))
    assert found is not None, body
    return found[1]


async def make_scene(db: Database) -> Scene:
    alice = (await agents.add(db, SYSTEM, "alice", "Alice Moreau", "Agent")).as_actor()
    await numbers.add(db, SYSTEM, OUR_NUMBER, default=True)
    await locations.create(db, SYSTEM, "Depot", OUR_NUMBER)
    case = await cases.create(db, alice, "Brake pads", "Depot")
    ids = []
    for name, job, phone in PEOPLE:
        contact = await contacts.create(
            db, SYSTEM, ContactDraft(name=name, job_title=job, phones=[(phone, "mobile")])
        )
        await case_contacts.add(db, alice, case.code, contact.id)
        await case_contacts.set_sms(db, alice, case.code, contact.id, True)
        ids.append(contact.id)
    carl, dora, erin = ids
    posted = await notes.add(db, alice, case.code, "Pads fitted, ready at 5pm", [carl, dora])
    token = await link_of(db, posted.note_id, carl)
    return Scene(alice, case.code, carl, dora, erin, posted.note_id, token)


@pytest.fixture
async def scene(db: Database) -> Scene:
    return await make_scene(db)


@pytest.fixture
async def server(db: Database, clock: FakeClock) -> AsyncIterator[WebhookServer]:
    async with WebhookServer(db, WebhookConfig(port=0)) as running:
        yield running
