"""The page's form posts, read by hand: url-encoded, small, and whole or not at all.

aiohttp's ``request.post()`` would take up to the server's body limit (the
Sinch callbacks' megabyte); a note is at most 2,000 characters, so a form
body is held to ``MAX_FORM_BYTES`` and a larger one is refused before it is
parsed.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import parse_qsl

from aiohttp import web

MAX_FORM_BYTES: Final = 32_768
"""A 2,000-character note of 4-byte characters, percent-encoded (x3), and the rest of the form."""
MAX_FIELDS: Final = 300


class FormRefused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Form:
    """The fields of one post; a field sent more than once (checkboxes) keeps every value."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def get(self, name: str) -> str:
        return next((value for key, value in self._pairs if key == name), "")

    def getall(self, name: str) -> list[str]:
        return [value for key, value in self._pairs if key == name]

    def without(self, name: str) -> Form:
        return Form([(key, value) for key, value in self._pairs if key != name])


async def read(request: web.Request) -> Form:
    """The posted form, or FormRefused (413 too large, 415 not a form, 400 unreadable)."""
    if request.content_type not in ("application/x-www-form-urlencoded", ""):
        raise FormRefused(415, "this page accepts only its own forms")
    length = request.content_length
    if length is not None and length > MAX_FORM_BYTES:
        raise FormRefused(413, _too_large())
    body = await _body(request)
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise FormRefused(
            400, f"the form could not be read (not UTF-8 text, or over {MAX_FIELDS} fields)"
        ) from None
    return Form(pairs)


async def _body(request: web.Request) -> bytes:
    """The whole body, or FormRefused past ``MAX_FORM_BYTES``. One ``read(n)`` returns
    what has arrived so far, at most n: a body sent in pieces would be cut short."""
    body = bytearray()
    while True:
        piece = await request.content.read(MAX_FORM_BYTES + 1 - len(body))
        if not piece:
            return bytes(body)
        body += piece
        if len(body) > MAX_FORM_BYTES:
            raise FormRefused(413, _too_large())


def query_form(request: web.Request) -> Form:
    """A GET form's fields (the recipients search)."""
    return Form([(key, value) for key, value in request.query.items()])


def ids(values: list[str]) -> list[int]:
    """Contact ids as the forms write them; anything else is dropped (core checks the rest)."""
    found: list[int] = []
    for value in values:
        if value.isascii() and value.isdigit() and len(value) <= 18 and int(value) not in found:
            found.append(int(value))
    return found


def _too_large() -> str:
    return f"the form is over {MAX_FORM_BYTES:,} bytes; a note may be at most 2,000 characters"
