"""The routing job: the worker's sweep of due offers and conversations waiting to be routed."""

from __future__ import annotations

from core.db import Database
from core.routing import offers
from core.scheduling.jobs import Job

EVERY_SECONDS = 1.0
"""The tick; due times are acted on when they fall (``next_due`` wakes the job), the
tick catches what another process wrote (a refusal, a take) without a wake."""


def job(db: Database) -> Job:
    return Job(
        "routing", EVERY_SECONDS, lambda: offers.sweep(db), next_due=lambda: offers.next_due(db)
    )
