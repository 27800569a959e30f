"""Agents and managers: the people who log in (by operating-system username)."""

from __future__ import annotations

import re
import sqlite3

from core.db import Database
from core.errors import InvalidInput, NotAllowed, NotFound
from core.people.authz import Action, Actor, authorize
from core.permissions import principal
from core.records import record
from core.text import refuse_control_characters

_USERNAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$", re.IGNORECASE)
MAX_NAME = 200


@record
class Agent:
    id: int
    username: str
    name: str
    active: bool
    profile: str
    """The name of the active permission profile ('' if none)."""
    principal: Actor | None = None
    """Who this agent is when asking (``get``, ``by_username`` and ``add`` load it)."""

    def as_actor(self) -> Actor:
        if self.principal is None:
            raise ValueError(f"{self.username}'s permissions were not loaded (use agents.get)")
        return self.principal


_SELECT = (
    "SELECT a.*, coalesce(p.name, '') AS profile FROM agents a"
    " LEFT JOIN permission_profiles p ON p.id = a.active_profile_id"
)


def _agent(row: sqlite3.Row, who: Actor | None = None) -> Agent:
    return Agent(row["id"], row["username"], row["name"], bool(row["active"]), row["profile"], who)


def check_name(value: str) -> str:
    """An agent's full name trimmed; InvalidInput if longer than MAX_NAME or holding a
    control character (as for contacts)."""
    name = value.strip()
    if len(name) > MAX_NAME:
        raise InvalidInput(f"name is too long: {len(name)} characters, the most is {MAX_NAME}")
    refuse_control_characters("name", name)
    return name


async def add(
    db: Database, actor: Actor, username: str, name: str, permission_profile: str = "Agent"
) -> Agent:
    """Add a user holding ``permission_profile`` (by name; active at once).

    Refused for a malformed or taken username or an unknown profile.
    """
    authorize(actor, Action.MANAGE_AGENTS)
    username = username.strip()
    if not _USERNAME.match(username):
        raise InvalidInput(
            f"{username!r} is not a valid username: use the person's login name "
            "(letters, digits, . _ -, up to 32 characters)"
        )
    name = check_name(name)
    # Imported here: resolving who runs a command (every command) needs no profile editing.
    from core.permissions import profiles

    async with db.transaction() as tx:
        profile_id = await profiles.id_by_name_in(tx, permission_profile)
        if await tx.fetchone("SELECT 1 FROM agents WHERE username = ?", (username,)):
            raise InvalidInput(f"an agent with username {username!r} already exists")
        # The role column of schema 1 is gone (schema 7): what a user may do
        # is their active permission profile's.
        agent_id = await tx.insert(
            "INSERT INTO agents (username, name, active_profile_id, created_at)"
            " VALUES (?, ?, ?, ?)",
            (username, name.strip() or username, profile_id, tx.now_ms),
        )
        await tx.execute(
            "INSERT INTO permission_profile_users (profile_id, agent_id) VALUES (?, ?)",
            (profile_id, agent_id),
        )
        await tx.emit("agent.added", "agent", agent_id, actor_id=actor.id, profile_id=profile_id)
    return await get(db, agent_id)


async def get(db: Database, agent_id: int) -> Agent:
    row = await db.fetchone(_SELECT + " WHERE a.id = ?", (agent_id,))
    if row is None:
        raise NotFound(f"no agent with id {agent_id}")
    return _agent(row, await principal.load(db, agent_id))


async def by_username(db: Database, username: str) -> Agent:
    """The active agent with this login; NotFound names the command that adds one."""
    row = await db.fetchone("SELECT id, active FROM agents WHERE username = ?", (username,))
    if row is None:
        raise NotFound(
            f"no agent with username {username!r}. A manager can add one with: "
            f"switchboard agents add {username} --name 'Full Name'"
        )
    if not row["active"]:
        raise NotAllowed(f"agent {username!r} has been deactivated; ask a manager")
    return await get(db, row["id"])


async def list_agents(db: Database) -> list[Agent]:
    """Every user, with the name of their active permission profile (not their principal)."""
    return [_agent(r) for r in await db.fetchall(_SELECT + " ORDER BY a.username")]


async def set_active(db: Database, actor: Actor, username: str, active: bool) -> Agent:
    """Activate or deactivate an agent; their history stays.

    Refused for yourself and for the last active user who can manage users
    (manage_users): either would lock the centre out of its own settings.
    """
    from core.permissions import profiles

    authorize(actor, Action.MANAGE_AGENTS)
    async with db.transaction() as tx:
        row = await tx.fetchone("SELECT id, active FROM agents WHERE username = ?", (username,))
        if row is None:
            raise NotFound(f"no agent with username {username!r}")
        if not active and row["id"] == actor.id:
            raise NotAllowed("you cannot deactivate yourself; ask another manager")
        async with profiles.keeping_a_user_manager(tx, f"deactivating {username}"):
            await tx.execute("UPDATE agents SET active = ? WHERE id = ?", (int(active), row["id"]))
        await tx.emit(
            "agent.activated" if active else "agent.deactivated",
            "agent",
            row["id"],
            actor_id=actor.id,
        )
    return await get(db, row["id"])
