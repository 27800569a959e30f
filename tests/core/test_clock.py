"""Times stored as milliseconds: a NULL where a time must be is named, not passed on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.clock import from_ms, from_ms_or_none, to_ms


def test_a_time_survives_the_round_trip_to_milliseconds():
    instant = datetime(2026, 3, 1, 9, 30, 15, 250_000, tzinfo=UTC)
    assert from_ms(to_ms(instant)) == instant
    assert from_ms_or_none(to_ms(instant)) == instant


def test_a_null_in_a_column_that_must_hold_a_time_is_a_clear_error():
    with pytest.raises(ValueError, match="missing"):
        from_ms(None)  # what a damaged NOT NULL column would give


def test_a_null_in_a_nullable_column_is_no_time():
    assert from_ms_or_none(None) is None
