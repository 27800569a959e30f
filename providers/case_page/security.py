"""What every answer under /c/ carries, and what every form post must prove.

The token in the path is the contact's key to the case: no referrer may leak
it, no cache may keep the page, no other site may frame it or post to it.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from aiohttp import web

HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';"
        " base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: every answer, refusals and errors included."""
    response.headers.update(HEADERS)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_origin(request: web.Request, page_url: str) -> bool:
    """Whether a post may come from our own page, as far as the browser says.

    An Origin, when one is named, must be this server as the client reached it
    (Host) or as the links name it (setting case_page_url, e.g. behind a
    proxy). "null" is what Chromium sends for our own forms, because of our
    Referrer-Policy no-referrer; it passes here, and Sec-Fetch-Site, which
    browsers send whatever the policy, must then say the post is ours. Without
    either header (not a browser), the form token alone decides.
    """
    origin = request.headers.get("Origin", "").strip().lower()
    ours = {f"{request.scheme}://{request.host}".lower(), origin_of(page_url)}
    if origin and origin != "null" and origin not in ours:
        return False
    return request.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")
