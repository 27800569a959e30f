"""Notification profiles (P1-P7): who among a client's people is told, and how,
when an agent closes a conversation with an outcome.

- ``profiles``: notification profiles (P1); hold my calls and its expiry job (P7).
- ``contact_methods``: a profile's contact numbers, email addresses and SMS
  numbers, checked where they enter (5 of each).
- ``groups``: profile groups of up to 50 members.
- ``links``: where a profile, group or schedule is used; delete or replace (P5).
- ``holds``: whether a profile is held now (one rule for transfers and on-call).
- ``fields``: the collected data and merge fields (P2).
- ``outcomes``: closing outcomes and who each notifies (P3).
- ``hipaa``: HIPAA mode (P6): what may not be saved, and what is withheld.
- ``rendering``: each profile's SMS and email, from its mode, through the
  one template renderer (``core.templates``).
- ``oncall``: on-call schedules, weekly slots in a time zone; who is on call now
  (the week arithmetic is ``core.weektime``, shared with shifts).
- ``closing``: close a conversation with an outcome and fan the notices out (P4).

Emails go through ``core.delivery.emails``, SMS through ``core.delivery.outbox``.
"""
