"""Two-way SMS: conversations, inbound hooks, opt-out and consent, segments, MMS, numbers."""
