"""SMS campaigns (S1): campaigns, their targets and pool, the estimate before start,
dispatch inside quiet hours and the throttle, results per target."""
