"""Links to outbound MMS files, for a provider that fetches media by URL (Sinch).

The webhook server serves ``/media/<message_id>/<index>/<signature>``; the
signature (HMAC-SHA256 with the webhook secret) makes a link unguessable, so
only the provider that was given it can fetch the file.
"""

from __future__ import annotations

import hashlib
import hmac

MEDIA_PATH = "/media"


def signature(key: str, message_id: int, index: int) -> str:
    mac = hmac.new(key.encode(), f"{message_id}/{index}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def link(public_url: str, key: str, message_id: int, index: int) -> str:
    sig = signature(key, message_id, index)
    return f"{public_url.rstrip('/')}{MEDIA_PATH}/{message_id}/{index}/{sig}"


def is_valid(key: str, message_id: int, index: int, sig: str) -> bool:
    # compare_digest raises TypeError on non-ASCII str: a stranger's URL is
    # simply not a valid signature.
    return (
        bool(key) and sig.isascii() and hmac.compare_digest(signature(key, message_id, index), sig)
    )
