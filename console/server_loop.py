"""The event loop of the processes that serve: the headless worker (and its benches).

uvloop where it is installed (every platform but Windows), else asyncio's own.
The worker's webhook server spends much of its time in the event loop's
socket reads and writes, which uvloop does in C: in bench/webhooks.py, run
one after the other in the same hour, the server's CPU per signed MO
callback went from 0.19 to 0.15 ms and its throughput from 0.44 to 0.54 of
bare aiohttp's (which is bound by the benchmark's client). The console keeps
asyncio's loop: Textual runs its own, and an agent's screen is not a server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """A new server loop, for ``asyncio.Runner(loop_factory=...)``; None: asyncio's own."""
    try:
        import uvloop
    except ImportError:  # Windows, or installed without it: asyncio's loop serves too
        return None
    return uvloop.new_event_loop


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on a new server loop (as ``asyncio.run`` does on its own)."""
    with asyncio.Runner(loop_factory=factory()) as runner:
        return runner.run(coro)


def name() -> str:
    """The loop ``factory`` gives, for logs and the benches' headers."""
    return "asyncio" if factory() is None else "uvloop"
