"""Routing (issue #10 items 6-7): who is offered a new conversation, offers, transfers.

- ``hook``: the inbound hook that puts a new conversation on a queue's number
  in line for routing (``conversations.queue_id``, ``route_due_at``).
- ``selection``: who is offered next (eligibility and order), as one query
  and a pure assignment, so 10,000 waiting conversations are one sweep.
- ``offers``: offer, accept, refuse, expire, auto-accept, withdraw.
- ``activities``: an agent's activity, missed offers and idle time.
- ``transfers``: hand a conversation to a queue or a named agent; its history.
- ``jobs``: the worker job that sweeps the due rows.

What a permission profile says (queues and scores, distribution scores,
capacity, timeouts, may_refuse, auto-accept, missed-offer limit) is read
here straight from the schema-7 tables; who may act is asked of
``core.people.authz.authorize``.
"""
