"""Sinch SMS callbacks, read into core's values. Pure: no I/O, no database.

``parse(body)`` turns one callback body into one of:

* ``InboundSms``: an MO message (``mo_text``, or ``mo_media``: an MMS whose
  files stay at Sinch, so each ``Media`` has ``url`` and empty content);
* ``Reports``: delivery reports (the batch and per-recipient kinds, SMS and
  MMS), one ``DeliveryReport`` per (recipient, status);
* ``Ignored``: a callback we acknowledge and do not store (``mo_binary``, a
  type we do not know).

A body that is not JSON, or not the shape its type promises, raises
``MalformedEvent`` (the server answers 400: retrying cannot fix it). So does
text that is not Unicode: JSON may spell half a surrogate pair (``"\\ud800"``),
which no UTF-8 text, and so no database column, can hold.

Sinch sends numbers without the leading ``+``; an all-digit sender or
recipient gets it back here, so core reads it as E.164. Status names arrive
title-case ("Delivered") and are compared case-insensitively.
"""

from __future__ import annotations

import json
import mimetypes
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from core.delivery.gateway import DeliveryReport, Media, ReportOutcome

MO_TEXT = "mo_text"
MO_MEDIA = "mo_media"
MO_BINARY = "mo_binary"
BATCH_REPORTS = ("delivery_report_sms", "delivery_report_mms")
RECIPIENT_REPORTS = ("recipient_delivery_report_sms", "recipient_delivery_report_mms")

DELIVERED = frozenset({"delivered"})
FAILED = frozenset({"failed", "rejected", "expired", "aborted", "cancelled", "deleted"})
PENDING = frozenset({"queued", "dispatched", "unknown"})

_MAX_MESSAGE_ID = 2**63 - 1  # SQLite's INTEGER


class MalformedEvent(ValueError):
    """The callback body is not JSON or not the shape its type promises."""


@dataclass(frozen=True, slots=True)
class InboundSms:
    provider_ref: str
    """Sinch's MO ID: the same message delivered twice is stored once."""
    sender: str
    """E.164 when Sinch sent digits (``+`` restored); a short code or name stays as sent."""
    to: str
    body: str
    media: tuple[Media, ...] = ()
    type: str = MO_TEXT


@dataclass(frozen=True, slots=True)
class Reports:
    batch_id: str
    reports: tuple[DeliveryReport, ...]
    type: str


@dataclass(frozen=True, slots=True)
class Ignored:
    type: str
    reason: str
    known: bool
    """True for a type we know and do not take (mo_binary); False for an unknown type."""


SinchEvent = InboundSms | Reports | Ignored


def parse(body: bytes | str) -> SinchEvent:
    """Read one callback body; raises MalformedEvent with what is wrong."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedEvent(f"the body is not JSON: {exc}") from None
    # Decoded JSON holds a lone surrogate only from a \u escape or, in bytes, from the
    # UTF-8 form of one (json.loads decodes bytes with surrogatepass; it starts 0xED):
    # a body with neither, nearly every callback, is not walked (a sixth of an MO's cost).
    walk = isinstance(body, str) or b"\\u" in body or b"\xed" in body
    return _parse_event(data, walk)


def parse_event(data: Any) -> SinchEvent:
    """Like ``parse``, for a body already decoded from JSON."""
    return _parse_event(data, True)


def _parse_event(data: Any, walk: bool) -> SinchEvent:
    if not isinstance(data, dict):
        raise MalformedEvent(f"the body must be a JSON object, not {_kind(data)}")
    if walk:
        _refuse_lone_surrogates(data)
    kind = data.get("type")
    if not isinstance(kind, str):
        missing = "is missing" if kind is None else f"must be text, not {_kind(kind)}"
        raise MalformedEvent(f"'type' {missing}")
    if kind == MO_TEXT:
        return _mo(data, kind, _text(data, "body", kind), ())
    if kind == MO_MEDIA:
        body = data.get("body")
        if not isinstance(body, dict):
            raise MalformedEvent(f"'body' of {kind} must be an object, not {_kind(body)}")
        text = _optional_text(body, "message", kind) or ""
        return _mo(data, kind, text, _media(body, kind))
    if kind == MO_BINARY:
        return Ignored(kind, "binary SMS is not taken", known=True)
    if kind in BATCH_REPORTS:
        return _batch_reports(data, kind)
    if kind in RECIPIENT_REPORTS:
        return _recipient_report(data, kind)
    return Ignored(kind, f"unknown callback type {kind!r}", known=False)


def outcome(status: str, code: int | None = None) -> tuple[ReportOutcome, str]:
    """(what a Sinch status means for the message, a readable reason when it failed)."""
    name = status.strip().lower()
    if name in DELIVERED:
        return "delivered", ""
    if name in FAILED:
        return "failed", f"Sinch reported {status.strip()}" + (
            f" (code {code})" if code is not None else ""
        )
    # queued, dispatched, unknown, and any status Sinch adds later: kept, not applied.
    return "pending", ""


def message_id_from(client_reference: Any) -> int | None:
    """Our message ID from Sinch's client_reference, when it is one.

    A batch of many messages carries core.delivery.batching's reference (``batch-42``),
    which is none: its reports find their messages by batch ID and recipient.
    """
    if not isinstance(client_reference, str):
        return None
    text = client_reference.strip()
    if not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if 0 < value <= _MAX_MESSAGE_ID else None


def plus(number: str) -> str:
    """Sinch's ``447700900123`` as E.164; a short code or a name is returned as it is."""
    text = number.strip()
    if text.isascii() and text.isdigit() and len(text) > 6:
        return "+" + text
    return text


# --- the shapes ---------------------------------------------------------------


def _mo(data: Mapping[str, Any], kind: str, body: str, media: tuple[Media, ...]) -> InboundSms:
    ref = _text(data, "id", kind)
    if not ref:
        raise MalformedEvent(f"'id' of {kind} is empty")
    return InboundSms(
        provider_ref=ref,
        sender=plus(_text(data, "from", kind)),
        to=plus(_text(data, "to", kind)),
        body=body,
        media=media,
        type=kind,
    )


def _media(body: Mapping[str, Any], kind: str) -> tuple[Media, ...]:
    """The files of an MO MMS: ``{"url": ...}`` or ``{"media": [{"url", "content_type"}]}``."""
    found: list[Media] = []
    url = _optional_text(body, "url", kind)
    if url:
        found.append(_media_at(url, None))
    items = body.get("media")
    if items is not None:
        if not isinstance(items, list):
            raise MalformedEvent(f"'media' of {kind} must be a list, not {_kind(items)}")
        for item in items:
            if not isinstance(item, dict):
                raise MalformedEvent(f"each 'media' item of {kind} must be an object")
            item_url = _optional_text(item, "url", kind)
            if not item_url:
                continue  # a file Sinch could not upload ("status": "Failed"): nothing to fetch
            found.append(_media_at(item_url, _optional_text(item, "content_type", kind)))
    return tuple(found)


def _media_at(url: str, mime: str | None) -> Media:
    path = urlsplit(url).path
    filename = posixpath.basename(unquote(path)) or "attachment"
    guessed = mimetypes.guess_type(filename)[0]
    return Media(
        filename=filename,
        mime=mime or guessed or "application/octet-stream",
        content=b"",
        url=url,
    )


def _batch_reports(data: Mapping[str, Any], kind: str) -> Reports:
    batch_id = _batch_id(data, kind)
    message_id = message_id_from(data.get("client_reference"))
    statuses = data.get("statuses")
    if not isinstance(statuses, list):
        raise MalformedEvent(f"'statuses' of {kind} must be a list, not {_kind(statuses)}")
    reports: list[DeliveryReport] = []
    for entry in statuses:
        if not isinstance(entry, dict):
            raise MalformedEvent(f"each of the 'statuses' of {kind} must be an object")
        status = _text(entry, "status", kind)
        code = _code(entry, kind)
        recipients = entry.get("recipients")
        if recipients is None:
            recipients = []  # delivery_report "summary": counts, no recipients
        if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
            raise MalformedEvent(f"'recipients' of {kind} must be a list of numbers")
        reports.extend(
            _report(batch_id, status, code, message_id, plus(r) if r else "")
            for r in recipients or [""]  # no recipients: one report for the batch
        )
    return Reports(batch_id, tuple(reports), kind)


def _recipient_report(data: Mapping[str, Any], kind: str) -> Reports:
    batch_id = _batch_id(data, kind)
    report = _report(
        batch_id,
        _text(data, "status", kind),
        _code(data, kind),
        message_id_from(data.get("client_reference")),
        plus(_text(data, "recipient", kind)),
    )
    return Reports(batch_id, (report,), kind)


def _report(
    batch_id: str, status: str, code: int | None, message_id: int | None, recipient: str
) -> DeliveryReport:
    if not status.strip():
        raise MalformedEvent("a delivery report's 'status' is empty")
    result, reason = outcome(status, code)
    return DeliveryReport(
        provider_id=batch_id,
        status=result,
        reason=reason,
        message_id=message_id,
        recipient=recipient,
        provider_status=status.strip().lower(),
    )


def _batch_id(data: Mapping[str, Any], kind: str) -> str:
    batch_id = _text(data, "batch_id", kind)
    if not batch_id:
        raise MalformedEvent(f"'batch_id' of {kind} is empty")
    return batch_id


def _code(data: Mapping[str, Any], kind: str) -> int | None:
    code = data.get("code")
    if code is None:
        return None
    if isinstance(code, bool) or not isinstance(code, int):
        raise MalformedEvent(f"'code' of {kind} must be a whole number, not {_kind(code)}")
    return code


def _text(data: Mapping[str, Any], key: str, kind: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        missing = "is missing" if value is None else f"must be text, not {_kind(value)}"
        raise MalformedEvent(f"'{key}' of {kind} {missing}")
    return value


def _optional_text(data: Mapping[str, Any], key: str, kind: str) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    raise MalformedEvent(f"'{key}' of {kind} must be text, not {_kind(value)}")


def _refuse_lone_surrogates(data: Any) -> None:
    """Every key and text in ``data`` must be encodable as UTF-8.

    Checked for the whole body, not only the fields read: a field that is
    stored later, or logged, must not be the one that cannot be written.
    """
    pending = [data]
    while pending:  # not recursive: the body may nest as deep as json.loads allows
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise MalformedEvent(
                    f"a text holds {value[exc.start]!r}, half of a UTF-16 surrogate pair"
                    " with no other half: not Unicode text"
                ) from None


def _kind(value: Any) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "text",
        bool: "true/false",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)
