"""Settings: every value is checked against its declared rule, and stored values never crash."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from core import settings
from core.account_zone import account_zone
from core.db import Database
from core.errors import InvalidInput
from core.people.authz import SYSTEM
from core.settings import Settings


async def _stored(db: Database) -> dict[str, str]:
    return {r["key"]: r["value"] for r in await db.fetchall("SELECT key, value FROM settings")}


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "retry_base_seconds",
            "nan",
            "retry_base_seconds must be a finite number between 0.1 and 3600, not nan",
        ),
        ("retry_base_seconds", float("nan"), "not NaN"),
        ("rate_segments_per_second", "inf", "must be a finite number between 0.01 and"),
        ("rate_segments_per_second", "-inf", "not -inf"),
        ("rate_segments_per_second", 0, "between 0.01 and 1000000000, not 0"),
        ("sandbox_delivery_seconds", "-1", "between 0 and 3600, not -1"),
        ("cost_per_segment", "-0.01", "cost_per_segment must be a finite number"),
        ("cost_per_segment", "1e999", "not 1e999"),
        ("max_attempts", "0", "max_attempts must be a whole number between 1 and 100, not 0"),
        ("max_attempts", "2.5", "not 2.5"),
        ("max_attempts", True, "not true"),
        ("max_attempts", "9" * 5000, "max_attempts must be a whole number"),
        ("max_message_parts", "1000", "between 1 and 255"),
        ("public_minutes", "", "not an empty value"),
        ("mms_max_bytes", 10**400, "mms_max_bytes must be a whole number"),
        ("retry_max_seconds", "1e9", "between 0.1 and 86400"),
        ("default_region", "XX", "default_region must be a region code"),
        ("default_region", "", "default_region must be a region code"),
        ("currency", "dollars", "currency must be a three-letter ISO 4217 currency code"),
        ("optout_reply", "   ", "optout_reply cannot be empty"),
        ("help_reply", "x" * 641, "help_reply must be at most 640 characters"),
        ("optin_reply", "bad \udcff bytes", "optin_reply must be valid UTF-8"),
        ("optout_notice", "ring\x07", "optout_notice holds a control character (U+0007)"),
        ("optout_keywords", "START", "optout_keywords cannot hold 'START'"),
        ("help_keywords", "stop", "help_keywords cannot hold 'stop'"),
        ("optin_keywords", "!!!", "no letters or digits"),
        ("optin_keywords", "A" * 41, "a keyword is at most 40 characters"),
        ("optout_keywords", ",".join(f"W{i}" for i in range(51)), "at most 50 keywords"),
        ("optout_keywords", 7, "comma-separated list of words"),
    ],
)
async def test_a_value_that_breaks_its_rule_is_refused_naming_it(
    db: Database, name: str, value: Any, message: str
) -> None:
    before = await _stored(db)
    with pytest.raises(InvalidInput) as refused:
        await settings.update(db, SYSTEM, **{name: value})
    assert message in str(refused.value)
    assert await _stored(db) == before


async def test_retry_max_cannot_be_below_retry_base(db: Database) -> None:
    with pytest.raises(InvalidInput, match=r"retry_max_seconds \(3\) cannot be less than"):
        await settings.update(db, SYSTEM, retry_max_seconds=3)
    saved = await settings.update(db, SYSTEM, retry_base_seconds=2, retry_max_seconds=3)
    assert (saved.retry_base_seconds, saved.retry_max_seconds) == (2.0, 3.0)


async def test_good_values_are_stored_in_their_plain_form(db: Database) -> None:
    saved = await settings.update(
        db,
        SYSTEM,
        default_region="gb",
        currency=" eur ",
        max_attempts="3",
        public_minutes=" 15 ",
        retry_base_seconds="0.5",
        optout_keywords=" arret ,, opt   out , ARRET ",
        optout_reply="  Bye.  ",
    )
    assert saved.default_region == "GB"
    assert saved.currency == "EUR"
    assert (saved.max_attempts, saved.public_minutes, saved.retry_base_seconds) == (3, 15, 0.5)
    assert saved.optout_keywords == ("arret", "opt out", "ARRET")
    assert saved.optout_reply == "Bye."
    assert await settings.load(db) == saved


async def test_an_empty_keyword_list_is_allowed_and_the_ctia_ones_stay(db: Database) -> None:
    saved = await settings.update(db, SYSTEM, optout_keywords=" , ", optin_keywords="")
    assert saved.optout_keywords == ()
    assert saved.all_optout_keywords == ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT")
    assert saved.all_optin_keywords == ("START", "UNSTOP")


async def test_demo_is_not_a_setting(db: Database) -> None:
    with pytest.raises(InvalidInput, match="unknown setting demo"):
        await settings.update(db, SYSTEM, demo=True)
    assert "demo" not in settings.SETTING_NAMES
    assert await _stored(db) == {}


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("max_attempts", json.dumps("many")),
        ("max_attempts", "0"),
        ("retry_base_seconds", "NaN"),
        ("rate_segments_per_second", "-5"),
        ("default_region", json.dumps("ZZ")),
        ("optout_reply", json.dumps("bad \udcff reply")),
        ("optout_reply", json.dumps("")),
        ("optout_keywords", json.dumps({"not": "a list"})),
        ("public_minutes", "not json at all"),
        ("public_minutes", "null"),
    ],
)
async def test_a_stored_value_that_breaks_its_rule_reads_as_the_default(
    db: Database, caplog: pytest.LogCaptureFixture, name: str, raw: str
) -> None:
    # As an older version, or someone with the sqlite3 shell, may have left it.
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO settings (key, value) VALUES (?, ?)", (name, raw))
        await tx.execute("INSERT INTO settings (key, value) VALUES ('demo', 'true')")
        await tx.execute("INSERT INTO settings (key, value) VALUES ('public_minutes2', '1')")
    with caplog.at_level(logging.WARNING, logger="core.settings"):
        loaded = await settings.load(db)
    assert getattr(loaded, name) == getattr(Settings(), name)
    assert f"stored setting {name} is unusable" in caplog.text
    # The rest still loads, and a good value can be saved over the bad one.
    saved = await settings.update(db, SYSTEM, **{name: getattr(Settings(), name)})
    assert saved == Settings()


async def test_stored_retry_bounds_that_disagree_read_as_the_defaults(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO settings (key, value) VALUES ('retry_base_seconds', '60')")
        await tx.execute("INSERT INTO settings (key, value) VALUES ('retry_max_seconds', '10')")
        await tx.execute("INSERT INTO settings (key, value) VALUES ('max_attempts', '9')")
    with caplog.at_level(logging.WARNING, logger="core.settings"):
        loaded = await settings.load(db)
    assert (loaded.retry_base_seconds, loaded.retry_max_seconds) == (5.0, 600.0)
    assert loaded.max_attempts == 9
    assert "disagree" in caplog.text


def test_every_setting_has_a_rule_and_a_description() -> None:
    for name in settings.SETTING_NAMES:
        assert settings.describe(name)
        default = getattr(Settings(), name)
        assert settings.check(name, default) == default, name


@pytest.mark.parametrize(("given", "kept"), [("yes", True), ("off", False), (True, True)])
async def test_hipaa_mode_is_a_yes_or_no(db: Database, given: object, kept: bool) -> None:
    assert (await settings.update(db, SYSTEM, hipaa_mode=given)).hipaa_mode is kept


async def test_hipaa_mode_refuses_anything_but_yes_or_no(db: Database) -> None:
    with pytest.raises(InvalidInput, match="hipaa_mode must be yes or no"):
        await settings.update(db, SYSTEM, hipaa_mode="maybe")


async def test_the_account_zone_is_the_setting_and_utc_when_the_stored_value_is_not_one(
    db: Database,
) -> None:
    assert (await account_zone(db)).key == "UTC"  # nothing set
    await settings.update(db, SYSTEM, time_zone="America/New_York")
    assert (await account_zone(db)).key == "America/New_York"
    # Read without core.settings (`switchboard status` stays light), yet as leniently: a
    # value written behind its back counts as the default, as settings.load reads it.
    for stored in ('"Mars/Olympus"', '"../../etc/passwd"', "not json", "42", '""'):
        async with db.transaction() as tx:
            await tx.execute("UPDATE settings SET value = ? WHERE key = 'time_zone'", (stored,))
        assert (await account_zone(db)).key == "UTC", stored
