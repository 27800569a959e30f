"""The change feed: every committed change is an event another process can follow."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from core import events, settings
from core.clock import FakeClock
from core.db import Database, open_database
from core.people import agents, contacts
from core.people.authz import SYSTEM
from core.people.contacts import ContactDraft
from core.scheduling.worker import Worker
from core.sms import conversations, receiving, sending
from tests.core.conftest import DEFAULT_NUMBER, DORA_MOBILE, ERIN_MOBILE, STRANGER, Team


async def test_events_after_an_id_come_in_order(db):
    start = await events.last_id(db)
    await settings.update(db, SYSTEM, public_minutes=5)
    await settings.update(db, SYSTEM, public_minutes=6)
    found = await events.after(db, start)
    assert [e.kind for e in found] == ["settings.changed", "settings.changed"]
    assert [e.data["names"] for e in found] == [["public_minutes"], ["public_minutes"]]
    assert found[0].id < found[1].id
    assert await events.after(db, found[-1].id) == []


async def test_a_follower_in_another_connection_sees_a_commit(db_path: Path):
    writer = await open_database(db_path, FakeClock())
    follower = await open_database(db_path, FakeClock())
    try:
        feed = events.follow(follower, await events.last_id(follower), poll_seconds=0.01)
        next_event = asyncio.ensure_future(anext(feed))
        await settings.update(writer, SYSTEM, public_minutes=9)
        event = await asyncio.wait_for(next_event, timeout=5)
        assert event.kind == "settings.changed"
        assert event.data["names"] == ["public_minutes"]
        await feed.aclose()
    finally:
        await writer.close()
        await follower.close()


async def test_no_event_holds_a_number_a_body_or_a_name(db: Database, team: Team, worker: Worker):
    """HIPAA mode is coming: the feed names rows by id, never what they hold.

    A realistic session (texts both ways, STOP, START, a new contact, an
    edit, Ready changed with a reason, an agent added) and then every
    event's data is searched for every number, text and name used in it.
    """
    said = [
        "Your prescription is ready for pickup",
        "Running late, call me back on 212 555 0199",
        "Who is this please",
        "STOP",
        "START",
        "Appointment moved to Thursday",
    ]
    await sending.send(db, team.alice, DORA_MOBILE, said[0])
    await worker.run_once()
    await receiving.receive(db, DORA_MOBILE, DEFAULT_NUMBER, said[1], provider_ref="in-1")
    await receiving.receive(db, STRANGER, DEFAULT_NUMBER, said[2], provider_ref="in-2")
    await receiving.receive(db, ERIN_MOBILE, DEFAULT_NUMBER, said[3], provider_ref="in-3")
    await worker.run_once()  # the STOP confirmation goes before START
    await receiving.receive(db, ERIN_MOBILE, DEFAULT_NUMBER, said[4], provider_ref="in-4")
    await sending.send(db, team.bob, STRANGER, said[5])
    await worker.run_once()
    walter = await contacts.create(
        db,
        team.alice,
        ContactDraft(
            name="Walter Obradovic", email="walter@example.com", phones=[("+12125550177", "mobile")]
        ),
    )
    await contacts.update(
        db,
        team.alice,
        walter.id,
        ContactDraft(
            name="Walter Okonkwo",
            email="w.okonkwo@example.com",
            ready=False,
            phones=[("+12125550178", "mobile")],
        ),
    )
    await contacts.set_ready(db, team.bob, team.dora.id, False, "asked on +12125550166 to pause")
    await agents.add(db, SYSTEM, "frieda.k", "Frieda Kahlberg", "Agent")
    stranger = await db.scalar("SELECT id FROM conversations WHERE phone = ?", (STRANGER,))
    await conversations.take_over(db, team.dana, stranger)

    found = await events.after(db, 0, limit=10_000)
    kinds = {e.kind for e in found}
    assert {
        "message.queued",
        "message.sent",
        "message.received",
        "consent.opted_out",
        "consent.opted_in",
        "contact.created",
        "contact.updated",
        "contact.ready_changed",
        "agent.added",
        "conversation.created",
        "conversation.taken",
    } <= kinds, kinds
    numbers = [DORA_MOBILE, ERIN_MOBILE, STRANGER, "+12125550177", "+12125550178", "+12125550166"]
    # Seven digits find a number however it is written (E.164, national, spaced).
    needles = [n[-7:] for n in numbers] + ["5550199", "555 0199"]
    needles += [text.lower() for text in said]
    needles += ["walter", "obradovic", "okonkwo", "example.com", "frieda", "kahlberg", "dora"]
    needles += ["alice", "bob", "dana", "moreau", "achebe", "lindqvist", "tanaka", "pause"]
    for event in found:
        written = json.dumps(event.data).lower()
        leaked = [needle for needle in needles if needle in written]
        assert not leaked, f"{event.kind} #{event.id} holds {leaked}: {written}"
