"""P5: every place a notification profile (or group) is used, and replacing a profile in all.

A profile is used by on-call slots (``oncall_slots.profile_id``), group
memberships and outcomes (``outcome_recipients.profile_id``); a group by
on-call slots and outcomes. Deleting either while it is used is refused
(``InUse``), listing every link, with the links as data so a screen can open
each place. ``replace`` moves every link of one profile to another in one
transaction.

Events: ``notification_profile.replaced`` (entity the old profile; data the
new one's id and the ids of the groups, outcomes and schedules that changed).
"""

from __future__ import annotations

from typing import Final

from core import weektime
from core.db import Database, Tx
from core.errors import InUse, InvalidInput, NotFound
from core.people.authz import Action, Actor, authorize
from core.records import record

ONCALL_SLOT: Final = "oncall_slot"
GROUP: Final = "group"
OUTCOME: Final = "outcome"


@record
class Link:
    """One use: ``kind`` names the table, ``place_id`` the schedule, group or outcome
    (what a screen opens), ``slot_id`` and its minutes of the week for an on-call slot."""

    kind: str
    place_id: int
    place: str
    slot_id: int | None = None
    start_minute: int | None = None
    minutes: int | None = None

    @property
    def text(self) -> str:
        """The link in words, for a refusal and a list."""
        if self.start_minute is not None and self.minutes is not None:
            return (
                f"on-call schedule {self.place!r} ({week_time(self.start_minute)}"
                f"-{week_time(self.start_minute + self.minutes)})"
            )
        return f"{'group' if self.kind == GROUP else 'outcome'} {self.place!r}"


def week_time(minute: int) -> str:
    """Minutes of the week (Monday 00:00 is 0; past Sunday wraps) as "Mon 18:00"."""
    day, time = weektime.week_time(minute)
    return f"{day.capitalize()} {time}"


async def links(tx: Database | Tx, profile_id: int) -> list[Link]:
    """Every place notification profile ``profile_id`` is used: slots, groups, outcomes."""
    slots = await tx.fetchall(
        "SELECT s.id, s.schedule_id, h.name, s.start_minute, s.minutes FROM oncall_slots s"
        " JOIN oncall_schedules h ON h.id = s.schedule_id WHERE s.profile_id = ?"
        " ORDER BY h.name, s.start_minute",
        (profile_id,),
    )
    groups = await tx.fetchall(
        "SELECT g.id, g.name FROM notification_group_members m"
        " JOIN notification_groups g ON g.id = m.group_id WHERE m.profile_id = ? ORDER BY g.name",
        (profile_id,),
    )
    outcomes = await _outcomes(tx, "profile_id", profile_id)
    return [
        *(Link(ONCALL_SLOT, r[1], r[2], r[0], r[3], r[4]) for r in slots),
        *(Link(GROUP, r[0], r[1]) for r in groups),
        *outcomes,
    ]


async def group_links(tx: Database | Tx, group_id: int) -> list[Link]:
    """Every place notification group ``group_id`` is used: on-call slots and outcomes."""
    slots = await tx.fetchall(
        "SELECT s.id, s.schedule_id, h.name, s.start_minute, s.minutes FROM oncall_slots s"
        " JOIN oncall_schedules h ON h.id = s.schedule_id WHERE s.group_id = ?"
        " ORDER BY h.name, s.start_minute",
        (group_id,),
    )
    outcomes = await _outcomes(tx, "group_id", group_id)
    return [*(Link(ONCALL_SLOT, r[1], r[2], r[0], r[3], r[4]) for r in slots), *outcomes]


async def schedule_links(tx: Database | Tx, schedule_id: int) -> list[Link]:
    """Every outcome that notifies whoever is on call on schedule ``schedule_id``."""
    return await _outcomes(tx, "schedule_id", schedule_id)


async def _outcomes(tx: Database | Tx, column: str, value: int) -> list[Link]:
    rows = await tx.fetchall(
        "SELECT o.id, o.name FROM outcome_recipients r JOIN outcomes o ON o.id = r.outcome_id"
        f" WHERE r.{column} = ? ORDER BY o.position, o.name",
        (value,),
    )
    return [Link(OUTCOME, r[0], r[1]) for r in rows]


def in_use(what: str, found: list[Link], then: str) -> InUse:
    """The refusal to delete ``what`` while ``found`` use it: every link named."""
    places = "; ".join(link.text for link in found)
    count = f"{len(found)} place" + ("s" if len(found) != 1 else "")
    return InUse(f"{what} is used in {count}: {places}; {then}", tuple(found))


async def profile_links(db: Database, actor: Actor, profile_id: int) -> list[Link]:
    """``links`` for a person: every place the profile is used (P5)."""
    authorize(actor, Action.VIEW_ON_CALL)
    await _alias(db, profile_id)
    return await links(db, profile_id)


@record
class Replaced:
    """What ``replace`` moved (``moved``) and dropped because the new profile was
    already there (``folded``), by kind; whether the old profile was deleted."""

    moved: dict[str, int]
    folded: dict[str, int]
    deleted: bool


async def replace(
    db: Database, actor: Actor, old_id: int, new_id: int, *, delete_old: bool = False
) -> Replaced:
    """P5: every link of profile ``old_id`` moves to ``new_id``, in one transaction.

    Where the new profile is already in that group or on that outcome, the
    old one's row is removed instead (folded): a link is never doubled. A
    move keeps each group's and outcome's count, and a fold lowers it, so
    the 50-member and 10-recipient limits hold without a check. On-call
    slots keep their times: only who is on call changes. ``delete_old``
    then deletes the old profile, in the same transaction.
    """
    authorize(actor, Action.MANAGE_NOTIFICATIONS)
    if old_id == new_id:
        raise InvalidInput("a notification profile cannot replace itself; choose another")
    async with db.transaction() as tx:
        await _alias(tx, old_id)
        await _alias(tx, new_id)
        moved = {ONCALL_SLOT: 0, GROUP: 0, OUTCOME: 0}
        folded = {GROUP: 0, OUTCOME: 0}
        schedule_ids = [
            r[0]
            for r in await tx.fetchall(
                "SELECT DISTINCT schedule_id FROM oncall_slots WHERE profile_id = ?", (old_id,)
            )
        ]
        cur = await tx.execute(
            "UPDATE oncall_slots SET profile_id = ? WHERE profile_id = ?", (new_id, old_id)
        )
        moved[ONCALL_SLOT] = cur.rowcount
        group_ids, folded[GROUP], moved[GROUP] = await _move(
            tx, "notification_group_members", "group_id", old_id, new_id
        )
        outcome_ids, folded[OUTCOME], moved[OUTCOME] = await _move(
            tx, "outcome_recipients", "outcome_id", old_id, new_id
        )
        await tx.emit(
            "notification_profile.replaced",
            "notification_profile",
            old_id,
            actor_id=actor.id,
            by=new_id,
            schedule_ids=schedule_ids,
            group_ids=group_ids,
            outcome_ids=outcome_ids,
        )
        if delete_old:
            await delete_in(tx, actor, old_id)
        return Replaced(moved, folded, delete_old)


async def _move(
    tx: Tx, table: str, place: str, old_id: int, new_id: int
) -> tuple[list[int], int, int]:
    """Move the old profile's rows of ``table`` (a group's members, an outcome's
    recipients) to the new one, dropping those where it is already: (the places
    it was in, rows folded, rows moved). ``table`` and ``place`` are ours, never input."""
    places = [
        r[0]
        for r in await tx.fetchall(f"SELECT {place} FROM {table} WHERE profile_id = ?", (old_id,))
    ]
    cur = await tx.execute(
        f"DELETE FROM {table} WHERE profile_id = ? AND {place} IN"
        f" (SELECT {place} FROM {table} WHERE profile_id = ?)",
        (old_id, new_id),
    )
    folded = cur.rowcount
    cur = await tx.execute(
        f"UPDATE {table} SET profile_id = ? WHERE profile_id = ?", (new_id, old_id)
    )
    return places, folded, cur.rowcount


async def delete_in(tx: Tx, actor: Actor, profile_id: int) -> None:
    """Delete a profile no place uses (InUse, listing every link, otherwise)."""
    alias = await _alias(tx, profile_id)
    found = await links(tx, profile_id)
    if found:
        raise in_use(
            f"notification profile {alias!r}",
            found,
            "remove it from each, or replace it with another profile, then delete it",
        )
    # Its contact methods go with it (ON DELETE CASCADE); notices it was sent
    # keep their recipient and lose only the link (ON DELETE SET NULL).
    await tx.execute("DELETE FROM notification_profiles WHERE id = ?", (profile_id,))
    await tx.emit(
        "notification_profile.deleted", "notification_profile", profile_id, actor_id=actor.id
    )


async def _alias(tx: Database | Tx, profile_id: int) -> str:
    alias = await tx.scalar("SELECT alias FROM notification_profiles WHERE id = ?", (profile_id,))
    if alias is None:
        raise NotFound(f"there is no notification profile with id {profile_id}")
    return str(alias)
