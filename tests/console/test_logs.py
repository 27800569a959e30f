"""console.logs: one line per record, JSON with the record's fields, text made printable."""

from __future__ import annotations

import json
import logging

import pytest

from console import logs


def record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("switchboard.worker", logging.WARNING, __file__, 1, msg, args, None)
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def test_json_lines_carry_the_fields_given_as_extra():
    line = logs.JsonFormatter().format(
        record("message %s failed: %s", 7, "Sinch refused it", event="message.failed", message_id=7)
    )
    entry = json.loads(line)
    assert entry["level"] == "warning"
    assert entry["logger"] == "switchboard.worker"
    assert entry["msg"] == "message 7 failed: Sinch refused it"
    assert (entry["event"], entry["message_id"]) == ("message.failed", 7)
    assert entry["ts"].endswith("+00:00")
    assert "\n" not in line


def test_a_strangers_text_cannot_break_a_line_or_reach_the_terminal():
    hostile = 'ok\n{"level": "info"}\x1b]52;c;cGFzdGU=\x07'
    json_line = logs.JsonFormatter().format(record("%s", hostile, reason=hostile))
    assert "\n" not in json_line
    assert "\x1b" not in json_line
    assert json.loads(json_line)["reason"] == hostile, "kept exactly, only escaped"
    text_line = logs.TextFormatter().format(record("%s", hostile, reason=hostile))
    assert "\n" not in text_line, "a newline in a reason cannot forge a second log line"
    assert "\x1b" not in text_line
    assert "\x07" not in text_line
    assert "reason=" in text_line


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_setup_sends_switchboard_logs_at_the_level_asked(fmt, capsys):
    logs.setup(logging.INFO, fmt)
    try:
        logging.getLogger("switchboard.worker").info("hello", extra={"event": "x"})
        logging.getLogger("chatty.library").info("not shown")
        err = capsys.readouterr().err
        assert "hello" in err
        assert "not shown" not in err
        if fmt == "json":
            assert json.loads(err.strip())["event"] == "x"
    finally:
        logging.getLogger().handlers.clear()
