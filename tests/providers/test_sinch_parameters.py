"""S1: campaign rows sharing a template go to Sinch as one parameterised batch.

Against FakeSinch: what Sinch receives (body = the template, ``parameters``
per recipient without the ``+``, an empty default, our batch reference as
``client_reference``), what each recipient's phone gets (the fake substitutes
as Sinch does), and each per-recipient report settling its own row through
the real outbox and SQLite file, with the worker sending.

With schema 14, through the real dispatcher: a campaign's provider batch is
one outbox row, and each per-recipient report lands on its own target
(progress, results and status count them), also when it comes before the
send is recorded. A number that opts out after dispatch is taken out of its
batch at the claim, and a batch left with nobody fails without a call.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sinch.core.exceptions import SinchException

from core import settings, status
from core.campaigns import dispatch, progress
from core.clock import FakeClock
from core.db import Database, open_database
from core.delivery import batching, outbox, placeholders
from core.delivery.gateway import OutboundBatch
from core.people.authz import SYSTEM
from core.scheduling.options import WorkerOptions
from core.scheduling.worker import Worker
from core.sms import consent, numbers
from providers import sinch_events
from providers.config import WebhookConfig
from providers.sinch_sms import SinchGateway
from tests.core import campaign_setup as cs
from tests.fakes.sinch_server import FakeSinch
from tests.old_schema import database_at

WEBHOOKS = WebhookConfig(public_url="https://switchboard.example.org")
SENDER = "+14155550100"
TEMPLATE = "Hi ${name}, your code is ${code}."
PEOPLE = {f"+1212555{110 + n:04d}": (f"Person {n}", f"C{n:03d}") for n in range(5)}
UNREACHABLE = "+12125550199"  # the fake fails it


@pytest.fixture
async def fake() -> AsyncIterator[FakeSinch]:
    async with FakeSinch(callbacks=False) as server:
        yield server


@pytest.fixture
def gateway(fake: FakeSinch) -> Iterator[SinchGateway]:
    gateway = SinchGateway(fake.sinch_config(timeout_seconds=2), WEBHOOKS)
    yield gateway
    gateway.close()


@pytest.fixture
async def campaign(db: Database) -> int:
    await settings.update(db, SYSTEM, rate_segments_per_second=1000)
    await numbers.add(db, SYSTEM, SENDER, default=True)
    async with db.transaction() as tx:
        return await tx.insert(
            "INSERT INTO campaigns (name, sender, template, status, rate_segments_per_second,"
            " created_at, updated_at) VALUES ('Codes', ?, 't', 'running', 1000, ?, ?)",
            (SENDER, tx.now_ms, tx.now_ms),
        )


async def _queue(db: Database, campaign: int, people: dict[str, tuple[str, str]]) -> list[int]:
    values = [{"name": name, "code": code} for name, code in people.values()]
    items = [
        (to, placeholders.substitute(TEMPLATE, v)) for to, v in zip(people, values, strict=True)
    ]
    async with db.transaction() as tx:
        made = await outbox.queue_many(
            tx, outbox.CAMPAIGN, SENDER, items, campaign_id=campaign, batch=(TEMPLATE, values)
        )
    return [m for m in made if isinstance(m, int)]


async def test_rows_sharing_a_template_are_one_parameterised_sinch_batch(
    db: Database, fake: FakeSinch, gateway: SinchGateway, campaign: int
) -> None:
    people = {**PEOPLE, UNREACHABLE: ("Zed", "C999")}
    ids = await _queue(db, campaign, people)
    await _pump(db, gateway)

    (call,) = fake.calls_to("POST")
    digits = [to.removeprefix("+") for to in people]
    # First texts to these numbers: the opt-out line is on the template too.
    notice = (await settings.load(db)).optout_notice
    assert call.body["body"] == f"{TEMPLATE}\n{notice}"
    assert call.body["to"] == digits
    assert call.body["client_reference"] == f"batch-{ids[0]}"
    assert call.body["parameters"] == {
        "code": {
            **{d: code for d, (_, code) in zip(digits, people.values(), strict=True)},
            "default": "",
        },
        "name": {
            **{d: name for d, (name, _) in zip(digits, people.values(), strict=True)},
            "default": "",
        },
    }
    # What each phone receives is the body we keep for that row.
    (batch,) = fake.batches
    rows = await db.fetchall("SELECT id, recipient, body, provider_id FROM messages ORDER BY id")
    assert fake.texts(batch) == {r["recipient"].removeprefix("+"): r["body"] for r in rows}
    assert {r["provider_id"] for r in rows} == {batch["id"]}

    # Each per-recipient report (as Sinch posts it) settles its own row.
    reports = [report for _, payload in fake.pending_reports for report in _parsed(payload).reports]
    assert await outbox.apply_reports(db, reports) == len(ids)
    statuses = {
        r["recipient"]: r["status"]
        for r in await db.fetchall("SELECT recipient, status FROM messages")
    }
    assert statuses == {**dict.fromkeys(PEOPLE, "delivered"), UNREACHABLE: "failed"}


async def test_a_row_whose_value_holds_a_placeholder_goes_alone_and_literally(
    db: Database, fake: FakeSinch, gateway: SinchGateway, campaign: int
) -> None:
    hostile = {"+12125550300": ("${code}", "C300")}
    ids = await _queue(db, campaign, {**PEOPLE, **hostile})
    await _pump(db, gateway)

    alone = next(c for c in fake.calls_to("POST") if c.body["client_reference"] == str(ids[-1]))
    assert alone.body["body"].startswith("Hi ${code}, your code is C300.\n")
    assert "parameters" not in alone.body
    assert len(fake.calls_to("POST")) == 2  # the batch of five, and this one


async def test_the_fake_refuses_what_sinch_refuses(fake: FakeSinch, gateway: SinchGateway) -> None:
    client = gateway._client.sms.batches  # the real SDK, to send what we never would
    base = {"to": ["12125550110"], "from_": "14155550100", "body": "Hi ${name}"}
    for bad in (
        {"parameters": {"na me": {"default": "x"}}},  # not a parameter key Sinch takes
        {"parameters": {"name": {"not a number": "x"}}},
        {"to": [f"1212555{n:04d}" for n in range(1001)]},
        {"body": "x" * 2001},
    ):
        with pytest.raises(SinchException, match="400"):
            await asyncio.to_thread(functools.partial(client.send_sms, **{**base, **bad}))
    assert [c.status for c in fake.calls_to("POST")] == [400] * 4
    assert fake.batches == []
    # A recipient with no value and no default fails alone, by its report.
    await asyncio.to_thread(
        functools.partial(
            client.send_sms,
            to=["12125550110", "12125550111"],
            from_="14155550100",
            body="Hi ${name}",
            parameters={"name": {"12125550110": "Ann"}},
            delivery_report="per_recipient",
            event_destination_target="https://switchboard.example.org/sinch/events",
        )
    )
    (batch,) = fake.batches
    assert fake.texts(batch) == {"12125550110": "Hi Ann", "12125550111": None}
    assert [(r["recipient"], r["status"]) for r in fake.reports_for(batch)] == [
        ("12125550110", "Delivered"),
        ("12125550111", "Failed"),
    ]


# --- schema 14: a campaign's provider batch is one outbox row, its targets the ledger


@pytest.fixture
async def targeted(db: Database) -> int:
    await settings.update(db, SYSTEM, rate_segments_per_second=1000)
    await numbers.add(db, SYSTEM, SENDER, default=True)
    cid = await cs.campaign(
        db,
        template="Hi {{first_name}}, your code is {{code}}.",
        sender=SENDER,
        rate=1000,
        window=(0, 1440),
    )
    for phone, (name, code) in {**PEOPLE, UNREACHABLE: ("Zed", "C999")}.items():
        await cs.target(db, cid, phone, merge_values={"first_name": name, "code": code})
    return cid


async def test_a_campaign_batch_is_one_outbox_row_and_one_parameterised_call(
    db: Database, fake: FakeSinch, gateway: SinchGateway, targeted: int
) -> None:
    assert await dispatch.Dispatcher(db).run() == 6
    (row,) = await db.fetchall("SELECT * FROM messages WHERE campaign_id = ?", (targeted,))
    notice = (await settings.load(db)).optout_notice
    template = f"Hi ${{first_name}}, your code is ${{code}}.\n{notice}"
    assert (row["recipient"], row["recipients"], row["body"], row["status"]) == (
        "",
        6,
        template,
        "queued",
    )
    targets = await db.fetchall(
        "SELECT phone, message_id, segments FROM campaign_targets ORDER BY id"
    )
    assert {t["message_id"] for t in targets} == {row["id"]}
    assert row["segments"] == sum(t["segments"] for t in targets)
    # Each recipient's values are on the batch row, by number (schema 16).
    values = json.loads(row["recipient_values"])
    assert list(values) == [t["phone"] for t in targets]
    assert values[targets[0]["phone"]] == {"first_name": "Person 0", "code": "C000"}

    queued = await status.snapshot(db)
    assert queued.queued == 6  # messages, not rows
    assert (await outbox.depths(db)).queued == 6  # /metrics too
    assert queued.oldest_queued is not None
    assert queued.oldest_queued.recipient == "6 recipients of a campaign batch"

    await _pump(db, gateway)
    (call,) = fake.calls_to("POST")
    assert call.body["body"] == template
    assert call.body["client_reference"] == batching.reference(row["id"])
    (batch,) = fake.batches
    texts = fake.texts(batch)
    assert texts["12125550110"] == f"Hi Person 0, your code is C000.\n{notice}"
    assert len(texts) == 6
    sent = await db.fetchone("SELECT status, provider_id FROM messages WHERE id = ?", (row["id"],))
    assert sent is not None
    assert (sent["status"], sent["provider_id"]) == ("sent", batch["id"])
    counted = await progress.progress(db, SYSTEM, targeted)
    assert (counted.sent, counted.delivered, counted.failed) == (6, 0, 0)
    assert (await status.snapshot(db)).sent_awaiting_report == 6

    # Each report lands on its target; the shared row stays 'sent'.
    reports = [report for _, payload in fake.pending_reports for report in _parsed(payload).reports]
    assert await outbox.apply_reports(db, reports) == 6
    assert await outbox.apply_reports(db, reports) == 0  # stored once, applied once
    assert (await status.snapshot(db)).sent_awaiting_report == 0
    counted = await progress.progress(db, SYSTEM, targeted)
    assert (counted.sent, counted.delivered, counted.failed) == (0, 5, 1)
    by_phone = {r.phone: r for r in await progress.results(db, SYSTEM, targeted)}
    assert by_phone[UNREACHABLE].message_status == "failed"
    assert by_phone[UNREACHABLE].error
    assert by_phone["+12125550110"].message_status == "delivered"
    assert by_phone["+12125550110"].error is None
    still = await db.scalar("SELECT status FROM messages WHERE id = ?", (row["id"],))
    assert still == "sent"


async def test_a_report_that_beats_the_record_of_the_send_still_lands_on_its_target(
    db: Database, fake: FakeSinch, gateway: SinchGateway, targeted: int
) -> None:
    await dispatch.Dispatcher(db).run()
    (claimed,) = await outbox.claim(db, 1000, 60)
    (planned,) = batching.plan([claimed], gateway.max_batch_recipients)
    assert isinstance(planned, OutboundBatch)
    accepted = await gateway.send_batch(planned)
    # The reports come in before the worker records what the provider accepted.
    reports = [report for _, payload in fake.pending_reports for report in _parsed(payload).reports]
    assert await outbox.apply_reports(db, reports) == 0
    await outbox.record(db, [outbox.Sent(claimed.message_id, accepted.provider_id)])
    counted = await progress.progress(db, SYSTEM, targeted)
    assert (counted.sent, counted.delivered, counted.failed) == (0, 5, 1)


async def test_a_number_that_opts_out_after_dispatch_leaves_its_batch(
    db: Database, fake: FakeSinch, gateway: SinchGateway, targeted: int
) -> None:
    await dispatch.Dispatcher(db).run()
    gone = "+12125550110"
    async with db.transaction() as tx:
        await consent.opt_out_in(tx, gone, keyword="STOP")
    await _pump(db, gateway)
    (call,) = fake.calls_to("POST")
    assert "12125550110" not in call.body["to"]
    assert len(call.body["to"]) == 5
    row = await db.fetchone(
        "SELECT recipients, segments FROM messages WHERE campaign_id = ?", (targeted,)
    )
    left = await db.scalar(
        "SELECT sum(segments) FROM campaign_targets WHERE state = 'queued' AND campaign_id = ?",
        (targeted,),
    )
    assert row is not None
    assert (row["recipients"], row["segments"]) == (5, left)
    assert (await cs.targets(db, targeted))[gone] == ("skipped", dispatch.OPTED_OUT)
    counted = await progress.progress(db, SYSTEM, targeted)
    assert (counted.sent, counted.skipped, counted.opted_out) == (5, 1, 1)


async def test_a_batch_left_with_nobody_fails_without_a_call(
    db: Database, fake: FakeSinch, gateway: SinchGateway, targeted: int
) -> None:
    await dispatch.Dispatcher(db).run()
    async with db.transaction() as tx:
        for phone in (*PEOPLE, UNREACHABLE):
            await consent.opt_out_in(tx, phone, keyword="STOP")
    await _pump(db, gateway)
    assert fake.calls_to("POST") == []
    row = await db.fetchone(
        "SELECT status, error, recipients FROM messages WHERE campaign_id = ?", (targeted,)
    )
    assert row is not None
    assert (row["status"], row["error"], row["recipients"]) == (
        "failed",
        outbox.OPTED_OUT_REASON,
        0,
    )
    assert {state for state, _ in (await cs.targets(db, targeted)).values()} == {"skipped"}


async def test_one_pump_run_sends_every_campaign_batch_the_budgets_allow(
    db: Database, fake: FakeSinch, gateway: SinchGateway
) -> None:
    """A batch row is one row of many messages: the pump goes on while its claims come
    back full of messages, not of rows (it stopped after the first batch row, and a
    throttle-off campaign went out one batch per wake)."""
    await settings.update(db, SYSTEM, rate_segments_per_second=10)
    await numbers.add(db, SYSTEM, SENDER, default=True)
    # 0.2 s of 10 segments/s: batch rows of two one-segment texts.
    cid = await cs.campaign(db, template="Hi {{first_name}}.", sender=SENDER, rate=10,
                            window=(0, 1440))  # fmt: skip
    for phone, (name, _) in PEOPLE.items():
        await cs.target(db, cid, phone, merge_values={"first_name": name})
    assert await dispatch.Dispatcher(db).run() == 5
    rows = await db.fetchall("SELECT recipients FROM messages ORDER BY id")
    assert [r["recipients"] for r in rows] == [2, 2, 1]

    worker = Worker(db, gateway, WorkerOptions(batch_size=2), holder="test")
    assert await worker.tick_lease()
    assert await worker.pump() == 5  # messages, in three claims of one row each
    assert [len(c.body["to"]) for c in fake.calls_to("POST")] == [2, 2, 1]


async def test_a_batch_queued_before_schema_16_is_sent_with_its_targets_values(
    db_path: Path, clock: FakeClock, fake: FakeSinch, gateway: SinchGateway
) -> None:
    """Schema 14-15 kept each target's values on the target; the upgrade moves them onto
    the batch row, by number, so a batch waiting in the outbox goes as it would have."""
    template = "Hi ${first_name}, your code is ${code}."
    with contextlib.closing(database_at(db_path, 15)) as old:
        old.execute("PRAGMA foreign_keys = ON")
        old.execute(
            "INSERT INTO numbers (e164, is_default, created_at) VALUES (?, 1, 0)",
            (SENDER,),
        )
        old.execute(
            "INSERT INTO campaigns (id, name, sender, template, status,"
            " rate_segments_per_second, window_start, window_end, created_at, updated_at)"
            " VALUES (1, 'Old', ?, 'Hi {{first_name}}, your code is {{code}}.', 'running',"
            " 1000, 0, 1440, 0, 0)",
            (SENDER,),
        )
        old.execute(
            "INSERT INTO messages (id, direction, purpose, kind, sender, recipient, body,"
            " encoding, segments, status, next_attempt_at, created_at, updated_at,"
            " campaign_id, batch_template, recipients) VALUES (7, 'out', 'campaign', 'chat',"
            " ?, '', ?, 'GSM-7', 2, 'queued', 0, 0, 0, 1, ?, 2)",
            (SENDER, template, template),
        )
        for phone, (name, code) in list(PEOPLE.items())[:2]:
            old.execute(
                "INSERT INTO campaign_targets (campaign_id, phone, state, message_id, segments,"
                " batch_values, created_at, updated_at) VALUES (1, ?, 'queued', 7, 1, ?, 0, 0)",
                (phone, json.dumps({"first_name": name, "code": code})),
            )
    db = await open_database(db_path, clock)
    try:
        columns = {r["name"] for r in await db.fetchall("PRAGMA table_info(campaign_targets)")}
        assert "batch_values" not in columns
        await _pump(db, gateway)
        (call,) = fake.calls_to("POST")
        assert call.body["to"] == ["12125550110", "12125550111"]
        (batch,) = fake.batches
        assert fake.texts(batch) == {
            "12125550110": "Hi Person 0, your code is C000.",
            "12125550111": "Hi Person 1, your code is C001.",
        }
    finally:
        await db.close()


async def _pump(db: Database, gateway: SinchGateway) -> None:
    worker = Worker(db, gateway, holder="test")
    assert await worker.tick_lease()
    await worker.pump()


def _parsed(payload: dict[str, object]) -> sinch_events.Reports:
    event = sinch_events.parse(json.dumps(payload).encode())
    assert isinstance(event, sinch_events.Reports)
    return event
