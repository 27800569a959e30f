"""Batch sending through Sinch: one batch for many messages, against FakeSinch.

What Sinch receives is asserted as JSON; each per-recipient delivery report of
a batch is read back (providers.sinch_events) as (batch ID, recipient), never
as one message's ID; a retried batch is looked up by its reference first and
taken only when it holds every recipient, from the same sender.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import pytest

from core.delivery import batching
from core.delivery.gateway import (
    OutboundBatch,
    OutboundSms,
    PermanentFailure,
    SendsBatches,
    TemporaryFailure,
)
from providers import sinch_events
from providers.config import WebhookConfig
from providers.sinch_sms import SinchGateway
from tests.fakes.sinch_server import FakeSinch

PUBLIC_URL = "https://switchboard.example.org"
WEBHOOKS = WebhookConfig(public_url=PUBLIC_URL)
SENDER = "+14155550100"
BODY = "The clinic is closed on Monday."
TIMEOUT = 0.5


def batch_of(*recipients: str, attempt: int = 1, sender: str = SENDER) -> OutboundBatch:
    """The batch core.delivery.batching makes of rows 5, 6, ... to these numbers."""
    rows = [
        OutboundSms(5 + n, sender, number, BODY, 1, attempt=attempt, max_parts=3)
        for n, number in enumerate(recipients)
    ]
    (planned,) = batching.plan(rows, SinchGateway.max_batch_recipients)
    assert isinstance(planned, OutboundBatch)
    return planned


def numbers(count: int, start: int = 110) -> list[str]:
    return [f"+1212555{start + n:04d}" for n in range(count)]


@pytest.fixture
async def fake() -> AsyncIterator[FakeSinch]:
    async with FakeSinch(callbacks=False) as server:
        yield server


@pytest.fixture
def gateway(fake: FakeSinch) -> Iterator[SinchGateway]:
    gateway = SinchGateway(fake.sinch_config(timeout_seconds=TIMEOUT), WEBHOOKS)
    yield gateway
    gateway.close()


def test_the_sinch_gateway_sends_batches_of_up_to_1000(gateway: SinchGateway) -> None:
    assert isinstance(gateway, SendsBatches)
    assert gateway.max_batch_recipients == 1000


async def test_a_batch_is_one_sinch_batch_to_every_recipient(
    fake: FakeSinch, gateway: SinchGateway
) -> None:
    accepted = await gateway.send_batch(batch_of(*numbers(3)))

    (call,) = fake.calls
    assert call.body == {
        "to": ["12125550110", "12125550111", "12125550112"],
        "from": "14155550100",
        "body": BODY,
        "type": "mt_text",
        "delivery_report": "per_recipient",
        "callback_url": f"{PUBLIC_URL}/sinch/events",
        "client_reference": "batch-5",
        "max_number_of_message_parts": 3,
    }
    assert accepted.provider_id == fake.batches[0]["id"]


async def test_each_report_of_a_batch_names_the_batch_and_its_recipient(
    fake: FakeSinch, gateway: SinchGateway
) -> None:
    recipients = [*numbers(4), "+12125550199", "+12125550201"]  # 0199: the fake fails it
    fake.recipient_statuses["12125550201"] = ("Expired", 406)
    fake.recipient_statuses["12125550111"] = ("Rejected", 403)
    accepted = await gateway.send_batch(batch_of(*recipients))

    reports = [
        report
        for _, payload in fake.pending_reports
        for report in _parsed(payload).reports  # the bytes Sinch would post
    ]
    by_recipient = {r.recipient: r for r in reports}
    assert len(reports) == len(by_recipient) == len(recipients)
    assert {r.provider_id for r in reports} == {accepted.provider_id}
    assert {r.message_id for r in reports} == {None}, "batch-5 is no message's ID"
    assert {n: by_recipient[n].status for n in recipients} == {
        "+12125550110": "delivered",
        "+12125550111": "failed",
        "+12125550112": "delivered",
        "+12125550113": "delivered",
        "+12125550199": "failed",
        "+12125550201": "failed",
    }
    assert by_recipient["+12125550201"].reason == "Sinch reported Expired (code 406)"
    assert by_recipient["+12125550199"].provider_status == "failed"


def _parsed(payload: dict[str, object]) -> sinch_events.Reports:
    event = sinch_events.parse(json.dumps(payload).encode())
    assert isinstance(event, sinch_events.Reports)
    return event


async def test_a_batch_of_a_thousand_is_one_call(fake: FakeSinch, gateway: SinchGateway) -> None:
    await gateway.send_batch(batch_of(*numbers(1000, start=1000)))
    assert len(fake.calls_to("POST")) == 1
    assert len(fake.batches[0]["to"]) == 1000
    assert len(fake.pending_reports) == 1000


async def test_more_than_sinch_takes_is_refused_before_calling(
    fake: FakeSinch, gateway: SinchGateway
) -> None:
    rows = tuple((n, f"+1212555{n:04d}") for n in range(1, 1002))
    with pytest.raises(PermanentFailure, match="at most 1,000 recipients"):
        await gateway.send_batch(OutboundBatch("batch-1", SENDER, BODY, 1, rows))
    assert fake.calls == []


async def test_a_refusal_or_a_429_is_for_the_whole_batch(
    fake: FakeSinch, gateway: SinchGateway
) -> None:
    fake.fail_next("429", "400")
    with pytest.raises(TemporaryFailure) as slow_down:
        await gateway.send_batch(batch_of(*numbers(3)))
    assert slow_down.value.retry_after == 1
    with pytest.raises(PermanentFailure):
        await gateway.send_batch(batch_of(*numbers(3)))
    assert fake.batches == []


# --- never twice ----------------------------------------------------------------


async def test_a_timed_out_batch_is_found_on_the_retry_and_not_sent_again(
    fake: FakeSinch, gateway: SinchGateway
) -> None:
    fake.fail_next("hang")
    with pytest.raises(TemporaryFailure):
        await gateway.send_batch(batch_of(*numbers(3)))
    assert fake.sent("batch-5") == 1, "Sinch had it all along"

    again = await gateway.send_batch(batch_of(*numbers(3), attempt=2))

    assert again.provider_id == fake.batches[0]["id"]
    assert fake.sent("batch-5") == 1
    lookup = fake.calls[-1]
    assert (lookup.method, lookup.query["client_reference"]) == ("GET", "batch-5")


async def test_a_retry_of_fewer_rows_takes_the_batch_that_holds_them(
    fake: FakeSinch, gateway: SinchGateway
) -> None:
    # The earlier try reached three numbers; one row was cancelled since.
    first = await gateway.send_batch(batch_of(*numbers(3)))
    again = await gateway.send_batch(batch_of(*numbers(2), attempt=2))
    assert again == first
    assert fake.sent("batch-5") == 1


async def test_a_retry_naming_a_number_the_earlier_batch_lacks_is_sent(
    fake: FakeSinch, gateway: SinchGateway
) -> None:
    await gateway.send_batch(batch_of(*numbers(2)))
    again = await gateway.send_batch(batch_of(*numbers(3), attempt=2))
    assert fake.sent("batch-5") == 2
    assert again.provider_id == fake.batches[-1]["id"]
    assert len(fake.batches[-1]["to"]) == 3


async def test_a_batch_from_another_sender_under_our_reference_is_not_taken(
    fake: FakeSinch, gateway: SinchGateway
) -> None:
    await gateway.send_batch(batch_of(*numbers(2), sender="+14155550101"))
    mine = await gateway.send_batch(batch_of(*numbers(2), attempt=2))
    assert fake.sent("batch-5") == 2
    assert fake.batches[-1]["from"] == "14155550100"
    assert mine.provider_id == fake.batches[-1]["id"]


async def test_when_the_lookup_fails_nothing_is_sent(
    fake: FakeSinch, gateway: SinchGateway
) -> None:
    fake.fail_next("503")
    with pytest.raises(TemporaryFailure):
        await gateway.send_batch(batch_of(*numbers(2), attempt=2))
    assert fake.calls_to("POST") == []
