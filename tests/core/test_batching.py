"""core.delivery.batching.plan: which claimed rows share one batch, as tables and as a property."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.delivery import batching
from core.delivery.gateway import Media, OutboundBatch, OutboundSms
from providers.sinch_events import message_id_from

SENDER, OTHER_SENDER = "+14155550100", "+14155550101"
BODY = "The clinic is closed on Monday."


def row(message_id: int, recipient: str, **changes: Any) -> OutboundSms:
    values: dict[str, Any] = {
        "message_id": message_id,
        "sender": SENDER,
        "recipient": recipient,
        "body": BODY,
        "segments": 1,
        "max_parts": 3,
    }
    values.update(changes)
    return OutboundSms(**values)


def phone(n: int) -> str:
    return f"+1212555{n:04d}"


def shape(planned: list[OutboundSms | OutboundBatch]) -> list[Any]:
    """A single as its message ID, a batch as the tuple of its message IDs."""
    return [p.message_id if isinstance(p, OutboundSms) else p.message_ids for p in planned]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param([], [], id="nothing claimed"),
        pytest.param([row(1, phone(1))], [1], id="one row goes alone"),
        pytest.param([row(2, phone(2)), row(1, phone(1))], [(1, 2)], id="same text: one batch"),
        pytest.param(
            [row(1, phone(1)), row(2, phone(2), sender=OTHER_SENDER)], [1, 2], id="other sender"
        ),
        pytest.param([row(1, phone(1)), row(2, phone(2), body="Other")], [1, 2], id="other body"),
        pytest.param(
            [row(1, phone(1)), row(2, phone(2), purpose="alert")], [1, 2], id="other purpose"
        ),
        pytest.param(
            [row(1, phone(1)), row(2, phone(2), max_parts=None)], [1, 2], id="other parts limit"
        ),
        pytest.param(
            [row(1, phone(1)), row(2, phone(2), attempt=2)], [1, 2], id="a retry keeps apart"
        ),
        pytest.param(
            [
                row(1, phone(1), media=(Media("a.jpg", "image/jpeg", b"x"),)),
                row(2, phone(2), media=(Media("a.jpg", "image/jpeg", b"x"),)),
            ],
            [1, 2],
            id="media never shares",
        ),
        pytest.param(
            [row(1, phone(1)), row(2, phone(1)), row(3, phone(2)), row(4, phone(1))],
            [(1, 3), (2,), (4,)],
            id="one number twice: second batch",
        ),
        pytest.param(
            [row(n, phone(n)) for n in range(1, 6)],
            [(1, 2), (3, 4), 5],
            id="at most the max (2 here)",
        ),
    ],
)
def test_plan(rows: list[OutboundSms], expected: list[Any]) -> None:
    planned = batching.plan(rows, max_recipients=2)
    # A batch of one is sent as the row itself, under its own message ID.
    assert shape(planned) == [e[0] if isinstance(e, tuple) and len(e) == 1 else e for e in expected]


def test_a_batch_carries_the_shared_text_and_each_rows_recipient() -> None:
    (batch,) = batching.plan(
        [
            row(7, phone(2), purpose="notice", attempt=3),
            row(5, phone(1), purpose="notice", attempt=3),
        ],
        1000,
    )
    assert batch == OutboundBatch(
        reference="batch-5",
        sender=SENDER,
        body=BODY,
        segments=1,
        rows=((5, phone(1)), (7, phone(2))),
        max_parts=3,
        attempt=3,
        purpose="notice",
    )


def test_a_reference_is_never_read_as_a_message_id_and_is_the_same_on_a_retry() -> None:
    rows = [row(n, phone(n)) for n in (12, 40, 41)]
    (first,) = batching.plan(rows, 1000)
    (again,) = batching.plan(list(reversed(rows)), 1000)
    assert isinstance(first, OutboundBatch)
    assert isinstance(again, OutboundBatch)
    assert first.reference == again.reference == "batch-12"
    assert message_id_from(first.reference) is None


def test_a_gateway_that_sends_one_at_a_time_gets_only_singles() -> None:
    rows = [row(n, phone(n)) for n in (3, 1, 2)]
    assert shape(batching.plan(rows, max_recipients=1)) == [1, 2, 3]


def test_a_batch_naming_a_recipient_twice_cannot_be_made() -> None:
    with pytest.raises(ValueError, match="twice"):
        OutboundBatch("batch-1", SENDER, BODY, 1, ((1, phone(1)), (2, phone(1))))


rows_strategy = st.lists(
    st.tuples(
        st.integers(0, 6),  # recipient: few numbers, so the same one comes up often
        st.sampled_from([SENDER, OTHER_SENDER]),
        st.sampled_from(["a", "b"]),
        st.sampled_from(["conversation", "campaign"]),
        st.integers(1, 2),
        st.sampled_from([False, False, False, True]),  # media
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(rows=rows_strategy, max_recipients=st.integers(1, 5), seed=st.randoms())
def test_every_row_is_sent_once_within_the_max_and_no_number_twice_in_a_batch(
    rows: list[tuple[int, str, str, str, int, bool]], max_recipients: int, seed: Any
) -> None:
    claimed = [
        row(
            n,
            phone(recipient),
            sender=sender,
            body=body,
            purpose=purpose,
            attempt=attempt,
            media=(Media("a.jpg", "image/jpeg", b"x"),) if media else (),
        )
        for n, (recipient, sender, body, purpose, attempt, media) in enumerate(rows, start=1)
    ]
    seed.shuffle(claimed)
    by_id = {sms.message_id: sms for sms in claimed}

    planned = batching.plan(claimed, max_recipients)

    sent = Counter(
        i
        for p in planned
        for i in (p.message_ids if isinstance(p, OutboundBatch) else [p.message_id])
    )
    assert sent == Counter(by_id.keys()), "every row exactly once"
    for p in planned:
        if isinstance(p, OutboundSms):
            continue
        members = [by_id[i] for i in p.message_ids]
        assert 2 <= len(members) <= max_recipients
        assert len({m.recipient for m in members}) == len(members), "a number once per batch"
        assert {(m.sender, m.body, m.purpose, m.max_parts, m.attempt) for m in members} == {
            (p.sender, p.body, p.purpose, p.max_parts, p.attempt)
        }
        assert not any(m.media for m in members)
        assert p.recipients == tuple(m.recipient for m in members)
        assert p.reference == f"batch-{min(p.message_ids)}"
    # The same rows in any order make the same plan (a retried batch is found again).
    assert batching.plan(list(reversed(claimed)), max_recipients) == planned
