"""W2: send budgets are spent in the claim and kept in the database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from core import clock as clocks
from core import settings
from core.clock import FakeClock
from core.db import Database, open_database
from core.delivery import outbox
from core.scheduling.options import WorkerOptions
from core.scheduling.worker import Worker
from core.sms import sending
from providers import sandbox
from providers.sandbox import SandboxGateway
from tests.core.conftest import DEFAULT_NUMBER, DORA_MOBILE, STRANGER, Team

LEASE = WorkerOptions().send_lease_seconds


async def _queue(db: Database, team: Team, count: int, body: str = "Hello") -> list[int]:
    return [
        (await sending.send(db, team.bob, STRANGER, f"{body} {i}")).message_id for i in range(count)
    ]


async def _statuses(db: Database, ids: list[int]) -> list[str]:
    rows = await db.fetchall(
        f"SELECT status FROM messages WHERE id IN ({','.join('?' * len(ids))}) ORDER BY id", ids
    )
    return [r["status"] for r in rows]


async def test_the_claim_takes_only_what_the_budget_allows_and_leaves_the_rest_untouched(
    db: Database, team: Team, clock: FakeClock
) -> None:
    await settings.update(db, team.dana, rate_segments_per_second=3)
    ids = await _queue(db, team, 10)
    clock.advance(seconds=1)
    untouched = [
        dict(r) for r in await db.fetchall("SELECT * FROM messages WHERE id > ?", (ids[2],))
    ]
    events = await db.scalar("SELECT count(*) FROM events")

    claimed = await outbox.claim(db, 100, LEASE)
    assert [c.message_id for c in claimed] == ids[:3]
    # Nothing written to the rows left for later: no retry, no attempt, no event.
    assert [
        dict(r) for r in await db.fetchall("SELECT * FROM messages WHERE id > ?", (ids[2],))
    ] == untouched
    assert await db.scalar("SELECT count(*) FROM events") == events
    assert await outbox.claim(db, 100, LEASE) == []
    # The next row can go when one token has come back: a third of a second.
    due = await outbox.next_sendable(db)
    assert due is not None
    assert timedelta(milliseconds=333) < due - clock.now() < timedelta(milliseconds=340)
    clock.advance(due - clock.now())
    assert [c.message_id for c in await outbox.claim(db, 100, LEASE)] == [ids[3]]


async def test_segments_are_what_is_counted(db: Database, team: Team, clock: FakeClock) -> None:
    await settings.update(db, team.dana, rate_segments_per_second=3)
    two_parts = "x" * 200  # GSM-7: two segments
    ids = await _queue(db, team, 3, two_parts)
    assert [c.message_id for c in await outbox.claim(db, 100, LEASE)] == ids[:1]
    clock.advance(seconds=1)  # 1 left + 3 back, capped at 3: one more of two
    assert [c.message_id for c in await outbox.claim(db, 100, LEASE)] == ids[1:2]


async def test_a_message_longer_than_the_bucket_still_goes_and_the_next_waits_for_it(
    db: Database, team: Team, clock: FakeClock
) -> None:
    await settings.update(db, team.dana, rate_segments_per_second=2)
    long_one = (await sending.send(db, team.bob, STRANGER, "y" * 700)).message_id  # 5 parts
    short = (await sending.send(db, team.bob, STRANGER, "next")).message_id
    assert [c.message_id for c in await outbox.claim(db, 100, LEASE)] == [long_one]
    # Five spent from a bucket of two: the next needs one token, 2 s away.
    due = await outbox.next_sendable(db)
    assert due is not None
    assert timedelta(seconds=2) <= due - clock.now() < timedelta(seconds=2, milliseconds=5)
    clock.advance(milliseconds=1999)
    assert await outbox.claim(db, 100, LEASE) == []
    clock.advance(due - clock.now())
    assert [c.message_id for c in await outbox.claim(db, 100, LEASE)] == [short]


async def test_each_sender_has_its_own_budget(db: Database, team: Team, clock: FakeClock) -> None:
    await settings.update(db, team.dana, rate_segments_per_second=1)
    ids = await _queue(db, team, 3)  # bob: the default number
    alices = (await sending.send(db, team.alice, DORA_MOBILE, "from Alice")).message_id
    claimed = await outbox.claim(db, 100, LEASE)
    assert sorted(c.message_id for c in claimed) == [ids[0], alices]


async def test_two_workers_on_one_file_share_the_budget(
    db: Database, db_path: Path, team: Team, clock: FakeClock
) -> None:
    await settings.update(db, team.dana, rate_segments_per_second=2)
    ids = await _queue(db, team, 8)
    other = await open_database(db_path, clock)
    try:
        first = await outbox.claim(db, 100, LEASE)
        second = await outbox.claim(other, 100, LEASE)
        assert (len(first), len(second)) == (2, 0)
        clock.advance(seconds=1)
        assert len(await outbox.claim(other, 100, LEASE)) == 2
        assert len(await outbox.claim(db, 100, LEASE)) == 0
    finally:
        await other.close()
    assert (await _statuses(db, ids)).count("queued") == 4


async def test_a_restarted_worker_does_not_start_with_a_full_bucket(
    db: Database, db_path: Path, team: Team, clock: FakeClock
) -> None:
    await settings.update(db, team.dana, rate_segments_per_second=2, sandbox_delivery_seconds=0)
    ids = await _queue(db, team, 6)
    worker = Worker(db, SandboxGateway(db), holder="before")
    await worker.run_once()
    await worker.stop()  # gives the lease up: the next worker takes over at once
    again = await open_database(db_path, clock)
    try:
        restarted = Worker(again, SandboxGateway(again), holder="after")
        await restarted.run_once()
        assert restarted.active
        assert len(await sandbox.inbox(db, STRANGER)) == 2
        for _ in range(2):
            clock.advance(seconds=1)
            await restarted.run_once()
    finally:
        await again.close()
    accepted = [m.accepted_at for m in await sandbox.inbox(db, STRANGER)]
    assert len(accepted) == 6
    assert max(accepted.count(t) for t in accepted) <= 2
    assert "failed" not in await _statuses(db, ids)


async def test_the_budget_is_kept_per_sender_in_the_database(
    db: Database, team: Team, clock: FakeClock
) -> None:
    await settings.update(db, team.dana, rate_segments_per_second=5)
    await _queue(db, team, 2, "z" * 200)  # two parts each
    await outbox.claim(db, 100, LEASE)
    row = await db.fetchone("SELECT * FROM send_budgets")
    assert (row["scope"], row["key"], row["tokens"]) == ("sender", DEFAULT_NUMBER, 1.0)
    assert row["updated_at"] == clocks.to_ms(clock.now())
