"""Staff alerts: the reminder sweep over 10,000 waiting chats and 500 staff on shift.

What is measured, on a fresh SQLite file: COUNT unanswered conversations
whose alert timeline has sent its new-chat alert and whose first reminder is
due; STAFF staff on a normal shift now (a weekly shift covering the week),
ALERTABLE of them with a mobile number, consent and the New Chat alert on
(the others are on shift but are not texted; every on-shift row is still
read and resolved). Mobile alerts every 5 minutes, 3 reminders, escalation
after 3 attempts.

1. One sweep (``core.alerts.sweep.sweep``): every due conversation's
   reminder, in chunks of one transaction each, COUNT x ALERTABLE alerts
   recorded and queued in the outbox (with their feed events), every
   timeline advanced. Its baseline is the bare SQL no sweep can do without,
   with plain ``sqlite3`` on a second database built the same way, in one
   transaction: one INSERT ... SELECT of the staff_alerts rows, one of the
   outbox rows (the text built in SQL), one UPDATE of the timelines. Goal:
   the sweep within 3x of it.
2. Reminder lateness under the same load: the COUNT chats started evenly
   over one reminder interval, so reminders fall due all the time. A clock
   that stands still while the worker sleeps and runs at real speed while it
   works: the worker wakes at the next due time (``sweep.next_due``, no
   sooner than the worker's 50 ms wake gap after the last run), so the
   lateness of an alert (its outbox row's time, which is its chunk's
   transaction start, the commit following within milliseconds, minus its
   step's due time) is the work done before it in that wake and the gap.
   Goal: p99 <= 2 s. ``--alertable`` texts more of the staff: with all 500
   texted every chat fans out to 500 SMS, each with its outbox feed event.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from datetime import datetime, timedelta
from pathlib import Path

from bench.common import print_table, raw_connect, scratch_dir
from core.alerts import sweep, timeline
from core.clock import FakeClock, to_ms
from core.db import open_database
from core.sms import segments

DEFAULT, SMALL = 10_000, 500
STAFF, ALERTABLE = 500, 5
EVERY, REMINDERS, ESCALATE = 5, 3, 3
NUMBER = "+14155550100"
GOAL_RATIO, GOAL_P99 = 3.0, 2.0
WAKE_GAP = 0.05
"""core.scheduling.options.WorkerOptions.wake_gap."""


async def build(path: Path, count: int, staff: int, alertable: int, starts: list[int]) -> None:
    """The schema, STAFF staff on shift (ALERTABLE texted), COUNT waiting conversations
    started at ``starts``, each with its new-chat alert done."""
    async with await open_database(path, FakeClock()):
        pass  # the schema
    conn = raw_connect(path)
    try:
        conn.execute("BEGIN")
        # Alerts on, as a manager sets them (the values JSON, as core.settings stores them).
        conn.executemany(
            "INSERT INTO settings (key, value) VALUES (?, ?)",
            [
                ("staff_sms", "true"),
                ("mobile_alerts", "true"),
                ("alert_every_minutes", str(EVERY)),
                ("alert_reminders", str(REMINDERS)),
                ("alert_escalate_after", str(ESCALATE)),
            ],
        )
        conn.execute(
            "INSERT INTO numbers (e164, is_default, created_at) VALUES (?, 1, 0)", (NUMBER,)
        )
        conn.executemany(
            "INSERT INTO agents (id, username, name, mobile, sms_permitted_at, sms_permitted_by,"
            " new_chat_alerts, created_at) VALUES (?, ?, ?, ?, ?, ?, 1, 0)",
            (
                (i, f"staff{i}", f"Staff {i}", f"+1213555{i:04d}",
                 1 if i <= alertable else None, i if i <= alertable else None)
                for i in range(1, staff + 1)
            ),
        )  # fmt: skip
        conn.executemany(
            "INSERT INTO shifts (agent_id, kind, time_zone, start_minute, minutes, created_at)"
            " VALUES (?, 'normal', 'America/New_York', 0, 10080, 0)",
            ((i,) for i in range(1, staff + 1)),
        )
        conn.executemany(
            "INSERT INTO conversations (number_id, phone, waiting_since, last_message_at,"
            " last_inbound_at, created_at, alert_started_at, alert_step, alert_due_at)"
            " VALUES (1, ?, ?, ?, ?, ?, ?, 1, ?)",
            (
                (f"+1{2_000_000_000 + i}", t0, t0, t0, t0, t0, t0 + EVERY * 60_000)
                for i, t0 in enumerate(starts)
            ),
        )
        conn.execute("COMMIT")
    finally:
        conn.close()


async def one_sweep(path: Path, clock: FakeClock, expected: int) -> float:
    async with await open_database(path, clock) as db:
        started = time.perf_counter()
        queued = await sweep.sweep(db)
        elapsed = time.perf_counter() - started
        if queued != expected:
            raise RuntimeError(f"the sweep queued {queued:,} alerts, expected {expected:,}")
        if await sweep.sweep(db):
            raise RuntimeError("a second sweep at the same instant queued alerts")
    return elapsed


def raw_sweep(path: Path, now: int, expected: int) -> float:
    text = "Switchboard: reminder 1 of 3, chat #' || c.id || ' on +14155550100 waiting 5 min."
    count = segments.count(text)
    staff = "FROM conversations c JOIN agents a ON a.sms_permitted_at IS NOT NULL"
    due = "WHERE c.alert_due_at <= :now"
    conn = raw_connect(path)
    try:
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        made = conn.execute(
            "INSERT INTO staff_alerts (conversation_id, agent_id, kind, step, started_at,"
            " created_at) SELECT c.id, a.id, 'reminder', 2, c.alert_started_at, :now"
            f" {staff} {due}",
            {"now": now},
        ).rowcount
        conn.execute(
            "INSERT INTO messages (conversation_id, direction, purpose, kind, sender, recipient,"
            " body, encoding, segments, status, next_attempt_at, created_at, updated_at)"
            f" SELECT NULL, 'out', 'alert', 'chat', '{NUMBER}', a.mobile, '{text}', :enc, :seg,"
            f" 'queued', :now, :now, :now {staff} {due}",
            {"now": now, "enc": count.encoding, "seg": count.segments},
        )
        conn.execute(
            "UPDATE conversations SET alert_step = 2, alert_due_at = alert_due_at + :f"
            " WHERE alert_due_at <= :now",
            {"now": now, "f": EVERY * 60_000},
        )
        conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        if made != expected:
            raise RuntimeError(f"the raw INSERT made {made:,} alerts, expected {expected:,}")
        return elapsed
    finally:
        conn.close()


class WorkingClock:
    """Stands still while the worker sleeps, runs at real speed while it works."""

    def __init__(self, start: datetime) -> None:
        self._base = start
        self._mark = time.perf_counter()

    def now(self) -> datetime:
        return self._base + timedelta(seconds=time.perf_counter() - self._mark)

    def jump(self, to: datetime) -> None:
        self._base, self._mark = to, time.perf_counter()


async def lateness(path: Path, start: datetime, until: datetime) -> tuple[list[float], int]:
    """(lateness in seconds of each alert queued, wakes), the worker woken at each due time."""
    clock = WorkingClock(start)
    wakes = 0
    async with await open_database(path, clock) as db:
        while True:
            due = await sweep.next_due(db)
            if due is None or due > until:
                break
            clock.jump(max(due, clock.now() + timedelta(seconds=WAKE_GAP)))
            await sweep.sweep(db)
            wakes += 1
        steps = timeline.plan(EVERY, REMINDERS, ESCALATE)
        rows = await db.fetchall(
            "SELECT a.step, a.started_at, m.created_at FROM staff_alerts a"
            " JOIN messages m ON m.id = a.message_id WHERE a.step > 1"
        )
    late = [
        (r["created_at"] - r["started_at"] - steps[r["step"] - 1].minute * 60_000) / 1000
        for r in rows
    ]
    return late, wakes


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=None, help=f"waiting chats ({DEFAULT:,})")
    parser.add_argument("--staff", type=int, default=STAFF, help="staff on shift")
    parser.add_argument("--alertable", type=int, default=ALERTABLE, help="of them, texted")
    args = parser.parse_args()
    count = args.count or (SMALL if os.environ.get("BENCH_SMALL") == "1" else DEFAULT)
    staff, alertable = args.staff, min(args.alertable, args.staff)
    clock = FakeClock()
    now = to_ms(clock.now())
    burst = [now - EVERY * 60_000 - i % 1000 for i in range(count)]  # all due now
    interval = EVERY * 60_000
    spread = [now - interval + i * interval // count for i in range(count)]
    with scratch_dir() as tmp:
        await build(tmp / "sweep.db", count, staff, alertable, burst)
        await build(tmp / "raw.db", count, staff, alertable, burst)
        await build(tmp / "late.db", count, staff, alertable, spread)
        swept = await one_sweep(tmp / "sweep.db", clock, count * alertable)
        raw = raw_sweep(tmp / "raw.db", now, count * alertable)
        late, wakes = await lateness(
            tmp / "late.db", clock.now(), clock.now() + timedelta(milliseconds=interval - 1)
        )
    alerts = count * alertable
    print_table(
        f"alerts: {count:,} chats due, {staff:,} staff on shift, {alertable:,} texted",
        ["step", "ms", "alerts/s"],
        [
            ["sweep (chunks, outbox, feed)", f"{swept * 1000:,.1f}", f"{alerts / swept:,.0f}"],
            ["raw INSERTs + UPDATE (sqlite3)", f"{raw * 1000:,.1f}", f"{alerts / raw:,.0f}"],
        ],
    )
    print(f"ratio sweep/raw: {swept / raw:.1f}x (goal <= {GOAL_RATIO:.0f}x)")
    print(
        f"reminder lateness over one interval, {len(late):,} alerts in {wakes:,} wakes:"
        f" p50 {statistics.median(late):.3f} s, p99 {percentile(late, 0.99):.3f} s,"
        f" max {max(late):.3f} s (goal p99 <= {GOAL_P99:.0f} s)"
    )


if __name__ == "__main__":
    asyncio.run(main())
