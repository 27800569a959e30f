"""Due-time jobs: what the worker runs, given to it as a list.

A job is a name, an interval, ``run() -> handled`` and, optionally,
``next_due()``: the instant its next piece of work falls due. The worker
ticks every job at its interval (so nothing is missed when a due time is
written by another process), and after a run of a job with ``next_due`` it
wakes that job at the due time when that is sooner than the next tick: a
due time is then acted on when it falls, not up to an interval later.

The list is composed in one place, ``core.scheduling.worker.default_jobs``; a
capability adds a job by composing its own list around it, without touching
the worker.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import datetime

from core.errors import InvalidInput
from core.records import record


@record
class Job:
    name: str
    """Unique in a worker's list: it names the ticker's job and the log lines."""
    every: float
    """Seconds between ticks; the ceiling on lateness when ``next_due`` is absent."""
    run: Callable[[], Awaitable[int]]
    """Does what is due now; returns how many things it handled."""
    next_due: Callable[[], Awaitable[datetime | None]] | None = None
    """When the next thing falls due (None: nothing waiting)."""
    needs_lease: bool = True
    """Only the lease holder runs it. False only for the lease job itself."""

    def __post_init__(self) -> None:
        if not self.name:
            raise InvalidInput("a worker job needs a name")
        if not (isinstance(self.every, int | float) and math.isfinite(self.every)) or (
            self.every <= 0
        ):
            raise InvalidInput(
                f"worker job {self.name!r} must run every finite, positive number of seconds,"
                f" not {self.every!r}"
            )


def check_list(jobs: list[Job]) -> None:
    """The rules of a worker's list: names unique, exactly one job without the lease."""
    names = [job.name for job in jobs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InvalidInput(f"worker job names must be unique; repeated: {', '.join(duplicates)}")
    unleased = [job.name for job in jobs if not job.needs_lease]
    if len(unleased) != 1:
        # Only the lease holder acts: one job (the lease) decides who that is.
        raise InvalidInput(
            "a worker's jobs must include exactly one that runs without the lease (the lease"
            f" job itself), not {len(unleased)}"
        )
