"""S1: the estimate before start: targets and skips, segments, cost, duration, bundle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core import settings
from core.campaigns import campaigns, estimate, fields, lifecycle, quiet_hours
from core.clock import FakeClock
from core.db import Database
from core.errors import NotAllowed
from core.people import tags
from core.people.authz import SYSTEM
from core.sms import consent
from tests.core.conftest import (
    CARL_LANDLINE,
    DEFAULT_NUMBER,
    DORA_MOBILE,
    ERIN_MOBILE,
    Team,
)
from tests.core.test_campaigns import add_target, campaigner

NEW_YORK = ZoneInfo("America/New_York")


async def _notice_sent(db: Database, *phones: str) -> None:
    async with db.transaction() as tx:
        for phone in phones:
            await consent.take_notice_in(tx, phone)


async def test_segments_use_the_longest_values_and_the_opt_out_line(
    db: Database, team: Team
) -> None:
    # "Hi " + name + 145 x: Dora Lindqvist (14) makes 162 characters, two parts;
    # Erin Tanaka (11) 159, one part. Erin's first SMS carries the opt-out line.
    made = await campaigns.create(
        db, team.dana, "Spring", DEFAULT_NUMBER, "Hi {{name}}" + "x" * 145
    )
    await add_target(db, made.id, team.dora.id, DORA_MOBILE)
    await add_target(db, made.id, team.erin.id, ERIN_MOBILE)
    await _notice_sent(db, DORA_MOBILE)
    found = await estimate.estimate(db, team.dana, made.id)
    assert (found.targets, found.eligible) == (2, 2)
    assert found.segments_per_message == 2
    # "\nReply STOP to unsubscribe." takes Erin's to 186: two parts as well.
    assert found.total_segments == 4
    await _notice_sent(db, ERIN_MOBILE)
    found = await estimate.estimate(db, team.dana, made.id)
    assert (found.segments_per_message, found.total_segments) == (2, 3)
    # Within the declared limits a name could take 200 emoji: far more.
    assert found.segments_worst_case == 9


async def test_a_value_outside_gsm7_is_counted_as_itself(db: Database, team: Team) -> None:
    made = await campaigns.create(db, team.dana, "Spring", DEFAULT_NUMBER, "Hi")
    async with db.transaction() as tx:
        for phone, store in ((DORA_MOBILE, "Main St"), (ERIN_MOBILE, "Café ✓" + "y" * 70)):
            await tx.execute(
                "INSERT INTO campaign_targets (campaign_id, phone, merge_values, created_at,"
                " updated_at) VALUES (?, ?, json_object('store', ?), 0, 0)",
                (made.id, phone, store),
            )
    await _notice_sent(db, DORA_MOBILE, ERIN_MOBILE)
    # A CSV column is a field once the CSV is there.
    await campaigns.edit(db, team.dana, made.id, template="Hi {{store}}")
    found = await estimate.estimate(db, team.dana, made.id)
    # "Hi Café ✓yyy…": 79 characters with a check mark, UCS-2: two parts; Main St one.
    assert (found.segments_per_message, found.total_segments) == (2, 3)


async def test_a_value_dispatch_will_refuse_is_counted_as_one_not_refusing_the_estimate(
    db: Database, team: Team
) -> None:
    # A name saved before contacts refused control characters: skipped when due.
    await db.write("UPDATE contacts SET name = ? WHERE id = ?", ("Dora\x1b[31m", team.dora.id))
    made = await campaigns.create(
        db, team.dana, "Spring", DEFAULT_NUMBER, "Hi {{name}}" + "x" * 150
    )
    await add_target(db, made.id, team.dora.id, DORA_MOBILE)
    await add_target(db, made.id, team.erin.id, ERIN_MOBILE)
    await _notice_sent(db, DORA_MOBILE, ERIN_MOBILE)
    found = await estimate.estimate(db, team.dana, made.id)
    # Erin's text is 164 characters, two parts; Dora's counts as one.
    assert (found.eligible, found.segments_per_message, found.total_segments) == (2, 2, 3)


async def test_cost_duration_and_skipped_counts(db: Database, team: Team, clock: FakeClock) -> None:
    await settings.update(db, SYSTEM, cost_per_segment=0.05, currency="EUR")
    made = await campaigns.create(db, team.dana, "Spring", DEFAULT_NUMBER, "Hello", rate=0.01)
    await add_target(db, made.id, team.dora.id, DORA_MOBILE)
    await add_target(db, made.id, team.erin.id, ERIN_MOBILE)
    await add_target(db, made.id, team.carl.id, CARL_LANDLINE)
    await add_target(db, made.id, None, "+12125550150")  # a CSV row: checked at import
    await _notice_sent(db, DORA_MOBILE, ERIN_MOBILE)
    async with db.transaction() as tx:
        await consent.opt_out_in(tx, ERIN_MOBILE, keyword="STOP")
    found = await estimate.estimate(db, team.dana, made.id)
    assert (found.targets, found.opted_out, found.not_mobile, found.eligible) == (4, 1, 1, 2)
    # The CSV row's first SMS carries the opt-out line: 33 characters, one part.
    assert (found.total_segments, found.currency) == (2, "EUR")
    assert found.cost == pytest.approx(0.10)
    assert found.sending_seconds == pytest.approx(200)
    assert found.starts_at == clock.now()
    # 09:00 UTC is 04:00 in New York, where both are: sending starts at its 08:00.
    assert found.finishes_at == datetime(2026, 1, 5, 8, 3, 20, tzinfo=NEW_YORK)
    assert found.warnings == ()


async def test_start_shows_the_estimate_it_would_have_shown_before(
    db: Database, team: Team, clock: FakeClock
) -> None:
    # Start skips the opted-out and non-mobile targets first and estimates what is
    # left: its estimate is the one `campaigns estimate` gave just before, and the
    # skipped targets say why.
    made = await campaigns.create(db, team.dana, "Spring", DEFAULT_NUMBER, "Hello", rate=0.01)
    await add_target(db, made.id, team.dora.id, DORA_MOBILE)
    await add_target(db, made.id, team.erin.id, ERIN_MOBILE)
    await add_target(db, made.id, team.carl.id, CARL_LANDLINE)
    await add_target(db, made.id, None, "+12125550150")
    await _notice_sent(db, DORA_MOBILE)
    async with db.transaction() as tx:
        await consent.opt_out_in(tx, ERIN_MOBILE, keyword="STOP")
    before = await estimate.estimate(db, team.dana, made.id)
    started = await lifecycle.start(db, team.dana, made.id, confirm=True)
    assert started.estimate == before
    assert (before.targets, before.opted_out, before.not_mobile, before.eligible) == (4, 1, 1, 2)
    rows = await db.fetchall(
        "SELECT phone, state, reason FROM campaign_targets WHERE campaign_id = ? ORDER BY phone",
        (made.id,),
    )
    assert {r["phone"]: (r["state"], r["reason"]) for r in rows} == {
        DORA_MOBILE: ("programmed", None),
        ERIN_MOBILE: ("skipped", lifecycle.OPTED_OUT),
        CARL_LANDLINE: ("skipped", lifecycle.NOT_MOBILE),
        "+12125550150": ("programmed", None),
    }


async def test_the_duration_stops_for_the_night_in_the_recipients_zone(
    db: Database, team: Team, clock: FakeClock
) -> None:
    # The account's zone is UTC; Dora and Erin are in New York, whose window is the one
    # that holds (08:00-21:00 UTC would be open at 01:00 UTC, and closed at 23:00 NY).
    made = await campaigns.create(
        db, team.dana, "Spring", DEFAULT_NUMBER, "Hello", rate=0.0004, window="08:00-21:00"
    )
    await add_target(db, made.id, team.dora.id, DORA_MOBILE)
    await add_target(db, made.id, team.erin.id, ERIN_MOBILE)
    await _notice_sent(db, DORA_MOBILE, ERIN_MOBILE)
    # Monday 2026-01-05 20:00 in New York: 2 segments at 0.0004/s are 5,000 s; one hour
    # goes tonight, the remaining 1,400 s after 08:00 on Tuesday.
    clock.set(datetime(2026, 1, 6, 1, 0, tzinfo=UTC))
    found = await estimate.estimate(db, team.dana, made.id)
    assert found.finishes_at == datetime(2026, 1, 6, 8, 23, 20, tzinfo=NEW_YORK)
    # Asked at night, sending starts when the window opens.
    found = await estimate.estimate(
        db, team.dana, made.id, at=datetime(2026, 1, 6, 23, 0, tzinfo=NEW_YORK)
    )
    assert found.finishes_at == datetime(2026, 1, 7, 9, 23, 20, tzinfo=NEW_YORK)
    assert "done about 2026-01-07 14:23 (UTC)" in "\n".join(estimate.describe(found))
    # Two segments at one a year: past how far the finish is followed.
    await campaigns.edit(db, team.dana, made.id, rate=2 / (366 * 86_400))
    found = await estimate.estimate(db, team.dana, made.id)
    assert found.finishes_at is None
    assert estimate.describe(found)[3].endswith(", not done within a year")


async def test_each_zone_sends_in_its_own_window_and_unplaced_numbers_are_skipped(
    db: Database, team: Team, clock: FakeClock
) -> None:
    # One segment an hour. At 13:00 UTC New York (08:00) is open and Los Angeles (05:00)
    # is not: New York's two hours end at 15:00, Los Angeles' hour goes from its 08:00
    # (16:00 UTC) to 17:00 UTC. A number placed in no zone is skipped when the campaign
    # skips those, and not counted in what is sent.
    made = await campaigns.create(
        db, team.dana, "Spring", DEFAULT_NUMBER, "Hello", rate=1 / 3600, unknown_zone="skip"
    )
    await add_target(db, made.id, team.dora.id, DORA_MOBILE)
    await add_target(db, made.id, team.erin.id, ERIN_MOBILE)
    await add_target(db, made.id, None, "+14155550150")  # San Francisco
    await add_target(db, made.id, None, "+447700900123")  # placed nowhere
    await _notice_sent(db, DORA_MOBILE, ERIN_MOBILE, "+14155550150", "+447700900123")
    clock.set(datetime(2026, 1, 6, 13, 0, tzinfo=UTC))
    found = await estimate.estimate(db, team.dana, made.id)
    assert (found.targets, found.no_sending_time, found.eligible) == (4, 1, 3)
    assert (found.total_segments, found.sending_seconds) == (3, pytest.approx(3 * 3600))
    assert found.finishes_at == datetime(2026, 1, 6, 17, 0, tzinfo=UTC)
    assert found.to_dict()["no_sending_time"] == 1
    assert estimate.describe(found)[1] == (
        "skipped when due: 1 whose time zone is unknown (the campaign skips those) or never"
        " inside the window"
    )
    # With the account's zone for it instead, it is sent in UTC's window: 13:00-16:00.
    await campaigns.edit(db, team.dana, made.id, unknown_zone="account")
    found = await estimate.estimate(db, team.dana, made.id)
    assert (found.no_sending_time, found.eligible) == (0, 4)
    # New York and the unplaced number share 13:00-16:00 (three hours for their three
    # segments), then Los Angeles' hour.
    assert found.finishes_at == datetime(2026, 1, 6, 17, 0, tzinfo=UTC)


def test_sets_open_at_once_share_the_rate_until_one_closes() -> None:
    # From 00:00 UTC New York (19:00) has two hours of sending, Los Angeles (16:00) one:
    # sharing until New York closes at 02:00 UTC, each has a third left. Los Angeles ends
    # at 02:20; New York's last 40 minutes wait for its 08:00 (13:00 UTC).
    ends = quiet_hours.sending_ends(
        datetime(2026, 1, 6, 0, 0, tzinfo=UTC),
        {("America/New_York",): 2 * 3600, ("America/Los_Angeles",): 3600},
        quiet_hours.DEFAULT_WINDOW,
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert ends == datetime(2026, 1, 6, 13, 40, tzinfo=UTC)


def test_finish_across_a_daylight_saving_day() -> None:
    # 2026-03-08: New York's clocks jump from 02:00 to 03:00. A window 01:00-04:00 is
    # two hours long that night: four hours of sending end at 03:00 the next night.
    start = datetime(2026, 3, 8, 1, 0, tzinfo=NEW_YORK)
    window = quiet_hours.Window(60, 240)
    limit = start + timedelta(days=estimate.MAX_DAYS)
    zones = ("America/New_York",)
    assert quiet_hours.sending_ends(start, {zones: 4 * 3600}, window, limit) == datetime(
        2026, 3, 9, 3, 0, tzinfo=NEW_YORK
    )
    assert quiet_hours.sending_ends(start, {zones: 10**12}, window, limit) is None
    # Zones whose windows never meet: never.
    apart = ("America/New_York", "Asia/Tokyo")
    assert quiet_hours.sending_ends(start, {apart: 60}, window, limit) is None


async def test_bundle_warnings(db: Database, team: Team) -> None:
    made = await campaigns.create(db, team.dana, "Spring", DEFAULT_NUMBER, "Hello")
    await add_target(db, made.id, team.dora.id, DORA_MOBILE)
    await add_target(db, made.id, team.erin.id, ERIN_MOBILE)
    await _notice_sent(db, DORA_MOBILE, ERIN_MOBILE)
    assert (await estimate.estimate(db, team.dana, made.id)).warnings == ()
    await settings.update(db, SYSTEM, bundle_segments=10, bundle_warn_percent=80)
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO bundle_usage (month, segments) VALUES ('2026-01', 5)")
    assert (await estimate.estimate(db, team.dana, made.id)).warnings == ()
    await db.write("UPDATE bundle_usage SET segments = 6")
    found = await estimate.estimate(db, team.dana, made.id)
    assert found.warnings == (
        "this campaign's 2 segments would take this month's bundle from 6 to 8 of 10"
        " segments (80 %), past the warning at 80 %",
    )
    await db.write("UPDATE bundle_usage SET segments = 9")
    found = await estimate.estimate(db, team.dana, made.id)
    assert (found.bundle_used, found.bundle_after, found.bundle_segments) == (9, 11, 10)
    assert found.warnings == (
        "this campaign's 2 segments would take this month's bundle from 9 to 11 of 10"
        " segments (110 %): 1 over, sent and billed beyond the bundle",
    )
    await settings.update(db, SYSTEM, bundle_when_full="hold")
    (warning,) = (await estimate.estimate(db, team.dana, made.id)).warnings
    assert warning.endswith(
        "1 over. With bundle_when_full=hold, the rest (about 1 segment) would be held until"
        " the month turns or the bundle grows"
    )


async def test_many_targets_make_few_distinct_texts(db: Database, team: Team) -> None:
    made = await campaigns.create(
        db, team.dana, "Spring", DEFAULT_NUMBER, "Hi {{phone}} {{first_name}}"
    )
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO campaign_targets (campaign_id, phone, merge_values, created_at,"
            " updated_at) VALUES (?, ?, json_object('first_name', ?), 0, 0)",
            [(made.id, f"+1212555{n:04d}", f"Name{n % 7}") for n in range(3000)],
        )
    found = await estimate.estimate(db, team.dana, made.id)
    # One of them is Carl's landline: a contact's phone kind counts for a CSV row too.
    assert (found.eligible, found.not_mobile) == (2999, 1)
    assert (found.total_segments, found.segments_per_message) == (2999, 1)
    lines = estimate.describe(found)
    assert lines[0] == (
        "targets: 3,000 (0 opted out and 1 not mobile will be skipped): 2,999 messages"
    )


async def test_the_estimate_needs_the_campaign_visible(db: Database, team: Team) -> None:
    made = await campaigns.create(db, team.dana, "Spring", DEFAULT_NUMBER, "Hello")
    pat = await campaigner(db, "pat")
    with pytest.raises(NotAllowed, match="the campaign is not one of permission profile"):
        await estimate.estimate(db, pat, made.id)


async def test_a_drafts_live_filter_is_counted_and_made_into_targets_only_at_start(
    db: Database, team: Team
) -> None:
    assert team.dora.id is not None
    await tags.tag(db, SYSTEM, team.dora.id, ["spring"])
    made = await campaigns.create(
        db, team.dana, "Spring", DEFAULT_NUMBER, "Hello", filter="tag=spring"
    )
    found = await estimate.estimate(db, team.dana, made.id)
    assert (found.targets, found.eligible) == (1, 1)
    assert await db.scalar("SELECT count(*) FROM campaign_targets") == 0
    await lifecycle.start(db, team.dana, made.id)
    rows = await db.fetchall("SELECT phone, state FROM campaign_targets")
    assert [tuple(r) for r in rows] == [(DORA_MOBILE, "programmed")]


async def test_targets_are_counted_a_page_at_a_time_in_either_state(
    db: Database, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(estimate, "_PAGE", 7)
    made = await campaigns.create(db, team.dana, "Spring", DEFAULT_NUMBER, "Hi {{first_name}}")
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO campaign_targets (campaign_id, phone, merge_values, state, due_at,"
            " created_at, updated_at) VALUES (?, ?, json_object('first_name', ?), ?, ?, 0, 0)",
            [
                (made.id, f"+1212559{n:04d}", "N" * (200 if n == 49 else 3), *state)
                for n in range(50)
                for state in [("programmed", 1) if n % 3 else ("waiting", None)]
            ],
        )
    found = await estimate.estimate(db, team.dana, made.id)
    # Every target once, whichever page and state it is in; the last one needs 2 parts.
    assert (found.eligible, found.segments_per_message, found.total_segments) == (50, 2, 51)


async def test_an_estimate_stopped_part_way_leaves_no_read_behind(
    db: Database, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The next page is read while one is counted: an error while counting drops the
    # read ahead, and the database goes on as before (the start's transaction too).
    monkeypatch.setattr(estimate, "_PAGE", 2)
    made = await campaigns.create(db, team.dana, "Spring", DEFAULT_NUMBER, "Hi {{first_name}}")
    for n in range(5):
        await add_target(db, made.id, None, f"+1212559{n:04d}")
    real = fields.Reader.values
    calls = 0

    def breaks_on_the_third(self: fields.Reader, *args: object) -> dict[str, str]:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("broken")
        return real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(fields.Reader, "values", breaks_on_the_third)
    with pytest.raises(RuntimeError, match="broken"):
        await estimate.estimate(db, team.dana, made.id)
    calls = 2
    with pytest.raises(RuntimeError, match="broken"):
        await lifecycle.start(db, team.dana, made.id, confirm=True)
    monkeypatch.setattr(fields.Reader, "values", real)
    assert (await estimate.estimate(db, team.dana, made.id)).eligible == 5
    started = await lifecycle.start(db, team.dana, made.id, confirm=True)
    assert started.estimate.eligible == 5
