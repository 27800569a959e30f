"""Quiet hours in the recipient's local time, from the number: one zone, several, unknown,
and days when the clocks change (New York and London)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.campaigns import quiet_hours as q
from core.campaigns.quiet_hours import DEFAULT_WINDOW, Window
from core.clock import to_ms

NEW_YORK = "+12125550110"
IDAHO = "+12085550110"  # Boise (Mountain) or Los Angeles (Pacific)
AUSTRALIAN_MOBILE = "+61412345678"  # any of eight zones, Christmas Island to Lord Howe
UNPLACED = "+447700900123"  # a UK drama number: phonenumbers places it nowhere
LONDON = "+442071234567"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_number_s_zones() -> None:
    assert q.zones_of(NEW_YORK) == ("America/New_York",)
    assert q.zones_of(IDAHO) == ("America/Boise", "America/Los_Angeles")
    assert len(q.zones_of(AUSTRALIAN_MOBILE)) == 8
    assert q.zones_of(UNPLACED) == (q.UNKNOWN_ZONE,)
    assert q.zones_of(LONDON) == ("Europe/London",)


@pytest.mark.parametrize(
    ("at", "inside"),
    [
        (utc(2026, 1, 5, 12, 59), False),  # 7:59 EST
        (utc(2026, 1, 5, 13, 0), True),  # 8:00
        (utc(2026, 1, 6, 1, 59), True),  # 20:59
        (utc(2026, 1, 6, 2, 0), False),  # 21:00: the end is outside
    ],
)
def test_one_zone_window_is_start_inclusive_end_exclusive(at: datetime, inside: bool) -> None:
    assert q.allowed(NEW_YORK, at, DEFAULT_WINDOW, q.ACCOUNT, "UTC") is inside


def test_the_next_opening_in_one_zone() -> None:
    assert q.next_opening(NEW_YORK, utc(2026, 1, 6, 2, 0), DEFAULT_WINDOW, q.ACCOUNT, "UTC") == (
        utc(2026, 1, 6, 13, 0)
    )
    inside = utc(2026, 1, 5, 15, 30)
    assert q.next_opening(NEW_YORK, inside, DEFAULT_WINDOW, q.ACCOUNT, "UTC") == inside


def test_several_zones_must_all_be_inside() -> None:
    # 8:00 in Boise is 7:00 in Los Angeles: the number waits for Los Angeles.
    assert not q.allowed(IDAHO, utc(2026, 1, 5, 15, 0), DEFAULT_WINDOW, q.ACCOUNT, "UTC")
    assert q.next_opening(IDAHO, utc(2026, 1, 5, 15, 0), DEFAULT_WINDOW, q.ACCOUNT, "UTC") == (
        utc(2026, 1, 5, 16, 0)
    )
    # 21:00 in Boise while Los Angeles is at 20:00: Boise closes it.
    assert q.allowed(IDAHO, utc(2026, 1, 6, 3, 59), DEFAULT_WINDOW, q.ACCOUNT, "UTC")
    assert not q.allowed(IDAHO, utc(2026, 1, 6, 4, 0), DEFAULT_WINDOW, q.ACCOUNT, "UTC")
    # Eight Australian zones (January: Lord Howe +11, Cocos +6:30) meet from 01:30 to 10:00 UTC.
    at = utc(2026, 1, 5, 0, 0)
    assert q.next_opening(AUSTRALIAN_MOBILE, at, DEFAULT_WINDOW, q.ACCOUNT, "UTC") == (
        utc(2026, 1, 5, 1, 30)
    )
    assert not q.allowed(AUSTRALIAN_MOBILE, utc(2026, 1, 5, 10, 0), DEFAULT_WINDOW, "skip", "UTC")


def test_zones_whose_windows_never_meet() -> None:
    one_hour = Window(8 * 60, 9 * 60)
    assert (
        q.next_opening_in(("America/New_York", "America/Los_Angeles"), utc(2026, 1, 5), one_hour)
        is None
    )
    planner = q.Planner(one_hour, q.ACCOUNT, "UTC", utc(2026, 1, 5))
    assert planner.when(IDAHO) == q.Skip(q.NEVER_OPEN)
    assert q.next_opening_in(("UTC",), utc(2026, 1, 5), Window(600, 600)) is None


def test_an_unknown_zone_follows_the_campaign_setting() -> None:
    at = utc(2026, 1, 5, 7, 0)  # 8:00 in Paris, 7:00 in London
    assert q.allowed(UNPLACED, at, DEFAULT_WINDOW, q.ACCOUNT, "Europe/Paris")
    assert not q.allowed(UNPLACED, at, DEFAULT_WINDOW, q.ACCOUNT, "Europe/London")
    assert q.next_opening(UNPLACED, at, DEFAULT_WINDOW, q.ACCOUNT, "Europe/London") == (
        utc(2026, 1, 5, 8, 0)
    )
    assert not q.allowed(UNPLACED, at, DEFAULT_WINDOW, q.SKIP, "Europe/Paris")
    assert q.next_opening(UNPLACED, at, DEFAULT_WINDOW, q.SKIP, "Europe/Paris") is None
    assert q.Planner(DEFAULT_WINDOW, q.SKIP, "UTC", at).when(UNPLACED) == q.Skip(q.UNKNOWN_SKIPPED)


def test_new_york_spring_forward() -> None:
    # 8 March 2026: 2:00 EST becomes 3:00 EDT. 21:00 EST on the 7th is 02:00 UTC on the 8th;
    # the next 8:00 is EDT, 12:00 UTC (a day earlier it was 13:00 UTC).
    assert q.next_opening(NEW_YORK, utc(2026, 3, 7, 3), DEFAULT_WINDOW, q.ACCOUNT, "UTC") == (
        utc(2026, 3, 7, 13, 0)
    )
    assert q.next_opening(NEW_YORK, utc(2026, 3, 8, 2), DEFAULT_WINDOW, q.ACCOUNT, "UTC") == (
        utc(2026, 3, 8, 12, 0)
    )
    # A window opening at 2:30, a time that day never shows: it opens when the clock
    # first reads past it, 3:00 EDT.
    early = Window(150, 600)
    assert q.next_opening_in(("America/New_York",), utc(2026, 3, 8, 5), early) == utc(2026, 3, 8, 7)


def test_new_york_fall_back_counts_both_passes_of_the_repeated_hour() -> None:
    # 1 November 2026: 2:00 EDT becomes 1:00 EST; 1:30 comes twice.
    night = Window(22 * 60, 90)  # 22:00 to 1:30
    zones = ("America/New_York",)
    assert q.allowed_in(zones, utc(2026, 11, 1, 5, 20), night)  # 1:20 EDT
    assert q.allowed_in(zones, utc(2026, 11, 1, 6, 20), night)  # 1:20 EST, the second pass
    assert not q.allowed_in(zones, utc(2026, 11, 1, 6, 30), night)  # 1:30 EST
    assert q.next_opening_in(zones, utc(2026, 11, 1, 6, 30), night) == utc(2026, 11, 2, 3, 0)


def test_london_across_both_changes() -> None:
    # 29 March 2026: 1:00 GMT becomes 2:00 BST; 8:00 BST is 07:00 UTC.
    assert q.next_opening(LONDON, utc(2026, 3, 28, 21), DEFAULT_WINDOW, q.ACCOUNT, "UTC") == (
        utc(2026, 3, 29, 7, 0)
    )
    assert not q.allowed(LONDON, utc(2026, 3, 29, 20, 0), DEFAULT_WINDOW, q.ACCOUNT, "UTC")
    # 25 October 2026: back to GMT; 8:00 is 08:00 UTC again, and 21:00 BST on the 24th is 20:00 UTC.
    assert q.allowed(LONDON, utc(2026, 10, 24, 19, 59), DEFAULT_WINDOW, q.ACCOUNT, "UTC")
    assert q.next_opening(LONDON, utc(2026, 10, 24, 20), DEFAULT_WINDOW, q.ACCOUNT, "UTC") == (
        utc(2026, 10, 25, 8, 0)
    )


def test_the_planner_answers_each_zone_set_once() -> None:
    planner = q.Planner(DEFAULT_WINDOW, q.ACCOUNT, "UTC", utc(2026, 1, 5, 12))
    assert planner.when(NEW_YORK) == utc(2026, 1, 5, 13)
    assert planner.when("+12125550199") == utc(2026, 1, 5, 13)
    assert planner.when(LONDON) == utc(2026, 1, 5, 12)


def test_the_planner_s_due_times_in_ms_are_its_answers() -> None:
    at = utc(2026, 1, 5, 12)
    for unknown in (q.ACCOUNT, q.SKIP):
        planner = q.Planner(DEFAULT_WINDOW, unknown, "UTC", at)
        fresh = q.Planner(DEFAULT_WINDOW, unknown, "UTC", at)
        # Numbers of one prefix share an answer; the others each have their own.
        for phone in (NEW_YORK, "+12125550199", IDAHO, LONDON, UNPLACED, "+447700900124"):
            when = fresh.when(phone)
            expected = when if isinstance(when, q.Skip) else to_ms(when)
            assert planner.due_ms(phone) == expected
    planner = q.Planner(DEFAULT_WINDOW, q.SKIP, "UTC", at)
    assert planner.due_ms(NEW_YORK) == to_ms(utc(2026, 1, 5, 13))  # 8:00 in New York
    assert planner.due_ms(LONDON) == to_ms(at)  # open now
    assert planner.due_ms(UNPLACED) == q.Skip(q.UNKNOWN_SKIPPED)
