"""C3: a case contact's SMS reply becomes a case note, or gets one "no replies" SMS.

Through the real receive path (``receiving.receive`` and ``receive_many``)
on a real SQLite file. Locations, cases and their contacts are written
straight into the schema (their services are another piece of issue #14);
case texts are queued through the outbox, as the notes will queue them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from core import settings
from core.cases import links, reply_view
from core.clock import FakeClock
from core.db import Database, open_database
from core.delivery import outbox
from core.people.authz import SYSTEM
from core.sms import consent, inbound, receiving
from core.sms.receiving import Incoming
from tests.core.conftest import CARL_MOBILE, DEFAULT_NUMBER, DORA_MOBILE, ERIN_MOBILE, Team

OTHER_NUMBER = "+14155550102"
"""Another of our numbers: the Annex location texts from it."""


async def _location(db: Database, name: str, sender: str, *, direct_reply: bool) -> int:
    async with db.transaction() as tx:
        return await tx.insert(
            "INSERT INTO locations (name, sender, direct_reply, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (name, sender, int(direct_reply), tx.now_ms, tx.now_ms),
        )


async def _case(
    db: Database, code: str, location_id: int, *people: tuple[int, str], status: str = "open"
) -> int:
    """A case at ``location_id`` with ``people`` (contact ID, phone) on it, SMS enabled."""
    async with db.transaction() as tx:
        case_id = await tx.insert(
            "INSERT INTO cases (code, title, location_id, status, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (code, f"Repair {code}", location_id, status, tx.now_ms, tx.now_ms),
        )
        for contact_id, phone in people:
            await tx.execute(
                "INSERT INTO case_contacts (case_id, contact_id, sms_enabled, phone, added_at)"
                " VALUES (?, ?, 1, ?, ?)",
                (case_id, contact_id, phone, tx.now_ms),
            )
    return case_id


async def _case_text(db: Database, case_id: int, phone: str, sender: str = DEFAULT_NUMBER) -> int:
    async with db.transaction() as tx:
        code = await tx.scalar("SELECT code FROM cases WHERE id = ?", (case_id,))
        message_id = await outbox.queue(
            tx, outbox.CASE, sender, phone, f"Checked in. Case {code}: http://x/c/t"
        )
        await tx.execute("UPDATE messages SET case_id = ? WHERE id = ?", (case_id, message_id))
    return message_id


async def _notes(db: Database) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        "SELECT case_id, kind, source, author_contact_id, author_agent_id, body, message_id,"
        " created_at FROM case_notes ORDER BY id"
    )
    return [dict(r) for r in rows]


async def _conversation(db: Database, conversation_id: int) -> dict[str, Any]:
    row = await db.fetchone(
        "SELECT waiting_since, alert_started_at, route_due_at, last_inbound_id"
        " FROM conversations WHERE id = ?",
        (conversation_id,),
    )
    assert row is not None
    return dict(row)


async def _notices(db: Database) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        "SELECT sender, recipient, body, case_id, status FROM messages"
        " WHERE purpose = 'case' AND body LIKE '%does not take replies%' ORDER BY id"
    )
    return [dict(r) for r in rows]


@pytest.fixture
async def depot(db: Database, team: Team) -> int:
    """Depot (direct replies on) texts from DEFAULT_NUMBER, which is in a queue; staff
    alerts are on: a normal inbound message is routed and starts an alert timeline."""
    async with db.transaction() as tx:
        queue_id = await tx.insert(
            "INSERT INTO queues (name, messaging, created_at) VALUES ('Service', 1, ?)",
            (tx.now_ms,),
        )
        await tx.execute(
            "UPDATE numbers SET queue_id = ? WHERE e164 = ?", (queue_id, DEFAULT_NUMBER)
        )
        await tx.execute(
            "INSERT INTO numbers (e164, created_at) VALUES (?, ?)", (OTHER_NUMBER, tx.now_ms)
        )
    await settings.update(db, SYSTEM, staff_sms=True, mobile_alerts=True)
    return await _location(db, "Depot", DEFAULT_NUMBER, direct_reply=True)


async def test_a_reply_becomes_a_note_and_waits_for_nobody(
    db: Database, team: Team, depot: int, clock: FakeClock
) -> None:
    case = await _case(db, "K7QX2", depot, (team.carl.id, CARL_MOBILE))
    await _case_text(db, case, CARL_MOBILE)
    after: list[int] = []

    async def later_hook(message: inbound.Inbound) -> None:
        after.append(message.message_id)

    got = await receiving.receive(
        db,
        CARL_MOBILE,
        DEFAULT_NUMBER,
        "Thanks, the van is at bay 3",
        hooks=[*receiving.default_hooks(), inbound.Hook("later", later_hook)],
    )
    assert await _notes(db) == [
        {
            "case_id": case,
            "kind": "note",
            "source": "sms",
            "author_contact_id": team.carl.id,
            "author_agent_id": None,
            "body": "Thanks, the van is at bay 3",
            "message_id": got.message_id,
            "created_at": int(clock.now().timestamp() * 1000),
        }
    ]
    # It is not a chat for agents: no wait, no alert timeline, no routing offer,
    # and no hook after this one saw it. It stays in its conversation, marked.
    assert after == []
    assert await _conversation(db, got.conversation_id) == {
        "waiting_since": None,
        "alert_started_at": None,
        "route_due_at": None,
        "last_inbound_id": got.message_id,
    }
    assert await db.scalar("SELECT case_id FROM messages WHERE id = ?", (got.message_id,)) == case
    events = await db.fetchall(
        "SELECT entity, entity_id, data FROM events WHERE kind = 'case.note' ORDER BY id"
    )
    note_id = await db.scalar("SELECT id FROM case_notes")
    assert [(e["entity"], e["entity_id"], json.loads(e["data"])) for e in events] == [
        ("case", case, {"note_id": note_id})
    ]


async def test_a_note_from_sms_shows_from_to_date_and_time(
    db: Database, team: Team, depot: int, clock: FakeClock
) -> None:
    case = await _case(db, "K7QX2", depot, (team.carl.id, CARL_MOBILE))
    await _case_text(db, case, CARL_MOBILE)
    received_at = clock.now()
    await receiving.receive(db, CARL_MOBILE, DEFAULT_NUMBER, "on my way")
    note_id = await db.scalar("SELECT id FROM case_notes")
    assert await reply_view.sms_origins(db, [note_id, note_id + 1]) == {
        note_id: reply_view.SmsOrigin(
            note_id, "Carl Mensah", CARL_MOBILE, DEFAULT_NUMBER, "Depot", "K7QX2", received_at
        )
    }


async def test_with_direct_replies_off_one_notice_for_three_replies(
    db: Database, team: Team, depot: int
) -> None:
    annex = await _location(db, "Annex", DEFAULT_NUMBER, direct_reply=False)
    case = await _case(db, "M4PZ8", annex, (team.carl.id, CARL_MOBILE))
    await _case_text(db, case, CARL_MOBILE)
    got = [
        await receiving.receive(db, CARL_MOBILE, DEFAULT_NUMBER, text)
        for text in ("Is it ready?", "Hello?", "Please call me")
    ]
    assert await _notes(db) == []
    [notice] = await _notices(db)
    assert notice["sender"] == DEFAULT_NUMBER
    assert notice["recipient"] == CARL_MOBILE
    assert notice["case_id"] == case
    assert notice["body"].startswith(
        "Annex does not take replies by SMS, so your message did not reach Case M4PZ8."
    )
    assert [len(g.replies) for g in got] == [1, 0, 0]
    # The link in it is Carl's, on this case.
    url = notice["body"].split("here: ")[1].split()[0]
    grant = await links.verify(db, urlsplit(url).path.removeprefix("/c/"))
    assert (grant.case_id, grant.contact_id) == (case, team.carl.id)
    # The messages wait for agents, as any conversation message does.
    state = await _conversation(db, got[0].conversation_id)
    assert state["waiting_since"] is not None
    assert state["route_due_at"] is not None
    assert state["last_inbound_id"] == got[2].message_id


async def test_an_opted_out_contact_gets_no_notice_and_the_reply_is_kept(
    db: Database, team: Team, depot: int
) -> None:
    annex = await _location(db, "Annex", DEFAULT_NUMBER, direct_reply=False)
    case = await _case(db, "M4PZ8", annex, (team.carl.id, CARL_MOBILE))
    await _case_text(db, case, CARL_MOBILE)
    await receiving.receive(db, CARL_MOBILE, DEFAULT_NUMBER, "STOP")
    got = await receiving.receive(db, CARL_MOBILE, DEFAULT_NUMBER, "Is it ready?")
    assert got.replies == ()
    assert await _notices(db) == []
    assert await db.scalar("SELECT count(*) FROM case_links") == 0
    assert (
        await db.scalar("SELECT no_reply_notice_at FROM case_contacts WHERE case_id = ?", (case,))
        is None
    )
    assert (await _conversation(db, got.conversation_id))["waiting_since"] is not None


async def test_stop_opts_out_and_makes_no_note(db: Database, team: Team, depot: int) -> None:
    case = await _case(db, "K7QX2", depot, (team.carl.id, CARL_MOBILE))
    await _case_text(db, case, CARL_MOBILE)
    await receiving.receive(db, CARL_MOBILE, DEFAULT_NUMBER, "STOP")
    assert await consent.is_opted_out(db, CARL_MOBILE)
    assert await _notes(db) == []
    await receiving.receive(db, CARL_MOBILE, DEFAULT_NUMBER, "HELP")
    assert await _notes(db) == []


async def test_a_quoted_code_wins_else_the_most_recent_case_text(
    db: Database, team: Team, depot: int
) -> None:
    first = await _case(db, "K7QX2", depot, (team.carl.id, CARL_MOBILE))
    second = await _case(db, "W9HT3", depot, (team.carl.id, CARL_MOBILE))
    await _case_text(db, first, CARL_MOBILE)
    await _case_text(db, second, CARL_MOBILE)
    for text in ("about k7qx2: ok", "ok then", "Re K7QX2X is not a code", "(case K7QX2)"):
        await receiving.receive(db, CARL_MOBILE, DEFAULT_NUMBER, text)
    assert [(n["case_id"], n["body"]) for n in await _notes(db)] == [
        (first, "about k7qx2: ok"),
        (second, "ok then"),
        (second, "Re K7QX2X is not a code"),
        (first, "(case K7QX2)"),
    ]


async def test_the_most_recent_text_is_the_one_from_the_number_written_to(
    db: Database, team: Team, depot: int
) -> None:
    first = await _case(db, "K7QX2", depot, (team.carl.id, CARL_MOBILE))
    second = await _case(db, "W9HT3", depot, (team.carl.id, CARL_MOBILE))
    await _case_text(db, first, CARL_MOBILE)
    await _case_text(db, second, CARL_MOBILE, sender=OTHER_NUMBER)
    await receiving.receive(db, CARL_MOBILE, DEFAULT_NUMBER, "ok")
    assert [n["case_id"] for n in await _notes(db)] == [first]


async def test_a_closed_case_is_not_matched(db: Database, team: Team, depot: int) -> None:
    open_case = await _case(db, "K7QX2", depot, (team.carl.id, CARL_MOBILE))
    closed = await _case(db, "W9HT3", depot, (team.carl.id, CARL_MOBILE), status="closed")
    await _case_text(db, open_case, CARL_MOBILE)
    await _case_text(db, closed, CARL_MOBILE)
    await receiving.receive(db, CARL_MOBILE, DEFAULT_NUMBER, "About W9HT3")
    await receiving.receive(db, CARL_MOBILE, DEFAULT_NUMBER, "and this")
    assert [n["case_id"] for n in await _notes(db)] == [open_case, open_case]
    # Only closed cases: a normal conversation message.
    await db.write("UPDATE cases SET status = 'closed'")
    got = await receiving.receive(db, CARL_MOBILE, DEFAULT_NUMBER, "hello?")
    assert len(await _notes(db)) == 2
    assert (await _conversation(db, got.conversation_id))["waiting_since"] is not None


async def test_a_phone_with_no_open_case_is_a_normal_conversation(
    db: Database, team: Team, depot: int
) -> None:
    case = await _case(db, "K7QX2", depot, (team.carl.id, CARL_MOBILE))
    await _case_text(db, case, CARL_MOBILE)
    got = await receiving.receive(db, DORA_MOBILE, DEFAULT_NUMBER, "K7QX2 is my neighbour's")
    assert await _notes(db) == []
    state = await _conversation(db, got.conversation_id)
    assert state["waiting_since"] is not None
    assert state["alert_started_at"] is not None
    assert state["route_due_at"] is not None
    assert await db.scalar("SELECT case_id FROM messages WHERE id = ?", (got.message_id,)) is None


async def test_a_contact_on_the_case_without_a_case_text_or_code_is_a_conversation(
    db: Database, team: Team, depot: int
) -> None:
    await _case(db, "K7QX2", depot, (team.carl.id, CARL_MOBILE))
    got = await receiving.receive(db, CARL_MOBILE, DEFAULT_NUMBER, "hello")
    assert await _notes(db) == []
    assert (await _conversation(db, got.conversation_id))["waiting_since"] is not None
    await receiving.receive(db, CARL_MOBILE, DEFAULT_NUMBER, "hello about K7QX2")
    assert len(await _notes(db)) == 1


async def test_a_script_laden_reply_is_stored_literally(
    db: Database, team: Team, depot: int
) -> None:
    case = await _case(db, "K7QX2", depot, (team.carl.id, CARL_MOBILE))
    await _case_text(db, case, CARL_MOBILE)
    text = "<script>alert(1)</script> [bold]hi[/bold] {{code}} ' OR 1=1 --\nline two"
    await receiving.receive(db, CARL_MOBILE, DEFAULT_NUMBER, text)
    assert [n["body"] for n in await _notes(db)] == [text]


async def test_a_reply_no_note_can_hold_stays_a_conversation_message(
    db: Database, team: Team, depot: int
) -> None:
    case = await _case(db, "K7QX2", depot, (team.carl.id, CARL_MOBILE))
    await _case_text(db, case, CARL_MOBILE)
    for text in ("x" * 2_001, "a \x1b[31m red"):
        got = await receiving.receive(db, CARL_MOBILE, DEFAULT_NUMBER, text)
        assert (await _conversation(db, got.conversation_id))["waiting_since"] is not None
    assert await _notes(db) == []


async def test_a_reply_that_may_ask_to_stop_is_a_note_and_waits_for_an_agent(
    db: Database, team: Team, depot: int
) -> None:
    case = await _case(db, "K7QX2", depot, (team.carl.id, CARL_MOBILE))
    await _case_text(db, case, CARL_MOBILE)
    got = await receiving.receive(db, CARL_MOBILE, DEFAULT_NUMBER, "please stop texting me")
    assert [n["body"] for n in await _notes(db)] == ["please stop texting me"]
    assert (await _conversation(db, got.conversation_id))["waiting_since"] is not None


async def _world(path: Path, clock: FakeClock) -> Database:
    """Depot (replies on) and Annex (off); Carl on two Depot cases, Dora on an Annex
    case, Erin on a closed one; each texted once."""
    db = await open_database(path, clock)
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO numbers (e164, sms, is_default, created_at) VALUES (?, 1, 1, ?)",
            (DEFAULT_NUMBER, tx.now_ms),
        )
        ids = {}
        for name, phone in (("Carl", CARL_MOBILE), ("Dora", DORA_MOBILE), ("Erin", ERIN_MOBILE)):
            ids[name] = await tx.insert(
                "INSERT INTO contacts (name, created_at, updated_at) VALUES (?, ?, ?)",
                (name, tx.now_ms, tx.now_ms),
            )
            await tx.execute(
                "INSERT INTO contact_phones (contact_id, e164, kind) VALUES (?, ?, 'mobile')",
                (ids[name], phone),
            )
    depot = await _location(db, "Depot", DEFAULT_NUMBER, direct_reply=True)
    annex = await _location(db, "Annex", DEFAULT_NUMBER, direct_reply=False)
    first = await _case(db, "K7QX2", depot, (ids["Carl"], CARL_MOBILE))
    second = await _case(db, "W9HT3", depot, (ids["Carl"], CARL_MOBILE))
    third = await _case(db, "M4PZ8", annex, (ids["Dora"], DORA_MOBILE))
    closed = await _case(db, "Q2RS6", depot, (ids["Erin"], ERIN_MOBILE), status="closed")
    for case, phone in (
        (first, CARL_MOBILE),
        (second, CARL_MOBILE),
        (third, DORA_MOBILE),
        (closed, ERIN_MOBILE),
    ):
        await _case_text(db, case, phone)
    return db


# A STOP from Dora in the group would be recorded (keywords run first for the whole
# group) before her reply asks for a notice, so none is queued; one by one, the
# notice is queued and then failed by the STOP. Either way she gets no SMS.
GROUP = [
    Incoming(CARL_MOBILE, DEFAULT_NUMBER, "ok for K7QX2", "MO-1"),
    Incoming(DORA_MOBILE, DEFAULT_NUMBER, "When is it ready?", "MO-2"),
    Incoming(CARL_MOBILE, DEFAULT_NUMBER, "and the other one?", "MO-3"),
    Incoming(ERIN_MOBILE, DEFAULT_NUMBER, "about Q2RS6", "MO-4"),
    Incoming(DORA_MOBILE, DEFAULT_NUMBER, "Hello??", "MO-5"),
    Incoming(CARL_MOBILE, DEFAULT_NUMBER, "HELP", "MO-6"),
    Incoming(ERIN_MOBILE, DEFAULT_NUMBER, "STOP", "MO-7"),
    Incoming(DORA_MOBILE, DEFAULT_NUMBER, "one more", "MO-8"),
]


async def _state(db: Database) -> dict[str, Any]:
    notes = await db.fetchall(
        "SELECT n.case_id, n.author_contact_id, n.body, m.provider_ref FROM case_notes n"
        " JOIN messages m ON m.id = n.message_id ORDER BY n.id"
    )
    messages = await db.fetchall(
        "SELECT direction, purpose, kind, recipient, body, case_id, provider_ref, status"
        " FROM messages ORDER BY direction, coalesce(provider_ref, ''), recipient, body"
    )
    conversations = await db.fetchall(
        "SELECT phone, waiting_since, last_inbound_id IS NOT NULL AS answered"
        " FROM conversations ORDER BY phone"
    )
    told = await db.fetchall(
        "SELECT case_id, contact_id, no_reply_notice_at FROM case_contacts ORDER BY case_id"
    )

    def plain(rows: Any) -> list[dict[str, Any]]:
        # A link's token differs with the signing key of each database.
        return [
            {k: (v.split("here: ")[0] if isinstance(v, str) else v) for k, v in dict(r).items()}
            for r in rows
        ]

    return {
        "notes": plain(notes),
        "messages": plain(messages),
        "conversations": plain(conversations),
        "told": plain(told),
    }


async def test_a_group_gives_what_one_by_one_gives(tmp_path: Path, clock: FakeClock) -> None:
    together = await _world(tmp_path / "together.sqlite3", clock)
    alone = await _world(tmp_path / "alone.sqlite3", clock)
    try:
        grouped = await receiving.receive_many(together, GROUP)
        single = [
            await receiving.receive(alone, m.sender, m.to, m.body, provider_ref=m.provider_ref)
            for m in GROUP
        ]
        # Message IDs differ (a group stores every message before any reply); counts do not.
        assert [len(r.replies) for r in grouped] == [  # type: ignore[union-attr]
            len(r.replies) for r in single
        ]
        state = await _state(together)
        assert state == await _state(alone)
        assert [(n["provider_ref"], n["body"]) for n in state["notes"]] == [
            ("MO-1", "ok for K7QX2"),
            ("MO-3", "and the other one?"),
        ]
        assert sum("does not take replies" in m["body"] for m in state["messages"]) == 1
    finally:
        await together.close()
        await alone.close()
