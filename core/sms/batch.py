"""A batch of texts to send, one JSON object a line: what `switchboard send --batch` reads.

A script that sends a thousand texts pays one start-up instead of a thousand
(issue #9). The whole batch is read and checked before anything is sent, so
a malformed line refuses the batch, naming the line, with nothing queued;
each message's own rules (number, opt-out, length) are the sending rules,
applied as each one is sent.
"""

from __future__ import annotations

import json

from core.errors import InvalidInput, LimitExceeded
from core.records import record
from core.text import is_utf8

MAX_MESSAGES = 10_000
"""The most messages one batch may hold: more is a second batch."""
MAX_BYTES = 64 * 1024 * 1024
"""The largest batch file read (10,000 long texts fit many times over); read no more."""

EXAMPLE = '{"to": "+12125550105", "text": "Hello"}'
_KEYS = frozenset({"to", "text", "from"})


@record
class BatchMessage:
    line: int
    """Where it is in the file (1 is the first line): refusals name it."""
    to: str
    text: str
    sender: str | None


def read(data: bytes) -> list[BatchMessage]:
    """The messages in ``data``, in order; InvalidInput naming the first bad line.

    ``data`` may be cut after MAX_BYTES + 1 bytes: the file is then refused
    as too large, without reading the rest of it.

    Blank lines are skipped. Each other line is an object with "to" and
    "text" and, optionally, "from" (one of our numbers), all strings.
    """
    if len(data) > MAX_BYTES:
        raise LimitExceeded(f"a batch file may be at most {MAX_BYTES:,} bytes (split the file)")
    found: list[BatchMessage] = []
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        if len(found) == MAX_MESSAGES:
            raise LimitExceeded(
                f"a batch may hold at most {MAX_MESSAGES:,} messages; line {number} is one more"
                " (split the file)"
            )
        found.append(_message(number, raw))
    if not found:
        raise InvalidInput(f"the batch has no messages; write one a line, as {EXAMPLE}")
    return found


def _message(number: int, raw: bytes) -> BatchMessage:
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidInput(f"line {number} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"line {number} is not JSON ({exc.msg}); write {EXAMPLE}") from None
    if not isinstance(value, dict):
        raise InvalidInput(f"line {number} is not a JSON object; write {EXAMPLE}")
    unknown = sorted(set(value) - _KEYS)
    if unknown:
        raise InvalidInput(
            f"line {number} has unknown {'key' if len(unknown) == 1 else 'keys'}"
            f" {', '.join(map(repr, unknown))};"
            ' the keys are "to", "text" and "from"'
        )
    to, text, sender = value.get("to"), value.get("text"), value.get("from")
    if not isinstance(to, str) or not isinstance(text, str):
        raise InvalidInput(f'line {number} needs "to" and "text", as strings: {EXAMPLE}')
    if sender is not None and not isinstance(sender, str):
        raise InvalidInput(f'line {number}: "from" must be a string (one of our numbers)')
    # JSON can spell lone surrogates (\ud800), which are not text.
    if not all(is_utf8(s) for s in (to, text, sender or "")):
        raise InvalidInput(f"line {number} holds a string that is not valid Unicode text")
    return BatchMessage(number, to, text, sender)
