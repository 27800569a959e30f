"""Logging for the headless worker: human lines on a terminal, JSON lines for a log collector.

Modules log with ``extra={...}`` fields (event, outcome, message_id...); the
JSON format keeps them as keys, so a collector can filter on them without
parsing sentences. Text that came from outside (a provider's reason, a
sender's number) is escaped by json.dumps, and made printable in text mode.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from console.safe_text import printable

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **extra_fields(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        # The message and fields can quote a stranger: one printable line. A
        # traceback, added after this by format(), keeps its own newlines.
        line = printable(super().formatMessage(record))
        fields = extra_fields(record)
        if fields:
            line += " " + " ".join(f"{k}={printable(str(v))}" for k, v in fields.items())
        return line


def setup(level: int = logging.INFO, fmt: Literal["text", "json"] = "text") -> None:
    """Send Switchboard's logs to stderr, one line each, in ``fmt``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("switchboard").setLevel(level)


def setup_console(path: Path) -> Path:
    """Send Switchboard's warnings and errors to ``path`` while the console owns the terminal.

    stderr is the console's screen, so a traceback written there would be lost
    under the next repaint; the error dialog names this file instead.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(TextFormatter())
    handler.setLevel(logging.WARNING)
    logger = logging.getLogger("switchboard")
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.WARNING:
        logger.setLevel(logging.WARNING)
    return path
