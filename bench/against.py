"""A benchmark run alternately on this checkout and on another revision, side by side.

    python -m bench.against REV bench.campaigns [--pairs 5] [-- ARGS...]

This machine's speed moves by half within minutes (bench.campaigns' raw insert
has ranged from 31,000 to 94,000 rows/s), so one run of a change against one
run of the code before it says as much about that minute as about the change.
This runs the benchmark module PAIRS times in each tree, the order alternating
within each pair (REV first, then this checkout; then this checkout first...),
each run a fresh process with its own tree first on ``sys.path``: REV in a
temporary git worktree, this checkout where it stands, uncommitted changes
included. Each run's tables (``bench.common.print_table``) are read back, and
for every figure both sides printed, in each column that holds a number (the
measured value, its baseline, their ratio; not the goal), it shows the median
on each side and their ratio, with how many pairs this checkout's was the
higher in: the baseline's own medians show how fast the machine was for each.
The module and its arguments are each tree's own: a benchmark REV does not
have cannot be compared.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from bench.common import print_table

HERE = Path(__file__).resolve().parent.parent
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")

Figures = dict[tuple[str, str, str], float]
"""(table title, figure, column) -> the first number in that cell."""
SKIPPED: Final = frozenset({"goal"})
"""Columns that are the same on both sides by design."""


def figures(output: str) -> Figures:
    """The figures of every table ``print_table`` wrote in ``output``: the rows under
    a line of dashes, each exactly as wide, up to the first line that is not one; in
    each, every column but the first (the figure's name) and a goal, that holds a number."""
    lines = output.splitlines()
    found: Figures = {}
    for at, rule in enumerate(lines):
        if at < 2 or not rule or set(rule) != {"-", " "}:
            continue
        columns = [m.span() for m in re.finditer(r"-+", rule)]
        if len(columns) < 2:
            continue
        title, header = lines[at - 2].strip(), lines[at - 1]
        names = _column_names([header[start:end].strip() for start, end in columns])
        for row in lines[at + 1 :]:
            # A row is exactly as wide as the rule, its columns two spaces apart.
            if len(row) != len(rule) or any(row[end : end + 2] != "  " for _, end in columns[:-1]):
                break
            name = row[: columns[0][1]].strip()
            for (start, end), column in zip(columns[1:], names[1:], strict=True):
                value = _NUMBER.search(row[start:end])
                if name and value and column not in SKIPPED:
                    found[(title, name, column)] = float(value.group().replace(",", ""))
    return found


def _column_names(headers: list[str]) -> list[str]:
    """Each column's header, made unique: a repeated one (bench.templates prints "µs"
    for its figure and for the baseline's) is told apart by its place."""
    return [
        h if h and headers.count(h) == 1 else f"{h or 'column'} {i + 1}"
        for i, h in enumerate(headers)
    ]


def run(tree: Path, module: str, args: Sequence[str]) -> Figures:
    """One run of ``module`` with ``tree``'s code; its figures. Its output is passed on."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"{module} failed in {tree} (exit {done.returncode})")
    print(done.stdout, end="", flush=True)
    return figures(done.stdout)


def compare(old: Sequence[Figures], new: Sequence[Figures]) -> list[list[str]]:
    """One row per figure both sides printed in every run: medians, ratio, pairs higher."""
    rows = []
    # The table a figure is from, named only when there are several (its title's start).
    several = len({key[0] for key in old[0]}) > 1 if old else False
    for key in old[0] if old else {}:
        if not all(key in f for f in (*old, *new)):
            continue
        before = [f[key] for f in old]
        after = [f[key] for f in new]
        was, now = statistics.median(before), statistics.median(after)
        higher = sum(a > b for a, b in zip(after, before, strict=True))
        rows.append(
            [
                (f"{key[0][:24]}: " if several else "") + f"{key[1]} [{key[2]}]",
                _shown(was),
                _shown(now),
                f"{now / was:.2f}" if was else "-",
                f"{higher} of {len(after)}",
            ]
        )
    return rows


def _shown(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], usage="%(prog)s REV MODULE [--pairs N] [-- ARGS...]"
    )
    parser.add_argument("rev", help="the revision to compare with (a commit, tag or branch)")
    parser.add_argument("module", help="the benchmark, such as bench.campaigns")
    parser.add_argument("--pairs", type=int, default=3, help="runs on each side (default 3)")
    words = list(sys.argv[1:] if argv is None else argv)
    # After "--", the module's own arguments, passed on as they are.
    cut = words.index("--") if "--" in words else len(words)
    given = parser.parse_args(words[:cut])
    args = words[cut + 1 :]
    if not re.fullmatch(r"bench\.[a-z_]+", given.module):
        parser.error(f"{given.module!r} is not a benchmark module such as bench.campaigns")
    if given.pairs < 1:
        parser.error("--pairs is at least 1")
    with tempfile.TemporaryDirectory(prefix="bench-against-") as scratch:
        tree = Path(scratch) / "tree"
        subprocess.run(
            ["git", "-C", str(HERE), "worktree", "add", "--detach", "--quiet", str(tree),
             given.rev],
            check=True,
        )  # fmt: skip
        try:
            old: list[Figures] = []
            new: list[Figures] = []
            for pair in range(given.pairs):
                sides = [(tree, old), (HERE, new)]
                for where, into in sides if pair % 2 == 0 else reversed(sides):
                    label = given.rev if where == tree else "this checkout"
                    print(f"--- pair {pair + 1}, {label}", flush=True)
                    into.append(run(where, given.module, args))
        finally:
            subprocess.run(
                ["git", "-C", str(HERE), "worktree", "remove", "--force", str(tree)], check=False
            )
    print()
    print_table(
        f"{given.module}: {given.rev} against this checkout, {given.pairs} alternated pairs",
        ["figure", given.rev, "this", "this/rev", "this higher"],
        compare(old, new),
    )


if __name__ == "__main__":
    main()
