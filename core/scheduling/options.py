"""How a worker runs: intervals, batch sizes, leases.

Kept apart from worker.py so that reading the options (``switchboard worker
--help``, the console's set-up) does not load the scheduler.
"""

from __future__ import annotations

from core.records import record


@record
class WorkerOptions:
    lease_seconds: float = 10.0
    """A stopped worker's lease lapses after this long; another then takes over."""
    pump_every: float = 0.2
    sweep_every: float = 1.0
    batch_size: int = 100
    batches_per_tick: int = 20
    send_concurrency: int = 8
    send_lease_seconds: float = 120.0
    """How long a message may stay 'sending' before it is presumed lost and queued again."""
    email_connections: int = 4
    """Connections the email job holds to the mail server at once (email_job.py says why
    so few)."""
    wake_at_next_due: bool = True
    """Wake a job with ``next_due`` at its due time, not only at its next tick (off: the
    baseline bench.lateness compares against)."""
    wake_gap: float = 0.05
    """A wake comes at least this long after the job's last run ended: due times a few
    milliseconds apart are taken by one run, not one run (one write transaction) each."""
