"""A1/A4 settings: alert switches, frequencies, the bundle; rules within and between them."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from core import settings
from core.db import Database
from core.errors import InvalidInput, NotAllowed
from core.people.authz import SYSTEM
from tests.core.conftest import Team


async def _store(db: Database, **values: Any) -> None:
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO settings (key, value) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [(k, json.dumps(v)) for k, v in values.items()],
        )


async def test_the_defaults_send_nothing_to_staff_and_have_no_bundle(db: Database) -> None:
    s = await settings.load(db)
    assert (s.staff_sms, s.mobile_alerts, s.alert_message_body) == (False, False, False)
    assert (s.alert_every_minutes, s.alert_reminders, s.alert_escalate_after) == (0, 0, 0)
    assert (s.time_zone, s.bundle_segments, s.bundle_warn_percent, s.bundle_when_full) == (
        "UTC",
        0,
        80,
        "warn",
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "alert_every_minutes",
            "45",
            "alert_every_minutes must be never or a whole number of minutes between 1 and 30,"
            " not 45",
        ),
        ("alert_every_minutes", "-1", "not -1"),
        ("alert_every_minutes", "2.5", "not 2.5"),
        ("alert_reminders", 6, "never or a whole number of reminders between 1 and 5, not 6"),
        ("alert_escalate_after", "soon", "between 1 and 5, not soon"),
        ("bundle_warn_percent", 0, "a whole number between 1 and 100, not 0"),
        ("bundle_segments", -5, "bundle_segments must be a whole number between 0 and"),
        ("bundle_when_full", "stop", "bundle_when_full must be one of warn, hold, not stop"),
        ("time_zone", "Mars/Olympus", "'Mars/Olympus' is not a time zone"),
        ("time_zone", "europe/paris", "did you mean 'Europe/Paris'?"),
        ("staff_sms", "maybe", "staff_sms must be yes or no"),
    ],
)
async def test_out_of_range_values_are_refused_naming_the_range(
    db: Database, name: str, value: Any, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message.replace("?", r"\?").replace("(", r"\(")):
        await settings.update(db, SYSTEM, **{name: value})
    assert await db.scalar("SELECT count(*) FROM settings") == 0


@pytest.mark.parametrize("never", ["never", "Never", " off ", 0, "0"])
async def test_never_is_zero(db: Database, never: Any) -> None:
    await settings.update(db, SYSTEM, alert_every_minutes=5)
    changed = await settings.update(db, SYSTEM, alert_every_minutes=never)
    assert changed.alert_every_minutes == 0


async def test_mobile_alerts_are_refused_while_system_sms_to_staff_is_off(db: Database) -> None:
    with pytest.raises(InvalidInput, match=r"mobile_alerts cannot be on while staff_sms"):
        await settings.update(db, SYSTEM, mobile_alerts=True)
    both = await settings.update(db, SYSTEM, staff_sms=True, mobile_alerts=True)
    assert (both.staff_sms, both.mobile_alerts) == (True, True)
    # Turning system SMS off under mobile alerts is refused too, naming the same rule...
    with pytest.raises(InvalidInput, match=r"turn both off together"):
        await settings.update(db, SYSTEM, staff_sms=False)
    assert (await settings.load(db)).staff_sms is True
    # ...and both at once is fine.
    off = await settings.update(db, SYSTEM, staff_sms="off", mobile_alerts="off")
    assert (off.staff_sms, off.mobile_alerts) == (False, False)


@pytest.mark.parametrize("name", ["alert_reminders", "alert_escalate_after"])
async def test_reminders_and_escalation_need_a_frequency(db: Database, name: str) -> None:
    with pytest.raises(InvalidInput, match=rf"{name} \(2\) needs alert_every_minutes"):
        await settings.update(db, SYSTEM, **{name: 2})
    done = await settings.update(db, SYSTEM, alert_every_minutes=5, **{name: 2})
    assert getattr(done, name) == 2
    with pytest.raises(InvalidInput, match=rf"{name} \(2\) needs alert_every_minutes"):
        await settings.update(db, SYSTEM, alert_every_minutes="never")


async def test_the_message_body_never_goes_in_hipaa_mode(db: Database) -> None:
    on = await settings.update(db, SYSTEM, alert_message_body=True)
    assert on.alerts_carry_body
    hipaa = await settings.update(db, SYSTEM, hipaa_mode=True)
    assert hipaa.alert_message_body
    assert not hipaa.alerts_carry_body


async def test_only_a_settings_manager_changes_them(db: Database, team: Team) -> None:
    with pytest.raises(NotAllowed, match="manage_settings"):
        await settings.update(db, team.alice, staff_sms=True)
    assert (await settings.update(db, team.dana, staff_sms=True)).staff_sms


async def test_a_stored_set_that_disagrees_falls_back_and_logs(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    await _store(
        db,
        staff_sms=False,
        mobile_alerts=True,
        alert_every_minutes=0,
        alert_reminders=3,
        alert_escalate_after=2,
        bundle_segments=1000,
    )
    with caplog.at_level(logging.WARNING, logger="core.settings"):
        loaded = await settings.load(db)
    assert (loaded.mobile_alerts, loaded.alert_reminders, loaded.alert_escalate_after) == (
        False,
        0,
        0,
    )
    assert loaded.bundle_segments == 1000  # agrees with everything: kept
    logged = caplog.text
    assert "using the defaults of mobile_alerts" in logged
    assert "using the defaults of alert_reminders" in logged


async def test_a_stored_value_out_of_range_is_the_default(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    await _store(db, alert_every_minutes=45, bundle_when_full="explode", time_zone="Nowhere")
    with caplog.at_level(logging.WARNING, logger="core.settings"):
        loaded = await settings.load(db)
    assert (loaded.alert_every_minutes, loaded.bundle_when_full, loaded.time_zone) == (
        0,
        "warn",
        "UTC",
    )


def test_every_new_setting_describes_what_it_accepts() -> None:
    assert settings.describe("alert_every_minutes") == (
        "never or a whole number of minutes between 1 and 30"
    )
    assert settings.describe("bundle_when_full") == "one of warn, hold"
    assert "IANA" in settings.describe("time_zone")
    assert settings.describe("bundle_segments").startswith("0 for no bundle")
