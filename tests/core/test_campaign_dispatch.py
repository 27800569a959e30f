"""The "campaigns" job, driven through the worker on a fake clock and a real SQLite file:
programmed targets go at their time, quiet hours per zone, opt-outs and Ready flips at
send time, pause and resume, a crash between chunks, agents' replies beside a campaign,
replies and STOPs marked, progress counted."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core import settings
from core.campaigns import dispatch, fields, filters, progress
from core.campaigns.quiet_hours import NEVER_OPEN, UNKNOWN_SKIPPED
from core.clock import FakeClock, to_ms
from core.db import Database, open_database
from core.delivery import outbox, placeholders
from core.people import contacts
from core.people.authz import SYSTEM
from core.scheduling.worker import Worker
from core.sms import receiving, sending
from providers.sandbox import SandboxGateway
from tests.core import campaign_setup as cs
from tests.core.conftest import (
    ALICE_NUMBER,
    CARL_MOBILE,
    DEFAULT_NUMBER,
    DORA_MOBILE,
    ERIN_MOBILE,
    Team,
)

LONDON = "+442071234567"
UNPLACED = "+447700900123"
IDAHO = "+12085550110"


@pytest.fixture
def clock() -> FakeClock:
    # 10:00 in New York, 15:00 in London: inside quiet hours in both.
    return FakeClock(datetime(2026, 1, 5, 15, 0, tzinfo=UTC))


async def _campaign_messages(db: Database, campaign_id: int) -> list[dict[str, object]]:
    """What the campaign sent, one entry per recipient: a batch row (schema 14) stands
    for each of its targets, with the text the provider makes for that target."""
    rows = await db.fetchall(
        "SELECT m.id, coalesce(t.phone, m.recipient) AS recipient, m.body,"
        " coalesce(t.outcome, m.status) AS status, m.purpose, m.batch_template,"
        " coalesce(m.recipient_values ->> json_quote(t.phone), m.batch_values) AS batch_values,"
        " m.recipients"
        " FROM messages m LEFT JOIN campaign_targets t ON t.message_id = m.id"
        "   AND m.recipients IS NOT NULL AND t.state = 'queued'"
        " WHERE m.campaign_id = ? AND m.direction = 'out' ORDER BY m.id, t.id",
        (campaign_id,),
    )
    sent = [dict(r) for r in rows]
    for m in sent:
        if m.pop("recipients") is not None:
            m["body"] = placeholders.substitute(str(m["body"]), json.loads(str(m["batch_values"])))
    return sent


async def test_programmed_targets_go_at_their_time(
    db: Database, team: Team, worker: Worker, clock: FakeClock
) -> None:
    cid = await cs.campaign(db)
    await cs.target(db, cid, CARL_MOBILE, contact_id=team.carl.id)
    later = clock.now() + timedelta(minutes=10)
    await cs.target(db, cid, DORA_MOBILE, contact_id=team.dora.id, due=later)
    assert await dispatch.next_due(db) == clock.now()

    await worker.run_once()
    sent = await _campaign_messages(db, cid)
    assert [(m["recipient"], m["body"], m["status"], m["purpose"]) for m in sent] == [
        (CARL_MOBILE, "Hi Carl, your checkup is due.\nReply STOP to unsubscribe.", "sent",
         outbox.CAMPAIGN),
    ]  # fmt: skip
    # For provider batches: the template in Sinch's form, with the opt-out line this
    # first SMS to the number carries, and the recipient's values.
    assert sent[0]["batch_template"] == (
        "Hi ${first_name}, your checkup is due.\nReply STOP to unsubscribe."
    )
    assert json.loads(str(sent[0]["batch_values"])) == {"first_name": "Carl"}
    assert (await cs.targets(db, cid))[DORA_MOBILE] == ("programmed", None)
    assert await dispatch.next_due(db) == later

    clock.set(later - timedelta(seconds=1))
    await worker.run_once()
    assert len(await _campaign_messages(db, cid)) == 1
    clock.set(later)
    await worker.run_once()
    assert [m["recipient"] for m in await _campaign_messages(db, cid)] == [
        CARL_MOBILE,
        DORA_MOBILE,
    ]
    # Everything handed to the provider, nothing left: the next run finishes it.
    await worker.run_once()
    row = await db.fetchone("SELECT status, finished_at FROM campaigns WHERE id = ?", (cid,))
    assert row is not None
    assert (row["status"], row["finished_at"]) == ("finished", to_ms(later))


async def test_a_second_text_to_a_number_carries_no_opt_out_line(db: Database, team: Team) -> None:
    first = await cs.campaign(db, "First")
    await cs.target(db, first, CARL_MOBILE, contact_id=team.carl.id)
    await dispatch.Dispatcher(db).run()
    second = await cs.campaign(db, "Second", template="Bye {{name}}")
    await cs.target(db, second, CARL_MOBILE, contact_id=team.carl.id)
    await dispatch.Dispatcher(db).run()
    [message] = await _campaign_messages(db, second)
    assert (message["body"], message["batch_template"]) == ("Bye Carl Mensah", "Bye ${name}")


async def test_a_scheduled_campaign_starts_when_its_start_comes(
    db: Database, team: Team, clock: FakeClock
) -> None:
    start = clock.now() + timedelta(minutes=5)
    cid = await cs.campaign(db, status="scheduled", starts_at=start)
    await cs.target(db, cid, CARL_MOBILE, contact_id=team.carl.id)
    job = dispatch.Dispatcher(db)
    assert await job.next_due() == start
    assert await job.run() == 0
    clock.set(start)
    assert await job.run() == 1
    row = await db.fetchone("SELECT status, started_at FROM campaigns WHERE id = ?", (cid,))
    assert row is not None
    assert (row["status"], row["started_at"]) == ("running", to_ms(start))


async def test_quiet_hours_in_each_number_s_zones(
    db: Database, team: Team, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 1, 5, 12, 0, tzinfo=UTC))  # 7:00 in New York, 12:00 in London
    await settings.update(db, SYSTEM, time_zone="Europe/Paris")
    cid = await cs.campaign(db)
    await cs.target(db, cid, CARL_MOBILE, contact_id=team.carl.id)
    await cs.target(db, cid, LONDON)
    await cs.target(db, cid, UNPLACED)  # the account's zone: 13:00 in Paris
    await cs.target(db, cid, IDAHO)  # 5:00 in Boise, 4:00 in Los Angeles
    job = dispatch.Dispatcher(db)
    assert await job.run() == 4
    assert {m["recipient"] for m in await _campaign_messages(db, cid)} == {LONDON, UNPLACED}
    due = {
        r["phone"]: r["due_at"]
        for r in await db.fetchall(
            "SELECT phone, due_at FROM campaign_targets WHERE state = 'programmed'"
        )
    }
    assert due == {
        CARL_MOBILE: to_ms(datetime(2026, 1, 5, 13, 0, tzinfo=UTC)),
        IDAHO: to_ms(datetime(2026, 1, 5, 16, 0, tzinfo=UTC)),  # 8:00 in Los Angeles
    }
    assert await job.next_due() == datetime(2026, 1, 5, 13, 0, tzinfo=UTC)
    clock.set(datetime(2026, 1, 5, 13, 0, tzinfo=UTC))
    await job.run()
    assert (await cs.targets(db, cid))[CARL_MOBILE] == ("queued", None)
    assert (await cs.targets(db, cid))[IDAHO] == ("programmed", None)


async def test_unknown_zones_skipped_when_the_campaign_says_so(db: Database, team: Team) -> None:
    cid = await cs.campaign(db, unknown_zone="skip", window=(480, 540))
    await cs.target(db, cid, UNPLACED)
    await cs.target(db, cid, IDAHO)  # 8:00-9:00 in Boise and in Los Angeles never meet
    await dispatch.Dispatcher(db).run()
    assert await cs.targets(db, cid) == {
        UNPLACED: ("skipped", UNKNOWN_SKIPPED),
        IDAHO: ("skipped", NEVER_OPEN),
    }


async def test_a_name_with_a_control_character_saved_before_the_rule_is_skipped_not_sent(
    db: Database, team: Team
) -> None:
    # Contacts refuse control characters now; a name saved before that is in the file.
    await db.write("UPDATE contacts SET name = ? WHERE id = ?", ("Dora\x1b[31m Red", team.dora.id))
    cid = await cs.campaign(db)
    await cs.target(db, cid, CARL_MOBILE, contact_id=team.carl.id)
    await cs.target(db, cid, DORA_MOBILE, contact_id=team.dora.id)
    await dispatch.Dispatcher(db).run()
    assert await cs.targets(db, cid) == {
        CARL_MOBILE: ("queued", None),
        DORA_MOBILE: (
            "skipped",
            "the text with this target's values holds a control character (U+001B); it may"
            " hold line breaks and tabs, and no other",
        ),
    }
    assert "\x1b" not in "".join(str(m["body"]) for m in await _campaign_messages(db, cid))


async def test_an_opt_out_and_a_ready_flip_mid_campaign_are_skipped_and_counted(
    db: Database, team: Team, clock: FakeClock
) -> None:
    cid = await cs.campaign(db, live_filter=filters.parse("ready=true").to_json())
    later = clock.now() + timedelta(hours=1)
    await cs.target(db, cid, CARL_MOBILE, contact_id=team.carl.id)
    await cs.target(db, cid, DORA_MOBILE, contact_id=team.dora.id, due=later)
    await cs.target(db, cid, ERIN_MOBILE, contact_id=team.erin.id, due=later)
    job = dispatch.Dispatcher(db)
    await job.run()
    await receiving.receive(db, DORA_MOBILE, DEFAULT_NUMBER, "STOP")
    await contacts.set_ready(db, SYSTEM, team.erin.id, False, "moved away")
    clock.set(later)
    await job.run()
    assert await cs.targets(db, cid) == {
        CARL_MOBILE: ("queued", None),
        DORA_MOBILE: ("skipped", dispatch.OPTED_OUT),
        ERIN_MOBILE: ("skipped", dispatch.NO_LONGER_MATCHES),
    }
    seen = await progress.progress(db, SYSTEM, cid)
    assert (seen.queued, seen.skipped, seen.opted_out) == (1, 2, 1)


async def test_pause_and_resume_keep_every_target_s_state(
    db: Database, team: Team, worker: Worker, clock: FakeClock
) -> None:
    # 0.2 segments a second: room for one message in the outbox at a time.
    cid = await cs.campaign(db, rate=0.2)
    for contact, phone in ((team.carl, CARL_MOBILE), (team.dora, DORA_MOBILE),
                           (team.erin, ERIN_MOBILE)):  # fmt: skip
        await cs.target(db, cid, phone, contact_id=contact.id)
    job = dispatch.Dispatcher(db)
    await job.run()
    assert sorted(s for s, _ in (await cs.targets(db, cid)).values()) == [
        "programmed",
        "programmed",
        "queued",
    ]
    await job.run()  # the outbox still holds its one message: nothing more moves in
    assert len(await _campaign_messages(db, cid)) == 1
    await cs.set_status(db, cid, "paused")
    await worker.run_once()
    clock.advance(seconds=60)
    await worker.run_once()
    # The claim does not take a paused campaign's rows: the one in the outbox waits.
    assert [m["status"] for m in await _campaign_messages(db, cid)] == ["queued"]
    before = await cs.targets(db, cid)
    assert sorted(s for s, _ in before.values()) == ["programmed", "programmed", "queued"]
    assert (await progress.progress(db, SYSTEM, cid)).status == "paused"
    await cs.set_status(db, cid, "running")
    for _ in range(4):
        await worker.run_once()
        clock.advance(seconds=5)
    assert {s for s, _ in (await cs.targets(db, cid)).values()} == {"queued"}
    assert len(await _campaign_messages(db, cid)) == 3


async def _seven_targets(db: Database) -> tuple[int, list[str]]:
    cid = await cs.campaign(db, template="Hello {{first_name}}")
    phones = [f"+1212555{n:04d}" for n in range(150, 157)]
    for n, phone in enumerate(phones):
        await cs.target(db, cid, phone, merge_values={"first_name": f"P{n}"})
    return cid, phones


@contextlib.contextmanager
def _queueing_dies_on_its_second_call(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process dies in the second call that queues targets (a chunk's or a piece's)."""
    real = dispatch._Queue.queue
    calls = 0

    def dies(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("the process died")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(dispatch._Queue, "queue", dies)
    try:
        yield
    finally:
        monkeypatch.setattr(dispatch._Queue, "queue", real)


async def test_a_crash_between_chunks_sends_nothing_twice(
    db_path: Path, team: Team, db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid, phones = await _seven_targets(db)
    monkeypatch.setattr(dispatch, "ROWS_PER_CHUNK", 3)
    with _queueing_dies_on_its_second_call(monkeypatch), pytest.raises(RuntimeError, match="died"):
        await dispatch.Dispatcher(db).run()
    assert len(await _campaign_messages(db, cid)) == 3

    again = await open_database(db_path, clock)
    try:
        assert await dispatch.Dispatcher(again).run() == 4
        sent = await _campaign_messages(again, cid)
        assert sorted(str(m["recipient"]) for m in sent) == phones  # each once
        linked = await again.scalar(
            "SELECT count(*) FROM campaign_targets t JOIN messages m ON m.id = t.message_id"
            " WHERE t.state = 'queued'"
        )
        assert linked == 7
        # In batch rows, each target in one only.
        rows = await again.fetchall("SELECT recipients FROM messages WHERE campaign_id = ?", (cid,))
        assert sum(r["recipients"] for r in rows) == 7
    finally:
        await again.close()


async def test_a_chunk_that_fails_after_a_piece_was_sent_ahead_keeps_nothing_of_it(
    db_path: Path, team: Team, db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pieces of 2 in chunks of 4: the first piece's rows and moves are written while
    # the second is worked out, and the second fails. The chunk is one transaction.
    cid, _ = await _seven_targets(db)
    monkeypatch.setattr(dispatch, "ROWS_PER_CHUNK", 4)
    monkeypatch.setattr(dispatch, "PIECE", 2)
    monkeypatch.setattr(dispatch, "BATCH_SECONDS", 100.0)  # a batch as big as a chunk
    with _queueing_dies_on_its_second_call(monkeypatch), pytest.raises(RuntimeError, match="died"):
        await dispatch.Dispatcher(db).run()
    assert await _campaign_messages(db, cid) == []
    assert {s for s, _ in (await cs.targets(db, cid)).values()} == {"programmed"}

    again = await open_database(db_path, clock)
    try:
        assert await dispatch.Dispatcher(again).run() == 7
        rows = await again.fetchall(
            "SELECT id, recipients, segments FROM messages WHERE campaign_id = ? ORDER BY id",
            (cid,),
        )
        # One batch row a chunk, across its pieces, sized once the chunk was done.
        assert [(r["recipients"], r["segments"]) for r in rows] == [(4, 4), (3, 3)]
        members = await again.fetchall(
            "SELECT message_id, count(*) AS n, sum(segments) AS s FROM campaign_targets"
            " WHERE campaign_id = ? AND state = 'queued' GROUP BY message_id ORDER BY message_id",
            (cid,),
        )
        assert [(m["message_id"], m["n"], m["s"]) for m in members] == [
            (r["id"], r["recipients"], r["segments"]) for r in rows
        ]
    finally:
        await again.close()


async def test_agents_replies_from_the_same_number_go_beside_a_campaign(
    db: Database, team: Team, worker: Worker, clock: FakeClock
) -> None:
    # The sender sends 10 segments a second; the campaign may use 5 of them.
    cid = await cs.campaign(db, rate=5.0)
    for n in range(200):
        await cs.target(db, cid, f"+1212556{n:04d}", merge_values={"first_name": "P"})
    await worker.run_once()
    clock.advance(seconds=1)
    await worker.run_once()
    reply = await sending.send(db, team.bob, CARL_MOBILE, "Your order is ready")
    ahead = await db.scalar(
        "SELECT count(*) FROM messages WHERE status = 'queued' AND id < ?", (reply.message_id,)
    )
    # The campaign keeps at most rate x 5 s in the outbox, queued before the reply...
    assert 0 < ahead <= 5 * dispatch.LOOKAHEAD_SECONDS
    clock.advance(seconds=1)
    await worker.run_once()
    # ...and the claim takes an agent's reply before any campaign row: the next claim.
    status = await db.scalar("SELECT status FROM messages WHERE id = ?", (reply.message_id,))
    assert status in ("sent", "delivered")


async def test_replies_are_marked_with_the_campaign_that_texted_them(
    db: Database, team: Team
) -> None:
    cid = await cs.campaign(db)
    await cs.target(db, cid, CARL_MOBILE, contact_id=team.carl.id)
    await cs.target(db, cid, DORA_MOBILE, contact_id=team.dora.id)
    await dispatch.Dispatcher(db).run()
    answer = await receiving.receive(db, CARL_MOBILE, DEFAULT_NUMBER, "Yes please")
    elsewhere = await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "Who is this?")
    marked = {
        r["id"]: r["campaign_id"]
        for r in await db.fetchall("SELECT id, campaign_id FROM messages WHERE direction = 'in'")
    }
    assert marked == {answer.message_id: cid, elsewhere.message_id: None}
    results = {r.phone: r for r in await progress.results(db, SYSTEM, cid)}
    assert results[CARL_MOBILE].replied_at is not None
    assert results[DORA_MOBILE].replied_at is None
    # The reply is in the normal conversation with Carl.
    assert answer.conversation_id is not None


async def test_a_stop_answering_a_campaign_counts_as_its_opt_out(
    db: Database, team: Team, clock: FakeClock
) -> None:
    older = await cs.campaign(db, "Older")
    await cs.target(db, older, ERIN_MOBILE, contact_id=team.erin.id)
    job = dispatch.Dispatcher(db)
    await job.run()
    clock.advance(minutes=1)
    cid = await cs.campaign(db)
    await cs.target(db, cid, ERIN_MOBILE, contact_id=team.erin.id)
    await cs.target(db, cid, CARL_MOBILE, contact_id=team.carl.id)
    await job.run()
    clock.advance(minutes=1)
    stop = await receiving.receive(db, ERIN_MOBILE, DEFAULT_NUMBER, "STOP")
    await job.run()
    # The most recent campaign that texted Erin from that number has the opt-out.
    results = {r.phone: r for r in await progress.results(db, SYSTEM, cid)}
    assert results[ERIN_MOBILE].opted_out_at == clock.now()
    assert results[CARL_MOBILE].opted_out_at is None
    assert (await progress.progress(db, SYSTEM, older)).opted_out == 0
    assert (await progress.progress(db, SYSTEM, cid)).opted_out == 1
    assert await db.scalar("SELECT campaign_id FROM messages WHERE id = ?", (stop.message_id,)) == (
        cid
    )
    # A job that starts again (a new process) reads it back once, not twice.
    await dispatch.Dispatcher(db).run()
    assert (await progress.progress(db, SYSTEM, cid)).opted_out == 1


async def test_progress_counts_every_state_and_the_rate(
    db: Database, team: Team, worker: Worker, clock: FakeClock
) -> None:
    cid = await cs.campaign(db, rate=2.0)
    await cs.target(db, cid, CARL_MOBILE, contact_id=team.carl.id)
    await cs.target(db, cid, DORA_MOBILE, contact_id=team.dora.id)
    await cs.target(db, cid, UNPLACED, due=clock.now() + timedelta(hours=2))
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO campaign_targets (campaign_id, phone, state, created_at, updated_at)"
            " VALUES (?, '+12125550177', 'waiting', 0, 0), (?, '+12125550178', 'removed', 0, 0)",
            (cid, cid),
        )
    await worker.run_once()
    await receiving.receive(db, CARL_MOBILE, DEFAULT_NUMBER, "Thanks")
    seen = await progress.progress(db, SYSTEM, cid)
    assert (seen.total, seen.waiting, seen.programmed, seen.queued, seen.removed) == (
        5, 1, 1, 2, 1,
    )  # fmt: skip
    assert seen.sent + seen.delivered + seen.in_outbox == 2
    assert seen.replied == 1
    assert seen.sent_last_minute == seen.sent + seen.delivered
    assert seen.status == "running"
    # The last target is due in two hours: that, not the rate, bounds the time left.
    assert seen.seconds_left == pytest.approx(7200)
    clock.advance(minutes=2)
    assert (await progress.progress(db, SYSTEM, cid)).sent_last_minute == 0
    only_skipped = await progress.results(db, SYSTEM, cid, state="removed")
    assert [r.phone for r in only_skipped] == ["+12125550178"]


async def test_a_campaign_with_no_throttle_keeps_at_most_max_ahead_in_the_outbox(
    db: Database, team: Team, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # At a rate of a million a second the lookahead alone would queue every target:
    # the ceiling keeps a pause effective and the room's read short.
    monkeypatch.setattr(dispatch, "MAX_AHEAD", 4)
    cid = await cs.campaign(db, rate=1e6)
    for n in range(10):
        await cs.target(db, cid, f"+1212557{n:04d}", merge_values={"first_name": "P"})
    assert await dispatch.Dispatcher(db).run() == 4
    assert sorted(s for s, _ in (await cs.targets(db, cid)).values()).count("programmed") == 6
    await worker.run_once()  # sends those 4, then the next run queues 4 more
    await worker.run_once()
    await worker.run_once()
    assert {s for s, _ in (await cs.targets(db, cid)).values()} == {"queued"}
    assert len(await _campaign_messages(db, cid)) == 10


async def test_a_campaign_batch_sent_writes_one_event_not_one_per_message(
    db: Database, team: Team, worker: Worker
) -> None:
    cid = await cs.campaign(db)
    for n in range(5):
        await cs.target(db, cid, f"+1212558{n:04d}", merge_values={"first_name": "P"})
    await worker.run_once()
    ids = [m["id"] for m in await _campaign_messages(db, cid)]
    assert len(ids) == 5
    per_message = await db.scalar(
        "SELECT count(*) FROM events WHERE kind = 'message.sent' AND entity_id IN"
        " (SELECT value FROM json_each(?))",
        (json.dumps(ids),),
    )
    assert per_message == 0
    sent = await db.fetchall("SELECT entity_id, data FROM events WHERE kind = 'campaign.sent'")
    assert [(r["entity_id"], json.loads(r["data"])) for r in sent] == [(cid, {"sent": 5})]


async def test_the_room_counts_the_opt_out_line_a_first_text_will_carry(
    db: Database, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 150 characters: one segment alone, two with the line a new number gets.
    template = "Hi {{first_name}}, " + "x" * (150 - len("Hi P, "))
    monkeypatch.setattr(dispatch, "MAX_AHEAD", 4)
    cid = await cs.campaign(db, template=template, rate=1e6)
    for n in range(5):
        await cs.target(db, cid, f"+1212558{n:04d}", merge_values={"first_name": "P"})
    assert await dispatch.Dispatcher(db).run() == 2
    rows = await db.fetchall("SELECT body, segments FROM messages WHERE campaign_id = ?", (cid,))
    notice = (await settings.load(db)).optout_notice
    assert [(r["body"].endswith(f"\n{notice}"), r["segments"]) for r in rows] == [(True, 2)] * 2


@pytest.mark.parametrize("piece", [250, 1])
async def test_a_value_the_provider_would_read_as_a_placeholder_goes_alone(
    db: Database, team: Team, worker: Worker, monkeypatch: pytest.MonkeyPatch, piece: int
) -> None:
    # With pieces of one target, the batch row stays open across the pieces around the
    # target that goes alone, and is written (with the row of its own after it) once
    # the chunk is done.
    monkeypatch.setattr(dispatch, "PIECE", piece)
    cid = await cs.campaign(db, template="Hi {{first_name}}")
    await cs.target(db, cid, "+12125559001", merge_values={"first_name": "Ann"})
    await cs.target(db, cid, "+12125559003", merge_values={"first_name": "${first_name}"})
    await cs.target(db, cid, "+12125559002", merge_values={"first_name": "Bo"})
    await dispatch.Dispatcher(db).run()
    pointed = await db.fetchall(
        "SELECT t.phone, m.recipient FROM campaign_targets t JOIN messages m ON m.id = t.message_id"
        " WHERE t.campaign_id = ? ORDER BY t.phone",
        (cid,),
    )
    assert [tuple(r) for r in pointed] == [
        ("+12125559001", ""), ("+12125559002", ""), ("+12125559003", "+12125559003")
    ]  # fmt: skip
    rows = await db.fetchall(
        "SELECT recipient, recipients, body FROM messages WHERE campaign_id = ? ORDER BY id",
        (cid,),
    )
    notice = (await settings.load(db)).optout_notice
    assert [tuple(r) for r in rows] == [
        ("", 2, f"Hi ${{first_name}}\n{notice}"),  # one batch row for two targets
        ("+12125559003", None, f"Hi ${{first_name}}\n{notice}"),  # its own text, literally
    ]
    await worker.run_once()
    assert {m["status"] for m in await _campaign_messages(db, cid)} == {"sent"}


async def test_a_gateway_that_cannot_send_batches_fails_a_campaign_batch_saying_so(
    db: Database, team: Team
) -> None:
    class OneByOne:
        """A gateway without send_batch (neither real one is)."""

        def __init__(self, inner: SandboxGateway) -> None:
            self.inner = inner

        @property
        def mms_limits(self) -> object:
            return self.inner.mms_limits

        async def send(self, sms: object) -> object:
            return await self.inner.send(sms)  # type: ignore[arg-type]

        async def due_reports(self) -> list[object]:
            return []

    cid = await cs.campaign(db)
    await cs.target(db, cid, CARL_MOBILE, contact_id=team.carl.id)
    worker = Worker(db, OneByOne(SandboxGateway(db)), holder="test")  # type: ignore[arg-type]
    await worker.run_once()
    [sent] = await _campaign_messages(db, cid)
    assert sent["status"] == "failed"
    error = await db.scalar("SELECT error FROM messages WHERE campaign_id = ?", (cid,))
    assert error == "this SMS gateway cannot send a campaign's batch"


async def test_a_template_is_compiled_once_and_checked_again_while_its_fields_remain(
    db: Database, team: Team, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            'UPDATE contacts SET custom = \'{"Plan code": "A1"}\' WHERE id IN (?, ?)',
            (team.carl.id, team.dora.id),
        )
    cid = await cs.campaign(db, template="Your plan: {{plan_code}}")
    await cs.target(db, cid, CARL_MOBILE, contact_id=team.carl.id)
    later = clock.now() + timedelta(minutes=1)
    await cs.target(db, cid, DORA_MOBILE, contact_id=team.dora.id, due=later)
    compiles = 0
    real = fields.fields_for

    async def counted(*args: object, **kwargs: object) -> object:
        nonlocal compiles
        compiles += 1
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fields, "fields_for", counted)
    job = dispatch.Dispatcher(db)
    assert await job.run() == 1
    clock.set(later)
    assert await job.run() == 1
    assert compiles == 1  # the second run found "Plan code" still there

    # Once no contact has the field any more, the next run compiles again and refuses.
    third = later + timedelta(minutes=1)
    await cs.target(db, cid, "+12125559100", contact_id=team.erin.id, due=third)
    async with db.transaction() as tx:
        await tx.execute("UPDATE contacts SET custom = '{}'")
    clock.set(third)
    assert await job.run() == 0
    assert compiles == 2
    assert (await cs.targets(db, cid))["+12125559100"] == ("programmed", None)
