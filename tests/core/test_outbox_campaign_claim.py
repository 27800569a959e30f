"""S1: the claim paces each campaign inside its sender's budget, puts agents first,
and leaves a paused campaign's rows alone."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core import settings
from core.campaigns import dispatch, lifecycle
from core.clock import FakeClock
from core.db import Database
from core.delivery import budgets, outbox
from core.people.authz import SYSTEM
from core.scheduling.options import WorkerOptions
from core.sms import sending
from tests.core import campaign_setup as cs
from tests.core.conftest import ALICE_NUMBER, DEFAULT_NUMBER, STRANGER, Team

LEASE = WorkerOptions().send_lease_seconds


async def _campaign(
    db: Database, *, rate: float = 1000.0, status: str = "running", sender: str = DEFAULT_NUMBER
) -> int:
    async with db.transaction() as tx:
        count = await tx.fetchone("SELECT count(*) FROM campaigns")
        assert count is not None
        return await tx.insert(
            "INSERT INTO campaigns (name, sender, template, status, rate_segments_per_second,"
            " created_at, updated_at) VALUES (?, ?, 'Hello', ?, ?, ?, ?)",
            (f"campaign {count[0]}", sender, status, rate, tx.now_ms, tx.now_ms),
        )


async def _queue(
    db: Database, campaign_id: int, count: int, *, first: int = 0, sender: str = DEFAULT_NUMBER,
    body: str = "Hello",
) -> list[int]:  # fmt: skip
    items = [(f"+1202555{n:04d}", body) for n in range(first, first + count)]
    async with db.transaction() as tx:
        made = await outbox.queue_many(
            tx, outbox.CAMPAIGN, sender, items, announce=False, campaign_id=campaign_id
        )
    assert all(isinstance(m, int) for m in made)
    return [m for m in made if isinstance(m, int)]


async def _set_status(db: Database, campaign_id: int, status: str) -> None:
    async with db.transaction() as tx:
        await tx.execute("UPDATE campaigns SET status = ? WHERE id = ?", (status, campaign_id))


def _ids(claimed: list[object]) -> list[int]:
    return [c.message_id for c in claimed]  # type: ignore[attr-defined]


async def test_a_campaign_row_spends_its_campaigns_bucket_and_waits_for_it_untouched(
    db: Database, team: Team, clock: FakeClock
) -> None:
    await settings.update(db, team.dana, rate_segments_per_second=10)
    campaign = await _campaign(db, rate=2)
    ids = await _queue(db, campaign, 10)
    untouched = [
        dict(r) for r in await db.fetchall("SELECT * FROM messages WHERE id > ?", (ids[1],))
    ]

    assert _ids(await outbox.claim(db, 100, LEASE)) == ids[:2]
    assert await outbox.claim(db, 100, LEASE) == []
    # Over its campaign's budget, a row stays queued with nothing written to it.
    assert [
        dict(r) for r in await db.fetchall("SELECT * FROM messages WHERE id > ?", (ids[1],))
    ] == untouched
    # Both buckets were spent: the campaign's and its sender's.
    spent = {
        (r["scope"], r["key"]): r["tokens"]
        for r in await db.fetchall("SELECT scope, key, tokens FROM send_budgets")
    }
    assert spent == {(budgets.CAMPAIGN, str(campaign)): 0.0, (budgets.SENDER, DEFAULT_NUMBER): 8.0}
    # The next goes when its campaign has one token again: half a second.
    due = await outbox.next_sendable(db)
    assert due is not None
    assert timedelta(milliseconds=500) < due - clock.now() <= timedelta(milliseconds=502)
    clock.advance(due - clock.now())
    assert _ids(await outbox.claim(db, 100, LEASE)) == [ids[2]]


async def test_a_campaign_goes_no_faster_than_its_sender(
    db: Database, team: Team, clock: FakeClock
) -> None:
    await settings.update(db, team.dana, rate_segments_per_second=3)
    campaign = await _campaign(db, rate=100)
    ids = await _queue(db, campaign, 10)
    assert _ids(await outbox.claim(db, 100, LEASE)) == ids[:3]
    due = await outbox.next_sendable(db)
    assert due is not None
    assert due - clock.now() > timedelta(milliseconds=333)


async def test_two_campaigns_on_one_number_each_keep_their_own_pace(
    db: Database, team: Team, clock: FakeClock
) -> None:
    await settings.update(db, team.dana, rate_segments_per_second=100)
    slow, fast = await _campaign(db, rate=1), await _campaign(db, rate=5)
    slow_ids = await _queue(db, slow, 20)
    fast_ids = await _queue(db, fast, 20, first=100)
    claimed = _ids(await outbox.claim(db, 100, LEASE))
    # The slow campaign queued first holds up neither its number nor the other campaign.
    assert claimed == [*slow_ids[:1], *fast_ids[:5]]
    clock.advance(seconds=1)
    assert _ids(await outbox.claim(db, 100, LEASE)) == [*slow_ids[1:2], *fast_ids[5:10]]


async def test_an_agents_reply_goes_in_the_very_next_claim_behind_2000_campaign_rows(
    db: Database, team: Team, clock: FakeClock
) -> None:
    await settings.update(db, team.dana, rate_segments_per_second=10)
    campaign = await _campaign(db, rate=1000)
    ids = await _queue(db, campaign, 2000)
    assert _ids(await outbox.claim(db, 100, LEASE)) == ids[:10]  # the number's whole second
    clock.advance(seconds=1)
    reply = (await sending.send(db, team.bob, STRANGER, "On my way")).message_id
    claimed = _ids(await outbox.claim(db, 100, LEASE))
    # First, though queued after 1,990 campaign rows: then the campaign has the rest.
    assert claimed == [reply, *ids[10:19]]


async def test_a_stop_confirmation_goes_before_campaign_rows_too(
    db: Database, team: Team, clock: FakeClock
) -> None:
    await settings.update(db, team.dana, rate_segments_per_second=1)
    campaign = await _campaign(db)
    await _queue(db, campaign, 50)
    notice = await sending.send(db, team.bob, STRANGER, "Hello")
    clock.advance(seconds=1)
    assert _ids(await outbox.claim(db, 100, LEASE)) == [notice.message_id]


async def test_a_paused_campaign_is_not_claimed_nor_waited_for_and_resumes_in_order(
    db: Database, team: Team, clock: FakeClock
) -> None:
    await settings.update(db, team.dana, rate_segments_per_second=10)
    campaign = await _campaign(db, status="paused")
    ids = await _queue(db, campaign, 5)
    other = await sending.send(db, team.alice, STRANGER, "Still here")
    assert _ids(await outbox.claim(db, 100, LEASE)) == [other.message_id]
    assert await outbox.next_sendable(db) is None  # no wake-ups for a paused campaign
    assert (
        await db.scalar(
            "SELECT count(*) FROM messages WHERE campaign_id = ? AND status = 'queued'", (campaign,)
        )
        == 5
    )

    await _set_status(db, campaign, "running")
    assert await outbox.next_sendable(db) == clock.now()
    assert _ids(await outbox.claim(db, 100, LEASE)) == ids


async def test_a_cancelled_campaigns_queued_rows_fail_in_one_statement_and_never_go(
    db: Database, team: Team, clock: FakeClock
) -> None:
    campaign = await _campaign(db)
    kept = await _campaign(db)
    ids = await _queue(db, campaign, 4)
    kept_ids = await _queue(db, kept, 2, first=50)
    await lifecycle.cancel(db, SYSTEM, campaign)  # fails them in its own transaction

    rows = await db.fetchall(
        "SELECT status, error FROM messages WHERE campaign_id = ? ORDER BY id", (campaign,)
    )
    assert [tuple(r) for r in rows] == [("failed", outbox.CANCELLED_REASON)] * len(ids)
    assert await db.scalar(
        "SELECT count(*) FROM events WHERE kind = 'message.failed' AND entity_id IN"
        f" ({','.join(map(str, ids))})"
    ) == len(ids)
    async with db.transaction() as tx:
        assert await outbox.fail_cancelled_in(tx) == 0  # once
    assert _ids(await outbox.claim(db, 100, LEASE)) == kept_ids


async def test_rows_of_no_campaign_from_another_number_are_unaffected(
    db: Database, team: Team, clock: FakeClock
) -> None:
    await settings.update(db, team.dana, rate_segments_per_second=2)
    campaign = await _campaign(db, sender=ALICE_NUMBER)
    campaign_ids = await _queue(db, campaign, 5, sender=ALICE_NUMBER)
    reply = await sending.send(db, team.bob, STRANGER, "Hi")  # from the default number
    assert sorted(_ids(await outbox.claim(db, 100, LEASE))) == sorted(
        [reply.message_id, *campaign_ids[:2]]
    )


async def test_a_claim_counts_each_recipient_of_a_campaign_batch_row(
    db: Database, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Schema 14: the claim's limit is in recipients, so one claim holds at most one
    # provider batch's worth of targets in memory; a first row goes whatever its size.
    await settings.update(db, team.dana, rate_segments_per_second=1000)
    monkeypatch.setattr(dispatch, "BATCH_RECIPIENTS", 2)
    cid = await cs.campaign(db, rate=1000, window=(0, 1440))
    for n in range(5):
        await cs.target(db, cid, f"+1202555{n:04d}", merge_values={"first_name": f"P{n}"})
    await dispatch.Dispatcher(db).run()
    rows = await db.fetchall("SELECT id, recipients FROM messages WHERE campaign_id = ?", (cid,))
    assert [r["recipients"] for r in rows] == [2, 2, 1]

    (first,) = await outbox.claim(db, 3, LEASE)
    assert (first.message_id, len(first.recipients)) == (rows[0]["id"], 2)
    (second,) = await outbox.claim(db, 1, LEASE)
    assert (second.message_id, [phone for phone, _ in second.recipients]) == (
        rows[1]["id"],
        ["+12025550002", "+12025550003"],
    )
    assert dict(second.recipients[0][1]) == {"first_name": "P2"}
    assert _ids(await outbox.claim(db, 10, LEASE)) == [rows[2]["id"]]
