"""CLI start-up: `switchboard status`, `send`, `send --help`, `--version`, next to `import click`.

What is measured: the wall time of a whole process, from spawn to exit, for
each command, over N runs (median and best). The commands run through the
installed console script next to this interpreter (as a user runs them),
with PYTHONPATH passed on, so the same numbers can be taken of another
checkout (``PYTHONPATH=/other/checkout python -m bench.startup``).

`switchboard status` and `switchboard send` run on a database in a scratch
folder, set up first (your login as a manager, one number), so the schema's
creation is not counted; each `send` queues one SMS, as a script would. Every
process
runs with byte-code caching on, whatever PYTHONDONTWRITEBYTECODE says, with
the caches in the scratch folder (PYTHONPYCACHEPREFIX, so no checkout is
written to), and every command is run once untimed first to fill them: an
installed copy has its caches, and compiling the sources is not start-up.

The baseline is ``python -c "import click"``: a process that does nothing
but load the library every command needs. The ratio is what Switchboard
adds on top of it (issue #9 asks for at most 3x for status and send).
``python -c pass`` is shown too: the interpreter's own floor.
"""

from __future__ import annotations

import getpass
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import count_from_argv, print_table, scratch_dir

DEFAULT, SMALL = 20, 3


def _script() -> list[str]:
    installed = Path(sys.executable).parent / "switchboard"
    if installed.exists():
        return [str(installed)]
    # Not installed (a bare checkout): the same entry point, through -c.
    return [sys.executable, "-c", "import sys; from console.cli import main; sys.exit(main())"]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env["XDG_DATA_HOME"] = str(home / "xdg-data")
    env["XDG_CONFIG_HOME"] = str(home / "xdg-config")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(home / "pycache")
    return env


def _time(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, env=env, cwd=cwd, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{argv} exited {result.returncode}: {result.stderr.decode()[-500:]}")
    return elapsed


def main() -> None:
    runs = count_from_argv(__doc__ or "", DEFAULT, SMALL)
    with scratch_dir() as home:
        env = _env(home)
        db = str(home / "startup.sqlite3")
        sb = _script()
        for setup in (
            ["agents", "add", getpass.getuser(), "--role", "manager"],
            ["numbers", "add", "+14155550100", "--default"],
        ):
            _time([*sb, *setup, "--db", db], env, home)
        cases = [
            ("python -c pass", [sys.executable, "-c", "pass"]),
            ('python -c "import click" (baseline)', [sys.executable, "-c", "import click"]),
            ("switchboard --version", [*sb, "--version"]),
            ("switchboard send --help", [*sb, "send", "--help"]),
            ("switchboard status", [*sb, "status", "--db", db]),
            ("switchboard send", [*sb, "send", "--to", "+12125550105", "Hello", "--db", db]),
            ("switchboard --help", [*sb, "--help"]),
        ]
        for _, argv in cases:  # writes the byte-code caches
            _time(argv, env, home)
        times: dict[str, list[float]] = {name: [] for name, _ in cases}
        for _ in range(runs):  # interleaved, so a busy moment hits every case alike
            for name, argv in cases:
                times[name].append(_time(argv, env, home))

    baseline = statistics.median(times[cases[1][0]])
    rows = []
    for name, _ in cases:
        median = statistics.median(times[name])
        rows.append(
            [name, f"{median * 1000:.0f}", f"{min(times[name]) * 1000:.0f}",
             f"{median / baseline:.1f}x"]
        )  # fmt: skip
    where = os.environ.get("PYTHONPATH") or "this checkout"
    print_table(
        f"CLI start-up, {runs} runs each (code from {where})",
        ["process", "median ms", "best ms", "vs import click"],
        rows,
    )


if __name__ == "__main__":
    main()
