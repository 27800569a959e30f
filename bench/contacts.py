"""Contacts in bulk: CSV import and bulk insert, each next to a raw sqlite3 baseline.

What is measured, on fresh SQLite files:

- ``import_csv`` of an N-row CSV (name, mobile, email, one custom column):
  parsing, validating and normalising every number, matching rows to
  contacts already stored, then one transaction of inserts (contacts,
  phones, the FTS search index). The baseline parses the same file with
  the ``csv`` module and inserts the same columns with ``executemany`` into
  the same schema (so it pays for the same indexes and FTS triggers), but
  validates nothing.
- ``contacts.create_many_in`` of N prepared contacts (what an import ends
  with), next to the same raw ``executemany``.

Each figure is the best of three runs on a fresh file, so that a busy
machine shows less in it; the ratio is what validation and the async
driver add to the bare inserts. Peak Python memory of the import is printed
too (tracemalloc), next to the size of the CSV text.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
import tracemalloc
from pathlib import Path

from bench.common import count_from_argv, print_table, raw_connect, scratch_dir
from core.clock import FakeClock, to_ms
from core.db import open_database
from core.people import contacts
from core.people.authz import SYSTEM
from core.people.contacts import NewContact, Phone
from core.people.contacts_csv import import_csv

DEFAULT, SMALL = 20_000, 500
RUNS = 3


def _number(i: int) -> str:
    return f"+1415{200 + i // 10000}{i % 10000:04d}"


def make_csv(count: int) -> str:
    lines = ["name,mobile,email,Team"]
    lines += [f"Person {i},{_number(i)},p{i}@example.com,T{i % 7}" for i in range(count)]
    return "\n".join(lines) + "\n"


def make_contacts(count: int) -> list[NewContact]:
    return [
        NewContact(
            f"Person {i}", "", f"p{i}@example.com", True, (Phone(_number(i), "mobile"),),
            {"Team": f"T{i % 7}"},
        )
        for i in range(count)
    ]  # fmt: skip


async def switchboard_import(path: Path, text: str, count: int) -> tuple[float, int]:
    """(seconds, peak bytes) for import_csv of ``text`` into a fresh database."""
    async with await open_database(path, FakeClock()) as db:
        tracemalloc.start()
        started = time.perf_counter()
        report = await import_csv(db, SYSTEM, io.StringIO(text))
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        if report.imported != count or report.errors:
            raise RuntimeError(f"imported {report.imported:,} with {len(report.errors)} errors")
    return elapsed, peak


async def switchboard_bulk(path: Path, news: list[NewContact]) -> float:
    async with await open_database(path, FakeClock()) as db:
        started = time.perf_counter()
        async with db.transaction() as tx:
            inserted = await contacts.create_many_in(tx, news)
        elapsed = time.perf_counter() - started
        if inserted != len(news):
            raise RuntimeError(f"inserted {inserted:,}, expected {len(news):,}")
    return elapsed


async def _empty_schema(path: Path) -> None:
    async with await open_database(path, FakeClock()):
        pass


def raw_insert(path: Path, rows: list[tuple[str, str, str, str]]) -> float:
    """Seconds to insert ``rows`` (name, mobile, email, team) with plain sqlite3."""
    now = to_ms(FakeClock().now())
    conn = raw_connect(path)
    try:
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        first = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM contacts").fetchone()[0]
        conn.executemany(
            "INSERT INTO contacts (id, name, job_title, email, ready, custom, created_at,"
            " updated_at) VALUES (?, ?, '', ?, 1, ?, ?, ?)",
            (
                (first + i, name, email, json.dumps({"Team": team}), now, now)
                for i, (name, _mobile, email, team) in enumerate(rows)
            ),
        )
        conn.executemany(
            "INSERT INTO contact_phones (contact_id, e164, kind, position)"
            " VALUES (?, ?, 'mobile', 0)",
            ((first + i, mobile) for i, (_n, mobile, _e, _t) in enumerate(rows)),
        )
        conn.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        conn.close()


def raw_import(path: Path, text: str) -> float:
    started = time.perf_counter()
    reader = csv.reader(io.StringIO(text))
    next(reader)
    rows = [(r[0], r[1], r[2], r[3]) for r in reader]
    parsed = time.perf_counter() - started
    return parsed + raw_insert(path, rows)


def best(values: list[float]) -> float:
    return min(values)


async def main() -> None:
    count = count_from_argv(__doc__.splitlines()[0], DEFAULT, SMALL)
    text = make_csv(count)
    news = make_contacts(count)
    rows = [(n.name, n.phones[0].e164, n.email, n.custom["Team"]) for n in news]
    timings: dict[str, list[float]] = {k: [] for k in ("import", "raw import", "bulk", "raw bulk")}
    peak = 0
    with scratch_dir() as tmp:
        for run in range(RUNS):
            seconds, peak = await switchboard_import(tmp / f"import{run}.db", text, count)
            timings["import"].append(seconds)
            await _empty_schema(tmp / f"rawimport{run}.db")
            timings["raw import"].append(raw_import(tmp / f"rawimport{run}.db", text))
            timings["bulk"].append(await switchboard_bulk(tmp / f"bulk{run}.db", news))
            await _empty_schema(tmp / f"rawbulk{run}.db")
            timings["raw bulk"].append(raw_insert(tmp / f"rawbulk{run}.db", rows))

    steps = [
        ("import_csv (parse, validate, insert)", best(timings["import"])),
        ("raw csv.reader + executemany", best(timings["raw import"])),
        ("create_many_in (prepared contacts)", best(timings["bulk"])),
        ("raw executemany", best(timings["raw bulk"])),
    ]
    print_table(
        f"contacts: {count:,} rows, best of {RUNS}",
        ["step", "ms", "rows/s"],
        [[name, f"{secs * 1000:,.1f}", f"{count / secs:,.0f}"] for name, secs in steps],
    )
    print(f"ratio import/raw: {steps[0][1] / steps[1][1]:.1f}x")
    print(f"ratio bulk/raw:   {steps[2][1] / steps[3][1]:.1f}x")
    print(
        f"import peak Python memory: {peak / 2**20:,.1f} MiB"
        f" for {len(text.encode()) / 2**20:,.1f} MiB of CSV"
        f" ({peak / len(text.encode()):.1f}x)"
    )


if __name__ == "__main__":
    asyncio.run(main())
