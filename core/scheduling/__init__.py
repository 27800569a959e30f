"""The worker: due-time jobs, the lease that lets one worker act, and what it runs."""

WORKER_LEASE = "worker"
"""The name of the worker's lease (``lease.WORKER``). Here, not only in ``lease``, so that
the send path can name it (the outbox says who is draining) without importing the
lease machinery."""
