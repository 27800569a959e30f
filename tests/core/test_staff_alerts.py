"""A3: the alert timeline end to end: real SQLite file, fake clock, the worker's job.

Shifts and consent are written as rows (the services have their own tests);
the alert settings go through ``core.settings``, as a manager sets them.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core import settings
from core.alerts import stopping, sweep
from core.clock import FakeClock, to_ms
from core.db import Database, open_database
from core.notify import closing
from core.people import agents
from core.people.authz import SYSTEM
from core.scheduling.worker import Worker
from core.sms import conversations, receiving, sending
from providers.sandbox import SandboxGateway
from tests.core.conftest import ALICE_NUMBER, CARL_MOBILE, DEFAULT_NUMBER, DORA_MOBILE, Team

# Monday 2026-01-05 09:00 UTC is the fake clock's start: minute 540 of the UTC week.
MONDAY_MORNING = (8 * 60, 4 * 60)
"""Monday 08:00-12:00, as (start minute of the week, minutes)."""
MONDAY_AFTERNOON = (12 * 60, 4 * 60)
NOON = 3 * 60  # minutes from the clock's start to Monday 12:00

NORA, OLLIE, PAT, QUINN = "+12125550161", "+12125550162", "+12125550163", "+12125550164"


Choose = Callable[..., Awaitable[object]]

_NAMES = {
    "every": "alert_every_minutes",
    "reminders": "alert_reminders",
    "escalate_after": "alert_escalate_after",
    "message_body": "alert_message_body",
    "on": "mobile_alerts",
}


@pytest.fixture
async def chosen(db: Database) -> Choose:
    """Mobile alerts on: every 5 minutes, 3 reminders, escalation after 3 attempts.
    The test calls it to change them (every=0 takes the reminders and escalation off)."""

    async def choose(**values: Any) -> object:
        if values.get("every") == 0:
            values = {"reminders": 0, "escalate_after": 0, **values}
        return await settings.update(db, SYSTEM, **{_NAMES[k]: v for k, v in values.items()})

    await settings.update(db, SYSTEM, staff_sms=True)
    await choose(on=True, every=5, reminders=3, escalate_after=3)
    return choose


async def staff(
    db: Database, username: str, mobile: str, *, permitted: bool = True, new_chat: bool = True
) -> int:
    agent = await agents.add(db, SYSTEM, username, username.title(), "Agent")
    await db.write(
        "UPDATE agents SET mobile = ?, sms_permitted_at = CASE WHEN ? THEN 1 END,"
        " sms_permitted_by = CASE WHEN ? THEN id END, new_chat_alerts = ? WHERE id = ?",
        (mobile, permitted, permitted, int(new_chat), agent.id),
    )
    return agent.id


async def weekly(
    db: Database, agent_id: int, kind: str, span: tuple[int, int], zone: str = "UTC"
) -> None:
    await db.write(
        "INSERT INTO shifts (agent_id, kind, time_zone, start_minute, minutes, created_at)"
        " VALUES (?, ?, ?, ?, ?, 0)",
        (agent_id, kind, zone, span[0], span[1]),
    )


@pytest.fixture
async def rota(db: Database, team: Team) -> dict[str, int]:
    """nora, ollie: normal shift now; pat: on call now; quinn: normal shift this afternoon.
    Not alerted whatever happens: rita (no permission), sam (New Chat off), tess (off shift)."""
    ids = {
        "nora": await staff(db, "nora", NORA),
        "ollie": await staff(db, "ollie", OLLIE),
        "pat": await staff(db, "pat", PAT),
        "quinn": await staff(db, "quinn", QUINN),
        "rita": await staff(db, "rita", "+12125550165", permitted=False),
        "sam": await staff(db, "sam", "+12125550166", new_chat=False),
        "tess": await staff(db, "tess", "+12125550167"),
    }
    for name in ("nora", "ollie", "rita", "sam"):
        await weekly(db, ids[name], "normal", MONDAY_MORNING)
    await weekly(db, ids["pat"], "oncall", MONDAY_MORNING)
    await weekly(db, ids["quinn"], "normal", MONDAY_AFTERNOON)
    await weekly(db, ids["tess"], "normal", (3 * 24 * 60, 60))  # Thursday
    return ids


async def alerts(db: Database) -> list[tuple[str, str]]:
    """(recipient, body) of every alert queued, in order."""
    rows = await db.fetchall(
        "SELECT recipient, body FROM messages WHERE purpose = 'alert' ORDER BY id"
    )
    return [(r["recipient"], r["body"]) for r in rows]


async def chat(db: Database, body: str = "I need help", sender: str = CARL_MOBILE) -> int:
    return (await receiving.receive(db, sender, DEFAULT_NUMBER, body)).conversation_id


async def test_a_step_writes_one_feed_event_for_its_alerts_not_one_per_message(
    db: Database, rota: dict[str, int], chosen: Choose
) -> None:
    cid = await chat(db)
    before = await db.scalar("SELECT max(id) FROM events")
    await sweep.sweep(db)
    rows = await db.fetchall(
        "SELECT kind, entity, entity_id, data FROM events WHERE id > ? ORDER BY id", (before,)
    )
    assert [(r["kind"], r["entity"], r["entity_id"]) for r in rows] == [
        ("alert.queued", "conversation", cid)
    ]
    assert json.loads(rows[0]["data"]) == {"step": 1, "count": 2}  # nora and ollie


async def test_a_new_chat_alerts_the_consenting_staff_on_a_normal_shift(
    db: Database, rota: dict[str, int], chosen: Choose, worker: Worker
) -> None:
    cid = await chat(db)
    await worker.run_once()
    text = f"Switchboard: new chat #{cid} waiting on {DEFAULT_NUMBER}."
    assert await alerts(db) == [(NORA, text), (OLLIE, text)]
    recorded = await db.fetchall("SELECT agent_id, kind, step FROM staff_alerts ORDER BY agent_id")
    assert [tuple(r) for r in recorded] == [
        (rota["nora"], "new_chat", 1),
        (rota["ollie"], "new_chat", 1),
    ]
    # Sent through the outbox like any SMS, with no opt-out line (staff consented).
    sent = await db.fetchall("SELECT status, body FROM messages WHERE purpose = 'alert'")
    assert {r["status"] for r in sent} <= {"sent", "delivered"}


async def test_each_reminder_at_its_minute_then_the_escalation(
    db: Database, rota: dict[str, int], chosen: Choose, worker: Worker, clock: FakeClock
) -> None:
    cid = await chat(db)
    await worker.run_once()
    seen = len(await alerts(db))
    for minute, expected in [
        (5, ["reminder 1 of 3, chat #{cid} on {n} waiting 5 min."] * 2),
        (10, ["reminder 2 of 3, chat #{cid} on {n} waiting 10 min."] * 2),
        (
            15,
            ["reminder 3 of 3, chat #{cid} on {n} waiting 15 min."] * 2
            + ["chat #{cid} on {n} unanswered for 15 min after 3 alerts."],
        ),
    ]:
        clock.advance(minutes=5, seconds=-1)
        await worker.run_once()
        assert len(await alerts(db)) == seen, f"nothing before minute {minute}"
        clock.advance(seconds=1)
        await worker.run_once()
        new = (await alerts(db))[seen:]
        assert [body for _, body in new] == [
            "Switchboard: " + e.format(cid=cid, n=DEFAULT_NUMBER) for e in expected
        ]
        seen += len(new)
    assert [r for r, _ in (await alerts(db))[-3:]] == [NORA, OLLIE, PAT]
    # The timeline is over: nothing more, however long the chat waits.
    assert await sweep.next_due(db) is None
    clock.advance(hours=1)
    await worker.run_once()
    assert len(await alerts(db)) == seen


async def test_no_frequency_sends_only_the_new_chat_alert(
    db: Database, rota: dict[str, int], chosen: Choose, worker: Worker, clock: FakeClock
) -> None:
    await chosen(every=0)
    await chat(db)
    await worker.run_once()
    clock.advance(hours=2)
    await worker.run_once()
    assert [r for r, _ in await alerts(db)] == [NORA, OLLIE]


@pytest.mark.parametrize("how", ["take", "reply", "close"])
async def test_taking_answering_or_closing_stops_the_alerts_at_once(
    db: Database,
    team: Team,
    rota: dict[str, int],
    chosen: Choose,
    clock: FakeClock,
    how: str,
) -> None:
    cid = await chat(db)
    assert await sweep.sweep(db) == 2  # queued, not yet sent: stopping fails them
    if how == "take":
        await conversations.take(db, team.bob, cid)
    elif how == "reply":
        await sending.send(db, team.dana, CARL_MOBILE, "On it")
    else:
        await closing.close(db, team.dana, cid, "Wrong Number", {})
    # A reply to a chat nobody owns hands it to the one who replied: it was taken.
    reason = stopping.CLOSED if how == "close" else stopping.TAKEN
    rows = await db.fetchall("SELECT status, error FROM messages WHERE purpose = 'alert'")
    assert [(r["status"], r["error"]) for r in rows] == [("failed", reason)] * 2
    assert await db.scalar("SELECT alert_due_at FROM conversations WHERE id = ?", (cid,)) is None
    clock.advance(minutes=30)
    assert await sweep.sweep(db) == 0


async def test_a_chat_someone_owns_or_a_keyword_starts_no_timeline(
    db: Database, rota: dict[str, int], chosen: Choose
) -> None:
    await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "hello alice")  # alice's own number
    await receiving.receive(db, CARL_MOBILE, DEFAULT_NUMBER, "HELP")
    assert await sweep.sweep(db) == 0
    assert await sweep.next_due(db) is None


async def test_a_second_message_while_waiting_does_not_restart_the_timeline(
    db: Database, rota: dict[str, int], chosen: Choose, clock: FakeClock
) -> None:
    cid = await chat(db)
    await sweep.sweep(db)
    clock.advance(minutes=2)
    await chat(db, "still there?")
    row = await db.fetchone(
        "SELECT alert_started_at, alert_step, alert_due_at FROM conversations WHERE id = ?",
        (cid,),
    )
    assert row is not None
    t0 = to_ms(clock.now()) - 2 * 60_000
    assert tuple(row) == (t0, 1, t0 + 5 * 60_000)


async def test_someone_whose_shift_starts_while_the_chat_waits_gets_the_next_reminder(
    db: Database, rota: dict[str, int], chosen: Choose, clock: FakeClock
) -> None:
    await chosen(every=10, reminders=5, escalate_after=0)
    clock.advance(minutes=NOON - 15)  # 11:45: nora and ollie on shift, quinn from noon
    await chat(db)
    await sweep.sweep(db)
    clock.advance(minutes=10)  # 11:55
    await sweep.sweep(db)
    clock.advance(minutes=10)  # 12:05: the morning shift is over, quinn's has begun
    await sweep.sweep(db)
    assert [r for r, _ in await alerts(db)] == [NORA, OLLIE, NORA, OLLIE, QUINN]


async def test_nobody_on_shift_sends_nothing_but_the_timeline_goes_on(
    db: Database, rota: dict[str, int], chosen: Choose, clock: FakeClock
) -> None:
    clock.advance(hours=-2)  # 07:00: nobody on shift
    await chat(db)
    assert await sweep.sweep(db) == 0
    clock.advance(hours=1, minutes=5)  # 08:05: every step fell due while nobody swept
    # One alert per person, the latest that fell due, and the escalation: not three
    # reminders in a row.
    await sweep.sweep(db)
    assert await alerts(db) == [
        (NORA, "Switchboard: reminder 3 of 3, chat #1 on +14155550100 waiting 65 min."),
        (OLLIE, "Switchboard: reminder 3 of 3, chat #1 on +14155550100 waiting 65 min."),
        (PAT, "Switchboard: chat #1 on +14155550100 unanswered for 65 min after 3 alerts."),
    ]


async def test_mobile_alerts_switched_off_end_the_timelines_sending_nothing(
    db: Database, rota: dict[str, int], chosen: Choose, clock: FakeClock
) -> None:
    await chat(db)
    await sweep.sweep(db)
    await chosen(on=False)
    clock.advance(minutes=5)
    assert await sweep.sweep(db) == 0
    assert await sweep.next_due(db) is None
    await chosen(on=True)
    clock.advance(minutes=5)
    assert await sweep.sweep(db) == 0
    assert len(await alerts(db)) == 2


async def test_settings_changed_mid_timeline_apply_to_the_steps_to_come(
    db: Database, rota: dict[str, int], chosen: Choose, clock: FakeClock
) -> None:
    cid = await chat(db)
    await sweep.sweep(db)
    await chosen(every=10, reminders=1, escalate_after=0)
    clock.advance(minutes=5)
    assert await sweep.sweep(db) == 0  # reminder 1 now falls at 10 minutes
    clock.advance(minutes=5)
    assert await sweep.sweep(db) == 2
    assert (await alerts(db))[-1][1] == (
        f"Switchboard: reminder 1 of 1, chat #{cid} on {DEFAULT_NUMBER} waiting 10 min."
    )
    assert await sweep.next_due(db) is None


async def test_a_restart_mid_timeline_loses_nothing_and_sends_nothing_twice(
    db: Database, db_path: Path, rota: dict[str, int], chosen: Choose, clock: FakeClock
) -> None:
    await chat(db)
    first = Worker(db, SandboxGateway(db), holder="first")
    await first.run_once()
    clock.advance(minutes=5)
    await first.run_once()
    await db.close()
    # Down for 7 minutes; another process picks up on the same file after the lease lapsed.
    later = FakeClock(clock.now() + timedelta(minutes=7))
    async with await open_database(db_path, later) as again:
        second = Worker(again, SandboxGateway(again), holder="second")
        await second.run_once()
        await second.run_once()
        rows = await again.fetchall(
            "SELECT kind, step, count(*) AS n FROM staff_alerts GROUP BY kind, step ORDER BY step"
        )
        # The new chat and reminder 1 before the stop, reminder 2 (due at 10) after
        # it, 12 minutes in; reminder 3 and the escalation are due at 15.
        assert [tuple(r) for r in rows] == [
            ("new_chat", 1, 2),
            ("reminder", 2, 2),
            ("reminder", 3, 2),
        ]
        sent = await again.scalar("SELECT count(*) FROM messages WHERE purpose = 'alert'")
        assert sent == 6
        later.advance(minutes=3)
        await second.run_once()
        await second.run_once()
        assert await again.scalar("SELECT count(*) FROM messages WHERE purpose = 'alert'") == 9
        assert await again.scalar("SELECT count(DISTINCT message_id) FROM staff_alerts") == 9


async def test_a_sweep_killed_between_chunks_resumes_without_sending_twice(
    db: Database,
    team: Team,
    rota: dict[str, int],
    chosen: Choose,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sweep, "MAX_CONVERSATIONS", 3)
    chats = [await chat(db, sender=f"+1212555{i:04d}") for i in range(200, 208)]
    real = sweep.texts.render
    calls = 0

    def dies_in_the_third_chunk(*args: Any, **kwargs: Any) -> str:
        nonlocal calls
        calls += 1
        if calls == 7:
            raise RuntimeError("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(sweep.texts, "render", dies_in_the_third_chunk)
    with pytest.raises(RuntimeError, match="killed"):
        await sweep.sweep(db)
    assert await db.scalar("SELECT count(*) FROM staff_alerts") == 2 * 6
    monkeypatch.setattr(sweep.texts, "render", real)
    assert await sweep.sweep(db) == 2 * 2
    assert await sweep.sweep(db) == 0
    per_chat = await db.fetchall(
        "SELECT conversation_id, count(*) AS n FROM staff_alerts GROUP BY conversation_id"
    )
    assert {r["conversation_id"]: r["n"] for r in per_chat} == dict.fromkeys(chats, 2)


async def test_many_waiting_chats_are_one_run_in_chunks(
    db: Database,
    rota: dict[str, int],
    chosen: Choose,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sweep, "MAX_CONVERSATIONS", 7)
    for i in range(30):
        await chat(db, sender=f"+1212555{300 + i:04d}")
    transactions = 0
    real = db.transaction

    def counted() -> Any:
        nonlocal transactions
        transactions += 1
        return real()

    monkeypatch.setattr(db, "transaction", counted)
    assert await sweep.sweep(db) == 60
    assert transactions == 5  # ceil(30 / 7): one short transaction per chunk


async def test_a_weekly_shift_follows_new_york_across_the_march_change(
    db: Database, team: Team, chosen: Choose, clock: FakeClock
) -> None:
    nora = await staff(db, "nora", NORA)
    # Sundays 09:00-10:00 in New York: minute 6 * 1440 + 540 of the local week.
    await weekly(db, nora, "normal", (6 * 1440 + 540, 60), zone="America/New_York")
    # 2026-03-01 (EST, UTC-5) and 2026-03-08 (EDT, UTC-4, from 02:00 that morning).
    clock.set(datetime(2026, 3, 1, 13, 30, tzinfo=UTC))  # 08:30 EST: before the shift
    await chat(db, sender="+12125550401")
    clock.set(datetime(2026, 3, 1, 14, 30, tzinfo=UTC))  # 09:30 EST: on shift
    await chat(db, sender="+12125550402")
    clock.set(datetime(2026, 3, 8, 13, 30, tzinfo=UTC))  # 09:30 EDT: on shift
    await chat(db, sender="+12125550403")
    clock.set(datetime(2026, 3, 8, 14, 30, tzinfo=UTC))  # 10:30 EDT: after it
    await chat(db, sender="+12125550404")
    await chosen(every=0)
    started = await db.fetchall(
        "SELECT id, alert_started_at FROM conversations WHERE alert_due_at IS NOT NULL ORDER BY id"
    )
    alerted = []
    for row in started:
        clock.set(datetime.fromtimestamp(row["alert_started_at"] / 1000, UTC))
        if await sweep.sweep(db):
            alerted.append(row["id"])
    assert alerted == [started[1]["id"], started[2]["id"]]


@pytest.mark.parametrize("hipaa", [False, True])
async def test_alerts_carry_no_body_by_default_and_no_phi_in_hipaa_mode(
    db: Database, rota: dict[str, int], chosen: Choose, clock: FakeClock, hipaa: bool
) -> None:
    from core.people import contacts
    from core.people.contacts import ContactDraft

    phone = "+12125550499"
    await contacts.create(db, SYSTEM, ContactDraft(name="Zed NAMEMARK", phones=[(phone, "mobile")]))
    if hipaa:
        await settings.update(db, SYSTEM, hipaa_mode=True)
    await chat(db, "first BODYMARK text", sender=phone)  # no body by default
    await sweep.sweep(db)
    await chosen(message_body=True)
    clock.advance(minutes=5)
    await receiving.receive(db, phone, DEFAULT_NUMBER, "second BODYMARK text")
    await sweep.sweep(db)
    clock.advance(minutes=10)
    await sweep.sweep(db)
    rows = await db.fetchall("SELECT * FROM messages WHERE purpose = 'alert'")
    assert len(rows) == 2 + 2 + 3
    every_column = " ".join(str(v) for r in rows for v in tuple(r))
    assert "NAMEMARK" not in every_column
    assert phone not in every_column
    first = [r["body"] for r in rows[:2]]
    assert not any("BODYMARK" in b for b in first)
    later = [r["body"] for r in rows[2:]]
    if hipaa:
        assert not any("BODYMARK" in b for b in later)
    else:
        assert all(b.endswith('"second BODYMARK text"') for b in later)
    # The change feed carries ids and kinds only.
    events = " ".join(r[0] for r in await db.fetchall("SELECT data FROM events"))
    assert "BODYMARK" not in events
    assert "NAMEMARK" not in events


async def test_the_preview_counts_the_alertable_staff_on_shift_and_status_counts_today(
    db: Database, team: Team, rota: dict[str, int], chosen: Choose, clock: FakeClock
) -> None:
    from core.alerts import overview

    report = await overview.preview(db, team.alice)  # anyone may see it
    assert (report.every, report.reminders, report.escalate_after) == (5, 3, 3)
    assert (report.normal_staff, report.oncall_staff) == (2, 1)  # nora, ollie; pat
    assert report.preview.alerts_per_chat == 2 * 4 + 1
    await chat(db)
    await sweep.sweep(db)
    clock.advance(minutes=15)
    await sweep.sweep(db)
    found = await overview.status(db, team.alice)
    assert found.on
    assert found.running == 0  # the timeline is over
    assert found.today == {"new_chat": 2, "reminder": 2, "escalation": 1}
    # "Today" is the account's day, not the server's: at 12:00 UTC it is 02:00 in
    # Honolulu, whose day began at 10:00 UTC, after these alerts (09:00-09:15 UTC).
    clock.advance(hours=2, minutes=45)
    assert (await overview.status(db, team.alice)).today["new_chat"] == 2
    await settings.update(db, SYSTEM, time_zone="Pacific/Honolulu")
    found = await overview.status(db, team.alice)
    assert found.today == {"new_chat": 0, "reminder": 0, "escalation": 0}


async def test_a_chat_reopened_after_its_close_starts_a_new_timeline(
    db: Database, team: Team, rota: dict[str, int], chosen: Choose, clock: FakeClock
) -> None:
    cid = await chat(db)
    await sweep.sweep(db)
    await closing.close(db, team.dana, cid, "Wrong Number", {})
    clock.advance(minutes=1)
    assert await chat(db, "me again") == cid
    assert await sweep.sweep(db) == 2
    timelines = await db.fetchall(
        "SELECT started_at, count(*) AS n FROM staff_alerts GROUP BY started_at"
    )
    assert [r["n"] for r in timelines] == [2, 2]
