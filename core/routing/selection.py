"""Who is offered a waiting conversation next.

An agent may be offered a conversation of queue Q when they are active, in
an activity that is ``available``, their active permission profile takes Q
with messaging on (and Q itself has messaging on), they hold fewer than the
profile's ``max_simultaneous`` open conversations (owned, not public, not closed; a
pending offer counts as one, so offers never exceed what they may hold), and
their ``interaction_timeout_seconds`` has passed since ``idle_since``.

Order: the profile's score for Q (highest first), then the user's
distribution score, then the longest idle. Candidates are read in one query
for every queue a sweep needs, and conversations are assigned in memory
(``assign``), so a sweep's cost does not grow with a query per conversation.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Collection, Iterable, Sequence

from core.db import Database, Tx
from core.records import record


@record
class Candidate:
    agent_id: int
    queue_id: int
    score: int
    """The active profile's score for this queue, 0-100."""
    distribution: int
    """The user's distribution score in that profile, 0-100."""
    idle_since: int
    """Milliseconds; 0 for an agent never idle-stamped (idle the longest)."""
    room: int
    """Offers they may still be given: max_simultaneous - open - pending."""
    auto_accept_seconds: int | None


@record
class Waiting:
    conversation_id: int
    queue_id: int
    tried: frozenset[int] = frozenset()
    """Agents who refused it or let it expire (or transferred it away): last resort only."""


_CANDIDATES = """
SELECT pq.queue_id, g.id AS agent_id, pq.score, pu.distribution_score,
       coalesce(g.idle_since, 0) AS idle_since, p.auto_accept_seconds,
       p.max_simultaneous
         - (SELECT count(*) FROM conversations c WHERE c.owner_id = g.id AND c.is_public = 0
            AND c.closed_at IS NULL)
         - (SELECT count(*) FROM offers o WHERE o.agent_id = g.id AND o.status = 'pending')
         AS room
FROM agents g
JOIN activities a ON a.id = g.activity_id AND a.available = 1
JOIN permission_profiles p ON p.id = g.active_profile_id
JOIN permission_profile_users pu ON pu.profile_id = p.id AND pu.agent_id = g.id
JOIN permission_profile_queues pq ON pq.profile_id = p.id AND pq.messaging = 1
JOIN queues q ON q.id = pq.queue_id AND q.messaging = 1
WHERE g.active = 1
  AND pq.queue_id IN (SELECT value FROM json_each(:queues))
  AND (g.idle_since IS NULL OR g.idle_since + p.interaction_timeout_seconds * 1000 <= :now)
"""


async def candidates(db: Database | Tx, queue_ids: Collection[int], now_ms: int) -> list[Candidate]:
    """Every agent who may be offered a conversation of one of ``queue_ids`` now."""
    if not queue_ids:
        return []
    rows = await db.fetchall(
        _CANDIDATES, {"queues": json.dumps(sorted(set(queue_ids))), "now": now_ms}
    )
    return [
        Candidate(
            r["agent_id"],
            r["queue_id"],
            r["score"],
            r["distribution_score"],
            r["idle_since"],
            r["room"],
            r["auto_accept_seconds"],
        )
        for r in rows
        if r["room"] > 0
    ]


def assign(
    waiting: Sequence[Waiting], found: Iterable[Candidate], now_ms: int
) -> list[tuple[Waiting, Candidate]]:
    """Pick an agent for each conversation of ``waiting``, in its order, as far as room goes.

    An agent given an offer goes behind everyone idle before now (they are no
    longer the longest idle) and has one less room. Someone in ``tried`` is
    chosen only when nobody else in the queue is eligible.
    """
    heaps: dict[int, list[tuple[int, int, int, int]]] = {}
    best: dict[tuple[int, int], Candidate] = {}
    room: dict[int, int] = {}
    idle: dict[int, int] = {}
    for c in found:
        heaps.setdefault(c.queue_id, []).append(
            (-c.score, -c.distribution, c.idle_since, c.agent_id)
        )
        best[(c.agent_id, c.queue_id)] = c
        room[c.agent_id] = c.room
        idle[c.agent_id] = c.idle_since
    for entries in heaps.values():
        heapq.heapify(entries)
    chosen: list[tuple[Waiting, Candidate]] = []
    stamp = now_ms
    for w in waiting:
        heap = heaps.get(w.queue_id, [])
        if not heap:
            continue
        aside: list[tuple[int, int, int, int]] = []
        pick: tuple[int, int, int, int] | None = None
        while heap:
            entry = heapq.heappop(heap)
            agent = entry[3]
            if room[agent] <= 0:
                continue  # full: dropped from every queue as its entries come up
            if entry[2] != idle[agent]:
                # Offered in another queue since: back in line at its new place.
                heapq.heappush(heap, (entry[0], entry[1], idle[agent], agent))
                continue
            if agent in w.tried:
                aside.append(entry)
                continue
            pick = entry
            break
        if pick is None and aside:
            pick = aside.pop(0)  # only those who already missed it are left
        for entry in aside:
            heapq.heappush(heap, entry)
        if pick is None:
            continue
        agent = pick[3]
        room[agent] -= 1
        stamp += 1  # after everyone idle before now, in the order they were offered
        idle[agent] = stamp
        if room[agent] > 0:
            heapq.heappush(heap, (pick[0], pick[1], stamp, agent))
        chosen.append((w, best[(agent, w.queue_id)]))
    return chosen
