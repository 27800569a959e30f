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
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Freeze what start-up made, after collecting its garbage (frozen garbage stays)."""
    gc.collect()
    gc.freeze()


def release() -> None:
    """Give the frozen objects back to the collector: the process is done with them
    (tests run many apps and workers in one process)."""
    gc.unfreeze()
