"""Where Switchboard keeps its files (XDG directories, via platformdirs)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "switchboard"
DB_ENV = "SWITCHBOARD_DB"


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP, appauthor=False))


def default_db_path() -> Path:
    """The database file: $SWITCHBOARD_DB, else switchboard.sqlite3 in the data dir."""
    override = os.environ.get(DB_ENV)
    return Path(override).expanduser() if override else data_dir() / "switchboard.sqlite3"


def demo_db_path() -> Path:
    """The demo database lives apart from the real one so demo data never mixes in."""
    return data_dir() / "demo.sqlite3"


def console_log_path() -> Path:
    """The console's log file (its terminal is the screen): errors with their tracebacks."""
    return Path(platformdirs.user_log_dir(APP, appauthor=False)) / "console.log"
