"""Rendered case pages, kept while nothing has changed: the change feed says when.

A contact's page is their notes on one case, rendered (Jinja2, a few hundred
microseconds for twenty notes): most of a view's cost. Every write the page
shows (a note, a contact's name or email, a case's title or status, the
settings) emits an event in the same transaction, so a page rendered when the
feed's last event was N is still right while it is N. A write that emits
nothing (none is known to) is shown within ``TTL_SECONDS`` anyway. The link
is checked on every request before the cache is asked, from a check kept while
the feed stands still (providers.case_page.checks): an expired link never gets
a kept page, a revoked one not after the feed watch's next read.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Final

TTL_SECONDS: Final = 5.0
MAX_PAGES: Final = 512

Key = tuple[str, str]
"""(the link's token, what the page says after a form: "", "sent", "email")."""


class PageCache:
    def __init__(self, *, max_pages: int = MAX_PAGES, ttl_seconds: float = TTL_SECONDS) -> None:
        self._pages: OrderedDict[Key, tuple[int, float, str]] = OrderedDict()
        self._max = max_pages
        self._ttl = ttl_seconds

    def get(self, key: Key, feed_id: int) -> str | None:
        kept = self._pages.get(key)
        if kept is None:
            return None
        at_feed, made, html = kept
        if at_feed != feed_id or time.monotonic() - made > self._ttl:
            del self._pages[key]
            return None
        self._pages.move_to_end(key)
        return html

    def put(self, key: Key, feed_id: int, html: str) -> None:
        self._pages[key] = (feed_id, time.monotonic(), html)
        self._pages.move_to_end(key)
        while len(self._pages) > self._max:
            self._pages.popitem(last=False)
