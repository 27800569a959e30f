"""Agents and managers: the people who log in (by operating-system username)."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from core.db import Database
from core.errors import InvalidInput, NotAllowed, NotFound
from core.people.authz import Action, Actor, Role, authorize

_USERNAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$", re.IGNORECASE)
MAX_NAME = 200


@dataclass(frozen=True, slots=True)
class Agent:
    id: int
    username: str
    name: str
    role: Role
    active: bool

    def as_actor(self) -> Actor:
        return Actor(id=self.id, username=self.username, role=self.role, name=self.name)


def _agent(row: sqlite3.Row) -> Agent:
    return Agent(row["id"], row["username"], row["name"], Role(row["role"]), bool(row["active"]))


def check_name(value: str) -> str:
    """An agent's full name trimmed; InvalidInput if longer than MAX_NAME (as for contacts)."""
    name = value.strip()
    if len(name) > MAX_NAME:
        raise InvalidInput(f"name is too long: {len(name)} characters, the most is {MAX_NAME}")
    return name


async def add(
    db: Database, actor: Actor, username: str, name: str, role: Role | str = Role.AGENT
) -> Agent:
    """Add an agent or manager; refused for a malformed or taken username."""
    authorize(actor, Action.MANAGE_AGENTS)
    username = username.strip()
    if not _USERNAME.match(username):
        raise InvalidInput(
            f"{username!r} is not a valid username: use the person's login name "
            "(letters, digits, . _ -, up to 32 characters)"
        )
    try:
        role = Role(role)
    except ValueError:
        raise InvalidInput(f"role must be 'agent' or 'manager', not {role!r}") from None
    if role is Role.SYSTEM:
        raise InvalidInput("role must be 'agent' or 'manager'")
    name = check_name(name)
    async with db.transaction() as tx:
        if await tx.fetchone("SELECT 1 FROM agents WHERE username = ?", (username,)):
            raise InvalidInput(f"an agent with username {username!r} already exists")
        agent_id = await tx.insert(
            "INSERT INTO agents (username, name, role, created_at) VALUES (?, ?, ?, ?)",
            (username, name.strip() or username, role.value, tx.now_ms),
        )
        await tx.emit("agent.added", "agent", agent_id, actor_id=actor.id)
    return await get(db, agent_id)


async def get(db: Database, agent_id: int) -> Agent:
    row = await db.fetchone("SELECT * FROM agents WHERE id = ?", (agent_id,))
    if row is None:
        raise NotFound(f"no agent with id {agent_id}")
    return _agent(row)


async def by_username(db: Database, username: str) -> Agent:
    """The active agent with this login; NotFound names the command that adds one."""
    row = await db.fetchone("SELECT * FROM agents WHERE username = ?", (username,))
    if row is None:
        raise NotFound(
            f"no agent with username {username!r}. A manager can add one with: "
            f"switchboard agents add {username} --name 'Full Name'"
        )
    agent = _agent(row)
    if not agent.active:
        raise NotAllowed(f"agent {username!r} has been deactivated; ask a manager")
    return agent


async def list_agents(db: Database) -> list[Agent]:
    return [_agent(r) for r in await db.fetchall("SELECT * FROM agents ORDER BY username")]


async def set_active(db: Database, actor: Actor, username: str, active: bool) -> Agent:
    """Activate or deactivate an agent; their history stays.

    Refused for yourself and for the last active manager: either would lock
    the centre out of its own settings.
    """
    authorize(actor, Action.MANAGE_AGENTS)
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "SELECT id, role, active FROM agents WHERE username = ?", (username,)
        )
        if row is None:
            raise NotFound(f"no agent with username {username!r}")
        if not active and row["id"] == actor.id:
            raise NotAllowed("you cannot deactivate yourself; ask another manager")
        if not active and row["role"] == Role.MANAGER and row["active"]:
            managers = await tx.scalar(
                "SELECT count(*) FROM agents WHERE role = 'manager' AND active = 1"
            )
            if managers <= 1:
                raise NotAllowed(f"{username} is the last active manager; add another first")
        await tx.execute("UPDATE agents SET active = ? WHERE id = ?", (int(active), row["id"]))
        await tx.emit(
            "agent.activated" if active else "agent.deactivated",
            "agent",
            row["id"],
            actor_id=actor.id,
        )
    return await get(db, row["id"])
