"""Is a signed Sinch callback genuine and new? Signature, timestamp window, nonce.

Sinch signs each callback with the webhook secret: a base64 HMAC-SHA256 of
``body.nonce.timestamp`` in ``x-sinch-webhook-signature``, with the nonce and
the timestamp (Unix seconds) in their own headers. The SDK checks the
signature; it does not check how old the timestamp is nor whether the nonce
was used before, so a captured callback could be sent again forever. Here a
callback is refused when

* a signature header is missing (``missing_headers``);
* the signature does not match (``bad_signature``);
* its timestamp is further than ``window_seconds`` from now, either way, or
  cannot be read (``stale_timestamp``);
* its nonce was seen with a timestamp still inside the window
  (``replayed_nonce``).

A nonce is remembered only while its timestamp is inside the window: after
that the timestamp alone refuses a replay. Memory is bounded by the callback
rate times the window, and by ``max_nonces``: when that many are remembered,
new callbacks are refused as ``busy`` (the server answers 503 and Sinch sends
them again later) rather than forgetting a nonce that could then be replayed.

The SDK (slow to import) is loaded only when a verifier is built.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from core.clock import Clock

SIGNATURE = "x-sinch-webhook-signature"
NONCE = "x-sinch-webhook-signature-nonce"
TIMESTAMP = "x-sinch-webhook-signature-timestamp"

RefusalReason = Literal[
    "missing_headers", "bad_signature", "stale_timestamp", "replayed_nonce", "busy"
]
DEFAULT_MAX_NONCES = 250_000
MAX_HEADER_CHARS = 200
"""Longer than any signature (44), nonce or timestamp Sinch sends; bounds what is remembered."""
MAX_TIMESTAMP_DIGITS = 12


class Refused(Exception):
    """The callback is not accepted; ``reason`` says why, the message says it for a person."""

    def __init__(self, reason: RefusalReason, message: str) -> None:
        super().__init__(message)
        self.reason: RefusalReason = reason

    @property
    def is_replay(self) -> bool:
        return self.reason in ("stale_timestamp", "replayed_nonce")


@dataclass(frozen=True, slots=True)
class Accepted:
    nonce: str
    timestamp: int


class CallbackVerifier:
    def __init__(
        self,
        secret: str,
        *,
        window_seconds: float,
        clock: Clock,
        max_nonces: int = DEFAULT_MAX_NONCES,
    ) -> None:
        if not secret:
            raise ValueError("a callback verifier needs the webhook secret")
        if window_seconds <= 0:
            raise ValueError("window_seconds must be more than 0")
        # Imported here: the SDK takes about a second to import, and a server
        # without a secret (the sandbox) never needs it.
        from sinch.domains.sms.sinch_events.v1.sms_sinch_event import SmsSinchEvent

        self._sdk = SmsSinchEvent(secret)
        self.window_seconds = window_seconds
        self.clock = clock
        self.max_nonces = max_nonces
        self._nonces: dict[str, int] = {}
        """nonce -> the timestamp it was signed with."""
        self._expiry: list[tuple[float, str]] = []
        """(when the nonce may be forgotten, nonce), a heap."""

    def __len__(self) -> int:
        return len(self._nonces)

    def check(self, headers: Mapping[str, str], body: bytes) -> Accepted:
        """Accept the callback (remembering its nonce) or raise Refused."""
        signature, nonce, stamp = (headers.get(h) for h in (SIGNATURE, NONCE, TIMESTAMP))
        if not signature or not nonce or not stamp:
            missing = [
                h for h, v in ((SIGNATURE, signature), (NONCE, nonce), (TIMESTAMP, stamp)) if not v
            ]
            raise Refused("missing_headers", f"unsigned callback: no {', '.join(missing)}")
        odd = [
            h
            for h, v in ((SIGNATURE, signature), (NONCE, nonce), (TIMESTAMP, stamp))
            if not _is_header_text(v)
        ]
        if odd:
            # Sinch sends short ASCII here; anything else cannot carry its signature
            # (and the SDK's compare_digest raises TypeError on non-ASCII text).
            raise Refused(
                "bad_signature",
                f"{', '.join(odd)} must be printable ASCII, at most {MAX_HEADER_CHARS} long",
            )
        try:
            valid = self._sdk.validate_authentication_header(
                {SIGNATURE: signature, NONCE: nonce, TIMESTAMP: stamp}, body
            )
        except (UnicodeDecodeError, LookupError, ValueError):
            valid = False  # not UTF-8: Sinch never signs such a body
        if not valid:
            raise Refused("bad_signature", "the callback's signature does not match the secret")

        now = self.clock.now().timestamp()
        self._forget_expired(now)
        # Digits only, and few: int() would also take "1_0", " 10" and other scripts'
        # digits, and a number too big for a float cannot be compared with the clock.
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= MAX_TIMESTAMP_DIGITS):
            raise Refused(
                "stale_timestamp",
                f"the signature timestamp {stamp!r} is not Unix seconds (at most"
                f" {MAX_TIMESTAMP_DIGITS} digits)",
            )
        timestamp = int(stamp)
        age = now - timestamp
        if abs(age) > self.window_seconds:
            when = f"{age:.0f} s old" if age > 0 else f"{-age:.0f} s in the future"
            raise Refused(
                "stale_timestamp",
                f"the signature timestamp is {when}; the window is {self.window_seconds:g} s",
            )

        if nonce in self._nonces:
            raise Refused("replayed_nonce", "the signature nonce was already used")
        if len(self._nonces) >= self.max_nonces:
            raise Refused(
                "busy", f"{len(self._nonces):,} nonces remembered, the most allowed; try later"
            )
        self._nonces[nonce] = timestamp
        heapq.heappush(self._expiry, (timestamp + self.window_seconds, nonce))
        return Accepted(nonce, timestamp)

    def forget(self, accepted: Accepted) -> None:
        """Let this nonce be used again: the callback was not stored, and Sinch will resend it."""
        if self._nonces.get(accepted.nonce) == accepted.timestamp:
            del self._nonces[accepted.nonce]
        # Its heap entry stays until it expires; _forget_expired skips it then.

    def _forget_expired(self, now: float) -> None:
        expiry = self._expiry
        while expiry and expiry[0][0] < now:
            until, nonce = heapq.heappop(expiry)
            stamp = self._nonces.get(nonce)
            if stamp is not None and stamp + self.window_seconds == until:
                del self._nonces[nonce]


def _is_header_text(value: str) -> bool:
    return len(value) <= MAX_HEADER_CHARS and value.isascii() and value.isprintable()
