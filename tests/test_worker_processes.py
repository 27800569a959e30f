"""W1, W2 across real processes: `switchboard worker` twice on one database.

Only one worker acts at a time (a lease row); SIGTERM hands the lease over
at once; SIGKILL mid-drain loses nothing and resends at most the batch that
was in flight (the sandbox counts resends by our message ID).

The waits here are polls for things that are due now (a process starting,
a queue draining, a lease being given up), each with a deadline.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from core import settings
from core.clock import FakeClock, SystemClock
from core.db import Database, open_database
from core.delivery import outbox
from core.people.authz import SYSTEM
from core.scheduling.options import WorkerOptions
from core.scheduling.worker import Worker
from core.sms import conversations, numbers
from providers.sandbox import SandboxGateway
from tests.processes import (
    Background,
    query,
    running,
    scalar,
    switchboard,
    wait_for,
    worker,
)

pytestmark = pytest.mark.slow

LEASE_SECONDS = 2.0
BATCH = WorkerOptions().batch_size
OUR_NUMBER = "+14155550100"


async def _queue(db_path: Path, count: int, *, conversations_count: int = 50) -> None:
    """``count`` queued messages over a few conversations, in one transaction."""
    db = await open_database(db_path, SystemClock())
    try:
        if not await db.scalar("SELECT count(*) FROM numbers"):
            await numbers.add(db, SYSTEM, OUR_NUMBER, default=True)
        number_id = await db.scalar("SELECT id FROM numbers WHERE e164 = ?", (OUR_NUMBER,))
        async with db.transaction() as tx:
            ids = []
            for i in range(conversations_count):
                row = await conversations.get_or_create_in(
                    tx, number_id, f"+1212555{1000 + i:04d}", None, None
                )
                ids.append(row["id"])
            for i in range(count):
                await outbox.queue_in(tx, ids[i % len(ids)], f"message {i} of {count}")
    finally:
        await db.close()


async def _configure(db_path: Path, **changes: object) -> None:
    db = await open_database(db_path, SystemClock())
    try:
        await settings.update(db, SYSTEM, **changes)
    finally:
        await db.close()


def prepare(db_path: Path, count: int, *, rate: float) -> None:
    asyncio.run(_configure(db_path, rate_segments_per_second=rate, sandbox_delivery_seconds=0))
    if count:
        asyncio.run(_queue(db_path, count))


def status_counts(db: Path) -> dict[str, int]:
    return {
        r["status"]: r["n"]
        for r in query(
            db, "SELECT status, count(*) AS n FROM messages WHERE direction = 'out' GROUP BY 1"
        )
    }


def done(db: Path) -> int:
    return scalar(db, "SELECT count(*) FROM messages WHERE status IN ('sent', 'delivered')")


def leases_taken(db: Path) -> int:
    return scalar(db, "SELECT count(*) FROM events WHERE kind = 'lease.taken'")


def lease_pid(db: Path) -> int | None:
    """The pid of the unexpired lease holder, if any."""
    return scalar(
        db,
        "SELECT pid FROM leases WHERE name = 'worker' AND expires_at >= ?",
        (int(time.time() * 1000),),
    )


def started(process: Background) -> bool:
    return "worker: database" in process.output()


def both_have_ticked(db: Path, since_ms: int) -> bool:
    """The holder renewed a full second after both workers started (so both tried)."""
    expires = scalar(db, "SELECT expires_at FROM leases WHERE name = 'worker'")
    return expires is not None and expires > since_ms + LEASE_SECONDS * 1000 + 1000


def start_two(db: Path, home: Path) -> tuple[Background, Background]:
    lease = ("--lease-seconds", str(LEASE_SECONDS))
    return worker(db, home, "a", *lease), worker(db, home, "b", *lease)


def test_two_workers_one_acts_and_every_message_is_sent_once(tmp_path: Path):
    db = tmp_path / "switchboard.sqlite3"
    prepare(db, 300, rate=100_000)
    a, b = start_two(db, tmp_path)
    with running(a, b):
        wait_for(lambda: started(a) and started(b), timeout=15, what="both workers", alive=(a, b))
        since = int(time.time() * 1000)
        wait_for(lambda: done(db) == 300, timeout=20, what="300 messages sent", alive=(a, b))
        wait_for(lambda: both_have_ticked(db, since), timeout=10, what="a renewal", alive=(a, b))

        assert lease_pid(db) in {a.pid, b.pid}
        holder, other = (a, b) if lease_pid(db) == a.pid else (b, a)
        assert leases_taken(db) == 1, "the lease never changed hands"
        assert "worker: acting" in holder.output()
        assert "worker: acting" not in other.output(), other.output()

        assert status_counts(db).keys() <= {"sent", "delivered"}
        assert scalar(db, "SELECT count(*) FROM sandbox_messages") == 300
        assert scalar(db, "SELECT max(send_calls) FROM sandbox_messages") == 1, "sent once each"
        assert scalar(db, "SELECT max(attempts) FROM messages") == 1


def test_sigterm_gives_the_lease_up_and_the_other_worker_takes_over(tmp_path: Path):
    db = tmp_path / "switchboard.sqlite3"
    prepare(db, 0, rate=100_000)
    a, b = start_two(db, tmp_path)
    with running(a, b):
        wait_for(lambda: started(a) and started(b), timeout=15, what="both workers", alive=(a, b))
        since = int(time.time() * 1000)
        wait_for(lambda: both_have_ticked(db, since), timeout=10, what="a renewal", alive=(a, b))
        holder, other = (a, b) if lease_pid(db) == a.pid else (b, a)
        assert leases_taken(db) == 1

        stopping = time.monotonic()
        assert holder.terminate(timeout=5) == 0, holder.output()
        stopped_in = time.monotonic() - stopping
        assert "worker: stopped" in holder.output()
        assert holder.pid not in {r["pid"] for r in query(db, "SELECT pid FROM leases")}

        wait_for(lambda: leases_taken(db) == 2, timeout=LEASE_SECONDS, what="the takeover")
        took_over_in = time.monotonic() - stopping
        assert lease_pid(db) == other.pid
        wait_for(lambda: "worker: acting" in other.output(), timeout=2, what="the log line")
        print(f"\nSIGTERM: stopped in {stopped_in:.2f} s, taken over {took_over_in:.2f} s after")

        # The new holder does the work.
        asyncio.run(_queue(db, 20, conversations_count=5))
        wait_for(lambda: done(db) == 20, timeout=10, what="20 messages sent", alive=(other,))
        assert other.terminate(timeout=5) == 0
        assert scalar(db, "SELECT count(*) FROM leases") == 0


def test_sigkill_mid_drain_loses_nothing_and_resends_at_most_one_batch(tmp_path: Path):
    total = 2_000
    db = tmp_path / "switchboard.sqlite3"
    prepare(db, total, rate=400)  # about 5 s for one worker: time to kill it mid-drain
    lease = ("--lease-seconds", str(LEASE_SECONDS))
    a = worker(db, tmp_path, "a", *lease)
    with running(a):
        wait_for(lambda: done(db) > 100, timeout=20, what="the drain to start", alive=(a,))
        os.kill(a.pid, signal.SIGKILL)
        assert a.proc.wait(timeout=5) == -signal.SIGKILL
    at_kill = status_counts(db)
    in_sandbox = scalar(db, "SELECT count(*) FROM sandbox_messages")
    assert 100 < done(db) < total, f"killed too late to test anything: {at_kill}"

    killed_at = time.monotonic()
    b = worker(db, tmp_path, "b", *lease)
    with running(b):
        wait_for(
            lambda: (
                scalar(db, "SELECT count(*) FROM messages WHERE status IN ('queued', 'sending')")
                == 0
            ),
            timeout=60,
            what="worker B to drain the rest",
            alive=(b,),
            state=lambda: (status_counts(db), b.output()),
        )
        drained_in = time.monotonic() - killed_at
    final = status_counts(db)
    resent = scalar(db, "SELECT count(*) FROM sandbox_messages WHERE send_calls > 1")
    print(
        f"\nSIGKILL at {at_kill} ({in_sandbox} in the sandbox); B finished in {drained_in:.1f} s;"
        f" final {final}; resent {resent}"
    )

    assert sum(final.values()) == total, "none lost"
    assert final.keys() <= {"sent", "delivered", "failed"}
    assert not scalar(
        db, "SELECT count(*) FROM messages WHERE status = 'failed' AND coalesce(error, '') = ''"
    )
    assert scalar(db, "SELECT count(*) FROM sandbox_messages") == total, "one row per message"
    assert (
        scalar(
            db,
            "SELECT count(*) FROM messages m LEFT JOIN sandbox_messages s ON s.message_id = m.id"
            " WHERE s.message_id IS NULL AND m.status != 'failed'",
        )
        == 0
    )
    assert resent <= BATCH
    in_flight = at_kill.get("sending", 0)
    assert resent <= in_flight
    accepted_unrecorded = in_sandbox - at_kill.get("sent", 0) - at_kill.get("delivered", 0)
    requeued = scalar(db, "SELECT count(*) FROM events WHERE kind = 'message.requeued'")
    # A message A handed over but never recorded is either sent again (the
    # sandbox knows it by our ID) or settled first by its delivery report,
    # whichever of B's jobs reaches it first: never delivered twice either way.
    assert resent <= accepted_unrecorded, "only those the sandbox took but A never recorded"
    assert resent <= requeued <= in_flight
    assert scalar(db, "SELECT max(send_calls) FROM sandbox_messages") <= 2
    if in_flight:
        assert f"{in_flight} message(s) in flight; sending them again" in b.output()
    assert drained_in < WorkerOptions().send_lease_seconds / 2, "B did not wait out A's leases"
    assert leases_taken(db) == 2, "A took the lease, then B"
    taken_by = [r["data"] for r in query(db, "SELECT data FROM events WHERE kind = 'lease.taken'")]
    assert f":{b.pid}:" in taken_by[-1]


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()  # reaped: the pid names no process now
    return child.pid


@pytest.mark.parametrize(
    ("pid", "host", "reclaimed"),
    [
        (_dead_pid(), socket.gethostname(), True),
        (os.getppid(), socket.gethostname(), False),  # alive: maybe only stalled
        (_dead_pid(), "another-host", False),  # cannot tell: never presumed dead
    ],
    ids=["dead-here", "alive-here", "elsewhere"],
)
async def test_a_new_holder_resends_at_once_only_what_a_dead_worker_had_in_flight(
    db: Database, clock: FakeClock, pid: int, host: str, reclaimed: bool
):
    await numbers.add(db, SYSTEM, OUR_NUMBER, default=True)
    await settings.update(db, SYSTEM, sandbox_delivery_seconds=0)
    async with db.transaction() as tx:
        row = await conversations.get_or_create_in(tx, 1, "+12125551000", None, None)
        message_id = await outbox.queue_in(tx, row["id"], "in flight when its worker died")
    dead = Worker(db, SandboxGateway(db), WorkerOptions(lease_seconds=2), holder="dead")
    assert await dead.tick_lease()
    assert [m.message_id for m in await outbox.claim(db, 10, lease_seconds=120)] == [message_id]
    async with db.transaction() as tx:  # as if another process had held it
        await tx.execute("UPDATE leases SET pid = ?, host = ?", (pid, host))
    clock.advance(seconds=3)  # its lease lapsed; its message's sending lease has not

    heir = Worker(db, SandboxGateway(db), WorkerOptions(lease_seconds=2), holder="heir")
    await heir.run_once()
    assert heir.active
    status = await db.scalar("SELECT status FROM messages WHERE id = ?", (message_id,))
    assert status == ("delivered" if reclaimed else "sending")
    clock.advance(seconds=120)  # otherwise it waits for the sending lease, as before
    await heir.run_once()
    assert await db.scalar("SELECT status FROM messages WHERE id = ?", (message_id,)) == (
        "delivered"
    )


def test_sigterm_mid_drain_leaves_nothing_sending_and_no_traceback(tmp_path: Path):
    total = 5_000
    db = tmp_path / "switchboard.sqlite3"
    # Over 12 s of sending at 400/s: SIGTERM lands mid-drain even on a slow machine.
    prepare(db, total, rate=400)
    a = worker(db, tmp_path, "a", "--lease-seconds", str(LEASE_SECONDS))
    with running(a):
        wait_for(lambda: done(db) > 100, timeout=20, what="the drain to start", alive=(a,))
        assert a.terminate(timeout=30) == 0, a.output()
    output = a.output()
    assert "worker: stopped" in output
    assert "Traceback" not in output, output
    assert "CancelledError" not in output, output
    counts = status_counts(db)
    assert 100 < done(db) < total, f"stopped too late to test anything: {counts}"
    assert "sending" not in counts, f"a clean stop records what it sent: {counts}"
    assert scalar(db, "SELECT count(*) FROM leases") == 0
    # What the sandbox took was recorded as sent, never left to be sent again.
    assert (
        scalar(
            db,
            "SELECT count(*) FROM sandbox_messages s JOIN messages m ON m.id = s.message_id"
            " WHERE m.status NOT IN ('sent', 'delivered')",
        )
        == 0
    )


def test_status_says_when_the_lease_holders_process_is_gone(tmp_path: Path):
    db = tmp_path / "switchboard.sqlite3"
    prepare(db, 0, rate=100)
    gone, now_ms = _dead_pid(), int(time.time() * 1000)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "INSERT INTO leases (name, holder, pid, host, acquired_at, expires_at)"
            " VALUES ('worker', 'killed', ?, ?, ?, ?)",
            (gone, socket.gethostname(), now_ms, now_ms + 600_000),
        )
    conn.close()

    result = switchboard("status", db=db, home=tmp_path)
    assert result.returncode == 0, result.stderr
    [line] = [x for x in result.stdout.splitlines() if x.startswith("worker ")]
    assert f"pid {gone} on {socket.gethostname()}" in line
    assert "its process is gone" in line
    as_json = json.loads(switchboard("status", "--json", db=db, home=tmp_path).stdout)
    assert as_json["worker"]["gone"] is True

    alive = os.getpid()  # this test's own process: alive, so never presumed gone
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE leases SET pid = ?", (alive,))
    conn.close()
    result = switchboard("status", db=db, home=tmp_path)
    assert "gone" not in result.stdout
    assert (
        json.loads(switchboard("status", "--json", db=db, home=tmp_path).stdout)["worker"]["gone"]
        is False
    )
