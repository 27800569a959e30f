"""Small helpers shared by the benchmarks: size, scratch files, raw SQLite, tables."""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from core.db import Tx


def count_from_argv(description: str, default: int, small: int) -> int:
    """``--count N`` if given, else ``small`` when BENCH_SMALL=1, else ``default``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--count",
        type=int,
        default=None,
        help=f"rows to use (default {default:,}; {small:,} with BENCH_SMALL=1)",
    )
    count = parser.parse_args().count
    if count is None:
        count = small if os.environ.get("BENCH_SMALL") == "1" else default
    if count < 1:
        parser.error("--count must be at least 1")
    return count


@contextmanager
def scratch_dir() -> Iterator[Path]:
    """A temporary directory for the benchmark's database files, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-") as name:
        yield Path(name)


def raw_connect(path: Path) -> sqlite3.Connection:
    """Plain stdlib sqlite3 with the PRAGMAs core.db uses (WAL, synchronous=NORMAL)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL").fetchone()
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print a small aligned table: first column left, the others right."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first, *rest = cells
        return "  ".join(
            [
                str(first).ljust(widths[0]),
                *(str(c).rjust(w) for c, w in zip(rest, widths[1:], strict=True)),
            ]
        )

    print(title)
    print(line(header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


async def agent_and_number(tx: Tx, now_ms: int) -> tuple[int, int]:
    """(agent id, number id): the one agent and default number a bench's rows belong to."""
    agent_id = await tx.insert(
        "INSERT INTO agents (username, name, created_at) VALUES ('bench', 'Bench Agent', ?)",
        (now_ms,),
    )
    number_id = await tx.insert(
        "INSERT INTO numbers (e164, is_default, created_at) VALUES ('+14155550100', 1, ?)",
        (now_ms,),
    )
    return agent_id, number_id
