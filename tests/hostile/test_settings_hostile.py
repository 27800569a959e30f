"""Hostile values for `switchboard settings set` (issue #8, items 6 and 7).

Each refusal is one line on stderr naming the rule, exit 1, no traceback, and
the settings are exactly what they were.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.hostile.conftest import Run
from tests.processes import refused


def _stored(db_file: Path) -> list[tuple[str, str]]:
    with closing(sqlite3.connect(db_file)) as conn:
        return conn.execute("SELECT key, value FROM settings ORDER BY key").fetchall()


@pytest.mark.parametrize(
    ("name", "value", "fragments"),
    [
        (
            "retry_base_seconds",
            "nan",
            ("retry_base_seconds must be a finite number between 0.1 and 3600, not nan",),
        ),
        ("rate_segments_per_second", "inf", ("rate_segments_per_second", "not inf")),
        # Negative numbers need no "--": the rule, not the option parser, answers.
        ("sandbox_delivery_seconds", "-1", ("between 0 and 3600, not -1",)),
        ("cost_per_segment", "-0.5", ("cost_per_segment", "not -0.5")),
        ("max_attempts", "0", ("max_attempts must be a whole number between 1 and 100, not 0",)),
        ("max_attempts", "-3", ("not -3",)),
        ("max_message_parts", "99999999999999999999999", ("between 1 and 255",)),
        ("public_minutes", "1e400", ("public_minutes must be a whole number",)),
        ("default_region", "Narnia", ("default_region must be a region code", "Narnia")),
        ("currency", "€", ("currency must be a three-letter ISO 4217 currency code",)),
        ("optout_reply", "   ", ("optout_reply cannot be empty",)),
        ("help_reply", "", ("help_reply cannot be empty",)),
        ("optout_notice", "x" * 5000, ("optout_notice must be at most 640 characters",)),
        ("optout_keywords", "START", ("optout_keywords cannot hold 'START'",)),
        ("optin_keywords", "?!", ("no letters or digits",)),
        ("demo", "true", ("unknown setting demo",)),
        ("nonsense", "1", ("unknown setting nonsense",)),
    ],
)
def test_a_value_that_breaks_its_rule_is_refused_and_nothing_changes(
    sb: Run, db_file: Path, name: str, value: str, fragments: tuple[str, ...]
):
    assert sb("settings", "set", "public_minutes", "30").returncode == 0
    before = _stored(db_file)
    refused(sb("settings", "set", name, value), *fragments)
    assert _stored(db_file) == before


def test_a_value_that_is_not_utf8_is_refused(sb: Run, db_file: Path):
    assert sb("settings", "set", "public_minutes", "30").returncode == 0
    before = _stored(db_file)
    result = sb("settings", "set", "optout_reply", "bye \udcff")
    # Caught by the command line's argument check (exit 2), or by the setting's rule (exit 1).
    assert result.returncode in (1, 2), result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "UTF-8" in result.stderr
    assert _stored(db_file) == before


def test_a_real_database_cannot_become_a_demo_one(sb: Run, tmp_path: Path, db_file: Path):
    assert sb("agents", "add", "alice").returncode == 0
    refused(sb("settings", "set", "demo", "yes"), "unknown setting demo")
    # So --as stays refused, and nothing was marked.
    refused(sb("--as", "alice"), "--as works only on a demo database")
    with closing(sqlite3.connect(db_file)) as conn:
        assert conn.execute("SELECT count(*) FROM demo_marker").fetchone()[0] == 0


def test_stored_values_that_break_their_rules_do_not_stop_the_commands(sb: Run, db_file: Path):
    assert sb("agents", "add", "alice").returncode == 0
    with closing(sqlite3.connect(db_file)) as conn:
        conn.executemany(
            "INSERT INTO settings (key, value) VALUES (?, ?)",
            [("max_attempts", "-7"), ("default_region", '"??"'), ("optout_reply", "garbage")],
        )
        conn.commit()
    listed = sb("settings", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    values = json.loads(listed.stdout)
    assert (values["max_attempts"], values["default_region"]) == (5, "US")
    assert values["optout_reply"].startswith("You are unsubscribed")
    assert "stored setting max_attempts is unusable" in listed.stderr
    assert "Traceback" not in listed.stderr
    assert sb("settings", "set", "max_attempts", "4").returncode == 0


def test_settings_list_shows_the_keywords_that_are_always_on(sb: Run):
    assert sb("settings", "set", "optout_keywords", "ARRET").returncode == 0
    shown = sb("settings", "list").stdout
    line = next(x for x in shown.splitlines() if x.startswith("optout_keywords"))
    assert "always on: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT; added: ARRET" in line
    listed = json.loads(sb("settings", "list", "--json").stdout)
    assert listed["optout_keywords"] == ["ARRET"]
    assert listed["always_on_keywords"]["optin_keywords"] == ["START", "UNSTOP"]
