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
            ["figure", "measured", "baseline", "ratio", "goal"],
            [
                ["targets/s", "13,861", "49,633 raw rows/s", "0.28", "≥ 0.3"],
                ["of which the start", "1.99 s of 7.21 s", "2.01 s raw", "", ""],
                ["provider calls", "1.00", "", "", "≤ 1"],
                ["no figure", "", "", "", ""],
            ],
        )
        print("a line right under it: 13")  # not a row: not as wide as the table
        print_table("second", ["op", "µs", "baseline", "µs"], [["render", "-2.5", "x", "0.7"]])
    table = "campaigns, 100,000 targets"
    assert figures(out.getvalue()) == {
        (table, "targets/s", "measured"): 13861.0,
        (table, "targets/s", "baseline"): 49633.0,
        (table, "targets/s", "ratio"): 0.28,
        (table, "of which the start", "measured"): 1.99,
        (table, "of which the start", "baseline"): 2.01,
        (table, "provider calls", "measured"): 1.0,
        # Two columns named alike are told apart by their place.
        ("second", "render", "µs 2"): -2.5,
        ("second", "render", "µs 4"): 0.7,
    }


def test_each_figure_is_compared_by_its_medians_and_the_pairs_it_was_higher_in() -> None:
    a, b = ("t", "a", "ms"), ("t", "b", "ms")
    old = [{a: 10.0, b: 1.0}, {a: 30.0, b: 1.0}, {a: 20.0, b: 1.0}]
    new = [{a: 12.0}, {a: 9.0}, {a: 21.0}]
    # "b" is not in every run of both sides: it is not compared.
    assert compare(old, new) == [["a [ms]", "20", "12", "0.60", "2 of 3"]]
    # With several tables, each figure says which it is from.
    c = ("another table", "c", "ms")
    both = compare([{**f, c: 1.0} for f in old], [{**f, c: 2.0} for f in new])
    assert [row[0] for row in both] == ["t: a [ms]", "another table: c [ms]"]


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
    rows = [line.split()[0] for line in last.splitlines()[3:] if line.strip()]
    # bench.templates' figures, each in its columns: one table, so not named.
    assert rows[:3] == ["render", "render", "render"]
    assert "render [µs 2]" in last
    assert "compile [ratio]" in last
    # The worktree of HEAD is gone again.
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "list"], capture_output=True, text=True, check=True
    )
    assert "bench-against-" not in listed.stdout
