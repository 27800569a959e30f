"""Account settings, stored in the database so every process sees the same.

Each setting has a typed default here; the table holds only what a manager
changed. Values are JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from typing import Any

from core.authz import Action, Actor, authorize
from core.db import Database, Tx
from core.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Settings:
    public_minutes: int = 20
    """M8: minutes an inbound message may wait unanswered before the conversation goes public."""
    default_region: str = "US"
    """Region used to read phone numbers written without a country code."""
    optout_keywords: tuple[str, ...] = (
        "STOP",
        "STOPALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "REVOKE",
        "OPTOUT",
        "OPT OUT",
    )
    optin_keywords: tuple[str, ...] = ("START", "UNSTOP")
    help_keywords: tuple[str, ...] = ("HELP", "INFO")
    optout_notice: str = "Reply STOP to unsubscribe."
    """M5: appended to the first SMS ever sent to a number."""
    optout_reply: str = (
        "You are unsubscribed and will receive no more messages. Reply START to resubscribe."
    )
    optin_reply: str = "You are subscribed again. Reply STOP to unsubscribe."
    help_reply: str = "Reply STOP to unsubscribe, START to resubscribe."
    cost_per_segment: float = 0.0079
    currency: str = "USD"
    mms_max_bytes: int = 1_048_576
    sandbox_delivery_seconds: float = 2.0
    """Sandbox provider: how long after sending a message is marked delivered."""
    rate_segments_per_second: float = 10.0
    """W2: per sender number, weighted by segments."""
    max_message_parts: int = 10
    """W2: the most SMS parts one message may take; longer ones are refused when written."""
    max_attempts: int = 5
    """W2: sending attempts before a message is marked failed."""
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 600.0
    demo: bool = False
    """Set on databases made by `switchboard demo`."""


SETTING_NAMES = tuple(f.name for f in fields(Settings))


def _coerce(name: str, value: Any) -> Any:
    default = getattr(Settings(), name)
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                if value.lower() in ("true", "yes", "1", "on"):
                    return True
                if value.lower() in ("false", "no", "0", "off"):
                    return False
                raise ValueError
            return bool(value)
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, tuple):
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(str(i).strip() for i in items if str(i).strip())
        return str(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} must be {type(default).__name__}, not {value!r}") from None


def _validate(s: Settings) -> None:
    if not 1 <= s.public_minutes <= 24 * 60:
        raise InvalidInput("public_minutes must be between 1 and 1440 minutes")
    if not s.optout_keywords:
        raise InvalidInput("optout_keywords cannot be empty: STOP must always work")
    if s.rate_segments_per_second <= 0:
        raise InvalidInput("rate_segments_per_second must be more than 0")
    if not 1 <= s.max_message_parts <= 255:
        raise InvalidInput("max_message_parts must be between 1 and 255")
    if s.max_attempts < 1:
        raise InvalidInput("max_attempts must be at least 1")
    if s.sandbox_delivery_seconds < 0:
        raise InvalidInput("sandbox_delivery_seconds cannot be negative")


def _from_rows(rows: list[Any]) -> Settings:
    values = {r["key"]: json.loads(r["value"]) for r in rows if r["key"] in SETTING_NAMES}
    return replace(Settings(), **{k: _coerce(k, v) for k, v in values.items()})


async def load(db: Database) -> Settings:
    return _from_rows(await db.fetchall("SELECT key, value FROM settings"))


async def load_in(tx: Tx) -> Settings:
    """Settings as seen inside a transaction (consistent with its writes)."""
    return _from_rows(await tx.fetchall("SELECT key, value FROM settings"))


async def update(db: Database, actor: Actor, **changes: Any) -> Settings:
    """Change settings; refused for unknown names and out-of-range values."""
    authorize(actor, Action.MANAGE_SETTINGS)
    unknown = sorted(set(changes) - set(SETTING_NAMES))
    if unknown:
        raise InvalidInput(
            f"unknown setting {', '.join(unknown)}; known: {', '.join(SETTING_NAMES)}"
        )
    coerced = {k: _coerce(k, v) for k, v in changes.items()}
    async with db.transaction() as tx:
        merged = replace(await load_in(tx), **coerced)
        _validate(merged)
        await tx.executemany(
            "INSERT INTO settings (key, value) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [(k, json.dumps(v)) for k, v in coerced.items()],
        )
        await tx.emit("settings.changed", "settings", actor_id=actor.id, changes=coerced)
    return merged
