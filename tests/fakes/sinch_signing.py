"""How Sinch signs a callback, written from its documentation (not from the SDK).

Base64 HMAC-SHA256, keyed with the callback secret, of ``body.nonce.timestamp``,
with the timestamp in Unix seconds. Kept apart from the SDK so the server's
check is tested against an independent signer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time


def signed_headers(
    secret: str, body: bytes, *, nonce: str | None = None, timestamp: int | None = None
) -> dict[str, str]:
    nonce = nonce or secrets.token_hex(16)
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    data = body + f".{nonce}.{stamp}".encode()
    signature = base64.b64encode(hmac.new(secret.encode(), data, hashlib.sha256).digest()).decode()
    return {
        "Content-Type": "application/json",
        "x-sinch-webhook-signature": signature,
        "x-sinch-webhook-signature-nonce": nonce,
        "x-sinch-webhook-signature-timestamp": stamp,
        "x-sinch-webhook-signature-algorithm": "HmacSHA256",
    }
