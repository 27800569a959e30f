"""A database file as an older Switchboard left it, for upgrade tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from core.db import migrations


def database_at(path: Path, version: int) -> sqlite3.Connection:
    """``path`` at schema ``version``: the migrations up to it run and ``user_version``
    set, as that release's start-up would have left it. The connection stays open
    (autocommit) for the rows a test adds; the caller closes it."""
    conn = sqlite3.connect(path, isolation_level=None)
    for number, sql in migrations()[:version]:
        conn.executescript(sql)
        conn.execute(f"PRAGMA user_version = {number}")
    return conn
