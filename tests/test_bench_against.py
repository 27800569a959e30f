"""bench.against: a benchmark alternated between a revision and this checkout."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

from bench.against import compare, figures
from bench.common import print_table

ROOT = Path(__file__).resolve().parent.parent


def test_figures_are_read_back_from_the_tables_print_table_writes() -> None:
    out = StringIO()
    with redirect_stdout(out):
        print("starting: 3 rounds")
        print_table(
            "campaigns, 100,000 targets",
            ["figure", "measured", "baseline", "ratio"],
            [
                ["targets/s", "13,861", "49,633 raw rows/s", "0.28"],
                ["of which the start", "1.99 s of 7.21 s", "2.01 s raw", ""],
                ["provider calls", "1.00", "", ""],
                ["no figure", "", "", ""],
            ],
        )
        print("a line right under it: 13")  # not a row: not as wide as the table
        print_table("second", ["op", "µs"], [["render", "-2.5"]])
    assert figures(out.getvalue()) == {
        ("campaigns, 100,000 targets", "targets/s"): 13861.0,
        ("campaigns, 100,000 targets", "of which the start"): 1.99,
        ("campaigns, 100,000 targets", "provider calls"): 1.0,
        ("second", "render"): -2.5,
    }


def test_each_figure_is_compared_by_its_medians_and_the_pairs_it_was_higher_in() -> None:
    old = [{("t", "a"): 10.0, ("t", "b"): 1.0}, {("t", "a"): 30.0, ("t", "b"): 1.0},
           {("t", "a"): 20.0, ("t", "b"): 1.0}]  # fmt: skip
    new = [{("t", "a"): 12.0}, {("t", "a"): 9.0}, {("t", "a"): 21.0}]
    # "b" is not in every run of both sides: it is not compared.
    assert compare(old, new) == [["t: a", "20", "12", "0.60", "2 of 3"]]


def test_a_benchmark_runs_on_both_sides_alternately() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.against", "HEAD", "bench.templates", "--pairs", "2"],
        cwd=ROOT,
        env={**os.environ, "BENCH_SMALL": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    order = [line for line in out.splitlines() if line.startswith("--- pair")]
    assert order == [
        "--- pair 1, HEAD",
        "--- pair 1, this checkout",
        "--- pair 2, this checkout",
        "--- pair 2, HEAD",
    ]
    last = out[out.rindex("bench.templates: HEAD against this checkout, 2 alternated pairs") :]
    rows = {line.split()[0] for line in last.splitlines()[3:] if line.strip()}
    assert {"templates:"} == rows  # every row is a figure of bench.templates' table
    assert "templates: render" in last
    assert "templates: compile" in last
    # The worktree of HEAD is gone again.
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "list"], capture_output=True, text=True, check=True
    )
    assert "bench-against-" not in listed.stdout
