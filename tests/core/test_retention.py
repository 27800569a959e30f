"""The change feed is pruned after the retention setting; the audit stays; followers notice."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core import events, retention, settings
from core.clock import FakeClock
from core.db import Database
from core.errors import InvalidInput
from core.people.authz import SYSTEM
from core.scheduling.worker import Worker, default_jobs
from core.sms import consent, receiving
from tests.core.conftest import DEFAULT_NUMBER, DORA_MOBILE, Team


async def _settings_events(db: Database, count: int) -> None:
    for n in range(count):
        await settings.update(db, SYSTEM, public_minutes=1 + n % 50)


async def test_events_older_than_the_setting_are_pruned_in_chunks(db: Database, clock: FakeClock):
    await _settings_events(db, 12)
    clock.advance(timedelta(days=3))
    await _settings_events(db, 3)
    young = await events.after(db, 0)
    clock.advance(timedelta(days=4, seconds=1))  # the first 12 are now 7 days old

    pruned = await retention.prune_events(db, chunk=5)  # three chunks: 5, 5, 2

    assert pruned == 12
    assert [e.id for e in await events.after(db, 0)] == [e.id for e in young[12:]]
    assert await retention.prune_events(db) == 0


async def test_the_retention_days_are_a_setting(db: Database, clock: FakeClock):
    await _settings_events(db, 3)
    await settings.update(db, SYSTEM, event_retention_days=1)
    clock.advance(timedelta(days=1, seconds=1))
    await _settings_events(db, 1)
    assert await retention.prune_events(db) == 4
    with pytest.raises(InvalidInput, match="event_retention_days must be a whole number between 1"):
        await settings.update(db, SYSTEM, event_retention_days=0)


async def test_the_newest_event_stays_so_a_follower_knows_it_missed_nothing(
    db: Database, clock: FakeClock
):
    await _settings_events(db, 4)
    newest = await events.last_id(db)
    clock.advance(timedelta(days=30))
    assert await retention.prune_events(db) == 3
    assert await events.last_id(db) == newest
    assert await events.since(db, newest) == events.Batch([], missed=False)


async def test_a_follower_behind_the_pruned_events_is_told_it_missed_some(
    db: Database, clock: FakeClock
):
    await _settings_events(db, 2)
    cursor = (await events.after(db, 0))[0].id  # read one, two unread
    await _settings_events(db, 1)
    clock.advance(timedelta(days=8))
    await _settings_events(db, 1)
    await retention.prune_events(db)

    behind = await events.since(db, cursor)
    assert behind.missed
    assert [e.kind for e in behind.events] == ["settings.changed"]
    caught_up = await events.since(db, behind.events[-1].id)
    assert not caught_up.missed


async def test_the_worker_prunes_and_the_consent_audit_stays(
    db: Database, clock: FakeClock, team: Team, worker: Worker
):
    assert "event_retention" in [job.name for job in default_jobs(worker)]
    await receiving.receive(db, DORA_MOBILE, DEFAULT_NUMBER, "STOP", provider_ref="mo-1")
    await worker.run_once()
    clock.advance(timedelta(days=8))
    await receiving.receive(db, DORA_MOBILE, DEFAULT_NUMBER, "START", provider_ref="mo-2")

    await worker.run_once()

    kinds = [e.kind for e in await events.after(db, 0)]
    assert "consent.opted_out" not in kinds  # pruned from the feed…
    history = await consent.history(db, DORA_MOBILE)  # …but the audit has both, whole
    assert [(c.opted_out, c.keyword) for c in history] == [(False, "START"), (True, "STOP")]
