"""Getting messages out: the outbox, its budgets and batches, and what a provider must offer."""

MESSAGES_IN_ROWS = "coalesce(sum(coalesce(recipients, 1)), 0)"
"""How many messages some ``messages`` rows hold: a campaign's batch row (schema 14)
holds one for each of its recipients. Here, not in the outbox, so that ``switchboard
status`` counts them without loading the outbox (tests/test_layering.py)."""
