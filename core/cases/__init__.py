"""Cases with customer contacts (C1-C4): locations, cases and their contacts, notes and
quick actions, replies by SMS, signed links to the mobile case page."""
