"""Account settings, stored in the database so every process sees the same.

Each setting has a typed default and a declared rule here; the table holds
only what a manager changed. Values are JSON. A value is checked against its
rule where it enters (``update``), and again when read: a stored value that
breaks its rule (a database edited by hand, or written by an older version
with looser rules) is replaced by the default and logged, so one bad row never
stops the worker or the console.

Keyword settings hold the keywords an account adds: the CTIA keywords
(``core.sms.optout.CTIA_*``) always work and cannot be taken away.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields, replace
from functools import lru_cache
from typing import Any, Final

from core.db import Database, Tx
from core.delivery import bundle
from core.errors import InvalidInput
from core.people.authz import Action, Actor, authorize
from core.records import record
from core.sms import phones
from core.sms.optout import CTIA_HELP, CTIA_OPTIN, CTIA_OPTOUT, normalise
from core.text import has_control_characters, is_utf8, refuse_control_characters

log = logging.getLogger(__name__)


@record
class Settings:
    public_minutes: int = 20
    """M8: minutes an inbound message may wait unanswered before the conversation goes public."""
    default_region: str = "US"
    """Region used to read phone numbers written without a country code."""
    optout_keywords: tuple[str, ...] = ("REVOKE", "OPTOUT", "OPT OUT")
    """Added to the CTIA opt-out keywords (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT)."""
    optin_keywords: tuple[str, ...] = ()
    """Added to the CTIA opt-in keywords (START, UNSTOP)."""
    help_keywords: tuple[str, ...] = ()
    """Added to the CTIA help keywords (HELP, INFO)."""
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
    event_retention_days: int = 7
    """Days the change feed keeps an event; the audit of consent and Ready has its own tables."""
    offer_seconds: int = 30
    """Routing: how long an agent has to accept an offer before it passes to the next one."""
    hipaa_mode: bool = False
    """P6: no PHI leaves by SMS or email; templates with PHI fields are refused."""
    staff_sms: bool = False
    """A1: system SMS to staff (alerts to their own mobiles); mobile alerts need it."""
    mobile_alerts: bool = False
    """A1: the "New chat" SMS to consenting staff on a normal shift, then reminders."""
    alert_every_minutes: int = 0
    """A1: minutes between a waiting conversation's alerts (0: never, no reminders)."""
    alert_reminders: int = 0
    """A1: reminders after the "New chat" SMS (0: never)."""
    alert_escalate_after: int = 0
    """A1: attempts after which on-call staff are alerted too (0: never)."""
    alert_message_body: bool = False
    """Alert texts quote the contact's message; never in HIPAA mode (``alerts_carry_body``)."""
    time_zone: str = "UTC"
    """The account's IANA time zone: new shifts are in it unless another is named."""
    bundle_segments: int = 0
    """A4: SMS segments bought per calendar month (UTC); 0: no bundle."""
    bundle_warn_percent: int = bundle.DEFAULT_WARN_PERCENT
    """A4: the share of the bundle used at which the console warns."""
    bundle_when_full: str = "warn"
    """A4: at 100 %, "warn" keeps sending; "hold" sends only alerts and STOP confirmations."""
    case_page_url: str = "http://127.0.0.1:8780"
    """C4: where contacts reach the worker's HTTP server; case links are this + /c/<token>."""
    case_link_days: int = 14
    """C4: days a link to the mobile case page works."""

    @property
    def alerts_carry_body(self) -> bool:
        """Alert texts quote the message only when asked to, and never in HIPAA mode (P6)."""
        return self.alert_message_body and not self.hipaa_mode

    @property
    def all_optout_keywords(self) -> tuple[str, ...]:
        return _union(CTIA_OPTOUT, self.optout_keywords)

    @property
    def all_optin_keywords(self) -> tuple[str, ...]:
        return _union(CTIA_OPTIN, self.optin_keywords)

    @property
    def all_help_keywords(self) -> tuple[str, ...]:
        return _union(CTIA_HELP, self.help_keywords)


SETTING_NAMES = tuple(f.name for f in fields(Settings))

ALWAYS_ON: dict[str, tuple[str, ...]] = {
    "optout_keywords": CTIA_OPTOUT,
    "optin_keywords": CTIA_OPTIN,
    "help_keywords": CTIA_HELP,
}
"""Per keyword setting, the CTIA keywords that work whatever it holds."""

MAX_TEXT = 640
"""Reply texts and the notice: a few SMS parts at most, they go out automatically."""
MAX_KEYWORDS = 50
MAX_KEYWORD = 40


def _union(always: tuple[str, ...], added: tuple[str, ...]) -> tuple[str, ...]:
    seen = {normalise(k) for k in always}
    return always + tuple(k for k in added if normalise(k) not in seen)


def _number(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


@record
class Number:
    kind: type[int] | type[float]
    low: float
    high: float

    def describe(self) -> str:
        what = "a whole number" if self.kind is int else "a finite number"
        return f"{what} between {_number(self.low)} and {_number(self.high)}"

    def read(self, value: Any) -> int | float | None:
        """The value as this kind, or None when it is not one."""
        if isinstance(value, bool):
            return None
        if isinstance(value, str):
            text = value.strip()
            try:
                value = int(text) if self.kind is int else float(text)
            except (ValueError, OverflowError):
                return None
        if self.kind is int:
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            return value if isinstance(value, int) else None
        if isinstance(value, int | float):
            try:
                number = float(value)
            except OverflowError:
                return None
            return number if math.isfinite(number) else None
        return None

    def check(self, name: str, value: Any) -> int | float:
        number = self.read(value)
        if number is None or not self.low <= number <= self.high:
            raise InvalidInput(f"{name} must be {self.describe()}, not {_shown(value)}")
        return number


@record
class Text:
    max_length: int = MAX_TEXT

    def check(self, name: str, value: Any) -> str:
        if not isinstance(value, str):
            raise InvalidInput(f"{name} must be text, not {_shown(value)}")
        _ensure_clean(name, value)
        text = value.strip()
        if not text:
            raise InvalidInput(f"{name} cannot be empty: it is sent to contacts as it is")
        if len(text) > self.max_length:
            raise InvalidInput(
                f"{name} must be at most {self.max_length} characters, not {len(text)}"
            )
        return text


@record
class Code:
    """A short code from a known set (a region) or of a known shape (a currency)."""

    what: str
    valid: Callable[[str], bool]

    def check(self, name: str, value: Any) -> str:
        code = value.strip().upper() if isinstance(value, str) else None
        if code is None or not self.valid(code):
            raise InvalidInput(f"{name} must be {self.what}, not {_shown(value)}")
        return code


@record
class Keywords:
    def check(self, name: str, value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            items: list[Any] = value.split(",")
        elif isinstance(value, list | tuple):
            items = list(value)
        else:
            raise InvalidInput(
                f"{name} must be a comma-separated list of words, not {_shown(value)}"
            )
        if not all(isinstance(i, str) for i in items):
            raise InvalidInput(f"{name} must be a list of words, not {_shown(value)}")
        words = tuple(dict.fromkeys(" ".join(i.split()) for i in items if i.strip()))
        if len(words) > MAX_KEYWORDS:
            raise InvalidInput(f"{name} may hold at most {MAX_KEYWORDS} keywords, not {len(words)}")
        for word in words:
            _ensure_clean(name, word)
            if len(word) > MAX_KEYWORD:
                raise InvalidInput(
                    f"{name}: a keyword is at most {MAX_KEYWORD} characters; {word[:20]!r}... "
                    f"has {len(word)}"
                )
            if not normalise(word):
                raise InvalidInput(
                    f"{name}: {word!r} has no letters or digits, so no message could match it"
                )
            for other, always in ALWAYS_ON.items():
                if other != name and normalise(word) in {normalise(k) for k in always}:
                    raise InvalidInput(
                        f"{name} cannot hold {word!r}: it always means what "
                        f"{other} says (a CTIA keyword)"
                    )
        return words


_TRUE = ("yes", "on", "true", "1")
_FALSE = ("no", "off", "false", "0")


@record
class Bool:
    def check(self, name: str, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        word = value.strip().lower() if isinstance(value, str) else None
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise InvalidInput(f"{name} must be yes or no (on/off), not {_shown(value)}")


NEVER = ("never", "off", "none", "no")


@record
class Never:
    """0 for never, else a whole number of ``unit`` from ``low`` to ``high``."""

    unit: str
    low: int
    high: int

    def describe(self) -> str:
        return f"never or a whole number of {self.unit} between {self.low} and {self.high}"

    def check(self, name: str, value: Any) -> int:
        if isinstance(value, str) and value.strip().lower() in NEVER:
            return 0
        number = Number(int, self.low, self.high).read(value)
        if number == 0:
            return 0
        if number is None or not self.low <= number <= self.high:
            raise InvalidInput(f"{name} must be {self.describe()}, not {_shown(value)}")
        return int(number)


@record
class Choice:
    options: tuple[str, ...]

    def describe(self) -> str:
        return "one of " + ", ".join(self.options)

    def check(self, name: str, value: Any) -> str:
        word = value.strip().lower() if isinstance(value, str) else None
        if word not in self.options:
            raise InvalidInput(f"{name} must be {self.describe()}, not {_shown(value)}")
        return word


@record
class Zone:
    def describe(self) -> str:
        return "a named IANA time zone, such as America/New_York"

    def check(self, name: str, value: Any) -> str:
        from core.weektime import check_zone

        if not isinstance(value, str):
            raise InvalidInput(f"{name} must be {self.describe()}, not {_shown(value)}")
        try:
            return check_zone(value.strip())
        except InvalidInput as exc:
            raise InvalidInput(f"{name}: {exc}") from None


@record
class Url:
    """An http(s) address to build links on: no query, no fragment, no credentials."""

    def describe(self) -> str:
        return "an http:// or https:// address with no query, such as https://sms.example.com"

    def check(self, name: str, value: Any) -> str:
        from urllib.parse import urlsplit

        text = value.strip().rstrip("/") if isinstance(value, str) else None
        if not text or has_control_characters(text) or any(c.isspace() for c in text):
            raise InvalidInput(f"{name} must be {self.describe()}, not {_shown(value)}")
        parts = urlsplit(text)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.query
            or parts.fragment
            or parts.username
            or len(text) > 200
        ):
            raise InvalidInput(f"{name} must be {self.describe()}, not {_shown(value)}")
        return text


Rule = Number | Text | Code | Keywords | Bool | Never | Choice | Zone | Url

_CURRENCY = re.compile(r"[A-Z]{3}")

RULES: dict[str, Rule] = {
    "public_minutes": Number(int, 1, 24 * 60),
    "default_region": Code(
        "a region code phone numbers know, such as US or GB",
        phones.is_region,
    ),
    "optout_keywords": Keywords(),
    "optin_keywords": Keywords(),
    "help_keywords": Keywords(),
    "optout_notice": Text(),
    "optout_reply": Text(),
    "optin_reply": Text(),
    "help_reply": Text(),
    "cost_per_segment": Number(float, 0, 100),
    "currency": Code(
        "a three-letter ISO 4217 currency code, such as USD",
        lambda code: _CURRENCY.fullmatch(code) is not None,
    ),
    "mms_max_bytes": Number(int, 1024, 100 * 1024 * 1024),
    "sandbox_delivery_seconds": Number(float, 0, 3600),
    # 1e9 is how benchmarks and tests say "no limit"; anything above is a typo.
    "rate_segments_per_second": Number(float, 0.01, 1e9),
    "max_message_parts": Number(int, 1, 255),
    "max_attempts": Number(int, 1, 100),
    "retry_base_seconds": Number(float, 0.1, 3600),
    "retry_max_seconds": Number(float, 0.1, 86_400),
    # At least a day: a console left open over a weekend reloads rather than
    # following, which is fine; a feed emptied every hour would make every poll miss.
    "event_retention_days": Number(int, 1, 3650),
    # Long enough to read a message and press a key over SSH; at most an hour,
    # past which a waiting contact is better served by the public minutes.
    "offer_seconds": Number(int, 5, 3600),
    "hipaa_mode": Bool(),
    "staff_sms": Bool(),
    "mobile_alerts": Bool(),
    # The seed's drop-downs: never, or up to half an hour / five times.
    "alert_every_minutes": Never("minutes", 1, 30),
    "alert_reminders": Never("reminders", 1, 5),
    "alert_escalate_after": Never("attempts", 1, 5),
    "alert_message_body": Bool(),
    "time_zone": Zone(),
    "bundle_segments": Number(int, 0, bundle.MOST_SEGMENTS),
    "bundle_warn_percent": Number(int, 1, 100),
    "bundle_when_full": Choice(bundle.WHEN_FULL),
    "case_page_url": Url(),
    # Long enough for a repair that takes weeks; short enough that a forwarded
    # text stops opening the case.
    "case_link_days": Number(int, 1, 90),
}
assert set(RULES) == set(SETTING_NAMES), "every setting has a rule"


def describe(name: str) -> str:
    """What ``name`` accepts, for help texts and `settings list`."""
    rule = RULES[name]
    if name == "bundle_segments":
        return "0 for no bundle, or the segments bought per month"
    if isinstance(rule, Number | Never | Choice | Zone | Url):
        return rule.describe()
    if isinstance(rule, Code):
        return rule.what
    if isinstance(rule, Bool):
        return "yes or no"
    if isinstance(rule, Keywords):
        return "comma-separated keywords, added to " + ", ".join(ALWAYS_ON[name]) + " (always on)"
    return f"non-empty text, at most {rule.max_length} characters"


def _shown(value: Any) -> str:
    """A refused value as it was given: `nan`, `-1`, or quoted when it has spaces or oddities."""
    if isinstance(value, str):
        if not value.strip():
            return "an empty value"
        text = value if value.isprintable() and " " not in value else repr(value)
    else:
        text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _ensure_clean(name: str, text: str) -> None:
    if not is_utf8(text):
        raise InvalidInput(f"{name} must be valid UTF-8 text")
    refuse_control_characters(name, text, "\n\t")


def check(name: str, value: Any) -> Any:
    """``value`` as the setting ``name`` holds it; InvalidInput naming the rule if it breaks it."""
    if name not in RULES:
        raise InvalidInput(f"unknown setting {name!r}; known: {', '.join(SETTING_NAMES)}")
    return RULES[name].check(name, value)


@record
class Agreement:
    """A rule between settings. A stored set that breaks it (edited by hand, or
    written by an older version) gets ``reset`` back to their defaults."""

    reset: tuple[str, ...]
    broken: Callable[[Settings], str | None]


def _retry_order(s: Settings) -> str | None:
    if s.retry_max_seconds >= s.retry_base_seconds:
        return None
    return (
        f"retry_max_seconds ({_number(s.retry_max_seconds)}) cannot be less than "
        f"retry_base_seconds ({_number(s.retry_base_seconds)})"
    )


def _alerts_need_staff_sms(s: Settings) -> str | None:
    if not s.mobile_alerts or s.staff_sms:
        return None
    return (
        "mobile_alerts cannot be on while staff_sms (system SMS to staff) is off:"
        " turn staff_sms on first, or turn both off together"
    )


def _needs_frequency(name: str) -> Callable[[Settings], str | None]:
    def broken(s: Settings) -> str | None:
        if not getattr(s, name) or s.alert_every_minutes:
            return None
        return (
            f"{name} ({getattr(s, name)}) needs alert_every_minutes: they are sent every"
            " N minutes, and it is never; set alert_every_minutes first"
        )

    return broken


AGREEMENTS: tuple[Agreement, ...] = (
    Agreement(("retry_base_seconds", "retry_max_seconds"), _retry_order),
    Agreement(("mobile_alerts",), _alerts_need_staff_sms),
    Agreement(("alert_reminders",), _needs_frequency("alert_reminders")),
    Agreement(("alert_escalate_after",), _needs_frequency("alert_escalate_after")),
)
"""Each one's defaults agree with every other's, so resetting one never breaks another."""


def _validate(s: Settings) -> None:
    """Rules between settings: the first broken one is refused, naming it."""
    for agreement in AGREEMENTS:
        why = agreement.broken(s)
        if why is not None:
            raise InvalidInput(why)


def _from_rows(rows: list[Any]) -> Settings:
    values: dict[str, Any] = {}
    for row in rows:
        name = row["key"]
        if name not in RULES:
            continue  # written by another version; not ours to read
        try:
            values[name] = check(name, json.loads(row["value"]))
        except (InvalidInput, ValueError, TypeError) as exc:
            log.warning("stored setting %s is unusable (%s); using the default", name, exc)
    loaded = replace(Settings(), **values)
    default = Settings()
    for agreement in AGREEMENTS:
        why = agreement.broken(loaded)
        if why is not None:
            log.warning(
                "stored settings disagree (%s); using the defaults of %s",
                why,
                ", ".join(agreement.reset),
            )
            loaded = replace(loaded, **{n: getattr(default, n) for n in agreement.reset})
    return loaded


def from_stored(pairs: Iterable[Sequence[str]]) -> Settings:
    """Settings from (key, value) pairs as stored (value JSON), read some other way."""
    return _from_rows([{"key": key, "value": value} for key, value in pairs])


async def load(db: Database | Tx) -> Settings:
    return _from_rows(await db.fetchall("SELECT key, value FROM settings"))


STORED_AS_JSON: Final = "(SELECT json_group_object(key, value) FROM settings)"
"""Every stored setting, as stored (a JSON text each), in one JSON object: a column
of a larger read (``from_json``). A value that is not JSON stays a string here, and
is refused one setting at a time as ``load`` refuses it."""


@lru_cache(maxsize=8)
def from_json(stored: str) -> Settings:
    """Settings from ``STORED_AS_JSON``'s text; the same text is parsed and checked once
    (Settings are immutable), so a request that reads them costs a lookup."""
    values = json.loads(stored) if stored else {}
    return _from_rows([{"key": k, "value": v} for k, v in values.items()])


async def load_in(tx: Tx) -> Settings:
    """Settings as seen inside a transaction (consistent with its writes)."""
    return _from_rows(await tx.fetchall("SELECT key, value FROM settings"))


async def update(db: Database, actor: Actor, **changes: Any) -> Settings:
    """Change settings; refused, naming the rule, for unknown names and values that break one."""
    authorize(actor, Action.MANAGE_SETTINGS)
    unknown = sorted(set(changes) - set(SETTING_NAMES))
    if unknown:
        raise InvalidInput(
            f"unknown setting {', '.join(unknown)}; known: {', '.join(SETTING_NAMES)}"
        )
    coerced = {k: check(k, v) for k, v in changes.items()}
    async with db.transaction() as tx:
        merged = replace(await load_in(tx), **coerced)
        _validate(merged)
        await tx.executemany(
            "INSERT INTO settings (key, value) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [(k, json.dumps(v)) for k, v in coerced.items()],
        )
        await tx.emit("settings.changed", "settings", actor_id=actor.id, names=sorted(coerced))
    return merged
