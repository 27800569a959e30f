"""R1, R2, R4: permission profiles, their settings, and the users who hold them.

- At most ``MAX_PROFILES``; names are unique (case-insensitively).
- Settings are checked here (ranges, an activity that exists) before they are
  stored; the table's CHECKs are the last line, not the message.
- A user holds one or more profiles; one is active (``agents.active_profile_id``)
  and decides what they may do. Switching takes effect at once: the change is
  an event, on which consoles reload their principal.
- Whatever would leave no active user able to manage users (deactivating,
  unassigning, switching, editing or deleting a profile) is refused: the
  centre would be locked out of its own set-up.

Events: ``permission_profile.added|changed|deleted`` (entity the profile) and
``permission_profile.assigned|unassigned|activated`` (entity the agent, with
``profile_id``): ids only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from core.db import Database, Tx
from core.errors import AlreadyTaken, InvalidInput, LimitExceeded, NotAllowed, NotFound
from core.people.authz import Action, Actor, authorize
from core.permissions import values
from core.permissions.principal import RIGHTS, SETTING_NAMES, ProfileSettings, settings_from_row
from core.records import record

MAX_PROFILES = 50
"""R1: a centre has at most this many permission profiles."""

MAX_TIMEOUT_SECONDS = 3600
MAX_MISSED = 100
MAX_SIMULTANEOUS = 100
MAX_AUTO_ACCEPT_SECONDS = 600


@record
class Profile:
    id: int
    name: str
    alias: str
    reference: str
    description: str
    settings: ProfileSettings
    users: int
    """How many users hold it."""


@record
class Holder:
    """R3 users: a user of a profile, whether it is their active one, their distribution score."""

    agent_id: int
    username: str
    active: bool
    distribution_score: int


def _profile(row: sqlite3.Row) -> Profile:
    return Profile(
        row["id"],
        row["name"],
        row["alias"],
        row["reference"],
        row["description"],
        settings_from_row(row),
        row["users"],
    )


_SELECT = (
    "SELECT p.*, (SELECT count(*) FROM permission_profile_users u WHERE u.profile_id = p.id)"
    " AS users FROM permission_profiles p"
)


async def list_profiles(db: Database, search: str = "") -> list[Profile]:
    """Every profile by name; ``search`` keeps those whose name or reference contains it."""
    like = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = await db.fetchall(
        _SELECT + " WHERE p.name LIKE ? ESCAPE '\\' OR p.reference LIKE ? ESCAPE '\\'"
        " ORDER BY p.name",
        (like, like),
    )
    return [_profile(r) for r in rows]


async def get(db: Database | Tx, name: str) -> Profile:
    row = await db.fetchone(_SELECT + " WHERE p.name = ?", (name.strip(),))
    if row is None:
        raise NotFound(f"no permission profile named {name!r}")
    return _profile(row)


async def id_by_name_in(tx: Database | Tx, name: str) -> int:
    row = await tx.fetchone("SELECT id FROM permission_profiles WHERE name = ?", (name.strip(),))
    if row is None:
        raise NotFound(f"no permission profile named {name!r}")
    return int(row["id"])


async def holders(db: Database, name: str) -> list[Holder]:
    profile_id = await id_by_name_in(db, name)
    rows = await db.fetchall(
        "SELECT a.id, a.username, a.active_profile_id = u.profile_id AS is_active,"
        " u.distribution_score FROM permission_profile_users u JOIN agents a ON a.id = u.agent_id"
        " WHERE u.profile_id = ? ORDER BY a.username",
        (profile_id,),
    )
    return [
        Holder(r["id"], r["username"], bool(r["is_active"]), r["distribution_score"]) for r in rows
    ]


# --- settings ---------------------------------------------------------------------


async def _checked(tx: Tx, changes: Mapping[str, object]) -> dict[str, object]:
    """R2 settings and general fields as stored, each checked; InvalidInput names the rule."""
    checked: dict[str, object] = {}
    for name, value in changes.items():
        if name in ("name",):
            checked[name] = values.text("the permission profile's name", value, required=True)
        elif name in ("alias", "reference"):
            checked[name] = values.text(f"the permission profile's {name}", value)
        elif name == "description":
            checked[name] = values.text("the description", value, longest=values.MAX_DESCRIPTION)
        elif name in RIGHTS:
            checked[name] = int(values.yes_no(name, value))
        elif name == "interaction_timeout_seconds":
            checked[name] = values.whole(name, value, 0, MAX_TIMEOUT_SECONDS)
        elif name == "max_missed_offers":
            checked[name] = values.optional_whole(name, value, 1, MAX_MISSED)
        elif name == "max_simultaneous":
            checked[name] = values.whole(name, value, 1, MAX_SIMULTANEOUS)
        elif name == "auto_accept_seconds":
            checked[name] = values.optional_whole(name, value, 0, MAX_AUTO_ACCEPT_SECONDS)
        elif name in ("missed_activity", "missed_activity_id"):
            checked["missed_activity_id"] = await _activity_id(tx, value)
        else:
            known = ", ".join(("name", "alias", "reference", "description", *_SETTABLE))
            raise InvalidInput(f"unknown permission profile setting {name!r}; known: {known}")
    return checked


_SETTABLE = tuple(
    "missed_activity" if name == "missed_activity_id" else name for name in SETTING_NAMES
)
"""The setting names a person types (an activity by name, not by id)."""


async def _activity_id(tx: Tx, value: object) -> int | None:
    """The activity a user is moved to after too many missed offers: it must exist."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        row = await tx.fetchone("SELECT id FROM activities WHERE id = ?", (value,))
    else:
        name = values.text("the activity", value, required=True)
        row = await tx.fetchone("SELECT id FROM activities WHERE name = ?", (name,))
    if row is None:
        raise InvalidInput(
            f"missed_activity: there is no activity {value!r}; add it first"
            " (switchboard permissions activities add)"
        )
    return int(row["id"])


async def add(db: Database, actor: Actor, name: str, **fields: object) -> Profile:
    """R1: a new permission profile with ``fields`` (general fields and R2 settings).

    A new profile has the table's defaults (the waiting pool and refusing
    offers on, every other right off), may use the built-in activities
    (Available the default at login), and names no numbers (every number).
    """
    authorize(actor, Action.MANAGE_PERMISSIONS)
    async with db.transaction() as tx:
        checked = await _checked(tx, {"name": name, **fields})
        count = await tx.scalar("SELECT count(*) FROM permission_profiles")
        if count >= MAX_PROFILES:
            raise LimitExceeded(
                f"a centre may have at most {MAX_PROFILES} permission profiles;"
                " delete one or change an existing one"
            )
        await _ensure_name_free(tx, str(checked["name"]))
        columns = [*checked, "created_at", "updated_at"]
        profile_id = await tx.insert(
            f"INSERT INTO permission_profiles ({', '.join(columns)})"
            f" VALUES ({', '.join('?' * len(columns))})",
            (*checked.values(), tx.now_ms, tx.now_ms),
        )
        await tx.execute(
            "INSERT INTO permission_profile_activities (profile_id, activity_id, is_default)"
            " SELECT ?, id, name = 'Available' FROM activities WHERE builtin = 1",
            (profile_id,),
        )
        await tx.emit(
            "permission_profile.added", "permission_profile", profile_id, actor_id=actor.id
        )
        return await get(tx, str(checked["name"]))


async def _ensure_name_free(tx: Tx, name: str, but: int | None = None) -> None:
    row = await tx.fetchone("SELECT id FROM permission_profiles WHERE name = ?", (name,))
    if row is not None and row["id"] != but:
        raise AlreadyTaken(f"a permission profile named {name!r} already exists")


async def edit(db: Database, actor: Actor, name: str, /, **changes: object) -> Profile:
    """Change a profile's general fields or R2 settings; only those named change
    (``name=`` renames it)."""
    authorize(actor, Action.MANAGE_PERMISSIONS)
    async with db.transaction() as tx:
        profile_id = await id_by_name_in(tx, name)
        now_named = await edit_in(tx, profile_id, name, changes)
        await changed(tx, actor, profile_id)
        return await get(tx, now_named)


async def edit_in(tx: Tx, profile_id: int, name: str, changes: Mapping[str, object]) -> str:
    """``edit`` inside a transaction (no event); the profile's name afterwards."""
    checked = await _checked(tx, changes)
    if not checked:
        raise InvalidInput("nothing to change: name a setting and its value")
    if "name" in checked:
        await _ensure_name_free(tx, str(checked["name"]), but=profile_id)
    async with keeping_a_user_manager(tx, f"this change to {name}"):
        await tx.execute(
            f"UPDATE permission_profiles SET {', '.join(f'{c} = ?' for c in checked)},"
            " updated_at = ? WHERE id = ?",
            (*checked.values(), tx.now_ms, profile_id),
        )
    return str(checked.get("name", name))


async def changed(tx: Tx, actor: Actor, profile_id: int) -> None:
    """A profile's settings or configuration changed: its holders' consoles reload."""
    await tx.emit("permission_profile.changed", "permission_profile", profile_id, actor_id=actor.id)


async def delete(db: Database, actor: Actor, name: str) -> None:
    """Delete a profile. Refused while it is some user's only profile, naming them.

    A user for whom it was the active one switches to another they hold.
    """
    authorize(actor, Action.MANAGE_PERMISSIONS)
    async with db.transaction() as tx:
        profile_id = await id_by_name_in(tx, name)
        only = await tx.fetchall(
            "SELECT a.username FROM permission_profile_users u JOIN agents a ON a.id = u.agent_id"
            " WHERE u.profile_id = ? AND NOT EXISTS (SELECT 1 FROM permission_profile_users o"
            "  WHERE o.agent_id = u.agent_id AND o.profile_id != u.profile_id)"
            " ORDER BY a.username",
            (profile_id,),
        )
        if only:
            who = ", ".join(r["username"] for r in only)
            raise NotAllowed(
                f"permission profile {name!r} is the only profile of {who}: give them another first"
            )
        async with keeping_a_user_manager(tx, f"deleting {name}"):
            moved = await _switch_away(tx, profile_id)
            await tx.execute("DELETE FROM permission_profiles WHERE id = ?", (profile_id,))
        for agent_id, new in moved:
            await tx.emit(
                "permission_profile.activated", "agent", agent_id, actor_id=actor.id, profile_id=new
            )
        await tx.emit(
            "permission_profile.deleted", "permission_profile", profile_id, actor_id=actor.id
        )


async def _switch_away(
    tx: Tx, profile_id: int, agent_id: int | None = None
) -> list[tuple[int, int]]:
    """Users whose active profile is ``profile_id`` switch to another they hold (lowest id)."""
    rows = await tx.fetchall(
        "SELECT a.id, (SELECT min(o.profile_id) FROM permission_profile_users o"
        "  WHERE o.agent_id = a.id AND o.profile_id != ?) AS other"
        " FROM agents a WHERE a.active_profile_id = ? AND (? IS NULL OR a.id = ?)",
        (profile_id, profile_id, agent_id, agent_id),
    )
    for row in rows:
        await tx.execute(
            "UPDATE agents SET active_profile_id = ? WHERE id = ?", (row["other"], row["id"])
        )
    return [(r["id"], r["other"]) for r in rows]


# --- users (R3) and several profiles per user (R4) ---------------------------------


async def _agent_id(tx: Tx, username: str) -> int:
    row = await tx.fetchone("SELECT id FROM agents WHERE username = ?", (username.strip(),))
    if row is None:
        raise NotFound(f"no agent with username {username!r}")
    return int(row["id"])


async def assign(
    db: Database,
    actor: Actor,
    name: str,
    username: str,
    *,
    activate: bool = False,
    distribution_score: object = None,
) -> None:
    """Give ``username`` the profile (again: changes only the score); ``activate`` makes it
    their active one. A user with no active profile gets this one."""
    authorize(actor, Action.MANAGE_PERMISSIONS)
    score = (
        None
        if distribution_score is None
        else values.score("distribution_score", distribution_score)
    )
    async with db.transaction() as tx:
        profile_id = await id_by_name_in(tx, name)
        await assign_in(tx, actor, profile_id, name, username, activate=activate, score=score)


async def assign_in(
    tx: Tx,
    actor: Actor,
    profile_id: int,
    name: str,
    username: str,
    *,
    activate: bool = False,
    score: int | None = None,
) -> None:
    """``assign`` inside a transaction, ``score`` already checked."""
    agent_id = await _agent_id(tx, username)
    await tx.execute(
        "INSERT INTO permission_profile_users (profile_id, agent_id, distribution_score)"
        " VALUES (?, ?, coalesce(?, 50)) ON CONFLICT (profile_id, agent_id) DO UPDATE"
        " SET distribution_score = coalesce(?, distribution_score)",
        (profile_id, agent_id, score, score),
    )
    await tx.emit(
        "permission_profile.assigned",
        "agent",
        agent_id,
        actor_id=actor.id,
        profile_id=profile_id,
    )
    current = await tx.scalar("SELECT active_profile_id FROM agents WHERE id = ?", (agent_id,))
    if activate or current is None:
        await _activate_in(tx, actor, agent_id, profile_id, username, name)


async def unassign(db: Database, actor: Actor, name: str, username: str) -> None:
    """Take the profile from ``username``. Refused if it is their only one; if it was
    their active one, they switch to another they hold."""
    authorize(actor, Action.MANAGE_PERMISSIONS)
    async with db.transaction() as tx:
        await unassign_in(tx, actor, await id_by_name_in(tx, name), name, username)


async def unassign_in(tx: Tx, actor: Actor, profile_id: int, name: str, username: str) -> None:
    """``unassign`` inside a transaction."""
    agent_id = await _agent_id(tx, username)
    held = await tx.scalar(
        "SELECT count(*) FROM permission_profile_users WHERE agent_id = ?", (agent_id,)
    )
    if not await tx.fetchone(
        "SELECT 1 FROM permission_profile_users WHERE agent_id = ? AND profile_id = ?",
        (agent_id, profile_id),
    ):
        raise NotFound(f"{username} does not hold permission profile {name!r}")
    if held <= 1:
        raise NotAllowed(
            f"{name!r} is {username}'s only permission profile: a user holds at least one;"
            " give them another first"
        )
    async with keeping_a_user_manager(tx, f"taking {name} from {username}"):
        moved = await _switch_away(tx, profile_id, agent_id)
        await tx.execute(
            "DELETE FROM permission_profile_users WHERE agent_id = ? AND profile_id = ?",
            (agent_id, profile_id),
        )
    await tx.emit(
        "permission_profile.unassigned",
        "agent",
        agent_id,
        actor_id=actor.id,
        profile_id=profile_id,
    )
    for moved_id, new in moved:
        await tx.emit(
            "permission_profile.activated", "agent", moved_id, actor_id=actor.id, profile_id=new
        )


async def activate(db: Database, actor: Actor, username: str, name: str) -> None:
    """R4: make ``name`` the active profile of ``username``; at once (an event says so).

    A user switches their own among those they hold; switching someone else's
    needs the right to manage permission profiles.
    """
    async with db.transaction() as tx:
        agent_id = await _agent_id(tx, username)
        if agent_id != actor.id:
            authorize(actor, Action.MANAGE_PERMISSIONS)
        profile_id = await id_by_name_in(tx, name)
        await _activate_in(tx, actor, agent_id, profile_id, username, name)


async def _activate_in(
    tx: Tx, actor: Actor, agent_id: int, profile_id: int, username: str, name: str
) -> None:
    if not await tx.fetchone(
        "SELECT 1 FROM permission_profile_users WHERE agent_id = ? AND profile_id = ?",
        (agent_id, profile_id),
    ):
        raise NotAllowed(f"{username} does not hold permission profile {name!r}; assign it first")
    async with keeping_a_user_manager(tx, f"switching {username} to {name}"):
        await tx.execute(
            "UPDATE agents SET active_profile_id = ? WHERE id = ?", (profile_id, agent_id)
        )
    await tx.emit(
        "permission_profile.activated", "agent", agent_id, actor_id=actor.id, profile_id=profile_id
    )


async def set_distribution_score(
    db: Database, actor: Actor, name: str, username: str, score: object
) -> None:
    """R3: the user's distribution score (0-100) in this profile."""
    authorize(actor, Action.MANAGE_PERMISSIONS)
    checked = values.score("distribution_score", score)
    async with db.transaction() as tx:
        profile_id = await id_by_name_in(tx, name)
        await set_distribution_score_in(tx, profile_id, name, username, checked)
        await changed(tx, actor, profile_id)


async def set_distribution_score_in(
    tx: Tx, profile_id: int, name: str, username: str, checked: int
) -> None:
    """``set_distribution_score`` inside a transaction (no event), ``checked`` 0-100."""
    agent_id = await _agent_id(tx, username)
    cur = await tx.execute(
        "UPDATE permission_profile_users SET distribution_score = ?"
        " WHERE profile_id = ? AND agent_id = ?",
        (checked, profile_id, agent_id),
    )
    if not cur.rowcount:
        raise NotFound(f"{username} does not hold permission profile {name!r}")


# --- the centre keeps someone who can manage users -------------------------------------

_USER_MANAGERS = (
    "SELECT count(*) FROM agents a JOIN permission_profiles p ON p.id = a.active_profile_id"
    " JOIN permission_profile_users u ON u.agent_id = a.id AND u.profile_id = p.id"
    " WHERE a.active = 1 AND p.manage_users = 1"
)


@asynccontextmanager
async def keeping_a_user_manager(tx: Tx, what: str) -> AsyncIterator[None]:
    """Refuse (NotAllowed) the change made inside if it leaves no active user whose
    active profile has manage_users, when there was one before."""
    before = await tx.scalar(_USER_MANAGERS)
    yield
    if before and not await tx.scalar(_USER_MANAGERS):
        raise NotAllowed(
            f"{what} would leave no active user who can manage users (manage_users);"
            " give someone else that right first"
        )
