"""Keeping the garbage collector's full passes off the keys.

CPython's full (oldest-generation) collection walks every object the process
tracks. A started console holds some 150,000 of them (modules, widgets,
styles, loaded rows), and each full pass held the event loop 70-200 ms: a key
pressed then waited for it, which made the keystroke p99 (bench.console).
What start-up makes lives as long as the console, so it is frozen: the full
passes walk only what came after, a few ms.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Freeze what start-up made, after collecting its garbage (frozen garbage stays)."""
    gc.collect()
    gc.freeze()


def release() -> None:
    """Give the frozen objects back to the collector: the app closes (tests run many)."""
    gc.unfreeze()
