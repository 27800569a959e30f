"""P3: groups of notification profiles, up to 50 members.

A group counts as one of an outcome's 10 recipients and can be on call; its
name is required, one line, unique whatever the case. Deleting a group that
an on-call slot or an outcome uses is refused (InUse), naming every place.

Events: ``notification_group.added|changed|deleted`` (entity the group; a
member added or removed is ``changed`` with the profile's id): ids only.
"""

from __future__ import annotations

from typing import Final

from core.db import Database, Tx
from core.errors import AlreadyTaken, LimitExceeded, NotFound
from core.notify import links
from core.people.authz import Action, Actor, authorize
from core.permissions import values
from core.records import record

MAX_MEMBERS: Final = 50
"""The seed: "Profile Groups ... send notifications to up to 50 members"."""
MAX_NAME: Final = 100


@record
class Member:
    profile_id: int
    alias: str


@record
class Group:
    id: int
    name: str
    members: tuple[Member, ...]


async def list_groups(db: Database, actor: Actor) -> list[Group]:
    """Every group by name, each with its members by alias."""
    authorize(actor, Action.VIEW_ON_CALL)
    return await _groups(db)


async def get(db: Database, actor: Actor, group_id: int) -> Group:
    authorize(actor, Action.VIEW_ON_CALL)
    return await _group(db, group_id)


async def by_name(db: Database, actor: Actor, name: str) -> Group:
    """The group named ``name``, whatever the case (NotFound otherwise)."""
    authorize(actor, Action.VIEW_ON_CALL)
    found = await _id_by_name(db, name)
    if found is None:
        raise NotFound(f"there is no notification group named {name!r}")
    return await _group(db, found)


async def _groups(tx: Database | Tx, group_id: int | None = None) -> list[Group]:
    rows = await tx.fetchall(
        "SELECT id, name FROM notification_groups WHERE ? IS NULL OR id = ? ORDER BY name, id",
        (group_id, group_id),
    )
    members: dict[int, list[Member]] = {r["id"]: [] for r in rows}
    for m in await tx.fetchall(
        "SELECT m.group_id, p.id, p.alias FROM notification_group_members m"
        " JOIN notification_profiles p ON p.id = m.profile_id"
        " WHERE ? IS NULL OR m.group_id = ? ORDER BY p.alias, p.id",
        (group_id, group_id),
    ):
        members[m[0]].append(Member(m[1], m[2]))
    return [Group(r["id"], r["name"], tuple(members[r["id"]])) for r in rows]


async def _group(tx: Database | Tx, group_id: int) -> Group:
    found = await _groups(tx, group_id)
    if not found:
        raise NotFound(f"there is no notification group with id {group_id}")
    return found[0]


async def _id_by_name(tx: Database | Tx, name: str) -> int | None:
    # Compared casefolded in Python: SQLite's NOCASE folds ASCII letters only.
    wanted = name.strip().casefold()
    for row in await tx.fetchall("SELECT id, name FROM notification_groups"):
        if row["name"].casefold() == wanted:
            return int(row["id"])
    return None


async def _checked_name(tx: Tx, name: object, but: int | None = None) -> str:
    checked = values.text("the group's name", name, longest=MAX_NAME, required=True)
    found = await _id_by_name(tx, checked)
    if found is not None and found != but:
        raise AlreadyTaken(
            f"a notification group named {checked!r} already exists"
            " (names are unique, whatever the case)"
        )
    return checked


async def add(db: Database, actor: Actor, name: str) -> Group:
    authorize(actor, Action.MANAGE_NOTIFICATIONS)
    async with db.transaction() as tx:
        checked = await _checked_name(tx, name)
        group_id = await tx.insert(
            "INSERT INTO notification_groups (name, created_at) VALUES (?, ?)",
            (checked, tx.now_ms),
        )
        await tx.emit("notification_group.added", "notification_group", group_id, actor_id=actor.id)
        return await _group(tx, group_id)


async def rename(db: Database, actor: Actor, group_id: int, name: str) -> Group:
    authorize(actor, Action.MANAGE_NOTIFICATIONS)
    async with db.transaction() as tx:
        await _group(tx, group_id)
        checked = await _checked_name(tx, name, but=group_id)
        await tx.execute(
            "UPDATE notification_groups SET name = ? WHERE id = ?", (checked, group_id)
        )
        await _changed(tx, actor, group_id)
        return await _group(tx, group_id)


async def delete(db: Database, actor: Actor, group_id: int) -> None:
    """Delete a group (its memberships go with it); refused while a slot or outcome uses it."""
    authorize(actor, Action.MANAGE_NOTIFICATIONS)
    async with db.transaction() as tx:
        group = await _group(tx, group_id)
        found = await links.group_links(tx, group_id)
        if found:
            raise links.in_use(
                f"notification group {group.name!r}", found, "remove it from each, then delete it"
            )
        await tx.execute("DELETE FROM notification_groups WHERE id = ?", (group_id,))
        await tx.emit(
            "notification_group.deleted", "notification_group", group_id, actor_id=actor.id
        )


async def add_member(db: Database, actor: Actor, group_id: int, profile_id: int) -> Group:
    """Put a profile in a group; the 51st member is refused, naming the limit."""
    authorize(actor, Action.MANAGE_NOTIFICATIONS)
    async with db.transaction() as tx:
        group = await _group(tx, group_id)
        alias = await _alias(tx, profile_id)
        if any(m.profile_id == profile_id for m in group.members):
            raise AlreadyTaken(f"{alias!r} is already a member of group {group.name!r}")
        if len(group.members) >= MAX_MEMBERS:
            raise LimitExceeded(
                f"a notification group has at most {MAX_MEMBERS} members and {group.name!r}"
                f" has {len(group.members)}; remove one first, or make another group"
            )
        await tx.execute(
            "INSERT INTO notification_group_members (group_id, profile_id) VALUES (?, ?)",
            (group_id, profile_id),
        )
        await _changed(tx, actor, group_id, profile_id=profile_id)
        return await _group(tx, group_id)


async def remove_member(db: Database, actor: Actor, group_id: int, profile_id: int) -> Group:
    authorize(actor, Action.MANAGE_NOTIFICATIONS)
    async with db.transaction() as tx:
        group = await _group(tx, group_id)
        alias = await _alias(tx, profile_id)
        cur = await tx.execute(
            "DELETE FROM notification_group_members WHERE group_id = ? AND profile_id = ?",
            (group_id, profile_id),
        )
        if not cur.rowcount:
            raise NotFound(f"{alias!r} is not a member of group {group.name!r}")
        await _changed(tx, actor, group_id, profile_id=profile_id)
        return await _group(tx, group_id)


async def _alias(tx: Tx, profile_id: int) -> str:
    alias = await tx.scalar("SELECT alias FROM notification_profiles WHERE id = ?", (profile_id,))
    if alias is None:
        raise NotFound(f"there is no notification profile with id {profile_id}")
    return str(alias)


async def _changed(tx: Tx, actor: Actor, group_id: int, **ids: int) -> None:
    await tx.emit(
        "notification_group.changed", "notification_group", group_id, actor_id=actor.id, **ids
    )
