"""Reading Sinch callbacks into core values (providers.sinch_events): no server, no database."""

from __future__ import annotations

import json

import pytest

from core.delivery.gateway import DeliveryReport, Media
from providers import sinch_events
from providers.sinch_events import Ignored, InboundSms, MalformedEvent, Reports, parse


def _body(**fields: object) -> bytes:
    return json.dumps(fields).encode()


MO_TEXT = {
    "type": "mo_text",
    "id": "01FC66621XXXXX119Z8PMV1QPQ",
    "from": "447700900123",
    "to": "14155550100",
    "body": "Hi",
    "received_at": "2026-11-23T10:00:00.000Z",
    "operator_id": "23410",
}


def test_mo_text_restores_the_plus_on_both_numbers() -> None:
    assert parse(_body(**MO_TEXT)) == InboundSms(
        provider_ref="01FC66621XXXXX119Z8PMV1QPQ",
        sender="+447700900123",
        to="+14155550100",
        body="Hi",
        type="mo_text",
    )


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ("447700900123", "+447700900123"),
        ("12345", "12345"),  # a short code stays as sent (core refuses it as a sender)
        ("ACME", "ACME"),  # an alphanumeric sender too
        ("+14155550123", "+14155550123"),
    ],
)
def test_senders(sender: str, expected: str) -> None:
    event = parse(_body(**{**MO_TEXT, "from": sender}))
    assert isinstance(event, InboundSms)
    assert event.sender == expected


def test_mo_media_keeps_the_text_and_a_link_to_the_file() -> None:
    event = parse(
        _body(
            **{
                **MO_TEXT,
                "type": "mo_media",
                "body": {
                    "url": "https://media.sinch.example/files/abc/photo%201.jpg?sig=x",
                    "message": "see this",
                },
            }
        )
    )
    assert event == InboundSms(
        provider_ref=MO_TEXT["id"],
        sender="+447700900123",
        to="+14155550100",
        body="see this",
        media=(
            Media(
                "photo 1.jpg",
                "image/jpeg",
                b"",
                url="https://media.sinch.example/files/abc/photo%201.jpg?sig=x",
            ),
        ),
        type="mo_media",
    )


def test_mo_media_in_the_sdk_shape_with_a_media_list() -> None:
    event = parse(
        _body(
            **{
                **MO_TEXT,
                "type": "mo_media",
                "body": {
                    "subject": "hello",
                    "media": [
                        {
                            "url": "https://m.example/a",
                            "content_type": "image/png",
                            "status": "Uploaded",
                            "code": 1400,
                        },
                        {"content_type": "video/mp4", "status": "Failed", "code": 1401},
                        {"url": "https://m.example/b.gif", "status": "Uploaded", "code": 1400},
                    ],
                },
            }
        )
    )
    assert isinstance(event, InboundSms)
    assert event.body == ""
    assert [(m.filename, m.mime, m.url) for m in event.media] == [
        ("a", "image/png", "https://m.example/a"),
        ("b.gif", "image/gif", "https://m.example/b.gif"),
    ]


def test_a_binary_sms_is_acknowledged_not_taken() -> None:
    event = parse(_body(**{**MO_TEXT, "type": "mo_binary", "body": "AAEC", "udh": "050003"}))
    assert event == Ignored("mo_binary", "binary SMS is not taken", known=True)


def test_an_unknown_type_is_its_own_result() -> None:
    event = parse(_body(type="inbound_fax", id="1"))
    assert isinstance(event, Ignored)
    assert (event.type, event.known) == ("inbound_fax", False)


@pytest.mark.parametrize(
    ("status", "code", "outcome", "reason"),
    [
        ("Delivered", 0, "delivered", ""),
        ("DELIVERED", 0, "delivered", ""),
        ("delivered", 0, "delivered", ""),
        ("Failed", 402, "failed", "Sinch reported Failed (code 402)"),
        ("Rejected", 403, "failed", "Sinch reported Rejected (code 403)"),
        ("Expired", 406, "failed", "Sinch reported Expired (code 406)"),
        ("Aborted", 401, "failed", "Sinch reported Aborted (code 401)"),
        ("Cancelled", 408, "failed", "Sinch reported Cancelled (code 408)"),
        ("Deleted", 410, "failed", "Sinch reported Deleted (code 410)"),
        ("Queued", 400, "pending", ""),
        ("Dispatched", 0, "pending", ""),
        ("Unknown", 0, "pending", ""),
        ("SomethingNew", 0, "pending", ""),
    ],
)
def test_recipient_report_statuses(status: str, code: int, outcome: str, reason: str) -> None:
    event = parse(
        _body(
            type="recipient_delivery_report_sms",
            batch_id="01BATCH",
            recipient="447700900123",
            code=code,
            status=status,
            at="2026-11-23T10:00:01.000Z",
            client_reference="42",
        )
    )
    assert event == Reports(
        "01BATCH",
        (
            DeliveryReport(
                provider_id="01BATCH",
                status=outcome,  # type: ignore[arg-type]
                reason=reason,
                message_id=42,
                recipient="+447700900123",
                provider_status=status.lower(),
            ),
        ),
        "recipient_delivery_report_sms",
    )


def test_a_batch_report_gives_one_report_per_status_and_recipient() -> None:
    event = parse(
        _body(
            type="delivery_report_mms",
            batch_id="01BATCH",
            statuses=[
                {
                    "code": 0,
                    "status": "Delivered",
                    "count": 2,
                    "recipients": ["4477001", "4477002"],
                },
                {"code": 402, "status": "failed", "count": 1, "recipients": ["4477003"]},
                {"code": 400, "status": "Queued", "count": 1, "recipients": ["4477004"]},
            ],
            total_message_count=4,
            client_reference="7",
        )
    )
    assert isinstance(event, Reports)
    assert event.type == "delivery_report_mms"
    assert [(r.recipient, r.status, r.provider_status, r.reason) for r in event.reports] == [
        ("+4477001", "delivered", "delivered", ""),
        ("+4477002", "delivered", "delivered", ""),
        ("+4477003", "failed", "failed", "Sinch reported failed (code 402)"),
        ("+4477004", "pending", "queued", ""),
    ]
    assert {(r.provider_id, r.message_id) for r in event.reports} == {("01BATCH", 7)}


def test_a_summary_batch_report_without_recipients_has_an_empty_recipient() -> None:
    event = parse(
        _body(
            type="delivery_report_sms",
            batch_id="B",
            statuses=[{"code": 0, "status": "Delivered", "count": 3}],
            total_message_count=3,
        )
    )
    assert isinstance(event, Reports)
    assert event.reports == (
        DeliveryReport("B", "delivered", recipient="", provider_status="delivered"),
    )


@pytest.mark.parametrize("kind", ["full", "per_recipient"])
def test_a_many_message_batchs_reports_name_the_batch_and_each_recipient(kind: str) -> None:
    statuses = {
        "4477001": ("Delivered", 0),
        "4477002": ("Failed", 402),
        "4477003": ("Expired", 406),
    }
    if kind == "full":
        bodies = [
            _body(
                type="delivery_report_sms",
                batch_id="01BATCH",
                client_reference="batch-5",
                statuses=[
                    {"code": code, "status": status, "count": 1, "recipients": [number]}
                    for number, (status, code) in statuses.items()
                ],
            )
        ]
    else:
        bodies = [
            _body(
                type="recipient_delivery_report_sms",
                batch_id="01BATCH",
                client_reference="batch-5",
                recipient=number,
                status=status,
                code=code,
            )
            for number, (status, code) in statuses.items()
        ]
    reports = [r for body in bodies for r in _reports(body)]
    assert [(r.provider_id, r.recipient, r.status, r.message_id) for r in reports] == [
        ("01BATCH", "+4477001", "delivered", None),
        ("01BATCH", "+4477002", "failed", None),
        ("01BATCH", "+4477003", "failed", None),
    ]


def _reports(body: bytes) -> tuple[DeliveryReport, ...]:
    event = parse(body)
    assert isinstance(event, Reports)
    return event.reports


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("42", 42),
        (" 42 ", 42),
        ("0", None),
        ("-3", None),
        ("1_000", None),
        ("abc", None),
        ("batch-42", None),  # core.delivery.batching's reference for a batch of many messages
        ("٣", None),  # a digit, but not an ASCII one
        ("99999999999999999999", None),
        (42, None),
        (None, None),
    ],
)
def test_client_reference_is_our_id_only_when_it_is_one(
    reference: object, expected: object
) -> None:
    assert sinch_events.message_id_from(reference) == expected


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b"{}", "'type' is missing"),
        (_body(type=3), "'type' must be text"),
        (_body(**{**MO_TEXT, "id": None}), "'id' of mo_text is missing"),
        (_body(**{**MO_TEXT, "id": ""}), "'id' of mo_text is empty"),
        (_body(**{**MO_TEXT, "from": 447700900123}), "'from' of mo_text must be text"),
        (_body(**{**MO_TEXT, "body": {"x": 1}}), "'body' of mo_text must be text"),
        (_body(**{**MO_TEXT, "type": "mo_media", "body": "x"}), "'body' of mo_media must be"),
        (
            _body(**{**MO_TEXT, "type": "mo_media", "body": {"media": "x"}}),
            "'media' of mo_media must be a list",
        ),
        (_body(type="delivery_report_sms", batch_id="B"), "'statuses' of delivery_report_sms"),
        (
            _body(type="delivery_report_sms", batch_id="B", statuses=[{"code": 0}]),
            "'status' of delivery_report_sms is missing",
        ),
        (
            _body(
                type="delivery_report_sms",
                batch_id="B",
                statuses=[{"status": "Delivered", "recipients": "4477"}],
            ),
            "'recipients' of delivery_report_sms must be a list",
        ),
        (
            _body(type="recipient_delivery_report_sms", recipient="1", status="Delivered"),
            "'batch_id' of recipient_delivery_report_sms is missing",
        ),
        (
            _body(
                type="recipient_delivery_report_sms",
                batch_id="B",
                recipient="1",
                status="Failed",
                code="402",
            ),
            "'code' of recipient_delivery_report_sms must be a whole number",
        ),
        (b"[" * 100_000, "not JSON"),
    ],
)
def test_malformed_bodies_say_what_is_wrong(body: bytes, complaint: str) -> None:
    with pytest.raises(MalformedEvent, match=complaint):
        parse(body)


@pytest.mark.parametrize(
    "data",
    [
        {**MO_TEXT, "body": "hi \ud800"},  # a high half alone
        {**MO_TEXT, "id": "\udfff01"},  # a low half alone
        {**MO_TEXT, "body": "\udc00\ud800"},  # both halves, in the wrong order
        {**MO_TEXT, "operator_id": "\ud800"},  # a field we never read is still refused
        {**MO_TEXT, "\ud800": "key"},
        {
            "type": "delivery_report_sms",
            "batch_id": "B",
            "statuses": [{"status": "Delivered", "recipients": ["4477\ud800"]}],
        },
    ],
)
def test_text_that_is_not_unicode_is_refused_at_parse(data: dict[str, object]) -> None:
    # json.dumps escapes a lone surrogate as \ud800, and json.loads reads it back:
    # no UTF-8 text (no database column) can hold it.
    body = json.dumps(data).encode()
    assert b"\\ud" in body.lower()
    with pytest.raises(MalformedEvent, match="half of a UTF-16 surrogate pair"):
        parse(body)
    with pytest.raises(MalformedEvent, match="surrogate"):
        sinch_events.parse_event(data)


def test_a_surrogate_pair_escaped_in_json_is_one_character() -> None:
    event = parse(_body(**{**MO_TEXT, "body": "ok \U0001f600"}))  # sent as \ud83d\ude00
    assert isinstance(event, InboundSms)
    assert event.body == "ok \U0001f600"


def test_a_lone_surrogate_in_the_raw_bytes_is_refused_too() -> None:
    # U+D800 written as UTF-8 (ED A0 80) is not UTF-8, but json.loads decodes bytes
    # with surrogatepass: no \u escape in the body, and still refused.
    body = _body(**{**MO_TEXT, "body": "hi X"}).replace(b"X", b"\xed\xa0\x80")
    assert b"\\u" not in body
    with pytest.raises(MalformedEvent, match="half of a UTF-16 surrogate pair"):
        parse(body)


def test_text_that_shares_the_first_byte_of_a_surrogate_is_taken() -> None:
    # Hangul from U+D000 on starts with 0xED in UTF-8 too: walked, and taken.
    event = parse(json.dumps({**MO_TEXT, "body": "힘내"}, ensure_ascii=False).encode())
    assert isinstance(event, InboundSms)
    assert event.body == "힘내"
