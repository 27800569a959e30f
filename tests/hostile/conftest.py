"""The real CLI on a test's own database file, for the hostile-input tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from tests.processes import switchboard

Run = Callable[..., CompletedProcess[str]]


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    """The test's database file (``db`` is the open Database in tests/conftest.py)."""
    return tmp_path / "switchboard.sqlite3"


@pytest.fixture
def sb(tmp_path: Path, db_file: Path) -> Run:
    """`sb("send", "--to", ...)` runs switchboard on the test's database file."""

    def run(*args: str | Path, env: dict[str, str] | None = None) -> CompletedProcess[str]:
        return switchboard(*args, db=db_file, home=tmp_path, env=env)

    return run
