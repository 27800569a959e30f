"""Getting messages out: the outbox, its budgets and batches, and what a provider must offer."""
