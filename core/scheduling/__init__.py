"""The worker: due-time jobs, the lease that lets one worker act, and what it runs."""
