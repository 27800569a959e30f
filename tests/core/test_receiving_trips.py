"""An inbound group's trips to the database, and settings that are never stale.

Under load each trip to a database thread waits its turn on the event loop, so
trips are what an inbound group costs (issue #9: webhook MO throughput). A
group of known senders makes two: the look-up (with BEGIN IMMEDIATE, the
settings and the hooks' reads ahead) and the deferred writes with the COMMIT.
The settings are not read before the transaction: the group is checked with
those the last group found, and its look-up reads them again, so a change
made anywhere (here by another connection, as the console would) applies to
the very next group.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from core import settings
from core.clock import FakeClock
from core.db import Database, open_database
from core.errors import InvalidPhoneNumber
from core.people.authz import SYSTEM
from core.sms import consent, receiving
from core.sms.optout import Intent
from core.sms.receiving import Incoming, ReceiveResult
from tests.core.conftest import CARL_MOBILE, DEFAULT_NUMBER, DORA_MOBILE, ERIN_MOBILE, Team

KNOWN = (CARL_MOBILE, DORA_MOBILE, ERIN_MOBILE)
UK_NATIONAL = "020 7946 0018"
"""A London number as written in the UK: no such number in the US."""
US_NATIONAL = "(212) 555-0140"
"""A New York number as written in the US: no such number in the UK."""


def _count_trips(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each trip to either of the database's threads: the writer's named by its last
    statement (or the function it ran), the reader's by its SQL."""
    trips: list[str] = []

    def counting(conn: Any, name: Callable[..., str]) -> None:
        real = conn._execute

        async def counted(fn: Any, *args: Any) -> Any:
            trips.append(name(fn, *args))
            return await real(fn, *args)

        monkeypatch.setattr(conn, "_execute", counted)

    def writer(fn: Any, *args: Any) -> str:
        # Tx._run(pending, function, its arguments): a single statement's SQL, or the function.
        if len(args) == 3 and args[1].__name__ == "_execute":
            return str(args[2][0])
        return str(getattr(args[1] if len(args) == 3 else fn, "__name__", fn))

    counting(db._writer, writer)
    counting(db._reader, lambda fn, sql="", *_: f"reader: {sql}")
    return trips


def _group(tag: str, bodies: int = 25) -> list[Incoming]:
    return [
        Incoming(KNOWN[i % len(KNOWN)], DEFAULT_NUMBER, f"hello {i}", f"MO-{tag}-{i}")
        for i in range(bodies)
    ]


async def _another_process(db_path: Path, clock: FakeClock, **changes: Any) -> None:
    """Change settings through a connection of its own, as the console does: nothing
    tells ``db`` about it."""
    console = await open_database(db_path, clock)
    try:
        await settings.update(console, SYSTEM, **changes)
    finally:
        await console.close()


async def test_a_group_of_known_senders_makes_two_trips(
    db: Database, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    await receiving.receive_many(db, _group("warm-up", 3))  # their conversations exist now
    trips = _count_trips(db, monkeypatch)

    results = await receiving.receive_many(db, _group("counted"))

    assert all(isinstance(r, ReceiveResult) and not r.duplicate for r in results)
    assert trips == ["_fetchall_each", "COMMIT"]
    trips.clear()
    alone = await receiving.receive(db, CARL_MOBILE, DEFAULT_NUMBER, "just me", provider_ref="L1")
    assert alone.intent is Intent.NONE
    assert trips == ["_fetchall_each", "COMMIT"]


async def test_a_settings_change_costs_its_first_group_one_look_up_more(
    db: Database, db_path: Path, clock: FakeClock, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    await receiving.receive_many(db, _group("warm-up", 3))
    await _another_process(db_path, clock, public_minutes=45)
    trips = _count_trips(db, monkeypatch)

    await receiving.receive_many(db, _group("after the change"))
    assert trips == ["_fetchall_each", "_fetchall_each", "COMMIT"]
    trips.clear()
    await receiving.receive_many(db, _group("next"))
    assert trips == ["_fetchall_each", "COMMIT"]


async def test_new_opt_out_keywords_apply_to_the_very_next_group(
    db: Database, db_path: Path, clock: FakeClock, team: Team
) -> None:
    [before] = await receiving.receive_many(
        db, [Incoming(CARL_MOBILE, DEFAULT_NUMBER, "PAUSE", "MO-1")]
    )
    assert isinstance(before, ReceiveResult)
    assert before.intent is Intent.NONE

    await _another_process(db_path, clock, optout_keywords="PAUSE")
    paused, chat = await receiving.receive_many(
        db,
        [
            Incoming(DORA_MOBILE, DEFAULT_NUMBER, "PAUSE", "MO-2"),
            Incoming(ERIN_MOBILE, DEFAULT_NUMBER, "hello", "MO-3"),
        ],
    )

    assert isinstance(paused, ReceiveResult)
    assert isinstance(chat, ReceiveResult)
    assert paused.intent is Intent.OPT_OUT
    assert len(paused.replies) == 1  # the keyword hook ran with the new settings too
    assert await consent.is_opted_out(db, DORA_MOBILE)
    assert chat.intent is Intent.NONE
    assert not await consent.is_opted_out(db, CARL_MOBILE)


async def test_a_new_public_wait_applies_to_the_very_next_group(
    db: Database, db_path: Path, clock: FakeClock, team: Team
) -> None:
    """The hooks get the settings the transaction found, not those the group was checked with."""
    [first] = await receiving.receive_many(
        db, [Incoming(CARL_MOBILE, DEFAULT_NUMBER, "hi", "MO-1")]
    )
    assert isinstance(first, ReceiveResult)
    await db.write(
        "UPDATE conversations SET owner_id = ?, is_public = 0, waiting_since = NULL,"
        " public_due_at = NULL WHERE id = ?",
        (team.alice.id, first.conversation_id),
    )

    await _another_process(db_path, clock, public_minutes=45)
    await receiving.receive_many(db, [Incoming(CARL_MOBILE, DEFAULT_NUMBER, "still there?", "M2")])

    row = await db.fetchone(
        "SELECT waiting_since, public_due_at FROM conversations WHERE id = ?",
        (first.conversation_id,),
    )
    assert row is not None
    assert row["public_due_at"] - row["waiting_since"] == 45 * 60_000


async def test_a_new_default_region_applies_to_the_very_next_group(
    db: Database, db_path: Path, clock: FakeClock, team: Team
) -> None:
    [us] = await receiving.receive_many(db, [Incoming(US_NATIONAL, DEFAULT_NUMBER, "hi", "MO-1")])
    assert isinstance(us, ReceiveResult)

    # Every message of the group refused with the region last seen: no transaction
    # would tell, so the settings are read before refusing them.
    await _another_process(db_path, clock, default_region="GB")
    [uk] = await receiving.receive_many(db, [Incoming(UK_NATIONAL, DEFAULT_NUMBER, "hi", "MO-2")])
    assert isinstance(uk, ReceiveResult)

    # Some refused, some not, with the region last seen: the transaction's own
    # settings decide which, and what it stores.
    await _another_process(db_path, clock, default_region="US")
    refused, stored = await receiving.receive_many(
        db,
        [
            Incoming(UK_NATIONAL, DEFAULT_NUMBER, "hello?", "MO-3"),
            Incoming(US_NATIONAL, DEFAULT_NUMBER, "hello!", "MO-4"),
        ],
    )
    assert isinstance(refused, InvalidPhoneNumber)
    assert isinstance(stored, ReceiveResult)
    assert stored.conversation_id == us.conversation_id
    phones = [
        row[0]
        for row in await db.fetchall(
            "SELECT c.phone FROM messages m JOIN conversations c ON c.id = m.conversation_id"
            " WHERE m.direction = 'in' ORDER BY m.id"
        )
    ]
    assert phones == ["+12125550140", "+442079460018", "+12125550140"]
    # Found by a look-up made for the group as the transaction's settings read it,
    # not made again as a new contact.
    assert await db.scalar("SELECT count(*) FROM contact_phones WHERE e164 = '+12125550140'") == 1
