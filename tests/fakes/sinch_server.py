"""A fake of the Sinch SMS REST API (xms v1) on 127.0.0.1, for tests and benchmarks.

It speaks the real shapes, so the real SDK talks to it unchanged:

* ``POST /oauth2/token`` (project access keys: basic auth ``key_id:key_secret``,
  form ``grant_type=client_credentials``) gives a bearer token;
* ``POST /xms/v1/{service_plan_id or project_id}/batches`` takes an
  ``mt_text`` or ``mt_media`` batch to 1 to 1,000 recipients, checks it as
  Sinch does and answers 201 with the batch; ``GET .../batches`` lists them (``client_reference``,
  ``start_date``, ``end_date``, ``from``, ``page``, ``page_size``) and
  ``GET .../batches/{id}`` gives one;
* errors are Sinch's: ``{"code": "...", "text": "..."}`` (401, 400, 404, 429,
  500), OAuth's ``{"error": ..., "error_description": ...}``.

After a batch is accepted it posts a per-recipient delivery report to the
batch's ``callback_url`` (or the fake's default ``callback_url``), signed with
``webhook_secret`` when the fake has one, retrying on 5xx and 429 as Sinch
does: one report per recipient, naming the batch and the recipient. Reports
say "Delivered" (code 0), except to a number ending in 0199 ("Failed", code
402), to a number given in ``recipient_statuses`` (what that says), and for
a body longer than ``max_number_of_message_parts`` allows ("Failed", code
411). A batch with ``parameters`` ({name: {recipient: value, "default":
value}}) is parameterised as Sinch does: each recipient's text is the body
with every ``${name}`` replaced once by its value, or the name's default
(``texts(batch)``); a recipient with neither fails alone ("Failed", code
400, the fake's choice), the others go. Callbacks run in background tasks, never inside
the batch request; ``callbacks=False`` keeps them in ``pending_reports`` until
``deliver_reports()``. ``send_mo`` posts an inbound SMS or MMS.

Faults, for the batch endpoints (not the token endpoint): ``fail_next(*kinds)``
queues them for the next calls, ``failure_rate`` (seeded) draws them at
random from ``failure_kinds``. Kinds: ``"429"`` (with Retry-After), ``"500"``
(or any other status as text, e.g. ``"503"``), ``"hang"`` (the batch is
recorded, its reports are sent, and the answer never comes: the worst case
for duplicates) and ``"hang_before"`` (no answer and nothing recorded); on a
lookup (GET) both just never answer. A hung request is let go by ``stop()``.
Faults are drawn in the order calls arrive, so a retry's lookup takes the
next one before its send does.

The fake keeps its own clock (``now()``; ``advance()`` moves it) for
``created_at`` and list filters: Sinch lists 14 days of batches, 24 hours
when not given a ``start_date``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import re
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from core.sms import segments
from providers.config import SinchConfig
from tests.fakes.sinch_signing import signed_headers

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9._-]+)\}")
_PARAMETER_NAME = re.compile(r"[A-Za-z0-9._-]+")
FAULT_KINDS = ("429", "500", "hang", "hang_before")
RETENTION = timedelta(days=14)
DEFAULT_WINDOW = timedelta(hours=24)
UNREACHABLE_SUFFIX = "0199"
ULID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DELIVERY_REPORT_KINDS = ("none", "summary", "full", "per_recipient", "per_recipient_final")


@dataclass(slots=True)
class Call:
    """One request to the fake, as it saw it."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    """The JSON body (or the form, for the token endpoint); None when there was none."""
    authorization: str
    status: int | None = None
    """What the fake answered; None while (or when) it hangs."""
    fault: str | None = None


@dataclass(slots=True)
class Callback:
    """One callback the fake posted (a delivery report or an MO), with every try."""

    url: str
    payload: dict[str, Any]
    body: bytes
    statuses: list[int | None] = field(default_factory=list)
    """One per try: the HTTP status, or None when the connection failed."""

    @property
    def status(self) -> int | None:
        return self.statuses[-1] if self.statuses else None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class _Invalid(Exception):
    def __init__(self, text: str, code: str = "syntax_constraint_violation") -> None:
        super().__init__(text)
        self.code = code
        self.text = text


class FakeSinch:
    def __init__(
        self,
        *,
        service_plan_id: str = "fakeplan0123456789abcdef",
        api_token: str = "fake-api-token",
        project_id: str = "fake-project-0000-1111",
        key_id: str = "fake-key-id",
        key_secret: str = "fake-key-secret",
        webhook_secret: str = "",
        callback_url: str | None = None,
        callbacks: bool = True,
        report_delay: float = 0.0,
        callback_attempts: int = 4,
        callback_retry_delay: float = 0.05,
        failure_rate: float = 0.0,
        failure_kinds: Sequence[str] = FAULT_KINDS,
        retry_after: str | None = "1",
        seed: int = 0,
    ) -> None:
        self.service_plan_id = service_plan_id
        self.api_token = api_token
        self.project_id = project_id
        self.key_id = key_id
        self.key_secret = key_secret
        self.webhook_secret = webhook_secret
        """Signs callbacks when set (as the secret in the Sinch dashboard)."""
        self.callback_url = callback_url
        """The default callback URL, for batches that do not name one."""
        self.callbacks = callbacks
        """False: reports wait in ``pending_reports`` for ``deliver_reports()``."""
        self.report_delay = report_delay
        self.callback_attempts = callback_attempts
        self.callback_retry_delay = callback_retry_delay
        self.failure_rate = failure_rate
        self.failure_kinds = tuple(failure_kinds)
        self.retry_after = retry_after
        """The Retry-After header of a 429 (None: no header)."""
        self.recipient_statuses: dict[str, tuple[str, int]] = {}
        """(status, code) the reports give for a number (digits, no '+'), instead of Delivered."""

        self.batches: list[dict[str, Any]] = []
        """Every batch Sinch accepted, as it would list it (a hung request's too)."""
        self.sent_per_reference: Counter[str] = Counter()
        """Accepted batches per client_reference: more than 1 is a message sent twice."""
        self.calls: list[Call] = []
        self.callbacks_sent: list[Callback] = []
        """Callbacks posted so far (finished: every try made), in the order they finished."""
        self.pending_reports: list[tuple[str, dict[str, Any]]] = []
        """(url, report) waiting for ``deliver_reports()`` while ``callbacks`` is off."""
        self.tokens: dict[str, bool] = {}
        """OAuth tokens issued, and whether each is still good."""

        self._faults: list[str] = []
        self._random = random.Random(seed)
        self._offset = timedelta(0)
        self._by_id: dict[str, dict[str, Any]] = {}
        self._by_reference: dict[str, list[dict[str, Any]]] = {}
        self._created: dict[str, datetime] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self.origin = ""
        """``http://127.0.0.1:PORT`` once started: the SMS API and the OAuth endpoint."""

    # --- life cycle -------------------------------------------------------------

    async def start(self) -> FakeSinch:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post("/oauth2/token", self._token)
        app.router.add_post("/xms/v1/{plan}/batches", self._send)
        app.router.add_get("/xms/v1/{plan}/batches", self._list)
        app.router.add_get("/xms/v1/{plan}/batches/{batch_id}", self._get)
        self._stopping = asyncio.Event()
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.origin = f"http://{host}:{port}"
        self._session = ClientSession(timeout=ClientTimeout(total=5))
        return self

    async def stop(self) -> None:
        self._stopping.set()  # lets every hung request go
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSinch:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- what tests use ---------------------------------------------------------

    def sinch_config(self, **changes: Any) -> SinchConfig:
        """A [sinch] configuration for this fake with the service plan ID and API token."""
        values: dict[str, Any] = {
            "service_plan_id": self.service_plan_id,
            "api_token": self.api_token,
            "webhook_secret": self.webhook_secret,
            "origin": self.origin,
        }
        values.update(changes)
        return SinchConfig(**values)

    def project_config(self, **changes: Any) -> SinchConfig:
        """A [sinch] configuration for this fake with project access keys (OAuth)."""
        values: dict[str, Any] = {
            "project_id": self.project_id,
            "key_id": self.key_id,
            "key_secret": self.key_secret,
            "webhook_secret": self.webhook_secret,
            "origin": self.origin,
            "auth_origin": self.origin,
        }
        values.update(changes)
        return SinchConfig(**values)

    def fail_next(self, *kinds: str) -> None:
        """Answer the next batch-endpoint calls with these faults, in order."""
        for kind in kinds:
            _check_kind(kind)
        self._faults.extend(kinds)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, **delta: float) -> None:
        """Move the fake's clock (what it stamps on batches and filters lists by)."""
        self._offset += timedelta(**delta)

    def expire_tokens(self) -> None:
        """Every OAuth token issued so far is now refused as expired (401)."""
        for token in self.tokens:
            self.tokens[token] = False

    def sent(self, client_reference: str | int) -> int:
        """How many batches were accepted with this client_reference."""
        return self.sent_per_reference[str(client_reference)]

    def calls_to(self, method: str, path_suffix: str = "/batches") -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path.endswith(path_suffix)]

    def texts(self, batch: dict[str, Any]) -> dict[str, str | None]:
        """What each recipient of an mt_text batch receives (None: a parameter had no value)."""
        parameters: dict[str, dict[str, str]] = batch.get("parameters") or {}
        found: dict[str, str | None] = {}
        for recipient in batch["to"]:
            missing = False

            def value(match: re.Match[str], recipient: str = recipient) -> str:
                nonlocal missing
                given = parameters.get(match.group(1))
                if given is None:
                    return match.group(0)  # not a parameter of this batch: left as written
                if recipient in given:
                    return given[recipient]
                if "default" in given:
                    return given["default"]
                missing = True
                return ""

            text = _PLACEHOLDER.sub(value, batch["body"]) if parameters else batch["body"]
            found[recipient] = None if missing else text
        return found

    def reports_for(self, batch: dict[str, Any]) -> list[dict[str, Any]]:
        """The per-recipient delivery reports Sinch sends for this batch."""
        kind = "mms" if batch["type"] == "mt_media" else "sms"
        texts = self.texts(batch) if batch["type"] == "mt_text" else {}
        at = _stamp(self.now())
        reports = []
        for recipient in batch["to"]:
            status, code = self.recipient_statuses.get(recipient, ("Delivered", 0))
            if recipient.endswith(UNREACHABLE_SUFFIX):
                status, code = "Failed", 402  # message unroutable
            parts = None
            text = texts.get(recipient)
            if batch["type"] == "mt_text" and text is None:
                status, code = "Failed", 400  # a parameter with no value for it
            elif text is not None:
                parts = max(segments.count(text).segments, 1)
            limit = batch.get("max_number_of_message_parts")
            if parts is not None and limit is not None and parts > limit:
                status, code = "Failed", 411  # exceeds parts limit
            report: dict[str, Any] = {
                "type": f"recipient_delivery_report_{kind}",
                "batch_id": batch["id"],
                "recipient": recipient,
                "code": code,
                "status": status,
                "at": at,
                "operator_status_at": at,
            }
            if batch.get("client_reference") is not None:
                report["client_reference"] = batch["client_reference"]
            if parts is not None and limit is not None:
                report["number_of_message_parts"] = parts
            reports.append(report)
        return reports

    def all_reports(self) -> list[dict[str, Any]]:
        """The reports for every batch accepted so far."""
        return [r for batch in self.batches for r in self.reports_for(batch)]

    async def deliver_reports(self) -> list[Callback]:
        """Post every pending report now (with ``callbacks`` off) and wait for the answers."""
        pending, self.pending_reports = self.pending_reports, []
        return list(await asyncio.gather(*(self._post(url, r) for url, r in pending)))

    async def callbacks_done(self) -> None:
        """Wait until every callback started so far has finished (all its tries)."""
        while True:
            running = [t for t in self._tasks if not t.done()]
            if not running:
                return
            await asyncio.gather(*running, return_exceptions=True)

    async def send_mo(
        self,
        url: str,
        from_: str,
        to: str,
        body: str,
        *,
        media_url: str | None = None,
        media_type: str = "image/jpeg",
        id: str | None = None,
    ) -> Callback:
        """Post an inbound message as Sinch does (``mo_text``, or ``mo_media`` with a file).

        Numbers may be given in E.164; Sinch sends them without the ``+``.
        """
        now = _stamp(self.now())
        payload: dict[str, Any] = {
            "type": "mo_media" if media_url else "mo_text",
            "id": id or self._ulid(),
            "from": from_.removeprefix("+"),
            "to": to.removeprefix("+"),
            "received_at": now,
            "sent_at": now,
            "operator_id": "310260",
        }
        if media_url:
            payload["body"] = {
                "message": body,
                "media": [
                    {"url": media_url, "content_type": media_type, "status": "Uploaded", "code": 0}
                ],
            }
        else:
            payload["body"] = body
        return await self._post(url, payload)

    # --- the API ----------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        call = self._record(request, form)
        key_id, key_secret = _basic_auth(request.headers.get("Authorization", ""))
        if (key_id, key_secret) != (self.key_id, self.key_secret):
            return self._answer(
                call,
                401,
                {"error": "invalid_client", "error_description": "Client authentication failed"},
            )
        if form.get("grant_type") != "client_credentials":
            return self._answer(
                call,
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant_type must be client_credentials",
                },
            )
        token = secrets.token_urlsafe(24)
        self.tokens[token] = True
        return self._answer(
            call,
            200,
            {"access_token": token, "expires_in": 3599, "scope": "", "token_type": "bearer"},
        )

    async def _send(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            data: Any = json.loads(raw) if raw else None
        except ValueError:
            data = None
            parsed = False
        else:
            parsed = True
        call = self._record(request, data)
        refused = self._refuse_auth(request, call)
        if refused is not None:
            return refused
        fault = self._fault(call)
        if fault == "hang_before":
            return await self._hang(call)
        if fault is not None and fault != "hang":
            return self._fault_answer(call, fault)
        if not parsed:
            return self._answer(
                call,
                400,
                _error("syntax_invalid_json", "The JSON structure of the request is invalid"),
            )
        try:
            batch = self._batch_from(data)
        except _Invalid as exc:
            return self._answer(call, 400, _error(exc.code, exc.text))
        self._accept(batch)
        if fault == "hang":
            return await self._hang(call)
        return self._answer(call, 201, batch)

    async def _read_call(self, request: web.Request) -> tuple[Call, web.StreamResponse | None]:
        """Record a read; the answer instead of the real one when auth or a fault says so."""
        call = self._record(request, None)
        refused = self._refuse_auth(request, call)
        if refused is not None:
            return call, refused
        fault = self._fault(call)
        if fault in ("hang", "hang_before"):
            return call, await self._hang(call)
        if fault is not None:
            return call, self._fault_answer(call, fault)
        return call, None

    async def _list(self, request: web.Request) -> web.StreamResponse:
        call, instead = await self._read_call(request)
        if instead is not None:
            return instead
        query = request.query
        try:
            page = int(query.get("page", "0"))
            page_size = int(query.get("page_size", "30"))
            start = _parse_time(query["start_date"]) if "start_date" in query else None
            end = _parse_time(query["end_date"]) if "end_date" in query else None
        except ValueError as exc:
            return self._answer(call, 400, _error("syntax_constraint_violation", str(exc)))
        if page < 0 or not 1 <= page_size <= 100:
            return self._answer(
                call,
                400,
                _error(
                    "syntax_constraint_violation",
                    "page must be 0 or more and page_size between 1 and 100",
                ),
            )
        now = self.now()
        start = max(start or now - DEFAULT_WINDOW, now - RETENTION)
        senders = set(query["from"].split(",")) if "from" in query else None
        if "client_reference" in query:
            candidates = self._by_reference.get(query["client_reference"], [])
        else:
            candidates = self.batches
        found = [
            b
            for b in reversed(candidates)  # newest first
            if start <= self._created[b["id"]]
            and (end is None or self._created[b["id"]] < end)
            and (senders is None or b.get("from") in senders)
        ]
        chunk = found[page * page_size : (page + 1) * page_size]
        return self._answer(
            call,
            200,
            {"count": len(found), "page": page, "page_size": len(chunk), "batches": chunk},
        )

    async def _get(self, request: web.Request) -> web.StreamResponse:
        call, instead = await self._read_call(request)
        if instead is not None:
            return instead
        batch = self._by_id.get(request.match_info["batch_id"])
        if batch is None or self._created[batch["id"]] < self.now() - RETENTION:
            return self._answer(
                call,
                404,
                _error("not_found", f"Batch {request.match_info['batch_id']} not found"),
            )
        return self._answer(call, 200, batch)

    # --- the API's rules -------------------------------------------------------

    def _refuse_auth(self, request: web.Request, call: Call) -> web.Response | None:
        plan = request.match_info["plan"]
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
        if plan == self.service_plan_id and token == self.api_token:
            return None
        if plan == self.project_id and token is not None and token in self.tokens:
            if self.tokens[token]:
                return None
            return self._answer(
                call,
                401,
                _error("unauthorized", "The access token has expired"),
                headers={
                    "WWW-Authenticate": 'Bearer error="invalid_token",'
                    ' error_description="Jwt expired"'
                },
            )
        return self._answer(call, 401, _error("unauthorized", "Invalid credentials"))

    def _batch_from(self, data: Any) -> dict[str, Any]:
        """The batch Sinch would store for this request body; raises _Invalid as Sinch would."""
        if not isinstance(data, dict):
            raise _Invalid("The request body must be a JSON object", "syntax_invalid_json")
        kind = data.get("type", "mt_text")
        if kind not in ("mt_text", "mt_media"):
            raise _Invalid(f"type: '{kind}' is not a type this fake takes (mt_text, mt_media)")
        to = data.get("to")
        if to is None:
            raise _Invalid("to: must be given")
        if not isinstance(to, list) or not 1 <= len(to) <= 1000:
            raise _Invalid("to: must be a list of 1 to 1000 recipients")
        for number in to:
            if not isinstance(number, str) or not _is_msisdn(number):
                raise _Invalid(f"to: {number!r} is not a valid phone number")
        sender = data.get("from")
        if not isinstance(sender, str) or not sender:
            raise _Invalid("from: must be given (no default originator is configured)")
        body = data.get("body")
        if kind == "mt_text":
            if not isinstance(body, str):
                raise _Invalid("body: must be text")
            if len(body) > 2000:
                raise _Invalid(f"body: is {len(body)} characters; at most 2000 are allowed")
        else:
            if not isinstance(body, dict) or not isinstance(body.get("url"), str):
                raise _Invalid("body: an mt_media body must be an object with a url")
            if not body["url"].startswith(("http://", "https://")):
                raise _Invalid(f"body.url: {body['url']!r} is not an http(s) URL")
        report = data.get("delivery_report", "none")
        if report not in DELIVERY_REPORT_KINDS:
            raise _Invalid(f"delivery_report: '{report}' is not one of {DELIVERY_REPORT_KINDS}")
        callback = data.get("callback_url")
        if callback is not None and (
            not isinstance(callback, str) or not callback.startswith(("http://", "https://"))
        ):
            raise _Invalid("callback_url: must be an http(s) URL")
        reference = data.get("client_reference")
        if reference is not None and (not isinstance(reference, str) or len(reference) > 2048):
            raise _Invalid("client_reference: must be text of at most 2048 characters")
        parameters = data.get("parameters")
        if parameters is not None:
            _check_parameters(parameters)
        parts = data.get("max_number_of_message_parts")
        if parts is not None and (
            isinstance(parts, bool) or not isinstance(parts, int) or parts < 1
        ):
            raise _Invalid("max_number_of_message_parts: must be a whole number of 1 or more")
        now = self.now()
        batch: dict[str, Any] = {
            "id": self._ulid(),
            "to": list(to),
            "from": sender,
            "canceled": False,
            "body": body,
            "type": kind,
            "created_at": _stamp(now),
            "modified_at": _stamp(now),
            "delivery_report": report,
            "expire_at": _stamp(now + timedelta(days=3)),
            "feedback_enabled": False,
        }
        if kind == "mt_text":
            batch["flash_message"] = False
            batch["truncate_concat"] = False
            if parts is not None:
                batch["max_number_of_message_parts"] = parts
        if callback is not None:
            batch["callback_url"] = callback
        if reference is not None:
            batch["client_reference"] = reference
        if parameters:
            batch["parameters"] = parameters
        return batch

    def _accept(self, batch: dict[str, Any]) -> None:
        self.batches.append(batch)
        self._by_id[batch["id"]] = batch
        self._created[batch["id"]] = _parse_time(batch["created_at"])
        reference = batch.get("client_reference")
        if reference is not None:
            self.sent_per_reference[reference] += 1
            self._by_reference.setdefault(reference, []).append(batch)
        url = batch.get("callback_url") or self.callback_url
        if not url or batch["delivery_report"] not in ("per_recipient", "per_recipient_final"):
            return
        for report in self.reports_for(batch):
            if self.callbacks:
                self._spawn(self._post(url, report, delay=self.report_delay))
            else:
                self.pending_reports.append((url, report))

    # --- faults -----------------------------------------------------------------

    def _fault(self, call: Call) -> str | None:
        kind = None
        if self._faults:
            kind = self._faults.pop(0)
        elif self.failure_rate and self._random.random() < self.failure_rate:
            kind = self._random.choice(self.failure_kinds)
        call.fault = kind
        return kind

    def _fault_answer(self, call: Call, kind: str) -> web.Response:
        status = int(kind)
        if status == 429:
            headers = {"Retry-After": self.retry_after} if self.retry_after is not None else {}
            return self._answer(
                call, 429, _error("too_many_requests", "Too many requests"), headers=headers
            )
        if status >= 500:
            return self._answer(call, status, _error("internal_error", "Internal error"))
        return self._answer(call, status, _error("syntax_constraint_violation", "Refused"))

    async def _hang(self, call: Call) -> web.Response:
        """Answer nothing until the fake stops (the client times out first)."""
        await self._stopping.wait()
        call.status = None
        return web.Response(status=503)

    # --- callbacks -------------------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, url: str, payload: dict[str, Any], *, delay: float = 0.0) -> Callback:
        if delay:
            await asyncio.sleep(delay)
        body = json.dumps(payload).encode()
        headers = (
            signed_headers(self.webhook_secret, body)
            if self.webhook_secret
            else {"Content-Type": "application/json"}
        )
        callback = Callback(url, payload, body)
        assert self._session is not None, "the fake is not started"
        for attempt in range(self.callback_attempts):
            if attempt:
                await asyncio.sleep(self.callback_retry_delay * 2 ** (attempt - 1))
            try:
                async with self._session.post(url, data=body, headers=headers) as answer:
                    await answer.read()
                    callback.statuses.append(answer.status)
            except (ClientError, TimeoutError):
                callback.statuses.append(None)
            status = callback.status
            # Sinch tries again on 5xx and 429 (and no answer), never on another 4xx.
            if status is not None and status < 500 and status != 429:
                break
        self.callbacks_sent.append(callback)
        return callback

    # --- helpers ---------------------------------------------------------------

    def _record(self, request: web.Request, body: Any) -> Call:
        call = Call(
            request.method,
            request.path,
            dict(request.query),
            body,
            request.headers.get("Authorization", ""),
        )
        self.calls.append(call)
        return call

    def _answer(
        self,
        call: Call,
        status: int,
        payload: dict[str, Any],
        *,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        call.status = status
        return web.json_response(payload, status=status, headers=headers)

    def _ulid(self) -> str:
        return "01" + "".join(self._random.choice(ULID_ALPHABET) for _ in range(24))


def _check_kind(kind: str) -> None:
    if kind in ("hang", "hang_before"):
        return
    if not (kind.isdigit() and 400 <= int(kind) <= 599):
        raise ValueError(f"unknown fault {kind!r}: use an HTTP status, 'hang' or 'hang_before'")


def _check_parameters(parameters: Any) -> None:
    if not isinstance(parameters, dict):
        raise _Invalid("parameters: must be an object of parameter names")
    for name, values in parameters.items():
        if not _PARAMETER_NAME.fullmatch(name):
            raise _Invalid(f"parameters: {name!r} is not a valid parameter key")
        if not isinstance(values, dict) or not values:
            raise _Invalid(f"parameters.{name}: must be an object of recipients and values")
        for key, value in values.items():
            if not isinstance(value, str):
                raise _Invalid(f"parameters.{name}.{key}: must be text")
            if key != "default" and not _is_msisdn(key):
                raise _Invalid(f"parameters.{name}: {key!r} is not a valid phone number")


def _error(code: str, text: str) -> dict[str, str]:
    return {"code": code, "text": text}


def _basic_auth(header: str) -> tuple[str, str]:
    if not header.startswith("Basic "):
        return "", ""
    try:
        decoded = base64.b64decode(header.removeprefix("Basic ")).decode()
    except (ValueError, UnicodeDecodeError):
        return "", ""
    key_id, _, secret = decoded.partition(":")
    return key_id, secret


def _is_msisdn(number: str) -> bool:
    digits = number.removeprefix("+")
    return digits.isascii() and digits.isdigit() and 7 <= len(digits) <= 15


def _stamp(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{instant.microsecond // 1000:03d}Z"
    )


def _parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
