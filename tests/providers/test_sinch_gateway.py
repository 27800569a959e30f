"""The Sinch gateway, through the real SDK, against FakeSinch on 127.0.0.1.

What Sinch receives is asserted as JSON (numbers without '+', our message ID
as client_reference, per-recipient reports to our callback URL, the parts
limit); every failure Sinch can answer with is mapped to a Temporary or
Permanent failure with one readable sentence; a retry looks the batch up
first and never sends it twice. The last tests check the fake itself against
the SDK: its callbacks are signed as Sinch signs them and parse as Sinch's
events.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from sinch.domains.sms.models.v1.response import RecipientDeliveryReport
from sinch.domains.sms.models.v1.shared import MOMediaMessage, MOTextMessage
from sinch.domains.sms.sinch_events.v1.sms_sinch_event import SmsSinchEvent

from core import settings
from core.clock import FakeClock
from core.delivery.gateway import Media, OutboundSms, PermanentFailure, TemporaryFailure
from core.people.agents import add as add_agent
from core.people.authz import SYSTEM
from core.scheduling.options import WorkerOptions
from core.scheduling.worker import Worker
from core.sms import numbers, sending
from providers import media_links
from providers.config import WebhookConfig
from providers.sinch_sms import SinchGateway
from tests.fakes.sinch_server import FakeSinch

PUBLIC_URL = "https://switchboard.example.org"
WEBHOOKS = WebhookConfig(public_url=PUBLIC_URL)
SECRET = "whsec-test-0123456789"
SENDER, RECIPIENT = "+14155550100", "+12125550110"
TIMEOUT = 0.5


def sms(message_id: int = 42, **changes: Any) -> OutboundSms:
    values: dict[str, Any] = {
        "message_id": message_id,
        "sender": SENDER,
        "recipient": RECIPIENT,
        "body": "Your table is ready.",
        "segments": 1,
        "max_parts": 3,
    }
    values.update(changes)
    return OutboundSms(**values)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSinch]:
    async with FakeSinch(webhook_secret=SECRET, callbacks=False) as server:
        yield server


@pytest.fixture
def gateway(fake: FakeSinch) -> Iterator[SinchGateway]:
    gateway = SinchGateway(fake.sinch_config(timeout_seconds=TIMEOUT), WEBHOOKS)
    yield gateway
    gateway.close()


# --- sending --------------------------------------------------------------------


async def test_a_message_is_one_batch_in_sinchs_own_shape(fake: FakeSinch, gateway: SinchGateway):
    accepted = await gateway.send(sms())

    (call,) = fake.calls
    assert (call.method, call.path) == ("POST", f"/xms/v1/{fake.service_plan_id}/batches")
    assert call.authorization == f"Bearer {fake.api_token}"
    assert call.body == {
        "to": ["12125550110"],
        "from": "14155550100",
        "body": "Your table is ready.",
        "type": "mt_text",
        "delivery_report": "per_recipient",
        "callback_url": f"{PUBLIC_URL}/sinch/events",
        "client_reference": "42",
        "max_number_of_message_parts": 3,
    }
    assert accepted.provider_id == fake.batches[0]["id"]
    assert fake.sent(42) == 1


async def test_without_a_public_url_no_callback_url_is_sent(fake: FakeSinch):
    gateway = SinchGateway(fake.sinch_config(), WebhookConfig())
    await gateway.send(sms(max_parts=None))
    body = fake.calls[-1].body
    assert "callback_url" not in body
    assert "max_number_of_message_parts" not in body
    gateway.close()


async def test_project_access_keys_fetch_an_oauth_token_once_and_use_it(fake: FakeSinch):
    gateway = SinchGateway(fake.project_config(), WEBHOOKS)
    first = await gateway.send(sms(1))
    second = await gateway.send(sms(2))

    token_calls = fake.calls_to("POST", "/oauth2/token")
    assert len(token_calls) == 1
    assert token_calls[0].body == {"grant_type": "client_credentials"}
    (token,) = fake.tokens
    sends = fake.calls_to("POST")
    assert [c.path for c in sends] == [f"/xms/v1/{fake.project_id}/batches"] * 2
    assert {c.authorization for c in sends} == {f"Bearer {token}"}
    assert first.provider_id != second.provider_id
    gateway.close()


async def test_an_expired_oauth_token_is_renewed_and_the_message_still_goes(fake: FakeSinch):
    gateway = SinchGateway(fake.project_config(), WEBHOOKS)
    await gateway.send(sms(1))
    fake.expire_tokens()
    accepted = await gateway.send(sms(2))
    assert len(fake.calls_to("POST", "/oauth2/token")) == 2
    assert accepted.provider_id == fake.batches[-1]["id"]
    assert fake.sent(2) == 1
    gateway.close()


async def test_an_mms_is_sent_as_a_signed_link_sinch_fetches(fake: FakeSinch):
    gateway = SinchGateway(fake.sinch_config(), WEBHOOKS)
    photo = Media("menu.jpg", "image/jpeg", b"\xff\xd8jpeg")
    await gateway.send(sms(77, body="Tonight's menu", media=(photo,)))

    body = fake.calls[-1].body
    assert body["type"] == "mt_media"
    assert body["body"] == {
        "url": media_links.link(PUBLIC_URL, SECRET, 77, 0),
        "message": "Tonight's menu",
    }
    assert body["client_reference"] == "77"
    assert "max_number_of_message_parts" not in body
    assert media_links.is_valid(SECRET, 77, 0, body["body"]["url"].rsplit("/", 1)[1])
    gateway.close()


@pytest.mark.parametrize(
    ("webhooks", "secret"),
    [(WebhookConfig(), SECRET), (WEBHOOKS, "")],
    ids=["no public_url", "no webhook secret"],
)
async def test_an_mms_without_a_public_url_or_secret_is_refused_in_plain_words(
    fake: FakeSinch, webhooks: WebhookConfig, secret: str
):
    gateway = SinchGateway(fake.sinch_config(webhook_secret=secret), webhooks)
    photo = Media("menu.jpg", "image/jpeg", b"\xff\xd8jpeg")
    with pytest.raises(PermanentFailure) as refused:
        await gateway.send(sms(media=(photo,)))
    assert "MMS through Sinch needs [webhooks] public_url and a webhook secret" in (
        refused.value.reason
    )
    assert fake.calls == [], "nothing was sent"
    gateway.close()


async def test_due_reports_is_empty_because_sinch_pushes_them(gateway: SinchGateway):
    assert list(await gateway.due_reports()) == []


# --- never twice ----------------------------------------------------------------


async def test_a_retry_finds_the_batch_sinch_already_has_and_sends_nothing(
    fake: FakeSinch, gateway: SinchGateway
):
    first = await gateway.send(sms())
    again = await gateway.send(sms(attempt=2))

    assert again == first
    assert fake.sent(42) == 1
    lookup = fake.calls[-1]
    assert (lookup.method, lookup.query["client_reference"]) == ("GET", "42")


async def test_a_retry_sends_when_sinch_has_no_such_batch(fake: FakeSinch, gateway: SinchGateway):
    accepted = await gateway.send(sms(attempt=3))
    assert [c.method for c in fake.calls] == ["GET", "POST"], "looked up first, then sent"
    assert fake.sent(42) == 1
    assert accepted.provider_id == fake.batches[0]["id"]


async def test_the_lookup_reaches_back_further_than_sinchs_default_day(
    fake: FakeSinch, gateway: SinchGateway
):
    first = await gateway.send(sms())
    fake.advance(days=3)  # Sinch lists only the last 24 hours unless asked for more
    assert await gateway.send(sms(attempt=2)) == first
    assert fake.sent(42) == 1


async def test_if_sinch_refuses_the_start_date_the_lookup_still_looks_at_its_last_day(
    fake: FakeSinch, gateway: SinchGateway
):
    first = await gateway.send(sms())
    fake.fail_next("400")
    assert await gateway.send(sms(attempt=2)) == first
    refused, plain = fake.calls_to("GET")
    assert refused.status == 400
    assert "start_date" in refused.query
    assert "start_date" not in plain.query
    assert fake.sent(42) == 1


async def test_a_batch_with_our_id_to_someone_else_is_not_taken_for_ours(
    fake: FakeSinch, gateway: SinchGateway
):
    # Another installation on the same account used message ID 42 for another number.
    await gateway.send(sms(recipient="+12125550177"))
    mine = await gateway.send(sms(attempt=2))
    assert fake.sent(42) == 2
    assert fake.batches[-1]["to"] == ["12125550110"]
    assert mine.provider_id == fake.batches[-1]["id"]


async def test_a_timeout_after_sinch_recorded_the_batch_is_not_sent_twice(
    fake: FakeSinch, gateway: SinchGateway
):
    fake.fail_next("hang")
    started = time.monotonic()
    with pytest.raises(TemporaryFailure) as timed_out:
        await gateway.send(sms())
    assert time.monotonic() - started < TIMEOUT + 2
    assert timed_out.value.reason == f"Sinch did not answer within {TIMEOUT:g} s"
    assert fake.sent(42) == 1, "Sinch had it all along"

    again = await gateway.send(sms(attempt=2))
    assert again.provider_id == fake.batches[0]["id"]
    assert fake.sent(42) == 1


async def test_a_timeout_before_sinch_recorded_it_is_sent_on_the_retry(
    fake: FakeSinch, gateway: SinchGateway
):
    fake.fail_next("hang_before")
    with pytest.raises(TemporaryFailure):
        await gateway.send(sms())
    assert fake.sent(42) == 0
    await gateway.send(sms(attempt=2))
    assert fake.sent(42) == 1


async def test_when_the_lookup_fails_nothing_is_sent(fake: FakeSinch, gateway: SinchGateway):
    fake.fail_next("503")
    with pytest.raises(TemporaryFailure) as failed:
        await gateway.send(sms(attempt=2))
    assert "503" in failed.value.reason
    assert fake.calls_to("POST") == []


async def test_the_worker_retries_a_timed_out_message_once_without_a_second_batch(
    db, clock: FakeClock, fake: FakeSinch
):
    await numbers.add(db, SYSTEM, SENDER, default=True)
    alice = (await add_agent(db, SYSTEM, "alice", "Alice", "Agent")).as_actor()
    await settings.update(db, SYSTEM, rate_segments_per_second=1000)
    queued = await sending.send(db, alice, RECIPIENT, "Hello from the desk")
    gateway = SinchGateway(fake.sinch_config(timeout_seconds=TIMEOUT), WEBHOOKS)
    worker = Worker(db, gateway, WorkerOptions(lease_seconds=3600), holder="test")

    fake.fail_next("hang")
    await worker.run_once()
    row = await db.fetchone(
        "SELECT status, attempts, error FROM messages WHERE id = ?", (queued.message_id,)
    )
    assert (row["status"], row["attempts"]) == ("queued", 1)
    assert row["error"] == f"Sinch did not answer within {TIMEOUT:g} s"

    clock.advance(minutes=1)
    await worker.run_once()
    row = await db.fetchone(
        "SELECT status, provider_id FROM messages WHERE id = ?", (queued.message_id,)
    )
    assert row["status"] == "sent"
    assert row["provider_id"] == fake.batches[0]["id"]
    assert fake.sent(queued.message_id) == 1
    gateway.close()


# --- failures, in words ---------------------------------------------------------


async def test_429_is_temporary_and_keeps_sinchs_retry_after(
    fake: FakeSinch, gateway: SinchGateway
):
    fake.retry_after = "7"
    fake.fail_next("429")
    with pytest.raises(TemporaryFailure) as limited:
        await gateway.send(sms())
    assert limited.value.retry_after == 7.0
    assert limited.value.reason.startswith("Sinch asked us to slow down (429")
    assert len(fake.calls) == 1, "the SDK did not retry by itself"


async def test_429_without_retry_after_leaves_the_wait_to_the_outbox(
    fake: FakeSinch, gateway: SinchGateway
):
    fake.retry_after = None
    fake.fail_next("429")
    with pytest.raises(TemporaryFailure) as limited:
        await gateway.send(sms())
    assert limited.value.retry_after is None


@pytest.mark.parametrize("status", ["500", "503"])
async def test_a_server_error_is_temporary(fake: FakeSinch, gateway: SinchGateway, status: str):
    fake.fail_next(status)
    with pytest.raises(TemporaryFailure) as failed:
        await gateway.send(sms())
    assert failed.value.reason == f"Sinch answered {status} internal_error: Internal error"
    assert failed.value.retry_after is None


async def test_a_refused_batch_is_permanent_with_sinchs_own_reason(gateway: SinchGateway):
    with pytest.raises(PermanentFailure) as refused:
        await gateway.send(sms(body="x" * 2001))
    assert refused.value.reason == (
        "Sinch refused it (400 syntax_constraint_violation: body: is 2001 characters;"
        " at most 2000 are allowed)"
    )


async def test_a_wrong_api_token_is_permanent_and_says_credentials(fake: FakeSinch):
    gateway = SinchGateway(fake.sinch_config(api_token="not-the-token"), WEBHOOKS)
    with pytest.raises(PermanentFailure) as refused:
        await gateway.send(sms())
    assert refused.value.reason.startswith("Sinch refused the credentials (401 unauthorized")
    assert "API token" in refused.value.reason
    gateway.close()


async def test_a_wrong_key_secret_is_refused_at_the_token_and_says_credentials(fake: FakeSinch):
    gateway = SinchGateway(fake.project_config(key_secret="wrong"), WEBHOOKS)
    with pytest.raises(PermanentFailure) as refused:
        await gateway.send(sms())
    assert refused.value.reason.startswith("Sinch refused the credentials (401 invalid_client")
    assert "key secret" in refused.value.reason
    assert fake.calls_to("POST") == [], "no batch without a token"
    gateway.close()


async def test_nothing_listening_is_temporary_and_names_the_address(fake: FakeSinch):
    gateway = SinchGateway(fake.sinch_config(origin=_closed_origin()), WEBHOOKS)
    with pytest.raises(TemporaryFailure) as failed:
        await gateway.send(sms())
    assert "could not be reached at http://127.0.0.1:" in failed.value.reason
    assert "connection refused" in failed.value.reason
    gateway.close()


async def test_reasons_are_one_line_without_tracebacks(fake: FakeSinch, gateway: SinchGateway):
    reasons = []
    for kind in ("429", "500", "hang", "hang_before"):
        fake.fail_next(kind)
        with pytest.raises(TemporaryFailure) as failed:
            await gateway.send(sms())
        reasons.append(failed.value.reason)
    for reason in reasons:
        assert "\n" not in reason
        assert "Traceback" not in reason
        assert "Exception" not in reason
        assert len(reason) < 300


# --- config check ---------------------------------------------------------------


async def test_check_lists_one_batch_and_sends_nothing(fake: FakeSinch, gateway: SinchGateway):
    result = await gateway.check()
    assert (result.provider, result.configured, result.reachable, result.accepted) == (
        "SMS (Sinch)",
        True,
        True,
        True,
    )
    assert result.ok
    assert fake.origin in result.detail
    (call,) = fake.calls
    assert (call.method, call.query["page_size"]) == ("GET", "1")
    assert fake.batches == []


async def test_check_with_project_keys(fake: FakeSinch):
    gateway = SinchGateway(fake.project_config(), WEBHOOKS)
    result = await gateway.check()
    assert result.ok
    assert "project access key" in result.detail
    gateway.close()


async def test_check_says_when_the_token_is_refused(fake: FakeSinch):
    gateway = SinchGateway(fake.sinch_config(api_token="nope"), WEBHOOKS)
    result = await gateway.check()
    assert (result.reachable, result.accepted, result.ok) == (True, False, False)
    assert "refused the service plan ID and API token (401 unauthorized" in result.detail
    gateway.close()


async def test_check_says_when_sinch_answers_with_a_server_error(
    fake: FakeSinch, gateway: SinchGateway
):
    fake.fail_next("503")
    result = await gateway.check()
    assert (result.reachable, result.accepted, result.ok) == (False, None, False)
    assert "answered 503" in result.detail


async def test_check_says_when_nothing_listens(fake: FakeSinch):
    origin = _closed_origin()
    gateway = SinchGateway(fake.sinch_config(origin=origin), WEBHOOKS)
    result = await gateway.check()
    assert (result.reachable, result.accepted, result.ok) == (False, None, False)
    assert origin in result.detail
    gateway.close()


async def test_check_names_the_region_when_no_origin_is_set():
    from providers.config import SinchConfig

    gateway = SinchGateway(SinchConfig(service_plan_id="p", api_token="t", region="eu"), WEBHOOKS)
    assert gateway.origin == "https://eu.sms.api.sinch.com"
    assert gateway._where() == "at https://eu.sms.api.sinch.com (region eu)"
    gateway.close()


# --- the fake speaks Sinch ------------------------------------------------------


@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1 that keeps what it gets and answers ``statuses``."""

    statuses: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/sinch/events", found.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    found.url = f"http://{host}:{port}/sinch/events"
    yield found
    await runner.cleanup()


async def test_the_fakes_reports_are_signed_and_parse_as_sinch_events(receiver: Receiver):
    async with FakeSinch(webhook_secret=SECRET) as fake:
        gateway = SinchGateway(fake.sinch_config(), WebhookConfig())
        await gateway.send(sms(5, recipient="+12125550110"))
        await gateway.send(sms(6, recipient="+12125550199"))
        # The callback URL the batch names, or the fake's default: here the batch names none.
        assert receiver.received == []
        fake.callback_url = receiver.url
        await gateway.send(sms(7, recipient="+12125550199"))
        await fake.callbacks_done()
        gateway.close()

    events = SmsSinchEvent(SECRET)
    (headers, body) = receiver.received[0]
    assert events.validate_authentication_header(headers, body)
    assert not SmsSinchEvent("another-secret").validate_authentication_header(headers, body)
    report = events.parse_event(body)
    assert isinstance(report, RecipientDeliveryReport)
    assert (report.recipient, report.status, report.code, report.client_reference) == (
        "12125550199",
        "Failed",
        402,
        "7",
    )


async def test_the_fake_retries_a_callback_on_5xx_and_429_but_not_on_4xx(receiver: Receiver):
    receiver.statuses = [503, 429, 200, 400]
    async with FakeSinch(callback_url=receiver.url, callback_retry_delay=0.01) as fake:
        gateway = SinchGateway(fake.sinch_config(), WebhookConfig())
        await gateway.send(sms(1))
        await fake.callbacks_done()
        await gateway.send(sms(2))
        await fake.callbacks_done()
        gateway.close()
    assert [c.statuses for c in fake.callbacks_sent] == [[503, 429, 200], [400]]


async def test_reports_wait_for_deliver_reports_when_callbacks_are_off(receiver: Receiver):
    async with FakeSinch(callback_url=receiver.url, callbacks=False) as fake:
        gateway = SinchGateway(fake.sinch_config(), WebhookConfig())
        await gateway.send(sms(1))
        await asyncio.sleep(0.05)
        assert receiver.received == []
        assert len(fake.pending_reports) == 1
        delivered = await fake.deliver_reports()
        gateway.close()
    assert [c.status for c in delivered] == [200]
    assert fake.pending_reports == []
    assert len(receiver.received) == 1


async def test_a_body_over_the_parts_limit_is_reported_failed_with_411(fake: FakeSinch):
    gateway = SinchGateway(fake.sinch_config(), WebhookConfig())
    await gateway.send(sms(body="x" * 400, max_parts=2))
    (report,) = fake.all_reports()
    assert (report["status"], report["code"], report["number_of_message_parts"]) == (
        "Failed",
        411,
        3,
    )
    gateway.close()


async def test_the_fakes_inbound_messages_parse_as_sinch_events(receiver: Receiver):
    async with FakeSinch(webhook_secret=SECRET) as fake:
        text = await fake.send_mo(receiver.url, RECIPIENT, SENDER, "STOP", id="01MOTEXT")
        media = await fake.send_mo(
            receiver.url, RECIPIENT, SENDER, "look", media_url="https://mms.example/x.jpg"
        )
    assert (text.status, media.status) == (200, 200)
    events = SmsSinchEvent(SECRET)
    parsed = []
    for headers, body in receiver.received:
        assert events.validate_authentication_header(headers, body)
        parsed.append(events.parse_event(body))
    first, second = parsed
    assert isinstance(first, MOTextMessage)
    assert (first.id, first.from_, first.to, first.body) == (
        "01MOTEXT",
        "12125550110",
        "14155550100",
        "STOP",
    )
    assert isinstance(second, MOMediaMessage)
    assert second.body.message == "look"
    assert second.body.media[0].url == "https://mms.example/x.jpg"


async def test_a_hung_request_does_not_hold_up_stop():
    fake = await FakeSinch().start()
    gateway = SinchGateway(fake.sinch_config(timeout_seconds=5), WebhookConfig())
    fake.fail_next("hang")
    sending = asyncio.create_task(gateway.send(sms()))
    for _ in range(500):  # until the request has reached the fake
        if fake.calls:
            break
        await asyncio.sleep(0.01)
    started = time.monotonic()
    await fake.stop()
    assert time.monotonic() - started < 2
    with pytest.raises(TemporaryFailure):
        await sending
    gateway.close()


def _closed_origin() -> str:
    """An address where nothing listens (a port bound and released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
