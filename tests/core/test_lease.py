"""W1: one lease holder at a time; a lapsed lease is taken over."""

from __future__ import annotations

import math

import pytest

from core.clock import FakeClock
from core.errors import InvalidInput
from core.scheduling import lease


async def test_only_one_holder_until_the_lease_lapses(db, clock: FakeClock):
    assert await lease.acquire(db, "a", ttl_seconds=10)
    assert not await lease.acquire(db, "b", ttl_seconds=10)
    clock.advance(seconds=9)
    assert await lease.acquire(db, "a", ttl_seconds=10)  # renewed
    clock.advance(seconds=9)
    assert not await lease.acquire(db, "b", ttl_seconds=10)
    clock.advance(seconds=11)  # a stopped renewing
    assert await lease.acquire(db, "b", ttl_seconds=10)
    assert not await lease.acquire(db, "a", ttl_seconds=10)
    holder = await lease.current(db)
    assert holder is not None
    assert holder.holder == "b"


async def test_release_lets_another_take_over_at_once(db):
    assert await lease.acquire(db, "a", ttl_seconds=10)
    await lease.release(db, "a")
    assert await lease.current(db) is None
    assert await lease.acquire(db, "b", ttl_seconds=10)


async def test_each_change_of_holder_is_one_event(db, clock: FakeClock):
    await lease.acquire(db, "a", ttl_seconds=5)
    await lease.acquire(db, "a", ttl_seconds=5)
    clock.advance(seconds=6)
    await lease.acquire(db, "b", ttl_seconds=5)
    rows = await db.fetchall("SELECT data FROM events WHERE kind = 'lease.taken' ORDER BY id")
    assert len(rows) == 2
    assert '"previous": "a"' in rows[1]["data"]


def test_a_lease_length_is_checked_against_its_bounds():
    assert lease.check_seconds(lease.MIN_SECONDS) == lease.MIN_SECONDS
    assert lease.check_seconds(lease.MAX_SECONDS) == lease.MAX_SECONDS
    for bad in (math.nan, math.inf, -math.inf, -1.0, 0.0, 1.5, 3601.0):
        with pytest.raises(InvalidInput, match=r"^--lease-seconds must be between 2 and 3600"):
            lease.check_seconds(bad)
