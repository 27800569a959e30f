"""Notification profiles: closing conversations with an outcome that fans out.

Closing. A fresh SQLite file holds 10 notification profiles, each with SMS
and email on (one number, one address; default modes), all switched on for
one outcome, and N conversations waiting. ``closing.close`` is called once
per conversation, as an agent closes them one after another: each call is
one write transaction with the checks, the closure row, the conversation
closed, and 20 notices rendered (through ``core.templates``) and queued (10
SMS outbox rows, 10 email outbox rows, 20 notice rows, their feed events).
The baseline writes the same rows with plain ``sqlite3``, also one
transaction per close (a close is one person's action and commits alone):
the closure row, the conversation's UPDATE, and ``executemany`` of the
message, email and notice rows, pre-rendered. Goal: notices per second
>= 0.3 of the raw rows' notices per second.

The conversations are closed in ROUNDS rounds, each round by closing.close
and then by the raw loop (the next conversations of each file), and the
ratio is the median of the rounds' ratios: the machine is shared, and a
burst of load elsewhere would otherwise land on one side only.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sqlite3
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from bench.common import print_table, raw_connect, scratch_dir
from core.clock import Clock, FakeClock, to_ms
from core.db import Database, open_database
from core.notify import closing
from core.people.authz import SYSTEM

SMALL = os.environ.get("BENCH_SMALL") == "1"
CLOSES = 100 if SMALL else 1_000
PROFILES = 10
NOTICES = 2 * PROFILES
"""Per close: an SMS and an email to each profile."""
GOAL_RATIO = 0.3
ROUNDS = 5
OUR_NUMBER = "+14155550100"
DATA = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "phone": "+14155550123",
    "message": "Please call back about the invoice from March.",
}


async def build(path: Path, clock: Clock, closes: int) -> None:
    """Ten profiles on one outcome and ``closes`` conversations waiting."""
    async with await open_database(path, clock) as db, db.transaction() as tx:
        now = tx.now_ms
        number = await tx.insert(
            "INSERT INTO numbers (e164, is_default, created_at) VALUES (?, 1, ?)",
            (OUR_NUMBER, now),
        )
        for i in range(PROFILES):
            profile = await tx.insert(
                "INSERT INTO notification_profiles (alias, sms_on, email_on, created_at,"
                " updated_at) VALUES (?, 1, 1, ?, ?)",
                (f"Profile {i}", now, now),
            )
            await tx.executemany(
                "INSERT INTO notification_profile_contacts (profile_id, kind, value, position)"
                " VALUES (?, ?, ?, 0)",
                [(profile, "sms", f"+1212555{1000 + i}"), (profile, "email", f"p{i}@example.com")],
            )
            await tx.execute(
                "INSERT INTO outcome_recipients (outcome_id, profile_id)"
                " VALUES ((SELECT id FROM outcomes WHERE name = 'General Message'), ?)",
                (profile,),
            )
        await tx.executemany(
            "INSERT INTO conversations (number_id, phone, waiting_since, created_at)"
            " VALUES (?, ?, ?, ?)",
            [(number, f"+1{3_000_000_000 + i}", now, now) for i in range(closes)],
        )


async def switchboard_closes(db: Database, ids: Sequence[int]) -> float:
    started = time.perf_counter()
    for cid in ids:
        await closing.close(db, SYSTEM, cid, "General Message", DATA, "bench")
    return time.perf_counter() - started


class RawCloses:
    """The same rows, one transaction per close, with plain sqlite3."""

    def __init__(self, conn: sqlite3.Connection, now: int) -> None:
        self.conn = conn
        self.now = now
        outcome = conn.execute("SELECT id FROM outcomes WHERE name = 'General Message'")
        self.outcome = outcome.fetchone()[0]
        self.contacts = conn.execute(
            "SELECT profile_id, kind, value FROM notification_profile_contacts ORDER BY 1, 2"
        ).fetchall()

    def close(self, ids: Sequence[int]) -> float:
        conn, now = self.conn, self.now
        body = "Ada Lovelace, +14155550123: Please call back about the invoice from March."
        email = "\n".join(f"{k}: {v}" for k, v in DATA.items())
        data = json.dumps(DATA)
        started = time.perf_counter()
        for cid in ids:
            conn.execute("BEGIN IMMEDIATE")
            closure = conn.execute(
                "INSERT INTO closures (conversation_id, outcome_id, data, comment, closed_at)"
                " VALUES (?, ?, ?, 'bench', ?)",
                (cid, self.outcome, data, now),
            ).lastrowid
            conn.execute(
                "UPDATE conversations SET closed_at = ?, waiting_since = NULL WHERE id = ?",
                (now, cid),
            )
            notices = []
            for profile, kind, value in self.contacts:
                if kind == "sms":
                    row = conn.execute(
                        "INSERT INTO messages (direction, purpose, kind, sender, recipient, body,"
                        " encoding, segments, status, next_attempt_at, created_at, updated_at)"
                        " VALUES ('out', 'notice', 'chat', ?, ?, ?, 'GSM-7', 1, 'queued', ?, ?, ?)",
                        (OUR_NUMBER, value, body, now, now, now),
                    ).lastrowid
                    notices.append((closure, profile, row, None, value, now))
                else:
                    row = conn.execute(
                        "INSERT INTO emails (purpose, recipient, subject, body, message_key,"
                        " status, next_attempt_at, created_at, updated_at)"
                        " VALUES ('notice', ?, 'General Message', ?, ?, 'queued', ?, ?, ?)",
                        (value, email, secrets.token_hex(16), now, now, now),
                    ).lastrowid
                    notices.append((closure, profile, None, row, value, now))
            conn.executemany(
                "INSERT INTO notices (closure_id, profile_id, message_id, email_id, recipient,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                notices,
            )
            conn.execute("COMMIT")
        return time.perf_counter() - started


async def main() -> None:
    clock = FakeClock()
    now = to_ms(clock.now())
    ours: list[float] = []
    raw: list[float] = []
    with scratch_dir() as tmp:
        await build(tmp / "close.db", clock, CLOSES)
        await build(tmp / "raw.db", clock, CLOSES)
        conn = raw_connect(tmp / "raw.db")
        try:
            async with await open_database(tmp / "close.db", clock) as db:
                ids = [r[0] for r in await db.fetchall("SELECT id FROM conversations ORDER BY id")]
                raw_ids = [r[0] for r in conn.execute("SELECT id FROM conversations ORDER BY id")]
                baseline = RawCloses(conn, now)
                size = -(-CLOSES // ROUNDS)
                for start in range(0, CLOSES, size):
                    ours.append(await switchboard_closes(db, ids[start : start + size]))
                    raw.append(baseline.close(raw_ids[start : start + size]))
                made = await db.scalar("SELECT count(*) FROM notices WHERE skipped IS NULL")
            made_raw = conn.execute("SELECT count(*) FROM notices").fetchone()[0]
        finally:
            conn.close()
    if made != CLOSES * NOTICES or made_raw != CLOSES * NOTICES:
        raise RuntimeError(f"{made:,} and {made_raw:,} notices, expected {CLOSES * NOTICES:,}")

    notices = CLOSES * NOTICES
    print_table(
        f"notify: {CLOSES:,} conversations closed, each notifying {PROFILES} profiles"
        f" by SMS and email, in {len(ours)} rounds",
        ["step", "ms", "notices/s"],
        [
            ["closing.close (checks, closure, render, outbox rows, events)",
             f"{sum(ours) * 1000:,.1f}", f"{notices / sum(ours):,.0f}"],
            ["raw INSERT of the same rows, a transaction per close (sqlite3)",
             f"{sum(raw) * 1000:,.1f}", f"{notices / sum(raw):,.0f}"],
        ],
    )  # fmt: skip
    ratio = statistics.median(r / o for o, r in zip(ours, raw, strict=True))
    print(
        f"notices/s vs raw rows/s: {ratio:.2f}, the median of the rounds"
        f" ({', '.join(f'{r / o:.2f}' for o, r in zip(ours, raw, strict=True))};"
        f" {sum(raw) / sum(ours):.2f} over all) (goal >= {GOAL_RATIO}):"
        f" {'met' if ratio >= GOAL_RATIO else 'NOT met'}"
    )


if __name__ == "__main__":
    asyncio.run(main())
