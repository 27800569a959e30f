"""The webhook server under attack: the real aiohttp server on 127.0.0.1, a real SQLite file.

Every hostile request gets a 4xx (never a 500), is counted in /metrics, is logged as
one line without a traceback, changes nothing in the database, and the valid callback
sent after it is still stored.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import hmac
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from core.clock import FakeClock
from core.db import Database
from core.delivery.gateway import DeliveryReport, Media
from core.sms import sending
from providers import media_links, webhooks
from providers.config import EVENTS_PATH, WebhookConfig
from providers.webhooks import WebhookServer
from tests.providers.test_webhooks import (
    PHONE,
    SECRET,
    Setup,
    make_setup,
    mo,
    recipient_report,
    sent_message,
    sign,
)

MAX_BODY = 4096
BOUND = 30.0  # seconds: generous, for an outcome that comes at once on a quiet machine
TABLES = ("messages", "delivery_reports", "events", "conversations", "contacts", "attachments")


# --- fixtures and helpers --------------------------------------------------------------


@pytest.fixture
async def setup(db: Database) -> Setup:
    return await make_setup(db)


@pytest.fixture
async def server(db: Database, setup: Setup) -> AsyncIterator[WebhookServer]:
    srv = WebhookServer(
        db, WebhookConfig(port=0, max_body_bytes=MAX_BODY), secret=SECRET, body_timeout=0.5
    )
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture
async def client(server: WebhookServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=BOUND) as c:
        yield c


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="switchboard")
    caplog.set_level(logging.DEBUG, logger="aiohttp")
    return caplog


async def snapshot(db: Database) -> dict[str, int]:
    return {t: int(await db.scalar(f"SELECT count(*) FROM {t}")) for t in TABLES}


def server_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith(("switchboard.webhooks", "aiohttp"))]


def assert_one_line_each(caplog: pytest.LogCaptureFixture) -> None:
    """No traceback, no error: a client's mistake is a warning at most, one line each."""
    for record in server_records(caplog):
        assert record.exc_info is None, record.getMessage()
        assert record.levelno < logging.ERROR, record.getMessage()
        assert "\n" not in record.getMessage(), record.getMessage()


async def still_works(client: httpx.AsyncClient, db: Database, clock: FakeClock) -> None:
    """A valid callback after the hostile ones is stored."""
    ref = "01MO-AFTER-" + secrets.token_hex(4)
    body = mo(ref, "still here")
    response = await client.post(EVENTS_PATH, content=body, headers=sign(body, clock))
    assert response.status_code == 200, response.text
    assert await db.scalar("SELECT count(*) FROM messages WHERE provider_ref = ?", (ref,)) == 1


def signed_as(body: bytes, *, nonce: str, stamp: str) -> dict[str, bytes]:
    """Signed as Sinch signs (see tests.fakes.sinch_signing), with any nonce and timestamp text."""
    data = body + f".{nonce}.{stamp}".encode()
    mac = base64.b64encode(hmac.new(SECRET.encode(), data, hashlib.sha256).digest())
    return {
        "Content-Type": b"application/json",
        "x-sinch-webhook-signature": mac,
        "x-sinch-webhook-signature-nonce": nonce.encode(),
        "x-sinch-webhook-signature-timestamp": stamp.encode(),
    }


async def raw_exchange(port: int, data: bytes, *, hang_up: bool = False) -> bytes:
    """Send ``data`` on a fresh connection; return what the server answers until it closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        if hang_up:
            return b""
        return await asyncio.wait_for(reader.read(), timeout=BOUND)
    finally:
        writer.close()


async def eventually(check: Callable[[], Awaitable[bool] | bool], what: str) -> None:
    """Poll ``check`` until it holds, for at most BOUND seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BOUND
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


# --- signature headers --------------------------------------------------------------------


@pytest.mark.parametrize(
    "tamper",
    [
        {"x-sinch-webhook-signature": "é".encode() + b"AAAA"},  # non-ASCII: compare_digest raised
        {"x-sinch-webhook-signature": b"\xff\xfe\xfd"},  # not even UTF-8
        {"x-sinch-webhook-signature": b"A" * 5000},
        {"x-sinch-webhook-signature-nonce": "nonce-ü".encode()},
        {"x-sinch-webhook-signature-nonce": b"a\tb"},
        {"x-sinch-webhook-signature-timestamp": "١٧٠٠٠٠٠٠٠٠".encode()},  # Arabic-Indic digits
        {"x-sinch-webhook-signature-timestamp": b""},
    ],
    ids=[
        "sig-non-ascii",
        "sig-not-utf8",
        "sig-huge",
        "nonce-non-ascii",
        "nonce-tab",
        "stamp-other-digits",
        "stamp-empty",
    ],
)
async def test_odd_signature_headers_are_401_and_counted(
    db: Database,
    client: httpx.AsyncClient,
    clock: FakeClock,
    server: WebhookServer,
    logs: pytest.LogCaptureFixture,
    tamper: dict[str, bytes],
) -> None:
    before = await snapshot(db)
    body = mo("01MO-ODD")
    headers: dict[str, Any] = {**sign(body, clock), **tamper}
    response = await client.post(EVENTS_PATH, content=body, headers=headers)
    assert response.status_code == 401, response.text
    assert server.metrics.count("refused_signature") == 1
    assert server.metrics.count("error") == 0
    assert await snapshot(db) == before
    assert_one_line_each(logs)
    await still_works(client, db, clock)


@pytest.mark.parametrize(
    "stamp",
    [
        "9" * 400,  # too big for a float: the age computation raised OverflowError
        "9" * 30,
        "+{now}",
        "1_{now}",
        "-{now}",
        "{now}.0",
        "0x10",
        "NaN",
    ],
)
async def test_a_signed_callback_with_an_odd_timestamp_is_401_never_500(
    db: Database,
    client: httpx.AsyncClient,
    clock: FakeClock,
    server: WebhookServer,
    logs: pytest.LogCaptureFixture,
    stamp: str,
) -> None:
    # Signed with the secret: only the timestamp's form is wrong.
    before = await snapshot(db)
    body = mo("01MO-STAMP")
    stamp = stamp.format(now=int(clock.now().timestamp()))
    response = await client.post(
        EVENTS_PATH, content=body, headers=signed_as(body, nonce="n-" + stamp[:8], stamp=stamp)
    )
    assert response.status_code == 401, response.text
    refused = server.metrics.count("refused_signature") + server.metrics.count("refused_replay")
    assert refused == 1
    assert await snapshot(db) == before
    assert_one_line_each(logs)
    await still_works(client, db, clock)


async def test_a_signed_callback_with_a_far_future_timestamp_is_stale(
    client: httpx.AsyncClient, clock: FakeClock, server: WebhookServer
) -> None:
    body = mo("01MO-FUTURE")
    stamp = str(10**11)  # year 5138: a number, just not now
    response = await client.post(
        EVENTS_PATH, content=body, headers=signed_as(body, nonce="f", stamp=stamp)
    )
    assert response.status_code == 401
    assert server.metrics.count("refused_replay") == 1


# --- poison callbacks: signed, parseable, and impossible to store ------------------------

POISONS = {
    "report batch_id": b'{"type": "recipient_delivery_report_sms", "batch_id": "01BAD\\ud800",'
    b' "recipient": "12125550140", "status": "Delivered", "code": 0}',
    "report recipient": b'{"type": "delivery_report_sms", "batch_id": "01BAD", "statuses":'
    b' [{"status": "Delivered", "code": 0, "recipients": ["1212555\\udfff0140"]}]}',
    "mo body": b'{"type": "mo_text", "id": "01MO-BAD", "from": "12125550140",'
    b' "to": "14155550100", "body": "hello \\udc00"}',
    "mo id": b'{"type": "mo_text", "id": "01MO-\\ud83d", "from": "12125550140",'
    b' "to": "14155550100", "body": "hello"}',
    "a key": b'{"type": "mo_text", "\\ud800": 1, "id": "01MO-K", "from": "12125550140",'
    b' "to": "14155550100", "body": "hello"}',
    "mms file url": b'{"type": "mo_media", "id": "01MMS-BAD", "from": "12125550140",'
    b' "to": "14155550100", "body": {"url": "https://x.example/\\ud800.png"}}',
}


@pytest.mark.parametrize("body", POISONS.values(), ids=POISONS.keys())
async def test_a_lone_surrogate_is_400_logged_once_and_later_callbacks_are_stored(
    db: Database,
    client: httpx.AsyncClient,
    clock: FakeClock,
    server: WebhookServer,
    setup: Setup,
    logs: pytest.LogCaptureFixture,
    body: bytes,
) -> None:
    message_id = await sent_message(db, setup.agent, "01GOOD")
    before = await snapshot(db)
    response = await client.post(EVENTS_PATH, content=body, headers=sign(body, clock))
    assert response.status_code == 400, response.text
    assert "surrogate" in response.text
    assert server.metrics.count("bad_request") == 1
    assert await snapshot(db) == before
    [logged] = [r for r in server_records(logs) if getattr(r, "outcome", "") == "bad_request"]
    assert logged.exc_info is None
    assert_one_line_each(logs)

    # The callbacks after it are stored: a report, and an MO.
    good = recipient_report("01GOOD", "Delivered", message_id=message_id)
    assert (
        await client.post(EVENTS_PATH, content=good, headers=sign(good, clock))
    ).status_code == 200
    assert await db.scalar("SELECT status FROM messages WHERE id = ?", (message_id,)) == "delivered"
    await still_works(client, db, clock)


async def test_a_report_that_cannot_be_stored_fails_alone_in_its_group_commit(
    db: Database, setup: Setup
) -> None:
    # Past the parser and the report's own check (as if both had let one through): the
    # report's text cannot be read back from SQLite. It used to fail the whole group, and
    # leave the connection with a statement in progress, so every later commit failed
    # until the process restarted.
    first = await sent_message(db, setup.agent, "01GOOD")
    batcher = webhooks._ReportBatcher(db)
    poison = DeliveryReport("01BAD", "delivered", recipient=PHONE, provider_status="delivered")
    object.__setattr__(poison, "provider_id", "01BAD\ud800")  # around __post_init__

    def delivered(batch_id: str, message_id: int) -> DeliveryReport:
        return DeliveryReport(
            batch_id,
            "delivered",
            message_id=message_id,
            recipient=PHONE,
            provider_status="delivered",
        )

    results = await asyncio.gather(
        batcher.submit([poison]),
        batcher.submit([delivered("01GOOD", first)]),
        return_exceptions=True,
    )
    assert isinstance(results[0], Exception)
    assert results[1] is True
    assert await db.scalar("SELECT status FROM messages WHERE id = ?", (first,)) == "delivered"

    later = await sent_message(db, setup.agent, "01LATER")
    assert await batcher.submit([delivered("01LATER", later)]) is True
    assert await db.scalar("SELECT status FROM messages WHERE id = ?", (later,)) == "delivered"
    stored = "SELECT count(*) FROM delivery_reports WHERE provider_id LIKE '01BAD%'"
    assert await db.scalar(stored) == 0


# --- valid JSON, wrong shape ------------------------------------------------------------------

WRONG_SHAPES = {
    "a list": b'[{"type": "mo_text"}]',
    "a string": b'"mo_text"',
    "null": b"null",
    "type a number": b'{"type": 7}',
    "id a number": b'{"type": "mo_text", "id": 1, "from": "12125550140", "to": "14155550100",'
    b' "body": "x"}',
    "body an object": b'{"type": "mo_text", "id": "1", "from": "12125550140",'
    b' "to": "14155550100", "body": {"text": "x"}}',
    "from missing": b'{"type": "mo_text", "id": "1", "to": "14155550100", "body": "x"}',
    "statuses an object": b'{"type": "delivery_report_sms", "batch_id": "B", "statuses": {}}',
    "recipients numbers": b'{"type": "delivery_report_sms", "batch_id": "B",'
    b' "statuses": [{"status": "Delivered", "recipients": [12125550140]}]}',
    "code text": b'{"type": "recipient_delivery_report_sms", "batch_id": "B",'
    b' "recipient": "12125550140", "status": "Delivered", "code": "0"}',
    "code NaN": b'{"type": "recipient_delivery_report_sms", "batch_id": "B",'
    b' "recipient": "12125550140", "status": "Delivered", "code": NaN}',
    "empty batch_id": b'{"type": "recipient_delivery_report_sms", "batch_id": "",'
    b' "recipient": "12125550140", "status": "Delivered"}',
    "media a string": b'{"type": "mo_media", "id": "1", "from": "12125550140",'
    b' "to": "14155550100", "body": {"media": "x"}}',
    "deep nesting": b'{"type": "mo_text", "x": ' + b"[" * 1900 + b"]" * 1900 + b"}",
}


@pytest.mark.parametrize("body", WRONG_SHAPES.values(), ids=WRONG_SHAPES.keys())
async def test_valid_json_of_the_wrong_shape_is_400_and_stores_nothing(
    db: Database,
    client: httpx.AsyncClient,
    clock: FakeClock,
    server: WebhookServer,
    logs: pytest.LogCaptureFixture,
    body: bytes,
) -> None:
    before = await snapshot(db)
    response = await client.post(EVENTS_PATH, content=body, headers=sign(body, clock))
    assert response.status_code == 400, response.text
    assert server.metrics.count("bad_request") == 1
    assert await snapshot(db) == before
    assert_one_line_each(logs)
    await still_works(client, db, clock)


# --- HTTP itself --------------------------------------------------------------------------


async def test_an_oversized_request_line_is_400_one_line_and_counted(
    db: Database,
    client: httpx.AsyncClient,
    clock: FakeClock,
    server: WebhookServer,
    logs: pytest.LogCaptureFixture,
) -> None:
    before = await snapshot(db)
    assert server.port is not None
    answer = await raw_exchange(
        server.port, b"POST /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.0 400") or answer.startswith(b"HTTP/1.1 400"), answer[:80]
    assert server.metrics.sample("switchboard_http_refused_total", reason="malformed") == 1
    [logged] = [r for r in server_records(logs) if getattr(r, "outcome", "") == "malformed"]
    assert "8190" in logged.getMessage()
    assert_one_line_each(logs)
    assert await snapshot(db) == before
    await still_works(client, db, clock)


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 TLS hello\r\n\r\n",
        b"POST /sinch/events HTTP/1.1\r\nHost: x\r\nx-a: " + b"a" * 9000 + b"\r\n\r\n",
        b"POST /sinch/events HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"POST /sinch/events HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST /sinch/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"zz\r\nabc\r\n0\r\n\r\n",
        b"GET /media/1/0/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
    ids=["tls", "huge-header", "negative-length", "length-and-chunked", "bad-chunk", "bytes-path"],
)
async def test_requests_that_are_not_http_are_400_one_line_and_counted(
    db: Database,
    client: httpx.AsyncClient,
    clock: FakeClock,
    server: WebhookServer,
    logs: pytest.LogCaptureFixture,
    request_bytes: bytes,
) -> None:
    before = await snapshot(db)
    assert server.port is not None
    answer = await raw_exchange(server.port, request_bytes)
    assert answer.split(b" ")[1] == b"400", answer[:80]
    await eventually(
        lambda: server.metrics.sample("switchboard_http_refused_total", reason="malformed") == 1,
        "the refusal to be counted",
    )
    assert_one_line_each(logs)
    assert await snapshot(db) == before
    await still_works(client, db, clock)


@pytest.mark.parametrize(
    ("body", "status", "outcome"),
    [
        (b"this is not gzip", 400, "bad_request"),
        # 50 MB of JSON in 50 kB: the body limit counts what it decompresses to.
        (
            gzip.compress(b'{"type": "mo_text", "x": "' + b" " * 50_000_000 + b'"}'),
            413,
            "too_large",
        ),
    ],
    ids=["not-gzip", "gzip-bomb"],
)
async def test_a_gzip_body_that_does_not_decode_or_is_a_bomb_is_refused(
    db: Database, client: httpx.AsyncClient, clock: FakeClock, server: WebhookServer,
    logs: pytest.LogCaptureFixture, body: bytes, status: int, outcome: str,
) -> None:  # fmt: skip
    before = await snapshot(db)
    headers = {**sign(body, clock), "Content-Encoding": "gzip"}
    response = await client.post(EVENTS_PATH, content=body, headers=headers)
    assert response.status_code == status, response.text
    assert server.metrics.count(outcome) == 1
    assert server.metrics.count("error") == 0
    assert_one_line_each(logs)
    assert await snapshot(db) == before
    await still_works(client, db, clock)


async def test_a_client_that_hangs_up_mid_body_is_one_line_and_counted(
    db: Database,
    client: httpx.AsyncClient,
    clock: FakeClock,
    server: WebhookServer,
    logs: pytest.LogCaptureFixture,
) -> None:
    before = await snapshot(db)
    assert server.port is not None
    head = f"POST {EVENTS_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    await raw_exchange(
        server.port,
        (head + "Content-Length: 500\r\n\r\n").encode() + mo("01MO-GONE")[:20],
        hang_up=True,
    )
    await eventually(lambda: server.metrics.count("client_gone") == 1, "the hang-up to be counted")
    [logged] = [r for r in server_records(logs) if getattr(r, "outcome", "") == "client_gone"]
    assert "hung up" in logged.getMessage()
    assert_one_line_each(logs)
    assert await snapshot(db) == before
    await still_works(client, db, clock)


async def test_a_body_that_never_finishes_is_408_after_the_body_timeout(
    db: Database,
    client: httpx.AsyncClient,
    clock: FakeClock,
    server: WebhookServer,
    logs: pytest.LogCaptureFixture,
) -> None:
    # The server in this file waits 0.5 s for a body (the default is BODY_TIMEOUT_SECONDS).
    before = await snapshot(db)
    assert server.port is not None
    head = f"POST {EVENTS_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    answer = await raw_exchange(
        server.port, (head + "Content-Length: 500\r\n\r\n").encode() + mo("01MO-SLOW")[:20]
    )
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    assert b"Connection: close" in answer
    assert server.metrics.count("timeout") == 1
    assert_one_line_each(logs)
    assert await snapshot(db) == before
    await still_works(client, db, clock)


async def test_headers_that_never_finish_are_cut_off(
    db: Database, setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "IDLE_SECONDS", 0.5)  # 75 s in production
    async with WebhookServer(db, WebhookConfig(port=0), secret=SECRET) as srv:
        assert srv.port is not None
        answer = await raw_exchange(
            srv.port, f"POST {EVENTS_PATH} HTTP/1.1\r\nHost: x\r\n".encode()
        )
    assert answer == b""  # closed, unanswered


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", EVENTS_PATH),
        ("PUT", "/metrics"),
        ("GET", "/nowhere"),
        ("GET", "/sinch/events/../metrics"),
        ("GET", "/%2e%2e/etc/passwd"),
        ("GET", "/sinch/events%00"),
        ("GET", "/media/1/0"),
        ("GET", "/media/1/0/sig/extra"),
    ],
)
async def test_no_such_route_is_404_or_405_and_counted(
    db: Database,
    client: httpx.AsyncClient,
    clock: FakeClock,
    server: WebhookServer,
    logs: pytest.LogCaptureFixture,
    method: str,
    path: str,
) -> None:
    before = await snapshot(db)
    assert server.port is not None
    answer = await raw_exchange(
        server.port, f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    )
    assert answer.split(b" ")[1] in (b"404", b"405"), answer[:80]
    assert server.metrics.sample("switchboard_http_refused_total", reason="no_route") == 1
    assert_one_line_each(logs)
    assert await snapshot(db) == before
    await still_works(client, db, clock)


# --- /media ----------------------------------------------------------------------------


@pytest.fixture
async def mms(db: Database, setup: Setup) -> int:
    sent = await sending.send(
        db, setup.agent, PHONE, "file", media=[Media("a.png", "image/png", b"\x89PNG....")]
    )
    return sent.message_id


def media_path(message_id: int | str, index: int | str, sig: str) -> str:
    return f"{media_links.MEDIA_PATH}/{message_id}/{index}/{sig}"


async def test_media_refusals_are_404_and_counted(
    db: Database,
    client: httpx.AsyncClient,
    server: WebhookServer,
    mms: int,
    logs: pytest.LogCaptureFixture,
) -> None:
    good_sig = media_links.signature(SECRET, mms, 0)
    huge = 10**30  # signed as the server would sign it: SQLite cannot hold the number
    odd = [
        media_path(mms, 0, "%C3%A9" + good_sig[2:]),  # non-ASCII: compare_digest raised
        media_path(mms, 0, "%FF%FE"),
        media_path(mms, 0, "%00"),
        media_path(huge, 0, media_links.signature(SECRET, huge, 0)),
        media_path(mms, huge, media_links.signature(SECRET, mms, huge)),
        media_path(f"+{mms}", 0, good_sig),
        media_path(f"0{mms}", 0, good_sig),
        media_path(mms, "00", good_sig),
        media_path(mms, "%D9%A0", good_sig),  # an Arabic-Indic zero
        media_path(mms, "-0", good_sig),
        media_path("1_0", 0, media_links.signature(SECRET, 10, 0)),
    ]
    before = await snapshot(db)
    for path in odd:
        response = await client.get(path)
        assert response.status_code == 404, path
    assert server.metrics.sample("switchboard_media_requests_total", outcome="refused") == len(odd)
    assert server.metrics.sample("switchboard_media_requests_total", outcome="error") == 0
    assert_one_line_each(logs)
    assert await snapshot(db) == before

    served = await client.get(media_path(mms, 0, good_sig))
    assert served.status_code == 200
    assert server.metrics.sample("switchboard_media_requests_total", outcome="served") == 1


async def test_every_refusal_shows_in_metrics(
    client: httpx.AsyncClient, clock: FakeClock, server: WebhookServer
) -> None:
    body = mo("01MO-M")
    await client.post(
        EVENTS_PATH, content=body, headers={"x-sinch-webhook-signature": "é".encode()}
    )
    await client.get("/media/1/0/nope")
    await client.get("/nowhere")
    text = (await client.get("/metrics")).text
    for line in (
        'switchboard_webhook_requests_total{outcome="refused_signature"} 1.0',
        'switchboard_webhook_requests_total{outcome="timeout"} 0.0',
        'switchboard_webhook_requests_total{outcome="client_gone"} 0.0',
        'switchboard_media_requests_total{outcome="refused"} 1.0',
        'switchboard_http_refused_total{reason="no_route"} 1.0',
        'switchboard_http_refused_total{reason="malformed"} 0.0',
    ):
        assert line in text.splitlines(), line
