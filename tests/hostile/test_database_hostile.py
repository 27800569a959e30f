"""Broken, foreign and unwritable database files given to the real CLI (issue #8, item 9).

Each refusal is one line on stderr saying what is wrong, exit 1, no
traceback, and the file is byte for byte what it was.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from core.db import schema_version
from tests.processes import ok, refused, switchboard


def _made(tmp_path: Path, name: str = "switchboard.sqlite3") -> Path:
    """A real database with one agent and one contact."""
    db = tmp_path / name
    ok(switchboard("agents", "add", "alice", "--name", "Alice", db=db, home=tmp_path))
    people = tmp_path / "people.csv"
    people.write_text("name,mobile\nAnn,+12125550105\n", encoding="utf-8")
    ok(switchboard("contacts", "import", people, db=db, home=tmp_path))
    return db


@pytest.mark.parametrize("command", [("status",), ("agents", "add", "bob")])
def test_a_file_that_is_not_a_database(tmp_path: Path, command: tuple[str, ...]):
    db = tmp_path / "notes.sqlite3"
    db.write_bytes(b"not a database at all\n" * 300)
    before = db.read_bytes()
    refused(
        switchboard(*command, db=db, home=tmp_path),
        f"{db} cannot be opened as a database: it is not an SQLite database",
        "It was not changed",
    )
    assert db.read_bytes() == before


def test_a_damaged_file(tmp_path: Path):
    db = _made(tmp_path)
    with closing(sqlite3.connect(db)) as conn:
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'agents'").fetchone()
        page = conn.execute("PRAGMA page_size").fetchone()[0]
    with db.open("r+b") as f:
        f.seek((root[0] - 1) * page)
        f.write(b"\xff" * page)
    before = db.read_bytes()
    refused(switchboard("agents", "list", db=db, home=tmp_path), "is damaged", "backup")
    refused(switchboard("agents", "add", "bob", db=db, home=tmp_path), "is damaged")
    assert db.read_bytes() == before


def test_a_newer_schema(tmp_path: Path):
    db = _made(tmp_path)
    with closing(sqlite3.connect(db)) as conn:
        conn.execute(f"PRAGMA user_version = {schema_version() + 1}")
    before = db.read_bytes()
    refused(switchboard("status", db=db, home=tmp_path), "newer Switchboard", "Upgrade")
    assert db.read_bytes() == before


def test_a_file_where_the_folder_should_be(tmp_path: Path):
    (tmp_path / "data").write_text("in the way")
    refused(
        switchboard("agents", "list", db=tmp_path / "data" / "db.sqlite3", home=tmp_path),
        "data is a file, not a folder",
    )


def test_a_name_sqlite_cannot_open_leaves_no_thread_behind(tmp_path: Path):
    # The connection that failed to open used to report to a closed event
    # loop: "Event loop is closed" after the error.
    refused(
        switchboard("status", db=tmp_path / ("x" * 300 + ".sqlite3"), home=tmp_path),
        "the file name is too long",
    )


@pytest.fixture
def unwritable(tmp_path: Path) -> Iterator[Path]:
    """A database in a folder nobody may change, not even root (the immutable attribute).

    Tests run as root, for whom file modes do not stop a write.
    """
    folder = tmp_path / "locked"
    folder.mkdir()
    db = _made(folder)
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("chattr is not installed, so a folder cannot be made unwritable for root")
    done = subprocess.run([chattr, "+i", str(folder)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"the immutable attribute is not available here: {done.stderr!r}")
    try:
        yield db
    finally:
        subprocess.run([chattr, "-i", str(folder)], check=True)


def test_an_unwritable_database_can_still_be_read(unwritable: Path, tmp_path: Path):
    db = unwritable
    before = db.read_bytes()
    assert "lease" in ok(switchboard("status", db=db, home=tmp_path)).stdout
    assert "alice" in ok(switchboard("agents", "list", db=db, home=tmp_path)).stdout
    assert "Ann" in ok(switchboard("contacts", "list", db=db, home=tmp_path)).stdout
    assert "public_minutes" in ok(switchboard("settings", "list", db=db, home=tmp_path)).stdout
    line = refused(
        switchboard("agents", "add", "bob", db=db, home=tmp_path),
        f"cannot write {db}: permission denied",
        "status, agents list and contacts list can still read it",
    )
    assert "backup" not in line
    assert db.read_bytes() == before


def test_a_database_cannot_be_created_in_an_unwritable_folder(unwritable: Path, tmp_path: Path):
    line = refused(
        switchboard("agents", "list", db=unwritable.parent / "new.sqlite3", home=tmp_path),
        "permission denied",
    )
    assert "backup" not in line


def test_the_global_db_option_is_used_by_every_command(tmp_path: Path):
    db = tmp_path / "chosen.sqlite3"
    ok(switchboard("--db", db, "agents", "add", "alice", db=None, home=tmp_path))
    assert "alice" in ok(switchboard("--db", db, "agents", "list", db=None, home=tmp_path)).stdout
    assert not (tmp_path / "xdg-data").exists()


def test_demo_uses_the_global_db_option(tmp_path: Path):
    db = tmp_path / "my-demo.sqlite3"
    result = ok(
        switchboard("--db", db, "demo", "--seed-only", "--contacts", "5", db=None, home=tmp_path)
    )
    assert f"demo data is in {db}" in result.stdout
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT count(*) FROM demo_marker").fetchone()[0] == 1
    assert not (tmp_path / "xdg-data" / "switchboard" / "demo.sqlite3").exists()
