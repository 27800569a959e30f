"""Helpers for tests that run `switchboard` as a user would: in subprocesses.

The console script lives next to the interpreter running the tests (same
venv). Every run gets a copy of the environment without $SWITCHBOARD_DB and
with XDG_DATA_HOME in a temp dir, so a forgotten ``--db`` can never touch a
real database.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

SWITCHBOARD = Path(sys.executable).parent / "switchboard"
TIMEOUT = 30.0

T = TypeVar("T")


def cli_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env["XDG_DATA_HOME"] = str(home / "xdg-data")
    env["XDG_CONFIG_HOME"] = str(home / "xdg-config")
    env["PYTHONUNBUFFERED"] = "1"
    if extra:
        env.update(extra)
    return env


def switchboard(
    *args: str | Path,
    db: Path | None,
    home: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = TIMEOUT,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `switchboard ARGS [--db DB]` and wait for it."""
    argv = [str(SWITCHBOARD), *map(str, args)]
    if db is not None:
        argv += ["--db", str(db)]
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="surrogateescape",
        env=cli_env(home, env),
        timeout=timeout,
        cwd=cwd or home,
        check=False,
    )


class Background:
    """A `switchboard` process in the background, its stderr kept in a file."""

    def __init__(
        self, args: list[str], home: Path, log: Path, env: Mapping[str, str] | None = None
    ) -> None:
        self.log = log
        self._log_file = log.open("wb")
        self.proc = subprocess.Popen(
            [str(SWITCHBOARD), *args],
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=cli_env(home, env),
            cwd=home,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        """Everything the process printed so far (it writes the file, not us)."""
        return self.log.read_text(encoding="utf-8", errors="replace")

    def terminate(self, timeout: float = 10.0) -> int:
        """SIGTERM, then wait; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> int:
        if self.proc.poll() is None:
            self.proc.kill()
        return self.proc.wait(timeout=10)

    def close(self) -> None:
        self.kill()
        self._log_file.close()


def worker(
    db: Path, home: Path, name: str, *extra: str, env: Mapping[str, str] | None = None
) -> Background:
    # Port 0: each worker's webhook server takes a free port, so several can run on one host.
    return Background(
        ["worker", "--db", str(db), "--port", "0", *extra],
        home,
        home / f"worker-{name}.log",
        env,
    )


@contextmanager
def running(*processes: Background) -> Iterator[None]:
    """Kill (SIGKILL) whatever is still running when the block ends."""
    try:
        yield
    finally:
        for process in processes:
            process.close()


def wait_for(
    check: Callable[[], T],
    *,
    timeout: float,
    what: str,
    every: float = 0.05,
    alive: tuple[Background, ...] = (),
    state: Callable[[], object] | None = None,
) -> T:
    """Poll ``check`` until it returns something truthy; fail after ``timeout``.

    Only for events that are due now (a process starting, a queue draining),
    never to wait out a due time. Fails early when a process in ``alive`` exits;
    ``state()`` is shown in the failure.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        for process in alive:
            if process.proc.poll() is not None:
                raise AssertionError(
                    f"waiting for {what}: a worker exited ({process.proc.returncode}):\n"
                    + process.output()
                )
        if time.monotonic() > deadline:
            seen = f"; state: {state()}" if state is not None else ""
            raise AssertionError(f"timed out after {timeout} s waiting for {what}{seen}")
        time.sleep(every)


def query(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
    """Read the database as another process would (WAL: sees every commit)."""
    conn = sqlite3.connect(db, timeout=10)
    try:
        conn.row_factory = sqlite3.Row
        return list(conn.execute(sql, params).fetchall())
    finally:
        conn.close()


def scalar(db: Path, sql: str, params: tuple[Any, ...] = ()) -> Any:
    rows = query(db, sql, params)
    return rows[0][0] if rows else None


def saved_before_the_rule(db: Path, sql: str, params: tuple[Any, ...] = ()) -> None:
    """Write into the file what core now refuses at entry (a control character in a
    name), as a database saved before the rule may hold it."""
    conn = sqlite3.connect(db, timeout=10)
    try:
        with conn:
            conn.execute(sql, params)
    finally:
        conn.close()


# --- what a user sees: success, or one clear line ------------------------------

BUG_SIGNS = ("Traceback", "(a bug", "Event loop is closed")
"""What must never reach a user's terminal, whatever they typed."""


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """Exit 0 and no sign of a bug."""
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert not any(sign in result.stderr for sign in BUG_SIGNS), result.stderr
    return result


def refused(result: subprocess.CompletedProcess[str], *fragments: str, code: int = 1) -> str:
    """Exit ``code`` with exactly one line on stderr, 'error: ...' naming each fragment."""
    assert result.returncode == code, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert not any(sign in result.stderr for sign in BUG_SIGNS), result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def dump(db: Path) -> list[str]:
    """The whole database as SQL, to show that a refusal changed nothing."""
    conn = sqlite3.connect(db)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()
