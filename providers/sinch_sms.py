"""Sinch SMS through the ``sinch`` SDK (xms v1 REST API): one batch per message,
or one batch for many (``send_batch``, up to 1,000 recipients).

The SDK is synchronous (``requests``), so every call runs in this gateway's
own small thread pool, off the event loop; a call that hangs holds one of
those threads for at most ``timeout_seconds`` and never the loop, nor the
default executor other code uses. The SDK's own 429 retries (``time.sleep``
in the calling thread) are switched off: the outbox does the retrying, with
the Retry-After Sinch gives.

Delivery reports are pushed by Sinch to the webhook server
(``[webhooks] public_url`` + ``/sinch/events``), so ``due_reports`` has
nothing to pull.

Nothing is sent twice across a timeout or a crash: every batch carries our
message ID as ``client_reference``, and a message on its second or later
attempt (the earlier one may have reached Sinch) is first looked up by it;
when Sinch already has it, that batch is the answer and nothing is sent. See
``SinchGateway.send`` for what that lookup cannot cover. A batch of many
messages carries our batch reference instead (``core.delivery.batching``) and is
looked up the same way.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter
from sinch import SinchClient
from sinch.core.clients.retry_configuration import RetryConfiguration
from sinch.core.enums import RetryPolicy
from sinch.core.exceptions import SinchException

from core.delivery.gateway import (
    Accepted,
    DeliveryReport,
    MmsLimits,
    OutboundBatch,
    OutboundSms,
    PermanentFailure,
    TemporaryFailure,
)
from providers import media_links
from providers.checks import Check
from providers.config import SinchConfig, WebhookConfig

log = logging.getLogger("switchboard.sinch")

PROVIDER = "SMS (Sinch)"
THREADS = 16
"""Enough for the worker's send concurrency (8) plus checks, with room to spare."""
LOOKBACK = timedelta(days=14) - timedelta(hours=1)
"""How far back a lookup asks: Sinch lists 14 days of batches (kept an hour inside, for
clock skew), and only the last 24 hours when not given a start date."""
LOOKUP_PAGE_SIZE = 100
MAX_API_TEXT = 200
SDK_LOGGER = "switchboard.sinch.sdk"

T = TypeVar("T")

# The SDK logs every request with its headers (the API token or OAuth token)
# at DEBUG; hold its logger at INFO so a debug log never holds a credential.
logging.getLogger(SDK_LOGGER).setLevel(logging.INFO)


MMS_MAX_ATTACHMENTS = 1
"""Sinch's MMS batch carries one file, by URL."""
MAX_BATCH_RECIPIENTS = 1000
"""Sinch takes a batch of up to 1,000 recipients."""


def mms_limits(config: SinchConfig, webhooks: WebhookConfig) -> MmsLimits:
    """What MMS through Sinch can carry as configured (checked before queueing).

    Sinch fetches the file from our webhook server, by a signed link, so it
    needs [webhooks] public_url and a webhook secret.
    """
    missing = " and ".join(
        name
        for name, value in (
            ("[webhooks] public_url", webhooks.public_url),
            ("a webhook secret (SWITCHBOARD_SINCH_WEBHOOK_SECRET)", config.webhook_secret),
        )
        if not value
    )
    unavailable = (
        "MMS through Sinch needs [webhooks] public_url and a webhook secret, so that"
        f" Sinch can fetch the file from this server; {missing} is not set"
        if missing
        else ""
    )
    return MmsLimits(max_attachments=MMS_MAX_ATTACHMENTS, unavailable=unavailable)


class SinchGateway:
    """The SmsGateway for Sinch; build it once and share it (it holds the SDK client)."""

    name = "sinch"
    max_batch_recipients = MAX_BATCH_RECIPIENTS

    def __init__(self, config: SinchConfig, webhooks: WebhookConfig) -> None:
        self.config = config
        self.webhooks = webhooks
        self._client = _build_client(config)
        self.origin = self._client.configuration.get_sms_origin_for_auth().rstrip("/")
        """Where the SMS API is: the region's, or ``[sinch] origin``."""
        self._executor = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="sinch")

    # --- SmsGateway ---------------------------------------------------------

    @property
    def mms_limits(self) -> MmsLimits:
        return mms_limits(self.config, self.webhooks)

    async def send(self, sms: OutboundSms) -> Accepted:
        """Hand one message to Sinch as a batch of one; returns the batch ID.

        On ``sms.attempt > 1`` the batch is first looked up by
        ``client_reference`` (our message ID), for the same recipient and
        sender, and when Sinch has it that batch is returned and nothing is
        sent. If the lookup itself fails, nothing is sent either (a
        TemporaryFailure: the next attempt looks again).

        What the lookup cannot see, and so where a duplicate is still
        possible:

        * a batch Sinch accepted more than 14 days ago (its list keeps no
          more; the lookup asks for those 14 days, less an hour for clock
          skew, not Sinch's default 24 h; if Sinch refused that start date
          with a 400 the lookup falls back to its 24 h): only when the
          earlier attempt was that long ago;
        * a batch Sinch accepted but does not list yet (its list lagging its
          answer by more than the time between our attempts);
        * another installation on the same Sinch account that used the same
          message ID for the same recipient and sender: then we take its
          batch for ours and send nothing (the reverse risk, a lost message,
          not a duplicate).
        """
        request = (
            self._mms_request(sms)
            if sms.media
            else self._sms_request(
                [sms.recipient], sms.sender, str(sms.message_id), sms.body, sms.max_parts
            )
        )
        wanted = _Wanted(
            f"message {sms.message_id}",
            str(sms.message_id),
            _digits(sms.sender),
            frozenset({_digits(sms.recipient)}),
            sms.attempt,
        )
        try:
            return await self._run(self._send_sync, wanted, request)
        except _Failure as exc:
            raise exc.as_gateway_failure(self) from None

    async def send_batch(self, batch: OutboundBatch) -> Accepted:
        """Hand many messages with one text to Sinch as one batch; returns its ID.

        ``client_reference`` is the batch's reference and every recipient gets
        its own delivery report (``per_recipient``), naming the batch and the
        recipient: that pair is how each report finds its message. On
        ``batch.attempt > 1`` the batch is first looked up by its reference,
        from the same sender, and taken when it holds every recipient of this
        one (an earlier try may have held more: rows cancelled since are not
        asked for again); then nothing is sent. The same limits as ``send``'s
        lookup apply.
        """
        if len(batch.rows) > MAX_BATCH_RECIPIENTS:
            raise PermanentFailure(
                f"Sinch takes at most {MAX_BATCH_RECIPIENTS:,} recipients in one batch,"
                f" not {len(batch.rows):,}"
            )
        request = self._sms_request(
            batch.recipients,
            batch.sender,
            batch.reference,
            batch.body,
            batch.max_parts,
            _parameters(batch.parameters),
        )
        wanted = _Wanted(
            f"batch {batch.reference} ({len(batch.rows)} messages)",
            batch.reference,
            _digits(batch.sender),
            frozenset(_digits(r) for r in batch.recipients),
            batch.attempt,
        )
        try:
            return await self._run(self._send_sync, wanted, request)
        except _Failure as exc:
            raise exc.as_gateway_failure(self) from None

    async def due_reports(self) -> Sequence[DeliveryReport]:
        return ()  # Sinch pushes reports to the webhook server.

    # --- config check ---------------------------------------------------------

    async def check(self) -> Check:
        """Configured, reachable, credentials accepted: lists one batch, sends nothing."""
        where = self._where()
        creds = self._credentials()
        try:
            await self._run(self._list_sync, None, 1)
        except _Refused as exc:
            status = exc.status
            if status in (401, 403):
                return Check(
                    PROVIDER,
                    configured=True,
                    reachable=True,
                    accepted=False,
                    detail=f"Sinch {where} refused the {creds} ({exc.summary});"
                    f" {self._credentials_hint()}",
                )
            if status is not None and (status >= 500 or status == 429):
                return Check(
                    PROVIDER,
                    configured=True,
                    reachable=status == 429,
                    detail=f"Sinch {where} answered {exc.summary}; try again in a minute",
                )
            return Check(
                PROVIDER,
                configured=True,
                reachable=True,
                accepted=False,
                detail=f"Sinch {where} refused the request ({exc.summary}); check [sinch]"
                f" {'service_plan_id' if self.config.uses_service_plan else 'project_id'}"
                " and region",
            )
        except _Unreachable as exc:
            return Check(
                PROVIDER,
                configured=True,
                reachable=False,
                detail=f"{exc.reason}; check [sinch] region (or origin) and this machine's network",
            )
        except _Unreadable as exc:
            return Check(
                PROVIDER,
                configured=True,
                reachable=True,
                detail=f"Sinch {where} answered, but not as expected: {exc.detail}",
            )
        return Check(
            PROVIDER,
            configured=True,
            reachable=True,
            accepted=True,
            detail=f"Sinch {where} accepted the {creds} (batches listed, nothing sent)",
        )

    def close(self) -> None:
        """Let the threads go and close the SDK's connections (a hung call finishes on its own)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        session = getattr(self._client.configuration.transport, "http_session", None)
        if session is not None:
            session.close()

    # --- building the requests -------------------------------------------------

    def _common(self, recipients: Sequence[str], sender: str, reference: str) -> dict[str, Any]:
        request: dict[str, Any] = {
            "to": [_digits(r) for r in recipients],
            "from_": _digits(sender),
            "client_reference": reference,
            "delivery_report": "per_recipient",
        }
        if self.webhooks.callback_url:
            request["event_destination_target"] = self.webhooks.callback_url
        return request

    def _sms_request(
        self,
        recipients: Sequence[str],
        sender: str,
        reference: str,
        body: str,
        max_parts: int | None,
        parameters: dict[str, dict[str, str]] | None = None,
    ) -> Callable[[], Any]:
        request = self._common(recipients, sender, reference)
        request["body"] = body
        if max_parts is not None:
            request["max_number_of_message_parts"] = max_parts
        if parameters:
            request["parameters"] = parameters
        return functools.partial(self._client.sms.batches.send_sms, **request)

    def _mms_request(self, sms: OutboundSms) -> Callable[[], Any]:
        # Sending checks these limits before queueing; a message queued before
        # the configuration changed can still meet them here.
        limits = self.mms_limits
        if limits.unavailable:
            raise PermanentFailure(limits.unavailable)
        if len(sms.media) > MMS_MAX_ATTACHMENTS:
            raise PermanentFailure(
                f"Sinch sends one file per MMS and this message has {len(sms.media)};"
                " send them one message each"
            )
        public_url, secret = self.webhooks.public_url, self.config.webhook_secret
        body: dict[str, str] = {"url": media_links.link(public_url, secret, sms.message_id, 0)}
        if sms.body:
            body["message"] = sms.body
        request = self._common([sms.recipient], sms.sender, str(sms.message_id))
        request["body"] = body
        return functools.partial(self._client.sms.batches.send_mms, **request)

    # --- in the threads ----------------------------------------------------------

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in this gateway's threads; raises _Failure."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))

    def _send_sync(self, wanted: _Wanted, request: Callable[[], Any]) -> Accepted:
        if wanted.attempt > 1:
            found = self._find_sync(wanted)
            if found is not None:
                log.info(
                    "%s: Sinch already has batch %s (attempt %d), not sent again",
                    wanted.what,
                    found,
                    wanted.attempt,
                )
                return Accepted(found)
        batch = self._sdk(request)
        batch_id = getattr(batch, "id", None)
        if not batch_id:
            raise _Refused(None, "", "Sinch accepted the batch but its answer had no batch ID")
        return Accepted(str(batch_id))

    def _find_sync(self, wanted: _Wanted) -> str | None:
        """The ID of the batch Sinch already has for this message (or batch), if any."""
        try:
            page = self._list_sync(wanted.reference, LOOKUP_PAGE_SIZE)
        except _Refused as exc:
            if exc.status != 400:
                raise
            # Should Sinch ever refuse the start date, its own 24 hours are still worth a look.
            page = self._list_sync(wanted.reference, LOOKUP_PAGE_SIZE, reach_back=False)
        for batch in page.content():
            if getattr(batch, "client_reference", None) != wanted.reference:
                continue
            if getattr(batch, "canceled", False):
                continue
            if not wanted.recipients <= {_digits(t) for t in getattr(batch, "to", None) or ()}:
                continue
            their_sender = getattr(batch, "from_", None)
            if their_sender and _digits(their_sender) != wanted.sender:
                continue
            if getattr(batch, "id", None):
                return str(batch.id)
        return None

    def _list_sync(
        self,
        client_reference: str | None,
        page_size: int,
        *,
        reach_back: bool = True,
    ) -> Any:
        start_date = datetime.now(UTC) - LOOKBACK if reach_back else None
        return self._sdk(
            functools.partial(
                self._client.sms.batches.list,
                client_reference=client_reference,
                page=0,
                page_size=page_size,
                start_date=start_date,
            )
        )

    def _sdk(self, call: Callable[[], T]) -> T:
        """Run one SDK call; every way it can fail becomes a _Failure with a readable reason."""
        try:
            return call()
        except requests.exceptions.ConnectTimeout:
            raise _Unreachable(
                f"Sinch could not be reached {self._where()} within"
                f" {self.config.timeout_seconds:g} s"
            ) from None
        except requests.exceptions.Timeout:
            raise _Unreachable(
                f"Sinch did not answer within {self.config.timeout_seconds:g} s"
            ) from None
        except requests.exceptions.ConnectionError as exc:
            raise _Unreachable(
                f"Sinch could not be reached {self._where()} ({_network_reason(exc)})"
            ) from None
        except requests.exceptions.RequestException as exc:
            raise _Unreachable(
                f"the request to Sinch {self._where()} failed ({type(exc).__name__})"
            ) from None
        except SinchException as exc:
            raise _refusal(exc) from None
        except ValueError as exc:
            # The SDK's own checks (missing credentials or region) and an
            # answer it could not read (pydantic) are ValueErrors.
            raise _Unreadable(_one_line(str(exc))) from None

    # --- words -------------------------------------------------------------------

    def _where(self) -> str:
        if self.config.origin:
            return f"at {self.origin}"
        return f"at {self.origin} (region {self.config.region})"

    def _credentials(self) -> str:
        if self.config.uses_service_plan:
            return "service plan ID and API token"
        return "project access key"

    def _credentials_hint(self) -> str:
        if self.config.uses_service_plan:
            return "check [sinch] service_plan_id and the API token (SWITCHBOARD_SINCH_API_TOKEN)"
        return "check [sinch] project_id, key_id and the key secret (SWITCHBOARD_SINCH_KEY_SECRET)"


@dataclasses.dataclass(frozen=True, slots=True)
class _Wanted:
    """What one send asks Sinch for, as its lookup compares it (numbers without '+')."""

    what: str
    """For the log: ``message 42``, ``batch batch-42 (3 messages)``."""
    reference: str
    sender: str
    recipients: frozenset[str]
    attempt: int


# --- failures, kept readable -----------------------------------------------------


class _Failure(Exception):
    def as_gateway_failure(self, gateway: SinchGateway) -> TemporaryFailure | PermanentFailure:
        raise NotImplementedError


class _Unreachable(_Failure):
    """No answer: timeout, refused connection, a network error."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def as_gateway_failure(self, gateway: SinchGateway) -> TemporaryFailure:
        return TemporaryFailure(self.reason)


class _Unreadable(_Failure):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def as_gateway_failure(self, gateway: SinchGateway) -> TemporaryFailure:
        return TemporaryFailure(f"Sinch's answer could not be read: {self.detail}")


class _Refused(_Failure):
    """Sinch answered with an error status."""

    def __init__(
        self,
        status: int | None,
        code: str,
        text: str,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(status, code, text)
        self.status = status
        self.code = code
        self.text = text
        self.retry_after = retry_after

    @property
    def summary(self) -> str:
        """``401 unauthorized: Invalid token`` (the status, Sinch's code and its text)."""
        if self.status is None:
            head = "no status"
        else:
            head = f"{self.status} {self.code or _phrase(self.status)}"
        return f"{head}: {self.text}" if self.text else head

    def as_gateway_failure(self, gateway: SinchGateway) -> TemporaryFailure | PermanentFailure:
        status = self.status
        if status is None:
            return TemporaryFailure(self.text or "Sinch gave an answer without a status")
        if status == 429:
            return TemporaryFailure(
                f"Sinch asked us to slow down ({self.summary})", retry_after=self.retry_after
            )
        if status >= 500 or status == 408:
            return TemporaryFailure(f"Sinch answered {self.summary}")
        if status in (401, 403):
            return PermanentFailure(
                f"Sinch refused the credentials ({self.summary}); {gateway._credentials_hint()}"
            )
        return PermanentFailure(f"Sinch refused it ({self.summary})")


def _refusal(exc: SinchException) -> _Failure:
    response = exc.http_response
    status = getattr(response, "status_code", None)
    if response is None or status is None:
        # Raised by the SDK before anything was sent (missing credentials).
        return _Unreadable(_one_line(str(exc)) or type(exc).__name__)
    headers = getattr(response, "headers", None) or {}
    body = getattr(response, "body", None)
    if body is None and isinstance(response, requests.Response):
        body = {}  # not JSON (an HTML error page from a proxy): the status says enough
    code, text = _error_fields(body if isinstance(body, Mapping) else {})
    if status < 400:
        return _Unreadable(_one_line(str(exc)) or f"status {status}")
    return _Refused(status, code, text, _retry_after(headers))


def _error_fields(body: Mapping[str, Any]) -> tuple[str, str]:
    """(code, text) from any of the error shapes Sinch uses."""
    code: Any = body.get("code")
    text: Any = body.get("text")
    error = body.get("error")
    if isinstance(error, Mapping):  # {"error": {"code": 400, "message": ..., "status": ...}}
        code = error.get("status") or error.get("code")
        text = error.get("message")
    elif isinstance(error, str):  # OAuth: {"error": "invalid_client", "error_description": ...}
        code = error
        text = body.get("error_description")
    if text is None:
        text = body.get("message")
    return _one_line(str(code or ""))[:60], _one_line(str(text or ""))[:MAX_API_TEXT]


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = None
    for key, item in headers.items():
        if key.lower() == "retry-after":
            value = str(item).strip()
            break
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, min(seconds, 3600.0))


def _network_reason(exc: BaseException) -> str:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        if isinstance(current, ConnectionResetError):
            return "the connection was reset"
        text = str(current)
        if "Name or service not known" in text or "nodename nor servname" in text:
            return "its host name could not be resolved"
        if "Connection refused" in text:
            return "connection refused"
        if "RemoteDisconnected" in text or "closed connection without response" in text:
            return "it closed the connection without answering"
        current = current.__cause__ or current.__context__ or _first_arg_exception(current)
    return "network error"


def _first_arg_exception(exc: BaseException) -> BaseException | None:
    for arg in exc.args:
        if isinstance(arg, BaseException):
            return arg
        reason = getattr(arg, "reason", None)
        if isinstance(reason, BaseException):
            return reason
    return None


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def _one_line(text: str) -> str:
    return " ".join(_CONTROL.sub(" ", text).split())


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower()
    except ValueError:
        return "error"


def _parameters(given: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]] | None:
    """Sinch's shape: {name: {recipient without '+': value, ..., "default": ""}}."""
    if not given:
        return None
    return {
        name: {**{_digits(r): value for r, value in values.items()}, "default": ""}
        for name, values in given.items()
    }


def _digits(number: str) -> str:
    """Sinch wants E.164 without the leading '+'."""
    return number.strip().removeprefix("+")


def _build_client(config: SinchConfig) -> SinchClient:
    retry = RetryConfiguration(retry_policy=RetryPolicy.NONE)
    if config.uses_service_plan:
        client = SinchClient(
            service_plan_id=config.service_plan_id,
            sms_api_token=config.api_token,
            sms_region=config.region,
            retry_configuration=retry,
            logger_name=SDK_LOGGER,
        )
        if config.origin:
            client.configuration.sms_origin_with_service_plan_id = config.origin.rstrip("/")
    else:
        client = SinchClient(
            project_id=config.project_id,
            key_id=config.key_id,
            key_secret=config.key_secret,
            sms_region=config.region,
            retry_configuration=retry,
            logger_name=SDK_LOGGER,
        )
        if config.origin:
            client.configuration.sms_origin = config.origin.rstrip("/")
        if config.auth_origin:
            client.configuration.auth_origin = config.auth_origin.rstrip("/")
    client.configuration.connection_timeout = config.timeout_seconds
    session = getattr(client.configuration.transport, "http_session", None)
    if isinstance(session, requests.Session):
        # One pooled connection per thread, so none is opened and thrown away.
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=THREADS)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
    return client
