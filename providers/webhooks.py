"""The HTTP server in the worker: Sinch callbacks, /metrics, /healthz, MMS files.

Routes:

* ``POST /sinch/events``: a Sinch SMS callback (MO message, delivery report);
* ``GET /metrics``: Prometheus exposition (providers.metrics);
* ``GET /healthz``: 200 "ok" when the database answers, else 503;
* ``GET /media/{message_id}/{index}/{sig}``: the index-th file (from 0, in
  the order attached) of an outbound MMS, for Sinch to fetch; 404 unless the
  signature (providers.media_links) is right.

How a callback is answered. Sinch sends it again on 5xx and 429, never on
4xx, so a 4xx means "retrying cannot help" and a 5xx "nothing was kept, send
it again":

* body over ``max_body_bytes``: 413 (a declared length is refused before
  reading the body; a chunked body is read only up to the limit);
* with a secret: missing or bad signature, timestamp outside the window,
  nonce already used: 401 (providers.replay);
* not JSON, or not the shape its type promises: 400;
* unknown type, binary SMS: logged, 200;
* an MO to a number that is not ours, or from a sender that is not a phone
  number: logged, 200;
* otherwise the event is stored before the answer: 200 once it is committed
  (a retry is stored once: MO by Sinch's ID, reports by batch, recipient and
  status), 500 when the write failed, so Sinch sends it again.

Delivery reports arriving together are applied in one transaction (group
commit): one SQLite commit per burst instead of one per callback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp import web

from core import messaging, outbox
from core.clock import Clock
from core.db import Database
from core.errors import InvalidPhoneNumber, NotFound
from core.gateway import DeliveryReport
from core.worker import Worker
from providers import media_links, sinch_events
from providers.config import EVENTS_PATH, WebhookConfig
from providers.metrics import WebhookMetrics
from providers.replay import Accepted, CallbackVerifier, Refused

log = logging.getLogger("switchboard.webhooks")

HEALTH_TIMEOUT_SECONDS = 5.0
LINGER_SECONDS = 2.0
"""After refusing an oversized body, how long to read (and discard) what the client
still sends, so it sees the 413 rather than a reset; then the connection is closed."""


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    outcome: str
    text: str = "ok"


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
    ) -> None:
        """``secret``: Sinch's webhook secret; it also signs /media links. Without it,
        unsigned callbacks are accepted (a warning says so at start) and /media serves
        nothing. ``clock`` (default ``db.clock``) judges signature timestamps."""
        self.db = db
        self.config = config or WebhookConfig()
        self.clock = clock or db.clock
        self.secret = secret
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
        self._reports = _ReportBatcher(db)
        self.app = web.Application(client_max_size=self.config.max_body_bytes)
        self.app.router.add_post(EVENTS_PATH, self._events)
        self.app.router.add_get("/metrics", self._metrics)
        self.app.router.add_get("/healthz", self._healthz)
        self.app.router.add_get(media_links.MEDIA_PATH + "/{message_id}/{index}/{sig}", self._media)
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
            self.app, access_log=None, handle_signals=False, lingering_time=LINGER_SECONDS
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
        if answer.outcome == "too_large":
            # Close the connection after the answer: the rest of the body is not
            # read, only discarded for at most LINGER_SECONDS.
            response.force_close()
        return response

    async def _handle(self, request: web.Request) -> _Answer:
        remote = request.remote or ""
        limit = self.config.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            return self._too_large(remote, request.content_length)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._too_large(remote, None)

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
        except Exception:
            # Nothing was kept: let Sinch send it again, with the same nonce if it likes.
            if accepted is not None:
                self.verifier.forget(accepted)  # type: ignore[union-attr]
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
        extra = {"event_type": event.type, "mo_id": event.provider_ref, "remote": remote}
        try:
            result = await messaging.receive(
                self.db,
                event.sender,
                event.to,
                event.body,
                provider_ref=event.provider_ref,
                media=event.media,
            )
        except (InvalidPhoneNumber, NotFound) as exc:
            # Sending it again will not make the number ours or the sender a phone.
            log.warning(
                "inbound %s not stored: %s",
                event.type,
                exc,
                extra={**extra, "outcome": "ignored", "reason": str(exc)},
            )
            return _Answer(200, "ignored")
        outcome = "duplicate" if result.duplicate else "stored"
        log.debug(
            "inbound %s %s as message %d",
            event.type,
            outcome,
            result.message_id,
            extra={**extra, "outcome": outcome, "message_id": result.message_id},
        )
        return _Answer(200, outcome)

    async def _delivery(self, event: sinch_events.Reports, remote: str) -> _Answer:
        new = await self._reports.submit(event.reports)
        outcome = "stored" if new else "duplicate"
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
        return _Answer(413, "too_large", f"the body is over {limit} bytes")

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
        try:
            message_id, index = int(info["message_id"]), int(info["index"])
        except ValueError:
            raise web.HTTPNotFound() from None
        if index < 0 or not media_links.is_valid(self.secret, message_id, index, info["sig"]):
            raise web.HTTPNotFound()
        row = await self.db.fetchone(
            "SELECT a.mime, a.content FROM attachments a"
            " JOIN messages m ON m.id = a.message_id AND m.direction = 'out'"
            " WHERE a.message_id = ? ORDER BY a.id LIMIT 1 OFFSET ?",
            (message_id, index),
        )
        if row is None:
            raise web.HTTPNotFound()
        return web.Response(
            body=bytes(row["content"]),
            headers={"Content-Type": row["mime"], "X-Content-Type-Options": "nosniff"},
        )


class _ReportBatcher:
    """Group commit: reports submitted while a transaction runs go in the next one.

    One caller at a time flushes: it takes everything pending and applies it in
    one ``outbox.apply_reports`` call, then the next lot, until nothing is
    pending. A lone report is applied at once; under load, each commit carries
    every report that arrived during the previous one. If the transaction fails,
    every submitter in it gets the exception (and answers 500).
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._pending: list[tuple[Sequence[DeliveryReport], asyncio.Future[bool]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, reports: Sequence[DeliveryReport]) -> bool:
        """Store ``reports``; True when at least one was new."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((reports, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def drain(self) -> None:
        if self._flusher is not None:
            await asyncio.shield(self._flusher)

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                known = await self._known([r for reports, _ in batch for r in reports])
                await outbox.apply_reports(self.db, [r for reports, _ in batch for r in reports])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for reports, future in batch:
                keys = {_key(r) for r in reports}
                new = bool(keys - known)
                known |= keys  # a copy later in the same batch is a duplicate
                if not future.done():
                    future.set_result(new)

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


def _key(report: DeliveryReport) -> tuple[str, str, str]:
    return (report.provider_id, report.recipient, report.key_status.lower())
