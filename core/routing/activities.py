"""An agent's activity (Available, Away, Lunch...), missed offers and idle time.

The activity an agent may choose is one their active permission profile
offers. Going into an ``available`` activity resets the missed-offer count
(the agent is back) and starts the idle time the interaction timeout and
"longest idle" read. Missing ``max_missed_offers`` offers in a row moves the
agent to the profile's ``missed_activity_id`` (``apply_missed_limit_in``),
with an event that says why, so the console can tell them.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime

from core.clock import from_ms_or_none
from core.db import Database, Tx
from core.errors import InvalidInput, NotAllowed, NotFound
from core.people.authz import Actor
from core.records import record

MAX_ACTIVITY_NAME = 60

MISSED_OFFERS = "max_missed_offers"
"""The reason code in an ``agent.activity_changed`` event when the limit moved the agent."""
CHOSEN = "chosen"
LOGIN = "login"
"""The reason code when a session start put the agent in their profile's default activity."""


@record
class Activity:
    id: int
    name: str
    available: bool


@record
class AgentActivity:
    activity: Activity | None
    """None until the agent first chooses one (not offered conversations meanwhile)."""
    since: datetime | None
    missed_offers: int
    max_missed_offers: int | None
    allowed: tuple[Activity, ...]
    """What their active permission profile offers, the default first."""


async def _profile_of(db: Database | Tx, agent_id: int) -> tuple[int, str]:
    row = await db.fetchone(
        "SELECT p.id, p.name FROM agents g JOIN permission_profiles p"
        " ON p.id = g.active_profile_id WHERE g.id = ?",
        (agent_id,),
    )
    if row is None:
        raise NotAllowed(
            "you have no active permission profile, so no activity to choose; ask a manager"
        )
    return row["id"], row["name"]


async def allowed(db: Database | Tx, profile_id: int) -> tuple[Activity, ...]:
    rows = await db.fetchall(
        "SELECT a.id, a.name, a.available FROM permission_profile_activities pa"
        " JOIN activities a ON a.id = pa.activity_id WHERE pa.profile_id = ?"
        " ORDER BY pa.is_default DESC, a.id",
        (profile_id,),
    )
    return tuple(Activity(r["id"], r["name"], bool(r["available"])) for r in rows)


async def current(db: Database, actor: Actor) -> AgentActivity:
    """Where ``actor`` is now, and what they may choose."""
    if actor.id is None:
        raise InvalidInput("only an agent has an activity")
    row = await db.fetchone(
        "SELECT g.activity_since, g.missed_offers, a.id, a.name, a.available,"
        " p.max_missed_offers, p.id AS profile_id FROM agents g"
        " LEFT JOIN activities a ON a.id = g.activity_id"
        " LEFT JOIN permission_profiles p ON p.id = g.active_profile_id WHERE g.id = ?",
        (actor.id,),
    )
    if row is None:
        raise NotFound(f"no agent with id {actor.id}")
    activity = (
        None if row["id"] is None else Activity(row["id"], row["name"], bool(row["available"]))
    )
    return AgentActivity(
        activity,
        from_ms_or_none(row["activity_since"]),
        row["missed_offers"],
        row["max_missed_offers"],
        await allowed(db, row["profile_id"]) if row["profile_id"] is not None else (),
    )


def check_name(name: str) -> str:
    """An activity name as typed: trimmed, not empty, not absurdly long (it is untrusted)."""
    text = name.strip()
    if not text:
        raise InvalidInput("an activity name cannot be empty")
    if len(text) > MAX_ACTIVITY_NAME:
        raise InvalidInput(
            f"an activity name is at most {MAX_ACTIVITY_NAME} characters, not {len(text)}"
        )
    return text


async def choose(db: Database, actor: Actor, name: str) -> Activity:
    """Put ``actor`` in the activity called ``name`` (one their active profile offers)."""
    if actor.id is None:
        raise InvalidInput("only an agent has an activity")
    wanted = check_name(name)
    async with db.transaction() as tx:
        profile_id, profile = await _profile_of(tx, actor.id)
        row = await tx.fetchone(
            "SELECT id, name, available FROM activities WHERE name = ? COLLATE NOCASE", (wanted,)
        )
        if row is None:
            known = ", ".join(a.name for a in await allowed(tx, profile_id))
            raise NotFound(f"no activity called {wanted!r}; yours are: {known}")
        activity = Activity(row["id"], row["name"], bool(row["available"]))
        if activity not in await allowed(tx, profile_id):
            raise NotAllowed(
                f"your permission profile {profile!r} does not offer the activity {activity.name!r}"
            )
        await move_in(tx, actor.id, activity, reason=CHOSEN, actor_id=actor.id)
    return activity


async def start_session(db: Database, actor: Actor) -> Activity | None:
    """At login: an agent with no activity yet is put in their active profile's default
    activity (an agent who opens the console is routable without typing anything).

    Returns the activity set, or None when there was nothing to do: the agent
    already has an activity (kept as they left it), or no active profile with a
    default. Reads first; writes only when it sets one.
    """
    if actor.id is None:
        return None
    query = (
        "SELECT g.activity_id AS current, a.id, a.name, a.available FROM agents g"
        " JOIN permission_profile_activities pa ON pa.profile_id = g.active_profile_id"
        "   AND pa.is_default = 1"
        " JOIN activities a ON a.id = pa.activity_id WHERE g.id = ? AND g.active = 1"
    )
    row = await db.fetchone(query, (actor.id,))
    if row is None or row["current"] is not None:
        return None
    async with db.transaction() as tx:
        row = await tx.fetchone(query, (actor.id,))  # again, under the write lock
        if row is None or row["current"] is not None:
            return None
        activity = Activity(row["id"], row["name"], bool(row["available"]))
        await move_in(tx, actor.id, activity, reason=LOGIN, actor_id=actor.id)
    return activity


async def move_in(
    tx: Tx, agent_id: int, activity: Activity, *, reason: str, actor_id: int | None
) -> None:
    """Put the agent in ``activity``; going available resets missed offers and idle time."""
    now = tx.now_ms
    if activity.available:
        await tx.execute(
            "UPDATE agents SET activity_id = ?, activity_since = ?, missed_offers = 0,"
            " idle_since = ? WHERE id = ?",
            (activity.id, now, now, agent_id),
        )
        # Conversations waiting for someone are tried again now, not at their retry.
        await tx.execute(
            "UPDATE conversations SET route_due_at = ? WHERE route_due_at > ?", (now, now)
        )
    else:
        await tx.execute(
            "UPDATE agents SET activity_id = ?, activity_since = ? WHERE id = ?",
            (activity.id, now, agent_id),
        )
    await tx.emit(
        "agent.activity_changed",
        "agent",
        agent_id,
        actor_id=actor_id,
        activity_id=activity.id,
        reason=reason,
    )


async def count_missed_in(tx: Tx, missed: dict[int, int]) -> None:
    """Add each agent's newly missed offers, then apply the profiles' limits."""
    if not missed:
        return
    await tx.executemany(
        "UPDATE agents SET missed_offers = missed_offers + ? WHERE id = ?",
        [(n, agent_id) for agent_id, n in missed.items()],
    )
    await apply_missed_limit_in(tx, missed.keys())


async def apply_missed_limit_in(tx: Tx, agent_ids: Collection[int]) -> list[int]:
    """Agents of ``agent_ids`` at their profile's missed-offer limit go to its activity.

    With no ``missed_activity_id`` set, the first activity that is not available
    (an agent who misses offers is not there; offering them more helps nobody).
    Returns the agents moved.
    """
    now = tx.now_ms
    rows = await tx.fetchall(
        "UPDATE agents SET activity_since = :now, activity_id = coalesce(p.missed_activity_id,"
        "   (SELECT id FROM activities WHERE available = 0 ORDER BY id LIMIT 1))"
        " FROM permission_profiles p, activities a"
        " WHERE agents.id IN (SELECT value FROM json_each(:ids))"
        "   AND p.id = agents.active_profile_id AND a.id = agents.activity_id AND a.available = 1"
        "   AND p.max_missed_offers IS NOT NULL AND agents.missed_offers >= p.max_missed_offers"
        " RETURNING agents.id, agents.activity_id, agents.missed_offers",
        {"now": now, "ids": json.dumps(sorted(agent_ids))},
    )
    await tx.emit_many(
        "agent.activity_changed",
        "agent",
        [
            (
                r["id"],
                {
                    "activity_id": r["activity_id"],
                    "reason": MISSED_OFFERS,
                    "missed": r["missed_offers"],
                },
            )
            for r in rows
        ],
    )
    return [r["id"] for r in rows]


async def released_in(tx: Tx, agent_ids: Collection[int]) -> None:
    """Agents of ``agent_ids`` who hold no open conversation now start their idle time
    (the interaction timeout runs from it)."""
    if not agent_ids:
        return
    await tx.execute(
        "UPDATE agents SET idle_since = :now WHERE id IN (SELECT value FROM json_each(:ids))"
        " AND NOT EXISTS (SELECT 1 FROM conversations c"
        "   WHERE c.owner_id = agents.id AND c.is_public = 0 AND c.closed_at IS NULL)",
        {"now": tx.now_ms, "ids": json.dumps(sorted(agent_ids))},
    )
