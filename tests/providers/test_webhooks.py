"""The webhook server (providers.webhooks), for real: aiohttp on 127.0.0.1, a real SQLite file,
callbacks signed as Sinch signs them (tests.fakes.sinch_signing, independent of the SDK)."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from core.clock import FakeClock
from core.db import Database
from core.delivery import outbox
from core.delivery.gateway import Media
from core.delivery.outbox import Sent
from core.errors import InvalidInput
from core.people import agents
from core.people.authz import SYSTEM, Actor
from core.scheduling.worker import Worker
from core.sms import consent, numbers, receiving, sending
from providers import media_links, webhooks
from providers.config import EVENTS_PATH, WebhookConfig
from providers.sandbox import SandboxGateway
from providers.webhooks import WebhookServer
from tests.fakes.sinch_signing import signed_headers

SECRET = "test-webhook-secret"
OUR_NUMBER = "+14155550100"
PHONE = "+12125550140"
MAX_BODY = 4096


# --- helpers shared with the load test ---------------------------------------


@dataclass(frozen=True, slots=True)
class Setup:
    agent: Actor


async def make_setup(db: Database) -> Setup:
    """An agent and our one (default, MMS) number."""
    agent = (await agents.add(db, SYSTEM, "alice", "Alice Moreau", "Agent")).as_actor()
    await numbers.add(db, SYSTEM, OUR_NUMBER, mms=True, default=True)
    return Setup(agent)


async def sent_message(
    db: Database, agent: Actor, batch_id: str, to: str = PHONE, **kw: Any
) -> int:
    """An outbound message the provider accepted as ``batch_id`` (status 'sent')."""
    message_id = (await sending.send(db, agent, to, "Hello", **kw)).message_id
    claimed = await outbox.claim(db, 1000, 120)
    assert [c.message_id for c in claimed] == [message_id]
    await outbox.record(db, [Sent(message_id, batch_id)])
    return message_id


def mo(ref: str, body: str = "Hi", sender: str = PHONE, to: str = OUR_NUMBER) -> bytes:
    return json.dumps(
        {
            "type": "mo_text",
            "id": ref,
            "from": sender.lstrip("+"),
            "to": to.lstrip("+"),
            "body": body,
            "received_at": "2026-01-05T09:00:00.000Z",
            "operator_id": "310260",
        }
    ).encode()


def recipient_report(
    batch_id: str,
    status: str = "Delivered",
    code: int = 0,
    message_id: int | None = None,
    recipient: str = PHONE,
) -> bytes:
    event: dict[str, Any] = {
        "type": "recipient_delivery_report_sms",
        "batch_id": batch_id,
        "recipient": recipient.lstrip("+"),
        "code": code,
        "status": status,
        "at": "2026-01-05T09:00:01.000Z",
    }
    if message_id is not None:
        event["client_reference"] = str(message_id)
    return json.dumps(event).encode()


def sign(
    body: bytes, clock: FakeClock, *, nonce: str | None = None, secret: str = SECRET
) -> dict[str, str]:
    return signed_headers(secret, body, nonce=nonce, timestamp=int(clock.now().timestamp()))


async def count(db: Database, sql: str, params: Any = ()) -> int:
    return int(await db.scalar(sql, params))


# --- fixtures ------------------------------------------------------------------


@pytest.fixture
async def setup(db: Database) -> Setup:
    return await make_setup(db)


@pytest.fixture
async def server(db: Database, setup: Setup) -> AsyncIterator[WebhookServer]:
    srv = WebhookServer(db, WebhookConfig(port=0, max_body_bytes=MAX_BODY), secret=SECRET)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture
async def client(server: WebhookServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as c:
        yield c


async def post(client: httpx.AsyncClient, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return await client.post(EVENTS_PATH, content=body, headers=headers)


# --- the server ------------------------------------------------------------------


async def test_start_binds_an_ephemeral_port_and_stop_releases_it(db: Database) -> None:
    srv = WebhookServer(db, WebhookConfig(port=0), secret=SECRET)
    with pytest.raises(RuntimeError):
        srv.url  # noqa: B018
    await srv.start()
    assert srv.port
    assert srv.url == f"http://127.0.0.1:{srv.port}"
    await srv.stop()
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as c:
            await c.get(srv.url + "/healthz")


# --- inbound messages ------------------------------------------------------------


async def test_an_mo_starts_an_inbound_conversation(
    db: Database, client: httpx.AsyncClient, clock: FakeClock, server: WebhookServer
) -> None:
    body = mo("01MO1", "Hello there")
    response = await post(client, body, sign(body, clock))
    assert (response.status_code, response.text) == (200, "ok")
    row = await db.fetchone(
        "SELECT m.body, m.direction, m.provider_ref, c.phone FROM messages m"
        " JOIN conversations c ON c.id = m.conversation_id"
    )
    assert dict(row) == {
        "body": "Hello there",
        "direction": "in",
        "provider_ref": "01MO1",
        "phone": PHONE,
    }
    assert server.metrics.count("stored") == 1


async def test_stop_opts_the_number_out(
    db: Database, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    body = mo("01MO-STOP", "STOP")
    assert (await post(client, body, sign(body, clock))).status_code == 200
    assert await consent.is_opted_out(db, PHONE)
    # The one confirmation is queued.
    assert await count(db, "SELECT count(*) FROM messages WHERE direction = 'out'") == 1


async def test_the_same_mo_sent_again_is_stored_once(
    db: Database, client: httpx.AsyncClient, clock: FakeClock, server: WebhookServer
) -> None:
    body = mo("01MO-DUP")
    for _ in range(3):  # Sinch retries with a fresh nonce each time
        assert (await post(client, body, sign(body, clock))).status_code == 200
    assert await count(db, "SELECT count(*) FROM messages WHERE provider_ref = '01MO-DUP'") == 1
    assert (server.metrics.count("stored"), server.metrics.count("duplicate")) == (1, 2)


async def test_an_mms_is_stored_with_a_link_to_the_file(
    db: Database, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    body = json.dumps(
        {
            "type": "mo_media",
            "id": "01MMS",
            "from": PHONE.lstrip("+"),
            "to": OUR_NUMBER.lstrip("+"),
            "body": {"url": "https://media.example/x/cat.png", "message": "look"},
            "received_at": "2026-01-05T09:00:00.000Z",
        }
    ).encode()
    assert (await post(client, body, sign(body, clock))).status_code == 200
    row = await db.fetchone(
        "SELECT m.body, a.filename, a.mime, a.size, a.url FROM messages m"
        " JOIN attachments a ON a.message_id = m.id"
    )
    assert tuple(row) == ("look", "cat.png", "image/png", 0, "https://media.example/x/cat.png")


@pytest.mark.parametrize(
    ("sender", "to"),
    [
        (PHONE, "+14155550177"),  # not our number
        ("ACME", OUR_NUMBER),  # an alphanumeric sender
        ("12345", OUR_NUMBER),  # a short code
    ],
)
async def test_an_mo_that_cannot_be_routed_is_acknowledged_and_logged(
    db: Database,
    client: httpx.AsyncClient,
    clock: FakeClock,
    server: WebhookServer,
    caplog: pytest.LogCaptureFixture,
    sender: str,
    to: str,
) -> None:
    body = mo("01MO-X", sender=sender, to=to)
    with caplog.at_level(logging.WARNING, logger="switchboard.webhooks"):
        assert (await post(client, body, sign(body, clock))).status_code == 200
    assert await count(db, "SELECT count(*) FROM messages") == 0
    [record] = [r for r in caplog.records if getattr(r, "outcome", None) == "ignored"]
    assert record.mo_id == "01MO-X"  # type: ignore[attr-defined]
    assert server.metrics.count("ignored") == 1


# --- delivery reports ----------------------------------------------------------


async def test_a_recipient_report_marks_the_message_delivered(
    db: Database, client: httpx.AsyncClient, clock: FakeClock, setup: Setup
) -> None:
    message_id = await sent_message(db, setup.agent, "01BATCH")
    body = recipient_report("01BATCH", "Delivered", message_id=message_id)
    assert (await post(client, body, sign(body, clock))).status_code == 200
    row = await db.fetchone("SELECT status, delivered_at FROM messages WHERE id = ?", (message_id,))
    assert row["status"] == "delivered"
    assert row["delivered_at"] is not None


async def test_a_failed_report_records_a_readable_reason(
    db: Database, client: httpx.AsyncClient, clock: FakeClock, setup: Setup
) -> None:
    message_id = await sent_message(db, setup.agent, "01BATCH")
    body = recipient_report("01BATCH", "Failed", code=402)  # found by batch ID alone
    assert (await post(client, body, sign(body, clock))).status_code == 200
    row = await db.fetchone("SELECT status, error FROM messages WHERE id = ?", (message_id,))
    assert tuple(row) == ("failed", "Sinch reported Failed (code 402)")


async def test_the_same_report_sent_again_is_stored_once(
    db: Database, client: httpx.AsyncClient, clock: FakeClock, setup: Setup, server: WebhookServer
) -> None:
    message_id = await sent_message(db, setup.agent, "01BATCH")
    body = recipient_report("01BATCH", "Delivered", message_id=message_id)
    results = await asyncio.gather(*(post(client, body, sign(body, clock)) for _ in range(5)))
    assert [r.status_code for r in results] == [200] * 5
    assert await count(db, "SELECT count(*) FROM delivery_reports") == 1
    assert (server.metrics.count("stored"), server.metrics.count("duplicate")) == (1, 4)
    events = await count(db, "SELECT count(*) FROM events WHERE kind = 'message.delivered'")
    assert events == 1


async def test_a_batch_report_stores_each_recipient_and_status(
    db: Database, client: httpx.AsyncClient, clock: FakeClock, setup: Setup
) -> None:
    message_id = await sent_message(db, setup.agent, "01BATCH")
    body = json.dumps(
        {
            "type": "delivery_report_sms",
            "batch_id": "01BATCH",
            "statuses": [
                {"code": 0, "status": "Dispatched", "count": 1, "recipients": ["12125550140"]},
                {"code": 0, "status": "Delivered", "count": 1, "recipients": ["12125550140"]},
            ],
            "total_message_count": 1,
            "client_reference": str(message_id),
        }
    ).encode()
    assert (await post(client, body, sign(body, clock))).status_code == 200
    rows = await db.fetchall(
        "SELECT recipient, status, outcome, message_id FROM delivery_reports ORDER BY id"
    )
    assert [tuple(r) for r in rows] == [
        (PHONE, "dispatched", "pending", message_id),
        (PHONE, "delivered", "delivered", message_id),
    ]
    assert await db.scalar("SELECT status FROM messages WHERE id = ?", (message_id,)) == "delivered"


async def test_a_report_for_an_unknown_batch_is_kept(
    db: Database, client: httpx.AsyncClient, clock: FakeClock
) -> None:
    body = recipient_report("01NOBODY", "Delivered")
    assert (await post(client, body, sign(body, clock))).status_code == 200
    assert await db.scalar("SELECT message_id FROM delivery_reports") is None


# --- refusals ------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"type": "mo_text", "id": "1"}', b'{"no": "type"}'],
)
async def test_a_malformed_callback_is_400(
    db: Database, client: httpx.AsyncClient, clock: FakeClock, server: WebhookServer, body: bytes
) -> None:
    response = await post(client, body, sign(body, clock))
    assert response.status_code == 400
    assert "malformed callback" in response.text
    assert server.metrics.count("bad_request") == 1


async def test_an_unsigned_or_badly_signed_callback_is_401(
    db: Database,
    client: httpx.AsyncClient,
    clock: FakeClock,
    server: WebhookServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = mo("01MO-EVIL")
    tampered = sign(mo("01MO-OTHER"), clock)
    partial = {k: v for k, v in sign(body, clock).items() if not k.endswith("-nonce")}
    with caplog.at_level(logging.WARNING, logger="switchboard.webhooks"):
        for headers in (
            {"Content-Type": "application/json"},
            sign(body, clock, secret="not-the-secret"),
            tampered,
            partial,
        ):
            assert (await post(client, body, headers)).status_code == 401
    assert await count(db, "SELECT count(*) FROM messages") == 0
    assert server.metrics.count("refused_signature") == 4
    reasons = [getattr(r, "reason", None) for r in caplog.records]
    assert reasons == ["missing_headers", "bad_signature", "bad_signature", "missing_headers"]


async def test_a_stale_or_future_timestamp_is_401(
    db: Database,
    client: httpx.AsyncClient,
    clock: FakeClock,
    server: WebhookServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = mo("01MO-OLD")
    headers = sign(body, clock)
    clock.advance(seconds=301)  # the window is 300 s
    with caplog.at_level(logging.WARNING, logger="switchboard.webhooks"):
        assert (await post(client, body, headers)).status_code == 401
        clock.advance(seconds=-602)
        assert (await post(client, body, headers)).status_code == 401
    clock.advance(seconds=301)  # back where it was signed: accepted
    assert (await post(client, body, headers)).status_code == 200
    assert server.metrics.count("refused_replay") == 2
    assert [getattr(r, "reason", None) for r in caplog.records] == ["stale_timestamp"] * 2
    assert "301 s old" in caplog.records[0].getMessage()


async def test_a_replayed_nonce_is_401_until_its_timestamp_is_stale_anyway(
    db: Database,
    client: httpx.AsyncClient,
    clock: FakeClock,
    server: WebhookServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = mo("01MO-REPLAY")
    headers = sign(body, clock)
    assert (await post(client, body, headers)).status_code == 200
    clock.advance(seconds=299)
    with caplog.at_level(logging.WARNING, logger="switchboard.webhooks"):
        assert (await post(client, body, headers)).status_code == 401
    assert [getattr(r, "reason", None) for r in caplog.records] == ["replayed_nonce"]
    # Another body signed with the same nonce is refused too.
    other = mo("01MO-OTHER")
    assert (
        await post(
            client, other, sign(other, clock, nonce=headers["x-sinch-webhook-signature-nonce"])
        )
    ).status_code == 401
    clock.advance(seconds=2)
    assert (await post(client, body, headers)).status_code == 401  # stale now
    # The nonce was forgotten once its timestamp left the window: memory stays bounded.
    assert server.verifier is not None
    assert len(server.verifier) == 0
    assert server.metrics.count("refused_replay") == 3
    assert await count(db, "SELECT count(*) FROM messages") == 1


async def test_a_failed_write_is_500_and_the_same_signed_callback_is_taken_later(
    db: Database,
    client: httpx.AsyncClient,
    clock: FakeClock,
    server: WebhookServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    real = receiving.receive_many
    calls = 0

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise sqlite3.OperationalError("database is locked")
        return await real(*args, **kwargs)

    monkeypatch.setattr(webhooks.receiving, "receive_many", flaky)
    body = mo("01MO-RETRY")
    headers = sign(body, clock)
    with caplog.at_level(logging.ERROR, logger="switchboard.webhooks"):
        assert (await post(client, body, headers)).status_code == 500
    assert caplog.records[0].outcome == "error"  # type: ignore[attr-defined]
    # Sinch sends it again; even with the same nonce it is taken, since nothing was kept.
    assert (await post(client, body, headers)).status_code == 200
    assert await count(db, "SELECT count(*) FROM messages WHERE provider_ref = '01MO-RETRY'") == 1
    assert (server.metrics.count("error"), server.metrics.count("stored")) == (1, 1)


async def test_a_callback_core_refuses_is_400_and_logged_once(
    db: Database,
    client: httpx.AsyncClient,
    clock: FakeClock,
    server: WebhookServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Refused for what it holds, it would be refused again: a 500 would have Sinch
    # send it forever, each time logged with a traceback.
    async def refuse(db: Database, items: list[receiving.Incoming]) -> Any:
        return [InvalidInput("the message is over the 10,000-character limit") for _ in items]

    monkeypatch.setattr(webhooks.receiving, "receive_many", refuse)
    body = mo("01MO-HUGE")
    with caplog.at_level(logging.INFO, logger="switchboard.webhooks"):
        response = await post(client, body, sign(body, clock))
    assert response.status_code == 400
    assert "10,000-character limit" in response.text
    [record] = [r for r in caplog.records if getattr(r, "outcome", None) == "bad_request"]
    assert record.exc_info is None
    assert (server.metrics.count("bad_request"), server.metrics.count("error")) == (1, 0)


async def test_a_failed_report_write_is_500(
    db: Database,
    client: httpx.AsyncClient,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> int:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(webhooks.outbox, "apply_reports", broken)
    body = recipient_report("01BATCH")
    assert (await post(client, body, sign(body, clock))).status_code == 500
    monkeypatch.undo()
    assert (await post(client, body, sign(body, clock))).status_code == 200
    assert await count(db, "SELECT count(*) FROM delivery_reports") == 1


async def test_an_oversized_body_is_413(
    db: Database, client: httpx.AsyncClient, clock: FakeClock, server: WebhookServer
) -> None:
    body = mo("01MO-BIG", "x" * MAX_BODY)
    response = await post(client, body, sign(body, clock))
    assert response.status_code == 413
    assert server.metrics.count("too_large") == 1
    assert await count(db, "SELECT count(*) FROM messages") == 0


async def test_an_oversized_chunked_body_is_413(
    client: httpx.AsyncClient, clock: FakeClock, server: WebhookServer
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"x" * 2000

    response = await client.post(EVENTS_PATH, content=chunks())
    assert response.status_code == 413
    assert server.metrics.count("too_large") == 1


async def test_a_huge_declared_length_is_refused_before_the_body_is_read(
    server: WebhookServer,
) -> None:
    # Declares a gigabyte and sends none of it: the answer comes at once.
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        f"POST {EVENTS_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {10**9}\r\n\r\n".encode()
    )
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), timeout=5)
    assert status.startswith(b"HTTP/1.1 413")
    # And the server closes the connection rather than wait for the rest.
    rest = await asyncio.wait_for(reader.read(), timeout=5)
    assert b"Connection: close" in rest
    writer.close()


async def test_an_unknown_type_is_acknowledged_and_logged(
    db: Database,
    client: httpx.AsyncClient,
    clock: FakeClock,
    server: WebhookServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = json.dumps({"type": "inbound_fax", "id": "F1"}).encode()
    with caplog.at_level(logging.INFO, logger="switchboard.webhooks"):
        assert (await post(client, body, sign(body, clock))).status_code == 200
    [record] = [r for r in caplog.records if getattr(r, "event_type", None) == "inbound_fax"]
    assert record.outcome == "unknown_type"  # type: ignore[attr-defined]
    assert record.remote == "127.0.0.1"  # type: ignore[attr-defined]
    assert server.metrics.count("unknown_type") == 1


async def test_a_binary_sms_is_acknowledged_not_stored(
    db: Database, client: httpx.AsyncClient, clock: FakeClock, server: WebhookServer
) -> None:
    body = json.dumps(
        {
            "type": "mo_binary",
            "id": "B1",
            "from": "447700900123",
            "to": "14155550100",
            "body": "AAEC",
            "udh": "050003",
            "received_at": "2026-01-05T09:00:00.000Z",
        }
    ).encode()
    assert (await post(client, body, sign(body, clock))).status_code == 200
    assert await count(db, "SELECT count(*) FROM messages") == 0
    assert server.metrics.count("ignored") == 1


async def test_without_a_secret_unsigned_callbacks_are_taken_with_one_warning(
    db: Database, setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="switchboard.webhooks"):
        async with WebhookServer(db, WebhookConfig(port=0)) as srv:
            async with httpx.AsyncClient(base_url=srv.url) as c:
                for n in range(3):
                    response = await c.post(EVENTS_PATH, content=mo(f"01MO-{n}"))
                    assert response.status_code == 200
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "no webhook secret" in warnings[0].getMessage()
    assert await count(db, "SELECT count(*) FROM messages") == 3


# --- /metrics, /healthz, /media ---------------------------------------------------


async def test_metrics_show_the_counters_and_the_queue(
    db: Database, clock: FakeClock, setup: Setup
) -> None:
    await sending.send(db, setup.agent, PHONE, "queued one")
    clock.advance(seconds=90)
    worker = Worker(db, SandboxGateway(db), holder="metrics-test")
    assert await worker.tick_lease()
    worker.stats.sent = 7
    async with (
        WebhookServer(db, WebhookConfig(port=0), secret=SECRET, worker=worker) as srv,
        httpx.AsyncClient(base_url=srv.url) as c,
    ):
        body = mo("01MO-M")
        await c.post(EVENTS_PATH, content=body, headers=sign(body, clock))
        await c.post(EVENTS_PATH, content=body, headers=sign(body, clock))
        await c.post(EVENTS_PATH, content=b"{}", headers=sign(b"{}", clock))
        response = await c.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    lines = set(response.text.splitlines())
    for expected in (
        'switchboard_webhook_requests_total{outcome="stored"} 1.0',
        'switchboard_webhook_requests_total{outcome="duplicate"} 1.0',
        'switchboard_webhook_requests_total{outcome="bad_request"} 1.0',
        'switchboard_webhook_requests_total{outcome="refused_replay"} 0.0',
        "switchboard_webhook_handling_seconds_count 3.0",
        'switchboard_outbox_messages{status="queued"} 1.0',
        'switchboard_outbox_messages{status="sending"} 0.0',
        "switchboard_outbox_oldest_queued_age_seconds 90.0",
        "switchboard_worker_lease_held 1.0",
        "switchboard_worker_lease_taken 1.0",
        "switchboard_messages_sent_total 7.0",
        "switchboard_messages_failed_total 0.0",
        "switchboard_delivery_reports_applied_total 0.0",
    ):
        assert expected in lines, expected


async def test_reports_applied_through_callbacks_are_counted(
    db: Database, clock: FakeClock, setup: Setup
) -> None:
    # With Sinch the worker polls nothing: every report comes as a callback.
    first = await sent_message(db, setup.agent, "01BATCH-A")
    second = await sent_message(db, setup.agent, "01BATCH-B")
    worker = Worker(db, SandboxGateway(db), holder="metrics-test")
    worker.stats.reports_applied = 2  # what its own polling applied
    async with (
        WebhookServer(db, WebhookConfig(port=0), secret=SECRET, worker=worker) as srv,
        httpx.AsyncClient(base_url=srv.url) as c,
    ):
        for body in (
            recipient_report("01BATCH-A", "Delivered", message_id=first),
            recipient_report("01BATCH-A", "Delivered", message_id=first),  # a retry: no change
            recipient_report("01BATCH-B", "Dispatched", message_id=second),  # pending: no change
            recipient_report("01BATCH-B", "Failed", code=402, message_id=second),
        ):
            assert (await c.post(EVENTS_PATH, content=body, headers=sign(body, clock))).is_success
        lines = (await c.get("/metrics")).text.splitlines()
    assert "switchboard_delivery_reports_applied_total 4.0" in lines


async def test_reports_applied_are_counted_without_a_worker_too(
    db: Database, client: httpx.AsyncClient, clock: FakeClock, setup: Setup
) -> None:
    message_id = await sent_message(db, setup.agent, "01BATCH")
    body = recipient_report("01BATCH", "Delivered", message_id=message_id)
    assert (await post(client, body, sign(body, clock))).status_code == 200
    lines = (await client.get("/metrics")).text.splitlines()
    assert "switchboard_delivery_reports_applied_total 1.0" in lines


async def test_metrics_without_a_worker(client: httpx.AsyncClient) -> None:
    text = (await client.get("/metrics")).text
    assert "switchboard_worker_lease_held 0.0" in text
    assert "switchboard_messages_sent_total" not in text


async def test_two_servers_keep_their_own_counters(
    db: Database, clock: FakeClock, setup: Setup
) -> None:
    first = WebhookServer(db, WebhookConfig(port=0), secret=SECRET)
    second = WebhookServer(db, WebhookConfig(port=0), secret=SECRET)
    first.metrics.observe("stored", 0.01)
    assert (first.metrics.count("stored"), second.metrics.count("stored")) == (1, 0)


async def test_healthz(
    client: httpx.AsyncClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    response = await client.get("/healthz")
    assert (response.status_code, response.text) == (200, "ok")

    async def broken(*args: Any) -> Any:
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(db, "scalar", broken)
    response = await client.get("/healthz")
    assert response.status_code == 503


async def test_media_serves_an_outbound_file_only_with_its_signature(
    db: Database, client: httpx.AsyncClient, setup: Setup, clock: FakeClock
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    pdf = b"%PDF-1.4 tiny"
    sent = await sending.send(
        db,
        setup.agent,
        PHONE,
        "files",
        media=[Media("a.png", "image/png", png), Media("b.pdf", "application/pdf", pdf)],
    )
    mid = sent.message_id

    def path(message_id: int, index: int, key: str = SECRET) -> str:
        return media_links.link("", key, message_id, index)

    first = await client.get(path(mid, 0))
    assert (first.status_code, first.content, first.headers["content-type"]) == (
        200,
        png,
        "image/png",
    )
    second = await client.get(path(mid, 1))
    assert (second.status_code, second.content) == (200, pdf)
    assert second.headers["content-type"] == "application/pdf"

    inbound_body = mo("01MO-IN")
    await post(client, inbound_body, sign(inbound_body, clock))
    inbound = await db.scalar("SELECT id FROM messages WHERE direction = 'in'")
    for bad in (
        path(mid, 0, key="wrong"),  # bad signature
        path(mid, 2),  # no third file
        path(mid + 1000, 0),  # no such message
        path(inbound, 0),  # not an outbound message
        f"/media/{mid}/x/{media_links.signature(SECRET, mid, 0)}",
        f"/media/{mid}/-1/{media_links.signature(SECRET, mid, -1)}",
    ):
        assert (await client.get(bad)).status_code == 404, bad


async def test_media_without_a_secret_serves_nothing(db: Database, setup: Setup) -> None:
    sent = await sending.send(
        db, setup.agent, PHONE, "f", media=[Media("a.png", "image/png", b"\x89PNG....")]
    )
    async with WebhookServer(db, WebhookConfig(port=0)) as srv:
        async with httpx.AsyncClient(base_url=srv.url) as c:
            response = await c.get(media_links.link("", "", sent.message_id, 0))
    assert response.status_code == 404


async def test_when_the_nonce_memory_is_full_callbacks_are_refused_for_now_with_503(
    db: Database, setup: Setup, clock: FakeClock
) -> None:
    # Forgetting a nonce early would let it be replayed; Sinch resends on 503 instead.
    config = WebhookConfig(port=0)
    async with WebhookServer(db, config, secret=SECRET, max_nonces=1) as srv:
        async with httpx.AsyncClient(base_url=srv.url) as c:
            first, second = mo("01MO-A"), mo("01MO-B")
            assert (await post(c, first, sign(first, clock))).status_code == 200
            assert (await post(c, second, sign(second, clock))).status_code == 503
            clock.advance(seconds=301)  # the first nonce expires with its timestamp
            assert (await post(c, second, sign(second, clock))).status_code == 200
    assert srv.metrics.count("error") == 1


def test_a_media_signature_that_is_not_ascii_is_simply_invalid():
    good = media_links.signature(SECRET, 7, 0)
    assert media_links.is_valid(SECRET, 7, 0, good)
    assert not media_links.is_valid(SECRET, 7, 0, "é" + good[1:])
    assert not media_links.is_valid(SECRET, 7, 0, "\udcff")
