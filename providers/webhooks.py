"""The HTTP server in the worker: Sinch callbacks, /metrics, /healthz, MMS files.

Routes:

* ``POST /sinch/events``: a Sinch SMS callback (MO message, delivery report);
* ``GET /metrics``: Prometheus exposition (providers.metrics);
* ``GET /healthz``: 200 "ok" when the database answers, else 503;
* ``GET /media/{message_id}/{index}/{sig}``: the index-th file (from 0, in
  the order attached) of an outbound MMS, for Sinch to fetch; 404 unless the
  signature (providers.media_links) is right;
* ``/c/…``: the mobile case page (providers.case_page), behind signed links.

How a callback is answered. Sinch sends it again on 5xx and 429, never on
4xx, so a 4xx means "retrying cannot help" and a 5xx "nothing was kept, send
it again":

* body over ``max_body_bytes``: 413 (a declared length is refused before
  reading the body; a chunked body is read only up to the limit);
* body not all there within ``body_timeout`` seconds: 408, and the connection
  is closed; a client that hangs up before its body is read: logged, one line;
* with a secret: missing or bad signature, timestamp outside the window,
  nonce already used: 401 (providers.replay);
* not JSON, not the shape its type promises, or text that is not Unicode (a
  lone surrogate): 400;
* a callback core refuses for what it holds (InvalidInput, LimitExceeded):
  400, logged once; Sinch would send it again forever on a 5xx;
* unknown type, binary SMS: logged, 200;
* an MO to a number that is not ours, or from a sender that is not a phone
  number: logged, 200;
* otherwise the event is stored before the answer: 200 once it is committed
  (a retry is stored once: MO by Sinch's ID, reports by batch, recipient and
  status), 500 when the write failed, so Sinch sends it again.

Delivery reports arriving together are applied in one transaction (group
commit), and so are inbound SMS (``receiving.receive_many``): one SQLite
commit per burst instead of one per callback, and each callback is answered
once the transaction that holds it has committed. An MO refused for what it
holds is answered on its own (200 ignored, or 400) and the others in its
group are stored. When the transaction fails, each callback in it is applied
on its own, so a callback that can never be stored fails alone and never
takes the others down.

Whatever is not a callback is counted too: every /media fetch (served or
refused), and every request refused before a route took it (not HTTP, no such
path). aiohttp's own log of a client's mistake (a request line over 8190
bytes, a method that is not one) becomes one warning line, not a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from core.clock import Clock
from core.db import Database
from core.delivery import outbox
from core.delivery.gateway import DeliveryReport
from core.errors import (
    DatabaseProblem,
    InvalidInput,
    InvalidPhoneNumber,
    LimitExceeded,
    NotFound,
    SwitchboardError,
)
from core.scheduling.worker import Worker
from core.sms import receiving
from providers import case_page, media_links, sinch_events
from providers.config import EVENTS_PATH, WebhookConfig
from providers.metrics import WebhookMetrics
from providers.replay import Accepted, CallbackVerifier, Refused

log = logging.getLogger("switchboard.webhooks")

HEALTH_TIMEOUT_SECONDS = 5.0
BODY_TIMEOUT_SECONDS = 15.0
"""How long a callback's body may take to arrive once its headers have: Sinch's
bodies are a few kilobytes, and a client that trickles one holds a connection."""
IDLE_SECONDS = 75.0
"""A connection that has not sent a whole request's headers for this long is closed:
an idle keep-alive, or a client trickling its headers (aiohttp's default is an hour)."""
LINGER_SECONDS = 2.0
"""After refusing an oversized body, how long to read (and discard) what the client
still sends, so it sees the 413 rather than a reset; then the connection is closed."""
_MAX_SQLITE_INTEGER = 2**63 - 1
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    outcome: str
    text: str = "ok"
    close: bool = False
    """Close the connection after the answer: the body was not all read."""


class WebhookServer:
    def __init__(
        self,
        db: Database,
        config: WebhookConfig | None = None,
        *,
        secret: str = "",
        worker: Worker | None = None,
        clock: Clock | None = None,
        max_nonces: int | None = None,
        body_timeout: float = BODY_TIMEOUT_SECONDS,
    ) -> None:
        """``secret``: Sinch's webhook secret; it also signs /media links. Without it,
        unsigned callbacks are accepted (a warning says so at start) and /media serves
        nothing. ``clock`` (default ``db.clock``) judges signature timestamps."""
        self.db = db
        self.config = config or WebhookConfig()
        self.clock = clock or db.clock
        self.secret = secret
        self.body_timeout = body_timeout
        self.metrics = WebhookMetrics(db, clock=self.clock, worker=worker)
        self.verifier = (
            CallbackVerifier(
                secret,
                window_seconds=self.config.signature_window_seconds,
                clock=self.clock,
                **({"max_nonces": max_nonces} if max_nonces is not None else {}),
            )
            if secret
            else None
        )
        self._reports = _ReportBatcher(db, on_applied=self.metrics.reports_applied)
        self._inbound_sms = _InboundBatcher(db)
        self.app = web.Application(
            client_max_size=self.config.max_body_bytes, middlewares=[self._count_no_route]
        )
        self.app.router.add_post(EVENTS_PATH, self._events)
        self.app.router.add_get("/metrics", self._metrics)
        self.app.router.add_get("/healthz", self._healthz)
        self.app.router.add_get(media_links.MEDIA_PATH + "/{message_id}/{index}/{sig}", self._media)
        self.case_page = case_page.mount(self.app, db)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        """Where this server listens, e.g. ``http://127.0.0.1:8780`` (after ``start``)."""
        if self.port is None:
            raise RuntimeError("the webhook server has not started")
        host = self.config.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Listen on config.host:config.port (port 0: any free port, then see ``.port``)."""
        if self._runner is not None:
            raise RuntimeError("the webhook server is already running")
        runner = web.AppRunner(
            self.app,
            access_log=None,
            handle_signals=False,
            lingering_time=LINGER_SECONDS,
            keepalive_timeout=IDLE_SECONDS,
            logger=_ServerLog(self.metrics.observe_refused),
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.config.host, self.config.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]
        if self.verifier is None:
            log.warning(
                "no webhook secret is set: callbacks are accepted unsigned, and anyone who"
                " can reach %s can post them; set SWITCHBOARD_SINCH_WEBHOOK_SECRET",
                self.url + EVENTS_PATH,
                extra={"outcome": "unsigned_accepted"},
            )
        log.info("webhook server listening on %s", self.url, extra={"url": self.url})

    async def stop(self) -> None:
        """Stop listening; callbacks in progress are answered first."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        await self._reports.drain()
        await self._inbound_sms.drain()

    async def __aenter__(self) -> WebhookServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- POST /sinch/events -------------------------------------------------

    async def _events(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        answer = await self._handle(request)
        self.metrics.observe(answer.outcome, time.perf_counter() - started)
        response = web.Response(status=answer.status, text=answer.text)
        if answer.close:
            # The rest of the body is not read, only discarded for at most
            # LINGER_SECONDS: the next request on this connection could not be found.
            response.force_close()
        return response

    async def _handle(self, request: web.Request) -> _Answer:
        remote = request.remote or ""
        limit = self.config.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            return self._too_large(remote, request.content_length)
        try:
            if request.content.is_eof():
                # All of the body has arrived (a callback's usually comes with its
                # headers): reading it cannot wait, so it needs no timer.
                body = await request.read()
            else:
                async with asyncio.timeout(self.body_timeout):
                    body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._too_large(remote, None)
        except TimeoutError:
            log.warning(
                "callback refused: its body did not arrive within %g s",
                self.body_timeout,
                extra={"outcome": "timeout", "remote": remote},
            )
            return _Answer(408, "timeout", "the body did not arrive in time", close=True)
        except ConnectionError as exc:
            # Nothing to store and no one to answer.
            log.warning(
                "callback dropped: the client hung up before its body was read (%s)",
                _one_line(exc),
                extra={"outcome": "client_gone", "remote": remote},
            )
            return _Answer(400, "client_gone", "the body was not read", close=True)
        except (web.RequestPayloadError, HttpProcessingError) as exc:
            # Broken chunked framing, a Content-Encoding that does not decode.
            log.warning(
                "callback refused: its body cannot be read: %s",
                _one_line(exc),
                extra={"outcome": "bad_request", "remote": remote, "reason": _one_line(exc)},
            )
            return _Answer(400, "bad_request", "the body cannot be read", close=True)

        accepted: Accepted | None = None
        if self.verifier is not None:
            try:
                accepted = self.verifier.check(request.headers, body)
            except Refused as refused:
                return self._refused(refused, remote)

        try:
            event = sinch_events.parse(body)
        except sinch_events.MalformedEvent as exc:
            log.warning(
                "malformed callback: %s",
                exc,
                extra={"outcome": "bad_request", "remote": remote, "reason": str(exc)},
            )
            return _Answer(400, "bad_request", f"malformed callback: {exc}")

        try:
            if isinstance(event, sinch_events.InboundSms):
                return await self._inbound(event, remote)
            if isinstance(event, sinch_events.Reports):
                return await self._delivery(event, remote)
            return self._ignored(event, remote)
        except (InvalidInput, LimitExceeded, UnicodeError) as exc:
            # Core refuses what the callback holds: sent again it would be refused
            # again, so it is acknowledged with a 4xx and logged this once.
            log.warning(
                "%s callback refused, not stored: %s",
                getattr(event, "type", "?"),
                exc,
                extra={
                    "event_type": getattr(event, "type", ""),
                    "outcome": "bad_request",
                    "remote": remote,
                    "reason": str(exc),
                },
            )
            return _Answer(400, "bad_request", f"not stored: {exc}")
        except Exception:
            # Nothing was kept: let Sinch send it again, with the same nonce if it likes.
            if accepted is not None and self.verifier is not None:
                self.verifier.forget(accepted)
            log.exception(
                "could not store a %s callback; answered 500 so Sinch sends it again",
                getattr(event, "type", "?"),
                extra={
                    "event_type": getattr(event, "type", ""),
                    "outcome": "error",
                    "remote": remote,
                    "batch_id": getattr(event, "batch_id", None),
                },
            )
            return _Answer(500, "error", "not stored; please retry")

    async def _inbound(self, event: sinch_events.InboundSms, remote: str) -> _Answer:
        try:
            result = await self._inbound_sms.submit(
                receiving.Incoming(
                    event.sender, event.to, event.body, event.provider_ref, event.media
                )
            )
        except (InvalidPhoneNumber, NotFound) as exc:
            # Sending it again will not make the number ours or the sender a phone.
            log.warning(
                "inbound %s not stored: %s",
                event.type,
                exc,
                extra={**_mo_extra(event, remote), "outcome": "ignored", "reason": str(exc)},
            )
            return _Answer(200, "ignored")
        outcome = "duplicate" if result.duplicate else "stored"
        if log.isEnabledFor(logging.DEBUG):  # most callbacks: its fields are not built
            log.debug(
                "inbound %s %s as message %d",
                event.type,
                outcome,
                result.message_id,
                extra={
                    **_mo_extra(event, remote),
                    "outcome": outcome,
                    "message_id": result.message_id,
                },
            )
        return _Answer(200, outcome)

    async def _delivery(self, event: sinch_events.Reports, remote: str) -> _Answer:
        new = await self._reports.submit(event.reports)
        outcome = "stored" if new else "duplicate"
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "delivery report for batch %s %s",
                event.batch_id,
                outcome,
                extra={
                    "event_type": event.type,
                    "outcome": outcome,
                    "batch_id": event.batch_id,
                    "remote": remote,
                },
            )
        return _Answer(200, outcome)

    def _ignored(self, event: sinch_events.Ignored, remote: str) -> _Answer:
        outcome = "ignored" if event.known else "unknown_type"
        log.info(
            "callback acknowledged and not stored: %s",
            event.reason,
            extra={"event_type": event.type, "outcome": outcome, "remote": remote},
        )
        return _Answer(200, outcome)

    def _refused(self, refused: Refused, remote: str) -> _Answer:
        if refused.reason == "busy":
            log.error(
                "callback refused for now: %s",
                refused,
                extra={"outcome": "error", "reason": refused.reason, "remote": remote},
            )
            return _Answer(503, "error", "busy; please retry")
        outcome = "refused_replay" if refused.is_replay else "refused_signature"
        log.warning(
            "callback refused (%s): %s",
            refused.reason,
            refused,
            extra={"outcome": outcome, "reason": refused.reason, "remote": remote},
        )
        return _Answer(401, outcome, "refused")

    def _too_large(self, remote: str, length: int | None) -> _Answer:
        limit = self.config.max_body_bytes
        log.warning(
            "callback refused: body%s over the %d-byte limit (max_body_bytes)",
            f" of {length} bytes" if length is not None else "",
            limit,
            extra={"outcome": "too_large", "remote": remote, "content_length": length},
        )
        return _Answer(413, "too_large", f"the body is over {limit} bytes", close=True)

    # --- the other routes ---------------------------------------------------

    async def _metrics(self, request: web.Request) -> web.Response:
        body, content_type = await self.metrics.render(request.headers.get("Accept", ""))
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def _healthz(self, request: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS):
                await self.db.scalar("SELECT 1")
        except Exception as exc:
            log.error("health check: the database does not answer: %r", exc)
            return web.Response(status=503, text="database unavailable")
        return web.Response(text="ok")

    async def _media(self, request: web.Request) -> web.Response:
        info = request.match_info
        message_id, index, sig = _number(info["message_id"]), _number(info["index"]), info["sig"]
        # compare_digest raises on non-ASCII text: such a signature is simply wrong.
        if (
            message_id is None
            or index is None
            or not media_links.is_valid(self.secret, message_id, index, sig)
        ):
            return self._media_refused(request, "no such file, or a wrong signature")
        try:
            row = await self.db.fetchone(
                "SELECT a.mime, a.content FROM attachments a"
                " JOIN messages m ON m.id = a.message_id AND m.direction = 'out'"
                " WHERE a.message_id = ? ORDER BY a.id LIMIT 1 OFFSET ?",
                (message_id, index),
            )
        except Exception:
            self.metrics.observe_media("error")
            log.exception("could not read file %d of message %d", index, message_id)
            return web.Response(status=503, text="database unavailable")
        if row is None:
            return self._media_refused(request, f"message {message_id} has no file {index}")
        self.metrics.observe_media("served")
        return web.Response(
            body=bytes(row["content"]),
            headers={"Content-Type": row["mime"], "X-Content-Type-Options": "nosniff"},
        )

    def _media_refused(self, request: web.Request, reason: str) -> web.Response:
        self.metrics.observe_media("refused")
        log.info(
            "media fetch refused: %s",
            reason,
            extra={"outcome": "refused", "remote": request.remote or "", "reason": reason},
        )
        return web.Response(status=404, text="not found")

    @web.middleware
    async def _count_no_route(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.match_info.http_exception is not None:  # no such path, or not that method
            self.metrics.observe_refused("no_route")
            log.debug(
                "no route for %s %r",
                request.method,
                request.raw_path[:200],
                extra={"outcome": "no_route", "remote": request.remote or ""},
            )
        return await handler(request)


class _GroupCommit(Generic[T, R]):
    """Group commit: what is submitted while a transaction runs goes in the next one.

    One caller at a time flushes: it takes everything pending and applies it in
    one ``_apply`` call (one transaction), then the next lot, until nothing is
    pending. A lone submission is applied at once; under load, each commit
    carries everything that arrived during the previous one. A submitter is
    answered only once its transaction has committed.

    ``_apply`` gives one result per submission, or a refusal (an exception) for
    one that alone is refused. If the transaction fails, each submission is
    applied again on its own: one that can never be stored then fails alone,
    and the others are stored. When the database itself is the trouble (busy,
    locked, damaged) every submitter gets the error at once; alone they would
    only wait as long again, one after another.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def drain(self) -> None:
        if self._flusher is not None:
            await asyncio.shield(self._flusher)

    async def _apply(self, items: list[T]) -> Sequence[R | Exception]:
        raise NotImplementedError

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                self._answer(batch, await self._apply([item for item, _ in batch]))
            except Exception as exc:
                if len(batch) == 1 or _is_database_trouble(exc):
                    _fail(batch, exc)
                    continue
                for submitted in batch:
                    try:
                        self._answer([submitted], await self._apply([submitted[0]]))
                    except Exception as alone:
                        _fail([submitted], alone)

    @staticmethod
    def _answer(batch: list[tuple[T, asyncio.Future[R]]], results: Sequence[R | Exception]) -> None:
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue  # its caller was cancelled
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)


class _ReportBatcher(_GroupCommit[Sequence[DeliveryReport], bool]):
    """Delivery reports, each submission a callback's reports; True when one was new."""

    def __init__(self, db: Database, on_applied: Callable[[int], None] | None = None) -> None:
        super().__init__(db)
        self._on_applied = on_applied

    async def _apply(self, items: list[Sequence[DeliveryReport]]) -> list[bool | Exception]:
        reports = [r for submitted in items for r in submitted]
        known = await self._known(reports)
        changed = await outbox.apply_reports(self.db, reports)
        if self._on_applied is not None:
            self._on_applied(changed)
        results: list[bool | Exception] = []
        for submitted in items:
            keys = {_key(r) for r in submitted}
            results.append(bool(keys - known))
            known |= keys  # a copy later in the same batch is a duplicate
        return results

    async def _known(self, reports: list[DeliveryReport]) -> set[tuple[str, str, str]]:
        """The keys among ``reports`` already stored (to tell a retry from a new report)."""
        keys = json.dumps([list(_key(r)) for r in reports])
        rows = await self.db.fetchall(
            "SELECT d.provider_id, d.recipient, d.status FROM json_each(?) AS j"
            " JOIN delivery_reports d ON d.provider_id = j.value ->> 0"
            "  AND d.recipient = j.value ->> 1 AND d.status = j.value ->> 2",
            (keys,),
        )
        return {(r[0], r[1], r[2]) for r in rows}


class _InboundBatcher(_GroupCommit[receiving.Incoming, receiving.ReceiveResult]):
    """Inbound SMS: one ``receiving.receive_many`` transaction per lot; a message core
    refuses (not ours, not a phone number, not text) gets its own refusal."""

    async def _apply(
        self, items: list[receiving.Incoming]
    ) -> list[receiving.ReceiveResult | SwitchboardError]:
        return await receiving.receive_many(self.db, items)


def _mo_extra(event: sinch_events.InboundSms, remote: str) -> dict[str, str]:
    return {"event_type": event.type, "mo_id": event.provider_ref, "remote": remote}


def _fail(batch: Sequence[tuple[object, asyncio.Future[Any]]], exc: Exception) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(exc)


def _is_database_trouble(exc: Exception) -> bool:
    """The database, not what was written, failed: every write would fail alike."""
    if isinstance(exc, DatabaseProblem):
        return True
    name = getattr(exc, "sqlite_errorname", "") if isinstance(exc, sqlite3.Error) else ""
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_FULL", "SQLITE_IOERR"))


def _key(report: DeliveryReport) -> tuple[str, str, str]:
    return (report.provider_id, report.recipient, report.key_status.lower())


def _number(text: str) -> int | None:
    """A path segment that is a number as we write one in a link, else None.

    int() would also take "+1", " 1", "1_0" and other scripts' digits, and a
    number SQLite cannot hold makes the query raise.
    """
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    if len(text) > 1 and text[0] == "0":
        return None  # we never write a leading zero
    value = int(text)
    return value if value <= _MAX_SQLITE_INTEGER else None


def _one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception as one short line of text: a log line stays one line."""
    text = " ".join(str(getattr(exc, "message", "") or exc).split())
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _ServerLog(logging.LoggerAdapter[logging.Logger]):
    """Stands in for aiohttp's server logger (``aiohttp.server``).

    aiohttp logs a request it cannot read (a request line over 8190 bytes, a
    method that is not one, broken framing) with a traceback, as it would a
    bug of ours. It is the client's mistake: one warning line, and counted.
    Anything else passes through as aiohttp logged it.
    """

    def __init__(self, refused: Callable[[str], None]) -> None:
        super().__init__(logging.getLogger("aiohttp.server"), {})
        self._refused = refused

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info")
        if isinstance(exc, HttpProcessingError):
            self._refused("malformed")
            remote = args[0] if args and isinstance(args[0], str) else ""
            # aiohttp logs a first request with a bad method (TLS or other protocols
            # sent to this port, scanners) at DEBUG, deliberately: keep its level.
            log.log(
                min(level, logging.WARNING),
                "refused a request from %s that is not HTTP we can read (%s): %s",
                remote or "?",
                exc.code,
                _one_line(exc),
                extra={"outcome": "malformed", "remote": remote},
            )
            return
        if isinstance(exc, ConnectionError):
            log.info("a client hung up before its answer was sent: %s", _one_line(exc))
            return
        if isinstance(exc, web.RequestPayloadError):
            # Met again while discarding the rest of a body already refused (and counted).
            log.debug("the rest of a refused body does not decode either: %s", _one_line(exc))
            return
        super().log(level, msg, *args, **kwargs)
