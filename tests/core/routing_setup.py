"""Routing set-up for the tests: queues, permission profiles and who holds them.

Written straight into the schema-7 tables (the permission-profile services
are another piece of issue #10); each helper is one row or two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.db import Database
from core.people.authz import Actor
from core.routing import activities
from core.sms import receiving

QUEUE_NUMBER = "+14155550150"
"""One of our numbers, in the Sales queue."""


@dataclass(frozen=True, slots=True)
class Routing:
    sales: int
    support: int
    number_id: int


async def make_queue(db: Database, name: str, *, messaging: bool = True) -> int:
    async with db.transaction() as tx:
        return await tx.insert(
            "INSERT INTO queues (name, messaging, created_at) VALUES (?, ?, ?)",
            (name, int(messaging), tx.now_ms),
        )


async def make_profile(db: Database, name: str, **columns: Any) -> int:
    """A permission profile with every activity (Available the default) and ``columns``."""
    names = ["name", "created_at", "updated_at", *columns]
    async with db.transaction() as tx:
        profile_id = await tx.insert(
            f"INSERT INTO permission_profiles ({', '.join(names)})"
            f" VALUES ({', '.join('?' * len(names))})",
            (name, tx.now_ms, tx.now_ms, *columns.values()),
        )
        await tx.execute(
            "INSERT INTO permission_profile_activities (profile_id, activity_id, is_default)"
            " SELECT ?, id, name = 'Available' FROM activities",
            (profile_id,),
        )
    return profile_id


async def take_queue(
    db: Database, profile_id: int, queue_id: int, score: int = 50, *, messaging: bool = True
) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO permission_profile_queues (profile_id, queue_id, messaging, score)"
            " VALUES (?, ?, ?, ?)",
            (profile_id, queue_id, int(messaging), score),
        )


async def give_profile(db: Database, agent: Actor, profile_id: int, distribution: int = 50) -> None:
    """``agent`` holds the profile, as their active one."""
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO permission_profile_users (profile_id, agent_id, distribution_score)"
            " VALUES (?, ?, ?)",
            (profile_id, agent.id, distribution),
        )
        await tx.execute(
            "UPDATE agents SET active_profile_id = ? WHERE id = ?", (profile_id, agent.id)
        )


async def available(db: Database, *agents: Actor) -> None:
    for agent in agents:
        await activities.choose(db, agent, "Available")


async def routing(db: Database) -> Routing:
    """Sales and Support queues; QUEUE_NUMBER (nobody's) is in Sales."""
    sales = await make_queue(db, "Sales")
    support = await make_queue(db, "Support")
    async with db.transaction() as tx:
        number_id = await tx.insert(
            "INSERT INTO numbers (e164, queue_id, created_at) VALUES (?, ?, ?)",
            (QUEUE_NUMBER, sales, tx.now_ms),
        )
    return Routing(sales, support, number_id)


def phone(n: int) -> str:
    """A contact's mobile in the fictional 555-01XX range (01 60 to 01 89)."""
    assert 0 <= n < 30
    return f"+1212555{160 + n:04d}"


async def inbound(db: Database, n: int, text: str = "Hello, anyone there?") -> int:
    """Contact ``n`` texts the Sales number: the conversation's id."""
    return (await receiving.receive(db, phone(n), QUEUE_NUMBER, text)).conversation_id


async def offers_of(db: Database, conversation_id: int) -> list[tuple[int, str]]:
    """(agent id, status) of each offer of the conversation, in order."""
    rows = await db.fetchall(
        "SELECT agent_id, status FROM offers WHERE conversation_id = ? ORDER BY id",
        (conversation_id,),
    )
    return [(r[0], r[1]) for r in rows]
