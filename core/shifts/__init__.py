"""Shifts (A3): when each staff member is on a normal or an on-call shift."""
