"""The headless worker leaves start-up's objects out of the collector's passes while it runs.

A 100,000-target campaign allocates a few objects per target; each older-generation
pass that set off walked the provider SDK's start-up heap again (bench.campaigns:
1.5 s of 5.9 s). ``serve`` freezes that heap once it is made and gives it back when
it stops (tests run many workers in one process). Meanwhile the youngest generation
is collected less often, and the collector's thresholds come back with the heap.
"""

from __future__ import annotations

import asyncio
import gc

from console import heap
from console.commands.worker import serve
from core.db import Database
from core.scheduling.options import WorkerOptions
from providers.config import Config


async def test_the_headless_worker_freezes_what_start_up_made_and_gives_it_back(
    db: Database,
) -> None:
    before = gc.get_threshold()
    assert before[0] < heap.YOUNG_OBJECTS
    stop = asyncio.Event()
    serving = asyncio.create_task(serve(db, WorkerOptions(), Config(), webhooks=False, stop=stop))
    for _ in range(1000):  # a generous bound: the machine may be loaded
        if gc.get_freeze_count() > 0 or serving.done():
            break
        await asyncio.sleep(0.01)
    assert not serving.done()
    assert gc.get_freeze_count() > 0
    # The youngest generation is collected every YOUNG_OBJECTS allocations, not 700.
    assert gc.get_threshold() == (heap.YOUNG_OBJECTS, *before[1:])
    stop.set()
    await serving
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before
