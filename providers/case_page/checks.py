"""Link checks kept by token while the change feed stays where they were made.

A kept check is used only when the watch's position is the one read with it;
the row's expiry and the token's age are still held against the clock on every
use (core.cases.links.still_good). Only good links are kept: a forged or bad
token never pushes a good one out.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

from core.cases import links
from core.clock import Clock

MAX_CHECKS: Final = 4096


class LinkChecks:
    def __init__(self, *, max_checks: int = MAX_CHECKS) -> None:
        self._kept: OrderedDict[str, links.Checked] = OrderedDict()
        self._max = max_checks

    def get(self, token: str, feed_id: int | None, clock: Clock) -> links.Checked | None:
        kept = self._kept.get(token)
        if kept is None or feed_id is None:
            return None
        if kept.feed_id != feed_id or not links.still_good(kept, clock.now()):
            del self._kept[token]
            return None
        self._kept.move_to_end(token)
        return kept

    def put(self, token: str, checked: links.Checked) -> None:
        self._kept[token] = checked
        self._kept.move_to_end(token)
        while len(self._kept) > self._max:
            self._kept.popitem(last=False)
