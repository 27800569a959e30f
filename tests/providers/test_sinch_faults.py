"""2,000 messages through core's outbox and the Sinch gateway while Sinch misbehaves.

FakeSinch fails a fifth of all batch calls (sends and lookups) with a mix of
429 (Retry-After), 500, a hang after it recorded the batch (the client times
out though Sinch has the message: the case that sends twice if anything
does) and a hang before it recorded anything. The worker is driven with
``run_once()``, the FakeClock moved past every retry wait between rounds.

The webhook server is not part of this test: the fake's callbacks are off and
the per-recipient reports it would have posted are read into DeliveryReports
here (a small adapter) and applied with ``core.delivery.outbox.apply_reports``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from core import settings
from core.clock import FakeClock
from core.db import Database
from core.delivery import outbox
from core.delivery.gateway import DeliveryReport
from core.people import agents
from core.people.authz import SYSTEM
from core.scheduling.options import WorkerOptions
from core.scheduling.worker import Worker
from core.sms import numbers
from providers.config import WebhookConfig
from providers.sinch_sms import SinchGateway
from tests.fakes.sinch_server import FakeSinch

MESSAGES = 2_000
CONVERSATIONS = 200
# +12125550000 .. +12125550199: the last one ends in 0199, which the fake reports Failed.
PHONE = "+1212555{:04d}"
SENDER = "+14155550100"
# Long enough that a loaded machine's slow answer is rarely taken for a hang
# (which would only mean more retries: the assertions allow for it), short
# enough that the ~10 % of calls that do hang cost seconds, not minutes.
TIMEOUT = 0.5
MAX_ROUNDS = 30
FAILED_STATUSES = {"failed", "rejected", "expired", "aborted", "cancelled", "deleted"}


def as_report(payload: dict[str, Any]) -> DeliveryReport:
    """What the webhook server makes of a per-recipient report (the test's stand-in)."""
    status = payload["status"].lower()
    if status == "delivered":
        outcome, reason = "delivered", ""
    elif status in FAILED_STATUSES:
        outcome, reason = "failed", f"Sinch reported {payload['status']} (code {payload['code']})"
    else:
        outcome, reason = "pending", ""
    return DeliveryReport(
        provider_id=payload["batch_id"],
        status=outcome,  # type: ignore[arg-type]
        reason=reason,
        message_id=int(payload["client_reference"]),
        recipient="+" + payload["recipient"],
        provider_status=status,
    )


async def queue(db: Database, count: int) -> list[int]:
    await agents.add(db, SYSTEM, "alice", "Alice", "Agent")
    number = await numbers.add(db, SYSTEM, SENDER, default=True)
    await settings.update(db, SYSTEM, rate_segments_per_second=1e9)
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO conversations (number_id, phone, created_at) VALUES (?, ?, ?)",
            [(number.id, PHONE.format(i), tx.now_ms) for i in range(min(count, CONVERSATIONS))],
        )
    conversation_ids = [r[0] for r in await db.fetchall("SELECT id FROM conversations")]
    ids = []
    async with db.transaction() as tx:
        for n in range(count):
            ids.append(
                await outbox.queue_in(
                    tx, conversation_ids[n % len(conversation_ids)], f"Reminder {n}: reply to move"
                )
            )
    return ids


@pytest.fixture
async def flaky() -> AsyncIterator[FakeSinch]:
    async with FakeSinch(
        callbacks=False,
        failure_rate=0.2,
        failure_kinds=("429", "500", "hang", "hang_before"),
        retry_after="1",
        seed=20261123,
    ) as fake:
        yield fake


@pytest.mark.slow  # about 20 s: each hang holds a sending slot for the whole timeout
async def test_two_thousand_messages_each_end_delivered_or_failed_and_none_goes_twice(
    db: Database, clock: FakeClock, flaky: FakeSinch
):
    ids = await queue(db, MESSAGES)
    gateway = SinchGateway(flaky.sinch_config(timeout_seconds=TIMEOUT), WebhookConfig())
    worker = Worker(db, gateway, WorkerOptions(lease_seconds=3600), holder="faults")
    try:
        for _ in range(MAX_ROUNDS):
            await worker.run_once()
            left = await outbox.depths(db)
            if left.queued == left.sending == 0:
                break
            clock.advance(seconds=61)  # past any Retry-After (1 s) and backoff (at most 40 s)
        else:
            pytest.fail(f"the outbox did not drain in {MAX_ROUNDS} rounds: {left}")
    finally:
        gateway.close()

    await outbox.apply_reports(db, [as_report(r) for r in flaky.all_reports()])

    # Nothing sent twice: at most one batch per message, and ours is that one.
    twice = {ref: n for ref, n in flaky.sent_per_reference.items() if n > 1}
    assert twice == {}, f"{len(twice)} messages were sent more than once"
    batch_of = {b["client_reference"]: b["id"] for b in flaky.batches}

    # The faults really happened, lookups included.
    faults = Counter(c.fault for c in flaky.calls if c.fault)
    assert sum(faults.values()) > 0.15 * MESSAGES
    assert min(faults[k] for k in ("429", "500", "hang", "hang_before")) > 50, faults
    assert len(flaky.calls_to("GET")) > 300, "retries looked the batch up first"
    hung_sends = {c.body["client_reference"] for c in flaky.calls_to("POST") if c.fault == "hang"}
    assert len(hung_sends) > 50

    rows = await db.fetchall(
        "SELECT id, status, error, provider_id FROM messages WHERE direction = 'out'"
    )
    assert len(rows) == len(ids) == MESSAGES
    by_status = Counter(r["status"] for r in rows)
    assert set(by_status) <= {"delivered", "failed"}, by_status
    for row in rows:
        if row["status"] == "failed":
            assert row["error"], f"message {row['id']} failed without a reason"
        else:
            assert row["provider_id"] == batch_of[str(row["id"])]

    # A message whose batch Sinch recorded while we timed out was found, not resent.
    recovered = [r for r in rows if str(r["id"]) in hung_sends and r["status"] == "delivered"]
    assert len(recovered) > 0.9 * len(hung_sends)

    # The number Sinch cannot reach: every message to it failed; once Sinch
    # took one (almost always), with Sinch's reason.
    to_unreachable = set(ids[CONVERSATIONS - 1 :: CONVERSATIONS])
    unreachable = [r for r in rows if r["id"] in to_unreachable]
    assert {r["status"] for r in unreachable} == {"failed"}
    sinch_said = [r for r in unreachable if r["provider_id"]]
    assert {r["error"] for r in sinch_said} == {"Sinch reported Failed (code 402)"}
    assert len(sinch_said) > len(unreachable) / 2
    # Giving up is rare (five faults in a row) and always says why.
    gave_up = [r for r in rows if r["status"] == "failed" and r["id"] not in to_unreachable]
    assert all(r["error"].startswith("gave up after 5 attempts: ") for r in gave_up), gave_up
    assert len(gave_up) < 0.03 * MESSAGES
    assert by_status["delivered"] == MESSAGES - len(unreachable) - len(gave_up)


async def test_a_report_that_arrives_while_the_message_waits_for_its_retry_still_counts(
    db: Database, clock: FakeClock
):
    (message_id,) = await queue(db, 1)
    async with FakeSinch(callbacks=False) as fake:
        gateway = SinchGateway(fake.sinch_config(timeout_seconds=TIMEOUT), WebhookConfig())
        worker = Worker(db, gateway, WorkerOptions(lease_seconds=3600), holder="race")
        fake.fail_next("hang")
        await worker.run_once()  # timed out, queued for a retry; Sinch has the batch
        await outbox.apply_reports(db, [as_report(r) for r in fake.all_reports()])
        clock.advance(minutes=1)
        await worker.run_once()  # the retry finds the batch: nothing sent again
        gateway.close()
        assert fake.sent(message_id) == 1
    status = await db.scalar("SELECT status FROM messages WHERE id = ?", (message_id,))
    assert status == "delivered"
