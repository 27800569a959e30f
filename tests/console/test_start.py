"""Starting the console: who you are decides what you see, or why you may not."""

from __future__ import annotations

from pathlib import Path

from tests.processes import switchboard


def test_an_unknown_login_is_refused_with_the_command_that_adds_it(tmp_path: Path):
    db = tmp_path / "real.sqlite3"
    assert switchboard("numbers", "list", db=db, home=tmp_path).returncode == 0
    result = switchboard(db=db, home=tmp_path, env={"LOGNAME": "mallory", "USER": "mallory"})
    assert result.returncode == 1
    assert "no agent with username 'mallory'" in result.stderr
    assert "switchboard agents add mallory" in result.stderr
    assert "Traceback" not in result.stderr


def test_as_works_only_on_a_demo_database(tmp_path: Path):
    db = tmp_path / "real.sqlite3"
    assert switchboard("agents", "add", "alice", db=db, home=tmp_path).returncode == 0
    result = switchboard("--as", "alice", db=db, home=tmp_path)
    assert result.returncode == 1
    assert "--as works only on a demo database" in result.stderr
