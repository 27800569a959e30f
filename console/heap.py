"""Keeping the garbage collector's full passes off long-lived processes.

CPython's older-generation collections walk every object the process tracks.
What start-up makes (modules, the provider SDK's pydantic schemas, Textual's
widgets and styles) lives as long as the process, yet each pass walked it
again:

- in the console, some 150,000 objects: each full pass held the event loop
  70-200 ms, and a key pressed then waited for it (bench.console's p99);
- in the headless worker, the SDK's schemas: a 100,000-target campaign
  allocates a few objects per target, and the collections that set off
  rescanned start-up's heap each time: 1.5 s of a 5.9 s dispatch.

So what start-up made is frozen, once it is made: later passes walk only what
came after.

And the youngest generation is collected every YOUNG_OBJECTS allocations
instead of CPython's 700. A callback, a dispatch chunk or a screen refresh
allocates thousands of short-lived objects; at 700 a pass ran every few of
them and walked what was still alive, and what it found alive it promoted,
so the older generations filled and were walked too. Collected less often,
most of those objects are gone before a pass sees them. Alternated on the
same machine against 700, a 100,000-target campaign dispatched 10-13 %
faster (5,000 and 20,000, four rounds); the webhook server's MO callbacks
gained +1 % to +14 % between trials, within that measurement's noise; the
console's keystroke p99 under a busy feed did not move (bench.console).
"""

from __future__ import annotations

import gc

YOUNG_OBJECTS = 10_000
_thresholds: list[tuple[int, int, int]] = []
"""The collector's thresholds before ``settle``, for ``release``."""


def settle() -> None:
    """Freeze what start-up made, after collecting its garbage (frozen garbage stays),
    and collect the youngest generation less often (YOUNG_OBJECTS)."""
    gc.collect()
    gc.freeze()
    before = gc.get_threshold()
    _thresholds.append(before)
    gc.set_threshold(max(YOUNG_OBJECTS, before[0]), *before[1:])


def release() -> None:
    """Give the frozen objects back to the collector, and its thresholds: the process is
    done with them (tests run many apps and workers in one process)."""
    gc.unfreeze()
    if _thresholds:
        gc.set_threshold(*_thresholds.pop())
