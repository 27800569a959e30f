"""Shifts (A3): when each staff member is on a normal or an on-call shift.

- ``model``: a shift as stored and shown; the kinds (normal, oncall).
- ``shifts``: add weekly and one-off shifts, remove, list; the overlap rule.
- ``spans``: the real instants a shift holds, across daylight-saving changes.
- ``on_shift``: who is on shift at an instant (the alert sweep), now and next,
  the week for a grid.
- ``ics``: shifts from an iCalendar file.

The week arithmetic is ``core.weektime``, shared with the on-call schedules.
"""
