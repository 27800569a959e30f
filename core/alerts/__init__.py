"""Mobile alerts to staff (A1-A6): consent, the alert timeline, its preview."""
