"""Statistics (issue #10, item 8): exact figures on a seeded database, FakeClock moved.

Conversations and messages are made through the real services (so the
figures read what they write); offers are inserted as rows, as routing
will write them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from core import statistics
from core.clock import FakeClock, to_ms
from core.db import Database, open_database
from core.errors import InvalidInput, NotAllowed
from core.people.authz import SYSTEM, Actor
from core.scheduling.worker import Worker
from core.sms import numbers, receiving, sending
from core.statistics import By, Figures
from tests.core.conftest import (
    ALICE_NUMBER,
    CARL_MOBILE,
    DEFAULT_NUMBER,
    DORA_MOBILE,
    ERIN_MOBILE,
    Team,
)
from tests.old_schema import database_at

SPARE_NUMBER = "+14155550102"


def _day(clock: FakeClock) -> tuple[datetime, datetime]:
    start = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def _row(report: statistics.Report, name: str) -> Figures:
    [row] = [r for r in report.rows if r.name == name]
    return row


async def _queues(db: Database) -> tuple[int, int]:
    """Sales holds the default number, Support alice's caller ID."""
    async with db.transaction() as tx:
        sales = await tx.insert("INSERT INTO queues (name, created_at) VALUES ('Sales', 0)")
        support = await tx.insert("INSERT INTO queues (name, created_at) VALUES ('Support', 0)")
        await tx.execute("UPDATE numbers SET queue_id = ? WHERE e164 = ?", (sales, DEFAULT_NUMBER))
        await tx.execute("UPDATE numbers SET queue_id = ? WHERE e164 = ?", (support, ALICE_NUMBER))
    return sales, support


async def _offer(
    db: Database, conversation_id: int, agent: Actor, status: str, at: datetime, queue: int | None
) -> None:
    await db.write(
        "INSERT INTO offers (conversation_id, agent_id, queue_id, status, offered_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (conversation_id, agent.id, queue, status, to_ms(at), to_ms(at) + 30_000),
    )


async def _answer(
    db: Database, clock: FakeClock, agent: Actor, phone: str, ours: str, waits: list[float]
) -> int:
    """The contact texts ``ours``; the agent answers after each wait (in seconds)."""
    conversation = 0
    for wait in waits:
        conversation = (await receiving.receive(db, phone, ours, "Hello?")).conversation_id
        clock.advance(seconds=wait)
        await sending.send(db, agent, phone, "On it", sender=ours)
        clock.advance(seconds=1)
    return conversation


async def test_first_response_is_from_the_first_unanswered_inbound_to_the_agent_reply(
    db: Database, team: Team, clock: FakeClock, worker: Worker
) -> None:
    start, end = _day(clock)
    # Dora writes twice; alice answers 90 s after the first message, not the second.
    await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "Hi")
    clock.advance(seconds=30)
    await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "Anyone?")
    clock.advance(seconds=60)
    await sending.send(db, team.alice, DORA_MOBILE, "Here. " + "Your parcel is at the desk. " * 5)
    # A second reply with nothing new waiting answers nothing.
    clock.advance(seconds=5)
    await sending.send(db, team.alice, DORA_MOBILE, "And the order ships today")
    # Dora again; alice answers after 60 s.
    clock.advance(seconds=100)
    await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "Thanks, when exactly?")
    clock.advance(seconds=60)
    await sending.send(db, team.alice, DORA_MOBILE, "By noon")
    # Carl texts HELP: the automatic help text (no author) answers nothing;
    # bob's reply 40 s later is measured from the HELP.
    clock.advance(seconds=10)
    await receiving.receive(db, CARL_MOBILE, DEFAULT_NUMBER, "HELP")
    clock.advance(seconds=40)
    await sending.send(db, team.bob, CARL_MOBILE, "What can I do for you?")
    await worker.run_once()

    report = await statistics.report(db, team.dana, start, end, By.AGENT)

    alice = _row(report, "Alice Moreau")
    assert (alice.responses, alice.median_first_response, alice.p90_first_response) == (2, 75, 90)
    assert alice.handled == 1
    assert alice.messages_sent == 3
    # The first, with the opt-out line added, took two segments; then one each.
    assert alice.segments_sent == 4
    bob = _row(report, "Bob Achebe")
    assert (bob.responses, bob.median_first_response, bob.p90_first_response) == (1, 40, 40)
    assert (bob.handled, bob.messages_sent) == (1, 1)
    dana = _row(report, "Dana Whitfield")  # active, nothing to count: still a row
    assert dana == Figures(team.dana.id, "Dana Whitfield")


async def test_median_and_p90_on_known_response_times(
    db: Database, team: Team, clock: FakeClock
) -> None:
    start, end = _day(clock)
    # alice: ten waits 10..100 s (even: median between the 5th and 6th, p90 the 9th).
    for i, wait in enumerate(range(10, 101, 10)):
        await _answer(db, clock, team.alice, f"+1212555016{i}", DEFAULT_NUMBER, [wait])
    # bob: five waits, shuffled (odd: the middle one; p90 the largest).
    for i, wait in enumerate([50, 10, 40, 20, 30]):
        await _answer(db, clock, team.bob, f"+1212555017{i}", DEFAULT_NUMBER, [wait])

    report = await statistics.report(db, team.dana, start, end, By.AGENT)

    alice = _row(report, "Alice Moreau")
    assert (alice.responses, alice.median_first_response, alice.p90_first_response) == (10, 55, 90)
    assert alice.handled == 10
    bob = _row(report, "Bob Achebe")
    assert (bob.responses, bob.median_first_response, bob.p90_first_response) == (5, 30, 50)
    assert bob.handled == 5


async def test_offers_accepted_and_missed_per_agent(
    db: Database, team: Team, clock: FakeClock
) -> None:
    start, end = _day(clock)
    conversation = await _answer(db, clock, team.alice, DORA_MOBILE, ALICE_NUMBER, [5])
    now = clock.now()
    for status in ("accepted", "refused", "expired", "withdrawn", "pending"):
        await _offer(db, conversation, team.alice, status, now, None)
    for _ in range(2):
        await _offer(db, conversation, team.bob, "accepted", now, None)

    report = await statistics.report(db, team.dana, start, end, By.AGENT)

    alice = _row(report, "Alice Moreau")
    # Withdrawn is nobody's miss; pending is offered, not yet anything else.
    assert (alice.offered, alice.accepted, alice.missed) == (5, 1, 2)
    bob = _row(report, "Bob Achebe")
    assert (bob.offered, bob.accepted, bob.missed, bob.handled) == (2, 2, 0, 0)


async def test_a_period_counts_only_what_falls_inside_it(
    db: Database, team: Team, clock: FakeClock, worker: Worker
) -> None:
    start, end = _day(clock)
    conversation = await _answer(db, clock, team.alice, DORA_MOBILE, ALICE_NUMBER, [5])
    clock.set(start - timedelta(seconds=10))
    # Waiting since before the period, answered inside it: counted (15 s).
    await receiving.receive(db, CARL_MOBILE, DEFAULT_NUMBER, "Before midnight")
    clock.set(start + timedelta(seconds=5))
    await sending.send(db, team.bob, CARL_MOBILE, "Good morning")
    # A reply exactly at the end belongs to the next period.
    clock.set(end - timedelta(seconds=20))
    await receiving.receive(db, ERIN_MOBILE, DEFAULT_NUMBER, "Late question")
    clock.set(end)
    await sending.send(db, team.bob, ERIN_MOBILE, "Tomorrow's answer")
    await worker.run_once()  # sent at `end`: outside too
    # Offers: one a millisecond early, one at the start, one at the end.
    for at in (start - timedelta(milliseconds=1), start, end):
        await _offer(db, conversation, team.bob, "accepted", at, None)

    report = await statistics.report(db, team.dana, start, end, By.AGENT)

    bob = _row(report, "Bob Achebe")
    assert (bob.offered, bob.accepted) == (1, 1)
    assert (bob.handled, bob.responses, bob.median_first_response) == (1, 1, 15)
    assert bob.messages_sent == 0  # the worker sent it at `end`
    # The next day holds what this one left out.
    later = await statistics.report(db, team.dana, end, end + timedelta(days=1), By.AGENT)
    bob = _row(later, "Bob Achebe")
    assert (bob.offered, bob.handled, bob.responses, bob.median_first_response) == (1, 1, 1, 20)
    assert bob.messages_sent == 2  # both of bob's, sent when the worker ran at `end`


async def test_by_queue_with_its_own_and_its_numbers_queue(
    db: Database, team: Team, clock: FakeClock, worker: Worker
) -> None:
    start, end = _day(clock)
    sales, support = await _queues(db)
    # A number in no queue: its conversations belong to none.
    await numbers.add(db, SYSTEM, SPARE_NUMBER)
    await _answer(db, clock, team.bob, ERIN_MOBILE, SPARE_NUMBER, [7])
    on_support = await _answer(db, clock, team.alice, DORA_MOBILE, ALICE_NUMBER, [10, 30])
    on_sales = await _answer(db, clock, team.bob, CARL_MOBILE, DEFAULT_NUMBER, [20])
    # Routing moved Carl's conversation to Support: its own queue wins over its number's.
    await db.write("UPDATE conversations SET queue_id = ? WHERE id = ?", (support, on_sales))
    # An offer names its queue; one without falls back to its conversation's.
    await _offer(db, on_support, team.alice, "expired", clock.now(), sales)
    await _offer(db, on_support, team.bob, "accepted", clock.now(), None)
    await worker.run_once()

    report = await statistics.report(db, team.dana, start, end, By.QUEUE)

    assert [r.name for r in report.rows] == ["Sales", "Support", statistics.NO_QUEUE]
    sales_row = _row(report, "Sales")
    assert (sales_row.offered, sales_row.missed, sales_row.handled) == (1, 1, 0)
    support_row = _row(report, "Support")
    assert (support_row.offered, support_row.accepted) == (1, 1)
    assert (support_row.handled, support_row.responses) == (2, 3)
    assert (support_row.median_first_response, support_row.p90_first_response) == (20, 30)
    assert support_row.messages_sent == 3
    none = _row(report, statistics.NO_QUEUE)
    assert none.id is None
    assert (none.handled, none.responses, none.median_first_response) == (1, 1, 7)


async def test_only_a_principal_with_the_statistics_right_sees_them(
    db: Database, team: Team, clock: FakeClock
) -> None:
    start, end = _day(clock)
    with pytest.raises(NotAllowed, match="may not view statistics"):
        await statistics.report(db, team.alice, start, end, By.AGENT)
    assert (await statistics.report(db, SYSTEM, start, end, By.QUEUE)).rows == []


async def test_a_period_must_start_before_it_ends_and_last_at_most_366_days(
    db: Database, team: Team, clock: FakeClock
) -> None:
    start, _ = _day(clock)
    with pytest.raises(InvalidInput, match="must start before it ends"):
        await statistics.report(db, team.dana, start, start, By.AGENT)
    with pytest.raises(InvalidInput, match="must start before it ends"):
        await statistics.report(db, team.dana, start, start - timedelta(days=1), By.AGENT)
    with pytest.raises(InvalidInput, match="at most 366 days"):
        await statistics.report(db, team.dana, start, start + timedelta(days=367), By.AGENT)
    longest = await statistics.report(db, team.dana, start, start + timedelta(days=366), By.AGENT)
    assert len(longest.rows) == 3


# --- the period indexes (schema 8) ----------------------------------------------------

_STATEMENTS = [
    (statement, keys[by])
    for statement, keys in (
        (statistics._OFFERS, statistics._OFFER_KEYS),
        (statistics._HANDLED, statistics._KEYS),
        (statistics._FIRST_RESPONSES, statistics._RESPONSE_KEYS),
        (statistics._SENT, statistics._SENT_KEYS),
    )
    for by in By
]


@pytest.mark.parametrize(("statement", "key"), _STATEMENTS)
async def test_each_figure_reads_its_period_from_an_index(
    db: Database, statement: str, key: str
) -> None:
    """No figure scans every message or offer: the period's rows come from a covering
    index on the period's column (a one-day report of a year reads one day)."""
    plan = [
        row[3]
        for row in await db.fetchall(
            "EXPLAIN QUERY PLAN " + statement.format(key=key), {"start": 0, "end": 1}
        )
    ]
    assert not [step for step in plan if step in ("SCAN m", "SCAN o")], plan
    assert [step for step in plan if "USING COVERING INDEX" in step and "_at>?" in step], plan


async def test_an_upgraded_schema_7_database_gets_the_period_indexes(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "seven.sqlite3"
    database_at(path, 7).close()
    db = await open_database(path, clock)
    try:
        names = {
            r[0] for r in await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'index'")
        }
        assert {"messages_agent_replies", "messages_agent_sent", "offers_offered"} <= names
    finally:
        await db.close()
