"""Another process texting in: inbound SMS at a steady rate, for bench.console.

``python -m bench.busy_feed DB RATE PHONES`` receives RATE messages a second,
each from one of PHONES numbers (so most land in conversations the console
already lists, and some start new ones), until it is terminated. It prints
"writing" once the first message is stored, and, when stopped (SIGTERM), "wrote
COUNT SECONDS".
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path

from core.clock import SystemClock
from core.db import open_database
from core.sms import receiving

OUR_NUMBER = "+14155550100"  # the demo's default number


async def write(path: Path, rate: float, phones: int) -> None:
    db = await open_database(path, SystemClock())
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    started = time.perf_counter()
    sent = 0
    try:
        while not stop.is_set():
            # Paced against the start, not the last message: a slow commit is
            # caught up, so the rate is the rate asked for.
            due = started + sent / rate
            if (wait := due - time.perf_counter()) > 0:
                try:
                    await asyncio.wait_for(stop.wait(), wait)
                    break
                except TimeoutError:
                    pass
            phone = f"+1646555{sent * 7919 % phones:04d}"
            await receiving.receive(db, phone, OUR_NUMBER, f"busy feed message {sent}")
            sent += 1
            if sent == 1:
                print("writing", flush=True)
    finally:
        print(f"wrote {sent} {time.perf_counter() - started:.3f}", flush=True)
        await db.close()


if __name__ == "__main__":
    asyncio.run(write(Path(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])))
