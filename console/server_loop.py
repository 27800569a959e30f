"""The event loop of the processes that serve: the headless worker (and its benches).

uvloop where it is installed (every platform but Windows), else asyncio's own.
The worker's webhook server spends most of its time in the event loop's
socket reads and writes; on uvloop the same server answers signed MO
callbacks with about a fifth less CPU per callback (bench/webhooks.py:
0.19 -> 0.15 ms). The console keeps asyncio's loop: Textual runs its own, and
an agent's screen is not a server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


def factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """A new server loop, for ``asyncio.Runner(loop_factory=...)``; None: asyncio's own."""
    try:
        import uvloop
    except ImportError:  # Windows, or installed without it: asyncio's loop serves too
        return None
    return uvloop.new_event_loop


def name() -> str:
    """The loop ``factory`` gives, for logs and the benches' headers."""
    return "asyncio" if factory() is None else "uvloop"
