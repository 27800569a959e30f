"""The routing job: the worker's sweep of due offers and conversations waiting to be routed."""

from __future__ import annotations

from core.db import Database
from core.routing import offers
from core.scheduling.jobs import Job

EVERY_SECONDS = 0.25
"""The tick. Due times this process knows of are acted on when they fall (``next_due``
wakes the job); the tick catches what nothing here wakes for: a new conversation
stored by the webhook server or another process, a refusal, a take. A tick with
nothing due is two reads (``offers.sweep``), so it can be frequent: it bounds the
latency from an inbound message to its offer."""


def job(db: Database) -> Job:
    return Job(
        "routing", EVERY_SECONDS, lambda: offers.sweep(db), next_due=lambda: offers.next_due(db)
    )
