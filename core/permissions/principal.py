"""Who is asking: a user's active permission profile, its settings and configuration.

A principal is read from the database once per session (``load``) and read
again when the feed says the profile, its configuration or the user changed
(the console does, so a manager's edit reaches running consoles without a new
login). Services take it as their ``actor`` and ask ``core.people.authz``
what it may do; nothing compares role names.
"""

from __future__ import annotations

import sqlite3
from dataclasses import field, fields

from core.db import Database, Tx
from core.records import record


@record
class ProfileSettings:
    """R2: a permission profile's settings (the columns of ``permission_profiles``).

    The routing engineer reads the offer settings (``max_simultaneous``,
    ``interaction_timeout_seconds``, ``auto_accept_seconds``…); the rights
    are answered by ``authz``'s rules, never read directly by a screen.
    """

    interaction_timeout_seconds: int = 0
    max_missed_offers: int | None = None
    """None: never moved to another activity for missed offers."""
    missed_activity_id: int | None = None
    pool_access: bool = False
    max_simultaneous: int = 1
    may_refuse: bool = False
    auto_accept_seconds: int | None = None
    """None: offers are never accepted for the agent."""
    transfer_to_queue: bool = False
    transfer_to_agent: bool = False
    supervision: bool = False
    campaigns: bool = False
    campaign_program: bool = False
    campaign_reprogram: bool = False
    campaign_remove: bool = False
    campaign_pool: bool = False
    statistics: bool = False
    manage_contacts: bool = False
    manage_numbers: bool = False
    manage_users: bool = False
    manage_settings: bool = False


SETTING_NAMES: tuple[str, ...] = tuple(f.name for f in fields(ProfileSettings))
RIGHTS: tuple[str, ...] = tuple(f.name for f in fields(ProfileSettings) if f.type in ("bool", bool))
"""The yes/no settings: what a profile may do."""


def settings_from_row(row: sqlite3.Row) -> ProfileSettings:
    """The settings of a ``permission_profiles`` row."""
    return ProfileSettings(
        interaction_timeout_seconds=row["interaction_timeout_seconds"],
        max_missed_offers=row["max_missed_offers"],
        missed_activity_id=row["missed_activity_id"],
        max_simultaneous=row["max_simultaneous"],
        auto_accept_seconds=row["auto_accept_seconds"],
        **{name: bool(row[name]) for name in RIGHTS},
    )


@record
class QueueGrant:
    """R3: a queue of the profile: messaging on or off, and the profile's score in it."""

    queue_id: int
    messaging: bool
    score: int


@record
class Principal:
    """Who is asking, with what their active permission profile lets them do.

    ``profile_id`` None: no active profile (a deactivated or unassigned user),
    which may do nothing; ``system`` is the worker and the local operator,
    who may do everything.
    """

    id: int | None
    username: str
    name: str = ""
    profile_id: int | None = None
    profile_name: str = ""
    settings: ProfileSettings = field(default_factory=ProfileSettings)
    queues: tuple[QueueGrant, ...] = ()
    number_ids: frozenset[int] = frozenset()
    """SMS numbers the profile may send from; empty: every number (see authz)."""
    template_ids: frozenset[int] = frozenset()
    campaign_ids: frozenset[int] = frozenset()
    """SMS campaigns the profile may see and work on (S1; manage_settings sees all)."""
    activity_ids: frozenset[int] = frozenset()
    default_activity_id: int | None = None
    profile_ids: tuple[int, ...] = ()
    """Every permission profile the user holds (R4), the active one among them."""
    distribution_score: int = 50
    system: bool = False

    @property
    def label(self) -> str:
        return self.name or self.username

    @property
    def described(self) -> str:
        """Who, and under which profile: what a refusal names."""
        if self.system:
            return self.label
        if self.profile_id is None:
            return f"{self.label} (no active permission profile)"
        return f"{self.label} (permission profile {self.profile_name!r})"

    def holds(self, profile_id: int) -> bool:
        return profile_id in self.profile_ids

    @property
    def queue_ids(self) -> frozenset[int]:
        """Queues whose conversations this principal may be offered (messaging on)."""
        return frozenset(q.queue_id for q in self.queues if q.messaging)


SYSTEM = Principal(id=None, username="system", name="Switchboard", system=True)
"""The worker, and the local operator running admin commands on the database file."""


async def load(db: Database, agent_id: int) -> Principal:
    """The principal of agent ``agent_id`` as the database says now."""
    return await load_in(db, agent_id)


async def load_in(tx: Database | Tx, agent_id: int) -> Principal:
    """``load`` through a database (read-only ones too) or inside a transaction."""
    # Imported here: NotFound lives with the errors, and this module stays light.
    from core.errors import NotFound

    row = await tx.fetchone(
        "SELECT a.id, a.username, a.name, a.active, a.active_profile_id, p.*,"
        " p.name AS profile_name, u.distribution_score"
        " FROM agents a LEFT JOIN permission_profiles p ON p.id = a.active_profile_id"
        " LEFT JOIN permission_profile_users u"
        "   ON u.profile_id = a.active_profile_id AND u.agent_id = a.id"
        " WHERE a.id = ?",
        (agent_id,),
    )
    if row is None:
        raise NotFound(f"no agent with id {agent_id}")
    held = tuple(
        r["profile_id"]
        for r in await tx.fetchall(
            "SELECT profile_id FROM permission_profile_users WHERE agent_id = ?"
            " ORDER BY profile_id",
            (agent_id,),
        )
    )
    base = Principal(id=row["id"], username=row["username"], name=row["name"], profile_ids=held)
    profile_id = row["active_profile_id"]
    # A deactivated user, or one whose active profile is not theirs (any more),
    # has no rights: the principal says so rather than keep stale ones.
    if not row["active"] or profile_id is None or profile_id not in held:
        return base
    queues = tuple(
        QueueGrant(r["queue_id"], bool(r["messaging"]) and bool(r["queue_messaging"]), r["score"])
        for r in await tx.fetchall(
            "SELECT g.queue_id, g.messaging, g.score, q.messaging AS queue_messaging"
            " FROM permission_profile_queues g JOIN queues q ON q.id = g.queue_id"
            " WHERE g.profile_id = ? ORDER BY g.queue_id",
            (profile_id,),
        )
    )
    numbers = await tx.fetchall(
        "SELECT number_id FROM permission_profile_numbers WHERE profile_id = ?", (profile_id,)
    )
    templates = await tx.fetchall(
        "SELECT template_id FROM permission_profile_templates WHERE profile_id = ?", (profile_id,)
    )
    campaigns = await tx.fetchall(
        "SELECT campaign_id FROM permission_profile_campaigns WHERE profile_id = ?", (profile_id,)
    )
    activities = await tx.fetchall(
        "SELECT activity_id, is_default FROM permission_profile_activities WHERE profile_id = ?",
        (profile_id,),
    )
    return Principal(
        id=row["id"],
        username=row["username"],
        name=row["name"],
        profile_id=profile_id,
        profile_name=row["profile_name"],
        settings=settings_from_row(row),
        queues=queues,
        number_ids=frozenset(r["number_id"] for r in numbers),
        template_ids=frozenset(r["template_id"] for r in templates),
        campaign_ids=frozenset(r["campaign_id"] for r in campaigns),
        activity_ids=frozenset(r["activity_id"] for r in activities),
        default_activity_id=next((r["activity_id"] for r in activities if r["is_default"]), None),
        profile_ids=held,
        distribution_score=row["distribution_score"]
        if row["distribution_score"] is not None
        else 50,
    )
