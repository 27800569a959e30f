"""R3: what a permission profile reaches: activities, queues, SMS numbers, SMS templates,
SMS campaigns.

- Activities: the centre's list (Available, Away, Lunch, Wrap-up, Offline,
  and those managers add); a profile uses some of them, exactly one the
  default at login.
- Queues: each of our numbers belongs to at most one queue. A queue with
  messaging on must have a number (messages reach a queue through its
  numbers): turning messaging on, or creating a queue with it on, names at
  least one number, and moving a messaging queue's last number away is
  refused. A profile takes a queue with messaging on or off and a score 0-100.
- SMS numbers: those a profile may send from. None named: every number.
- SMS templates: canned replies, checked at save by the one renderer
  (core/templates.py) against ``CANNED_REPLY_FIELDS``.
- SMS campaigns: those a profile sees and works on (the seed's Configuration
  tab); a profile that manages the account sees every one.

Every change emits an event naming the profile (``permission_profile.changed``)
or the queue, activity or template, so consoles reload their principal.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.db import Database, Tx
from core.errors import AlreadyTaken, InvalidInput, NotAllowed, NotFound
from core.people.authz import Action, Actor, authorize
from core.permissions import values
from core.permissions.profiles import changed, id_by_name_in
from core.records import record
from core.templates import Field, Fields, compile_template

CANNED_REPLY_FIELDS = Fields(
    [
        Field("contact_name", "Contact's name", 200),
        Field("agent_name", "Your name", 200),
        Field("our_number", "Our number", 16, gsm7_only=True),
    ]
)
"""The fields an SMS template (canned reply) may use; the composer fills them."""


@record
class Activity:
    id: int
    name: str
    available: bool
    builtin: bool


@record
class Queue:
    id: int
    name: str
    messaging: bool
    numbers: tuple[str, ...]


@record
class SmsTemplate:
    id: int
    name: str
    body: str


# --- activities ---------------------------------------------------------------------


async def list_activities(db: Database) -> list[Activity]:
    rows = await db.fetchall("SELECT * FROM activities ORDER BY id")
    return [Activity(r["id"], r["name"], bool(r["available"]), bool(r["builtin"])) for r in rows]


async def add_activity(
    db: Database, actor: Actor, name: str, *, available: bool = False
) -> Activity:
    authorize(actor, Action.MANAGE_PERMISSIONS)
    name = values.text("the activity's name", name, required=True)
    async with db.transaction() as tx:
        if await tx.fetchone("SELECT 1 FROM activities WHERE name = ?", (name,)):
            raise AlreadyTaken(f"an activity named {name!r} already exists")
        activity_id = await tx.insert(
            "INSERT INTO activities (name, available, created_at) VALUES (?, ?, ?)",
            (name, int(available), tx.now_ms),
        )
        await tx.emit("activity.added", "activity", activity_id, actor_id=actor.id)
    return Activity(activity_id, name, available, False)


async def edit_activity(
    db: Database,
    actor: Actor,
    name: str,
    *,
    rename: str | None = None,
    available: bool | None = None,
) -> Activity:
    """Rename an activity a manager added, or say whether agents in it are offered
    conversations (``available``).

    The built-in ones (Available, Away, Lunch, Wrap-up, Offline) keep their
    name and meaning: a new profile's default is found by the name Available,
    and routing offers to agents in it. Refused (NotAllowed) naming the rule.
    """
    authorize(actor, Action.MANAGE_PERMISSIONS)
    async with db.transaction() as tx:
        row = await tx.fetchone("SELECT * FROM activities WHERE name = ?", (name.strip(),))
        if row is None:
            raise NotFound(f"no activity named {name!r}")
        if row["builtin"] and (rename is not None or available is not None):
            raise NotAllowed(
                f"{row['name']} is a built-in activity: it keeps its name and whether agents"
                " in it are offered conversations; add an activity of your own instead"
            )
        new_name = (
            row["name"]
            if rename is None
            else values.text("the activity's name", rename, required=True)
        )
        other = await tx.fetchone("SELECT id FROM activities WHERE name = ?", (new_name,))
        if other is not None and other["id"] != row["id"]:
            raise AlreadyTaken(f"an activity named {new_name!r} already exists")
        flag = bool(row["available"]) if available is None else available
        await tx.execute(
            "UPDATE activities SET name = ?, available = ? WHERE id = ?",
            (new_name, int(flag), row["id"]),
        )
        await tx.emit("activity.changed", "activity", row["id"], actor_id=actor.id)
    return Activity(row["id"], new_name, flag, False)


async def _activity_id(tx: Tx, name: str) -> int:
    row = await tx.fetchone("SELECT id FROM activities WHERE name = ?", (name.strip(),))
    if row is None:
        raise InvalidInput(f"there is no activity {name!r}; add it first")
    return int(row["id"])


async def set_profile_activities(
    db: Database, actor: Actor, profile: str, activities: Sequence[str], default: str
) -> None:
    """The activities ``profile`` may use; ``default`` (one of them) is the one at login."""
    authorize(actor, Action.MANAGE_PERMISSIONS)
    check_default_activity(activities, default)
    async with db.transaction() as tx:
        profile_id = await id_by_name_in(tx, profile)
        await set_profile_activities_in(tx, profile_id, activities, default)
        await changed(tx, actor, profile_id)


def check_default_activity(activities: Sequence[str], default: str) -> None:
    if default.strip().casefold() not in {a.strip().casefold() for a in activities}:
        raise InvalidInput(f"the default activity {default!r} must be one of the profile's")


async def set_profile_activities_in(
    tx: Tx, profile_id: int, activities: Sequence[str], default: str
) -> None:
    """``set_profile_activities`` inside a transaction (no event)."""
    ids = {await _activity_id(tx, a) for a in activities}
    default_id = await _activity_id(tx, default)
    await tx.execute(
        "DELETE FROM permission_profile_activities WHERE profile_id = ?", (profile_id,)
    )
    await tx.executemany(
        "INSERT INTO permission_profile_activities (profile_id, activity_id, is_default)"
        " VALUES (?, ?, ?)",
        [(profile_id, a, int(a == default_id)) for a in sorted(ids)],
    )


async def profile_activities(db: Database, profile: str) -> list[tuple[Activity, bool]]:
    """The profile's activities, each with whether it is the default at login."""
    profile_id = await id_by_name_in(db, profile)
    rows = await db.fetchall(
        "SELECT a.*, g.is_default FROM permission_profile_activities g"
        " JOIN activities a ON a.id = g.activity_id WHERE g.profile_id = ? ORDER BY a.id",
        (profile_id,),
    )
    return [
        (
            Activity(r["id"], r["name"], bool(r["available"]), bool(r["builtin"])),
            bool(r["is_default"]),
        )
        for r in rows
    ]


# --- queues ---------------------------------------------------------------------------


async def list_queues(db: Database) -> list[Queue]:
    rows = await db.fetchall(
        "SELECT q.*, (SELECT group_concat(e164, ' ') FROM"
        " (SELECT e164 FROM numbers n WHERE n.queue_id = q.id ORDER BY e164)) AS numbers"
        " FROM queues q ORDER BY q.name"
    )
    return [
        Queue(r["id"], r["name"], bool(r["messaging"]), tuple((r["numbers"] or "").split()))
        for r in rows
    ]


async def _queue_id(tx: Database | Tx, name: str) -> int:
    row = await tx.fetchone("SELECT id FROM queues WHERE name = ?", (name.strip(),))
    if row is None:
        raise NotFound(f"no queue named {name!r}")
    return int(row["id"])


async def _number_id(tx: Tx, e164: str) -> int:
    row = await tx.fetchone("SELECT id FROM numbers WHERE e164 = ?", (e164.strip(),))
    if row is None:
        raise NotFound(f"{e164!r} is not one of our numbers (switchboard numbers list)")
    return int(row["id"])


async def add_queue(
    db: Database, actor: Actor, name: str, numbers: Sequence[str] = (), *, messaging: bool = True
) -> None:
    """A queue, with the numbers whose messages it takes (moved from their old queue)."""
    authorize(actor, Action.MANAGE_PERMISSIONS)
    name = values.text("the queue's name", name, required=True)
    if messaging and not numbers:
        raise InvalidInput(
            f"queue {name!r} has no number: a queue with messaging on takes the messages"
            " of its numbers; name one, or create it with messaging off"
        )
    async with db.transaction() as tx:
        if await tx.fetchone("SELECT 1 FROM queues WHERE name = ?", (name,)):
            raise AlreadyTaken(f"a queue named {name!r} already exists")
        queue_id = await tx.insert(
            "INSERT INTO queues (name, messaging, created_at) VALUES (?, ?, ?)",
            (name, int(messaging), tx.now_ms),
        )
        for number in numbers:
            await _move_number(tx, await _number_id(tx, number), queue_id, number)
        await tx.emit("queue.added", "queue", queue_id, actor_id=actor.id)


async def _move_number(tx: Tx, number_id: int, queue_id: int | None, shown: str) -> None:
    old = await tx.scalar("SELECT queue_id FROM numbers WHERE id = ?", (number_id,))
    await tx.execute("UPDATE numbers SET queue_id = ? WHERE id = ?", (queue_id, number_id))
    if old is not None and old != queue_id:
        await _ensure_has_number(tx, old, f"moving {shown} away")


async def _ensure_has_number(tx: Tx, queue_id: int, what: str) -> None:
    row = await tx.fetchone(
        "SELECT q.name, q.messaging, (SELECT count(*) FROM numbers n WHERE n.queue_id = q.id)"
        " AS numbers FROM queues q WHERE q.id = ?",
        (queue_id,),
    )
    if row is not None and row["messaging"] and not row["numbers"]:
        raise NotAllowed(
            f"{what} would leave queue {row['name']!r} with messaging on and no number;"
            " give it another number or turn its messaging off first"
        )


async def edit_queue(
    db: Database,
    actor: Actor,
    name: str,
    *,
    rename: str | None = None,
    messaging: bool | None = None,
) -> None:
    authorize(actor, Action.MANAGE_PERMISSIONS)
    async with db.transaction() as tx:
        queue_id = await _queue_id(tx, name)
        if rename is not None:
            new = values.text("the queue's name", rename, required=True)
            row = await tx.fetchone("SELECT id FROM queues WHERE name = ?", (new,))
            if row is not None and row["id"] != queue_id:
                raise AlreadyTaken(f"a queue named {new!r} already exists")
            await tx.execute("UPDATE queues SET name = ? WHERE id = ?", (new, queue_id))
        if messaging is not None:
            await tx.execute(
                "UPDATE queues SET messaging = ? WHERE id = ?", (int(messaging), queue_id)
            )
            await _ensure_has_number(tx, queue_id, f"turning messaging on for {name}")
        await tx.emit("queue.changed", "queue", queue_id, actor_id=actor.id)


async def set_number_queue(db: Database, actor: Actor, number: str, queue: str | None) -> None:
    """Number → queue (None: no queue)."""
    authorize(actor, Action.MANAGE_PERMISSIONS)
    async with db.transaction() as tx:
        number_id = await _number_id(tx, number)
        queue_id = None if queue is None else await _queue_id(tx, queue)
        await _move_number(tx, number_id, queue_id, number)
        if queue_id is not None:
            await tx.emit("queue.changed", "queue", queue_id, actor_id=actor.id)


async def set_profile_queue(
    db: Database,
    actor: Actor,
    profile: str,
    queue: str,
    *,
    messaging: bool = True,
    score: object = 50,
) -> None:
    """R3: ``profile`` takes ``queue`` with messaging on or off and a score 0-100."""
    authorize(actor, Action.MANAGE_PERMISSIONS)
    checked = values.score("score", score)
    async with db.transaction() as tx:
        profile_id = await id_by_name_in(tx, profile)
        await set_profile_queue_in(tx, profile_id, queue, messaging=messaging, score=checked)
        await changed(tx, actor, profile_id)


async def set_profile_queue_in(
    tx: Tx, profile_id: int, queue: str, *, messaging: bool, score: int
) -> None:
    """``set_profile_queue`` inside a transaction (no event), ``score`` already checked."""
    await tx.execute(
        "INSERT INTO permission_profile_queues (profile_id, queue_id, messaging, score)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (profile_id, queue_id) DO UPDATE"
        " SET messaging = excluded.messaging, score = excluded.score",
        (profile_id, await _queue_id(tx, queue), int(messaging), score),
    )


async def remove_profile_queue(db: Database, actor: Actor, profile: str, queue: str) -> None:
    authorize(actor, Action.MANAGE_PERMISSIONS)
    async with db.transaction() as tx:
        profile_id = await id_by_name_in(tx, profile)
        await remove_profile_queue_in(tx, profile_id, queue)
        await changed(tx, actor, profile_id)


async def remove_profile_queue_in(tx: Tx, profile_id: int, queue: str) -> None:
    await tx.execute(
        "DELETE FROM permission_profile_queues WHERE profile_id = ? AND queue_id = ?",
        (profile_id, await _queue_id(tx, queue)),
    )


async def profile_queues(db: Database, profile: str) -> list[tuple[str, bool, int]]:
    """(queue, messaging, score) of the profile, by queue name."""
    profile_id = await id_by_name_in(db, profile)
    rows = await db.fetchall(
        "SELECT q.name, g.messaging, g.score FROM permission_profile_queues g"
        " JOIN queues q ON q.id = g.queue_id WHERE g.profile_id = ? ORDER BY q.name",
        (profile_id,),
    )
    return [(r["name"], bool(r["messaging"]), r["score"]) for r in rows]


# --- SMS numbers ----------------------------------------------------------------------


async def set_profile_numbers(
    db: Database, actor: Actor, profile: str, numbers: Sequence[str]
) -> None:
    """The numbers ``profile`` may send from; none: every number."""
    authorize(actor, Action.MANAGE_PERMISSIONS)
    async with db.transaction() as tx:
        profile_id = await id_by_name_in(tx, profile)
        await set_profile_numbers_in(tx, profile_id, numbers)
        await changed(tx, actor, profile_id)


async def set_profile_numbers_in(tx: Tx, profile_id: int, numbers: Sequence[str]) -> None:
    """``set_profile_numbers`` inside a transaction (no event)."""
    ids = {await _number_id(tx, n) for n in numbers}
    await tx.execute("DELETE FROM permission_profile_numbers WHERE profile_id = ?", (profile_id,))
    await tx.executemany(
        "INSERT INTO permission_profile_numbers (profile_id, number_id) VALUES (?, ?)",
        [(profile_id, n) for n in sorted(ids)],
    )


async def profile_numbers(db: Database, profile: str) -> list[str]:
    profile_id = await id_by_name_in(db, profile)
    rows = await db.fetchall(
        "SELECT n.e164 FROM permission_profile_numbers g JOIN numbers n ON n.id = g.number_id"
        " WHERE g.profile_id = ? ORDER BY n.e164",
        (profile_id,),
    )
    return [r["e164"] for r in rows]


# --- SMS templates ----------------------------------------------------------------------


async def save_template(db: Database, actor: Actor, name: str, body: str) -> SmsTemplate:
    """Add or replace a canned reply; its fields are checked now (unknown ones refused)."""
    authorize(actor, Action.MANAGE_PERMISSIONS)
    name = values.text("the template's name", name, required=True)
    compile_template(body, CANNED_REPLY_FIELDS)
    async with db.transaction() as tx:
        row = await tx.fetchone("SELECT id FROM sms_templates WHERE name = ?", (name,))
        if row is None:
            template_id = await tx.insert(
                "INSERT INTO sms_templates (name, body, created_at, updated_at)"
                " VALUES (?, ?, ?, ?)",
                (name, body, tx.now_ms, tx.now_ms),
            )
        else:
            template_id = int(row["id"])
            await tx.execute(
                "UPDATE sms_templates SET body = ?, updated_at = ? WHERE id = ?",
                (body, tx.now_ms, template_id),
            )
        await tx.emit("sms_template.saved", "sms_template", template_id, actor_id=actor.id)
    return SmsTemplate(template_id, name, body)


async def delete_template(db: Database, actor: Actor, name: str) -> None:
    authorize(actor, Action.MANAGE_PERMISSIONS)
    async with db.transaction() as tx:
        row = await tx.fetchone("SELECT id FROM sms_templates WHERE name = ?", (name.strip(),))
        if row is None:
            raise NotFound(f"no SMS template named {name!r}")
        await tx.execute("DELETE FROM sms_templates WHERE id = ?", (row["id"],))
        await tx.emit("sms_template.deleted", "sms_template", row["id"], actor_id=actor.id)


async def list_templates(db: Database, profile: str | None = None) -> list[SmsTemplate]:
    """Every template, or those of ``profile``."""
    if profile is None:
        rows = await db.fetchall("SELECT * FROM sms_templates ORDER BY name")
    else:
        rows = await db.fetchall(
            "SELECT t.* FROM sms_templates t JOIN permission_profile_templates g"
            " ON g.template_id = t.id WHERE g.profile_id = ? ORDER BY t.name",
            (await id_by_name_in(db, profile),),
        )
    return [SmsTemplate(r["id"], r["name"], r["body"]) for r in rows]


async def set_profile_template(
    db: Database, actor: Actor, profile: str, template: str, *, granted: bool = True
) -> None:
    """Give ``profile`` the template (``granted``) or take it away."""
    authorize(actor, Action.MANAGE_PERMISSIONS)
    async with db.transaction() as tx:
        profile_id = await id_by_name_in(tx, profile)
        await set_profile_template_in(tx, profile_id, template, granted=granted)
        await changed(tx, actor, profile_id)


async def set_profile_template_in(tx: Tx, profile_id: int, template: str, *, granted: bool) -> None:
    """``set_profile_template`` inside a transaction (no event)."""
    row = await tx.fetchone("SELECT id FROM sms_templates WHERE name = ?", (template.strip(),))
    if row is None:
        raise NotFound(f"no SMS template named {template!r}")
    if granted:
        await tx.execute(
            "INSERT OR IGNORE INTO permission_profile_templates (profile_id, template_id)"
            " VALUES (?, ?)",
            (profile_id, row["id"]),
        )
    else:
        await tx.execute(
            "DELETE FROM permission_profile_templates WHERE profile_id = ? AND template_id = ?",
            (profile_id, row["id"]),
        )


# --- SMS campaigns ----------------------------------------------------------------------


async def set_profile_campaign(
    db: Database, actor: Actor, profile: str, campaign: str, *, granted: bool = True
) -> None:
    """Let ``profile`` see and work on the campaign (``granted``), or no longer."""
    authorize(actor, Action.MANAGE_PERMISSIONS)
    async with db.transaction() as tx:
        profile_id = await id_by_name_in(tx, profile)
        await set_profile_campaign_in(tx, profile_id, campaign, granted=granted)
        await changed(tx, actor, profile_id)


async def set_profile_campaign_in(tx: Tx, profile_id: int, campaign: str, *, granted: bool) -> None:
    """``set_profile_campaign`` inside a transaction (no event)."""
    row = await tx.fetchone("SELECT id FROM campaigns WHERE name = ?", (campaign.strip(),))
    if row is None:
        raise NotFound(f"no campaign named {campaign!r}")
    if granted:
        await tx.execute(
            "INSERT OR IGNORE INTO permission_profile_campaigns (profile_id, campaign_id)"
            " VALUES (?, ?)",
            (profile_id, row["id"]),
        )
    else:
        await tx.execute(
            "DELETE FROM permission_profile_campaigns WHERE profile_id = ? AND campaign_id = ?",
            (profile_id, row["id"]),
        )


async def profile_campaigns(db: Database, profile: str) -> list[str]:
    """The names of the campaigns ``profile`` lists (one that manages the account sees all)."""
    rows = await db.fetchall(
        "SELECT c.name FROM permission_profile_campaigns g JOIN campaigns c"
        " ON c.id = g.campaign_id WHERE g.profile_id = ? ORDER BY c.name",
        (await id_by_name_in(db, profile),),
    )
    return [r["name"] for r in rows]
