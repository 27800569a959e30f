"""core.sms.batch: the file `switchboard send --batch` reads, checked whole before any send."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput, LimitExceeded
from core.sms import batch
from core.sms.batch import BatchMessage


def test_every_message_is_read_in_order_with_its_line_and_blank_lines_are_skipped():
    data = (
        b'{"to": "+12125550105", "text": "one"}\n'
        b"\n"
        b'{"to": "+12125550106", "text": "caf\xc3\xa9\\nline", "from": "+14155550100"}\r\n'
    )
    assert batch.read(data) == [
        BatchMessage(1, "+12125550105", "one", None),
        BatchMessage(3, "+12125550106", "café\nline", "+14155550100"),
    ]


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (b"not json", "line 2 is not JSON"),
        (b'["+12125550105", "hi"]', "line 2 is not a JSON object"),
        (b'{"to": "+12125550105"}', 'line 2 needs "to" and "text"'),
        (b'{"to": 12125550105, "text": "hi"}', 'line 2 needs "to" and "text"'),
        (b'{"to": "+12125550105", "text": "hi", "from": 1}', 'line 2: "from" must be a string'),
        (b'{"to": "+12125550105", "text": "hi", "at": "noon"}', "unknown key 'at'"),
        (b'{"to": "+12125550105", "text": "\\ud800"}', "line 2 holds a string that is not valid"),
        (b'{"to": "+12125550105", "text": "\xff"}', "line 2 is not UTF-8 text"),
    ],
)
def test_a_bad_line_refuses_the_batch_naming_it(line: bytes, says: str):
    with pytest.raises(InvalidInput) as exc:
        batch.read(b'{"to": "+12125550105", "text": "fine"}\n' + line + b"\n")
    assert says in str(exc.value)


def test_an_empty_batch_is_refused():
    with pytest.raises(InvalidInput, match="no messages"):
        batch.read(b"\n  \n")


def test_a_batch_has_a_size_limit(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(batch, "MAX_MESSAGES", 2)
    line = b'{"to": "+12125550105", "text": "hi"}\n'
    assert len(batch.read(line * 2)) == 2
    with pytest.raises(LimitExceeded, match="at most 2 messages; line 3"):
        batch.read(line * 3)


def test_a_batch_file_has_a_size_limit(monkeypatch: pytest.MonkeyPatch):
    line = b'{"to": "+12125550105", "text": "hi"}\n'
    monkeypatch.setattr(batch, "MAX_BYTES", len(line))
    assert len(batch.read(line)) == 1
    with pytest.raises(LimitExceeded, match=f"at most {len(line)} bytes"):
        batch.read(line + b"\n")
