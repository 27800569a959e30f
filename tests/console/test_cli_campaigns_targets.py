"""`switchboard campaigns targets|pool|program|reprogram|back-to-pool|remove|moves` and
`switchboard contacts tag|untag`, run as a user runs them.

Contacts come in through `contacts import`; the campaign is written with SQL
(the schema is the contract; creating campaigns is another part's command).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from core.clock import to_ms
from tests.processes import ok, query, refused, switchboard

Run = Callable[..., CompletedProcess[str]]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "switchboard.sqlite3"


@pytest.fixture
def sb(tmp_path: Path, db: Path) -> Run:
    def run(*args: str | Path) -> CompletedProcess[str]:
        return switchboard(*args, db=db, home=tmp_path)

    return run


@pytest.fixture
def scene(tmp_path: Path, db: Path, sb: Run) -> Path:
    people = tmp_path / "people.csv"
    people.write_text(
        "name,mobile,landline,Region\n"
        "Ada Smith,+12125550170,,north\n"
        "Bo Jones,+12125550171,,south\n"
        "Cy Red,,+12125550172,north\n",
        encoding="utf-8",
    )
    ok(sb("contacts", "import", people))
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute(
            "INSERT INTO campaigns (name, sender, template, created_at, updated_at)"
            " VALUES ('Spring', '+14155550100', 'Hi {{first_name}}', 0, 0)"
        )
    finally:
        conn.close()
    return tmp_path


def test_tags_then_a_filter_then_the_pool_and_every_move(sb: Run, db: Path, scene: Path) -> None:
    assert ok(sb("contacts", "tag", "1", "VIP", "gold")).stdout == "contact 1 tags: gold, VIP\n"
    assert json.loads(ok(sb("contacts", "untag", "1", "GOLD", "--json")).stdout) == {
        "contact": 1,
        "tags": ["VIP"],
    }
    added = ok(sb("campaigns", "targets", "add", "Spring", "--filter", "custom.region=north"))
    assert added.stdout == "filter custom.region=north: added 1 target\n"
    assert added.stderr == "1 matching contact has no mobile number\n"
    assert (
        "added 1 target, 1 already targets"
        in ok(sb("campaigns", "targets", "add", "spring", "--contacts", "1,2")).stdout
    )
    # Cy Red (contact 3) has only a landline.
    landline = sb("campaigns", "targets", "add", "spring", "--contacts", "3")
    assert "not added, no mobile number: contact 3" in landline.stdout + landline.stderr
    pool = json.loads(ok(sb("campaigns", "pool", "Spring", "--json")).stdout)
    assert [(t["id"], t["contact_name"], t["state"]) for t in pool] == [
        (1, "Ada Smith", "waiting"),
        (2, "Bo Jones", "waiting"),
    ]
    assert ok(
        sb("campaigns", "program", "Spring", "--all", "--at", "2099-03-01T17:30Z")
    ).stdout == ("2 targets programmed for 2099-03-01 17:30 UTC\n")
    # Without an offset, --at is the account's wall time, and times are shown in its zone.
    ok(sb("settings", "set", "time_zone", "America/Chicago"))
    assert ok(sb("campaigns", "reprogram", "Spring", "2", "--at", "2099-03-02T09:00")).stdout == (
        "1 target reprogrammed for 2099-03-02 09:00 CST\n"
    )
    assert query(db, "SELECT due_at FROM campaign_targets WHERE id = 2")[0][0] == to_ms(
        datetime(2099, 3, 2, 15, tzinfo=UTC)
    )
    assert "2099-03-02 09:00 CST" in ok(sb("campaigns", "targets", "list", "Spring")).stdout
    ok(sb("campaigns", "back-to-pool", "Spring", "1"))
    ok(sb("campaigns", "remove", "Spring", "1"))
    refused(
        sb("campaigns", "reprogram", "Spring", "1", "--at", "2099-03-02T09:00Z"),
        "reprogram applies to programmed targets only, not to 1 (removed)",
    )
    refused(
        sb("campaigns", "program", "Spring", "--all", "--at", "2001-01-01T00:00Z"),
        "is in the past",
    )
    listed = ok(sb("campaigns", "targets", "list", "Spring")).stdout.splitlines()
    assert [line.split()[:2] for line in listed] == [["1", "removed"], ["2", "programmed"]]
    moves = json.loads(ok(sb("campaigns", "moves", "Spring", "--json")).stdout)
    assert [(m["target_id"], m["action"]) for m in moves] == [
        (1, "program"),
        (2, "program"),
        (2, "reprogram"),
        (1, "pool"),
        (1, "remove"),
    ]
    assert query(db, "SELECT count(*) FROM campaign_moves WHERE agent_id IS NULL")[0][0] == 5


def test_a_csv_adds_good_rows_and_reports_bad_ones(sb: Run, db: Path, scene: Path) -> None:
    targets = scene / "targets.csv"
    targets.write_bytes(
        b"Phone,Code\n+12125550180,A1\nnope,B2\n+12125550181,\xff\n+12125550170,\x1b[31mC\n"
    )
    done = ok(sb("campaigns", "targets", "add", "Spring", "--csv", targets))
    assert done.stdout == "added 1 target, refused 3 rows\n"
    lines = done.stderr.splitlines()
    assert lines[0].startswith("row 3, column Phone: 'nope' is not a valid phone number")
    assert lines[1] == "row 4, column Code: the text is not UTF-8; save the file as UTF-8 CSV"
    assert lines[2] == "row 5, column Code: the text holds a control character (U+001B)"
    assert "\x1b" not in done.stderr


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("targets", "add", "Spring"), ("give one of --contacts, --filter or --csv",)),
        (("targets", "add", "Nope", "--contacts", "1"), ("no SMS campaign 'Nope'",)),
        (("targets", "add", "Spring", "--filter", "nme=x"), ("filter part 'nme=x'",)),
        (("program", "Spring", "1", "--all", "--at", "2099-01-01T00:00Z"), ("--all",)),
        (("remove", "Spring", "9"), ("no target 9 in this campaign",)),
    ],
)
def test_refusals_are_one_line(
    sb: Run, scene: Path, args: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    refused(sb("campaigns", *args), *fragments)


def test_bad_ids_and_times_are_usage_errors(sb: Run, scene: Path) -> None:
    refused(
        sb("campaigns", "remove", "Spring", "1,x"),
        "Invalid value for 'IDS': 'x' is not an id",
        code=2,
    )
    refused(
        sb("campaigns", "targets", "add", "Spring", "--contacts", "1,x"),
        "Invalid value for '--contacts': 'x' is not an id",
        code=2,
    )
    refused(
        sb("campaigns", "program", "Spring", "1", "--at", "soon"), "not a date and time", code=2
    )
