"""S1: campaign rows sharing a template go to Sinch as one parameterised batch.

Against FakeSinch: what Sinch receives (body = the template, ``parameters``
per recipient without the ``+``, an empty default, our batch reference as
``client_reference``), what each recipient's phone gets (the fake substitutes
as Sinch does), and each per-recipient report settling its own row through
the real outbox and SQLite file, with the worker sending.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Iterator

import pytest
from sinch.core.exceptions import SinchException

from core import settings
from core.db import Database
from core.delivery import outbox, placeholders
from core.people.authz import SYSTEM
from core.scheduling.worker import Worker
from core.sms import numbers
from providers import sinch_events
from providers.config import WebhookConfig
from providers.sinch_sms import SinchGateway
from tests.fakes.sinch_server import FakeSinch

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


async def _pump(db: Database, gateway: SinchGateway) -> None:
    worker = Worker(db, gateway, holder="test")
    assert await worker.tick_lease()
    await worker.pump()


def _parsed(payload: dict[str, object]) -> sinch_events.Reports:
    event = sinch_events.parse(json.dumps(payload).encode())
    assert isinstance(event, sinch_events.Reports)
    return event
