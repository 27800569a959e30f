"""CLI start-up: `switchboard status`, `send`, `send --help`, `--version`, next to `import click`.

What is measured: the wall time of a whole process, from spawn to exit, for
each command, over N runs (median and best), and the CPU time it used (user +
system, median): on a shared machine the CPU time moves less with the load,
which is printed with the table. The commands run through the installed
console script next to this interpreter (as a user runs them), with
PYTHONPATH passed on, so the same numbers can be taken of another checkout
(``PYTHONPATH=/other/checkout python -m bench.startup``).

`switchboard status` and `switchboard send` run on a database in a scratch
folder, set up first (your login as a manager, one number), so the schema's
creation is not counted. Each `send` queues one SMS, as a script would:
"send" to one number again and again (a contact after the first: the number
is taken as stored), "send, new number" to a number never texted before (read
and checked by phonenumbers, a contact and a conversation made).

The warm case is measured, as an installed copy runs: every process runs with
byte-code caching on, whatever PYTHONDONTWRITEBYTECODE says, with the caches
in the scratch folder (PYTHONPYCACHEPREFIX, so no checkout is written to),
and every command is run once untimed first to fill them; the bench stops if
they were not written. A fresh machine compiles the sources on the first run
only, and compiling is not start-up.

The baseline is ``python -c "import click"``: a process that does nothing
but load the library every command needs. The ratio is what Switchboard
adds on top of it (issue #9 asks for at most 3x for status and send).
``python -c pass`` is shown too: the interpreter's own floor.
"""

from __future__ import annotations

import getpass
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
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


def _time(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, env=env, cwd=cwd, check=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise RuntimeError(f"{argv} exited {result.returncode}: {result.stderr.decode()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def _new_numbers() -> Iterator[str]:
    # 555-0100..0199 is reserved for fiction; one area code per hundred.
    for area in ("212", "312", "646", "718", "917"):
        for line in range(100, 200):
            yield f"+1{area}5550{line}"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


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
            ("switchboard send, new number", [*sb, "send", "--to", "{new}", "Hello", "--db", db]),
            ("switchboard --help", [*sb, "--help"]),
        ]
        fresh = _new_numbers()

        def argv_of(argv: list[str]) -> list[str]:
            return [next(fresh) if a == "{new}" else a for a in argv]

        load_before = _load()
        for _, argv in cases:  # writes the byte-code caches
            _time(argv_of(argv), env, home)
        if not list((home / "pycache").rglob("cli*.pyc")):
            raise RuntimeError("no byte-code was cached: the warm case cannot be measured")
        times: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in cases}
        for _ in range(runs):  # interleaved, so a busy moment hits every case alike
            for name, argv in cases:
                times[name].append(_time(argv_of(argv), env, home))

    def median(name: str, which: int) -> float:
        return statistics.median(t[which] for t in times[name])

    baseline = cases[1][0]
    rows = []
    for name, _ in cases:
        rows.append(
            [name, f"{median(name, 0) * 1000:.0f}", f"{min(t[0] for t in times[name]) * 1000:.0f}",
             f"{median(name, 0) / median(baseline, 0):.1f}x", f"{median(name, 1) * 1000:.0f}",
             f"{median(name, 1) / median(baseline, 1):.1f}x"]
        )  # fmt: skip
    where = os.environ.get("PYTHONPATH") or "this checkout"
    print_table(
        f"CLI start-up, {runs} runs each (code from {where}; warm byte-code caches)",
        ["process", "median ms", "best ms", "vs click", "CPU ms", "CPU vs click"],
        rows,
    )
    cpus = os.cpu_count()
    print(f"load average (1, 5, 15 min): {load_before} before, {_load()} after; {cpus} CPUs")


if __name__ == "__main__":
    main()
