"""Saving a permission profile as the editor shows it: all of it, or nothing.

The editor's Save sends its settings (R2) and every change on its
Configuration tab (R3: users, activities and the default at login, queues
with messaging and a score, SMS numbers, SMS templates) in one call. Each
change is checked first (scores, the default activity, text); then all are
applied in one transaction, whose lookups (a user, a queue, a number, a
template that must exist; a user's only profile; the last user manager)
refuse inside it. A refusal rolls everything back, so a profile is never
left half saved, and it says which change it is about (``about``) in words
that name the rule.

One ``permission_profile.changed`` event at the end (plus assigned/unassigned
per user, as ``profiles.assign`` writes them) reloads the consoles concerned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from core.db import Database, Tx
from core.errors import SwitchboardError
from core.people.authz import Action, Actor, authorize
from core.permissions import configuration, profiles, values
from core.permissions.profiles import Profile
from core.records import record


@record
class GiveUser:
    """The profile to one more user (not made their active one)."""

    username: str


@record
class TakeUser:
    """The profile taken from a user (refused if it is their only one)."""

    username: str


@record
class UserScore:
    """A holder's distribution score in this profile, 0-100."""

    username: str
    score: object


@record
class Activities:
    """The activities the profile may use; ``default`` (one of them) at login."""

    names: tuple[str, ...]
    default: str


@record
class GrantQueue:
    """The profile takes ``queue`` with messaging on or off and a score 0-100."""

    queue: str
    messaging: bool
    score: object


@record
class RevokeQueue:
    queue: str


@record
class Numbers:
    """The SMS numbers the profile may send from; none: every number."""

    numbers: tuple[str, ...]


@record
class GrantTemplate:
    """The profile may use the SMS template (``granted``), or no longer."""

    template: str
    granted: bool


Change = (
    GiveUser
    | TakeUser
    | UserScore
    | Activities
    | GrantQueue
    | RevokeQueue
    | Numbers
    | GrantTemplate
)


def _check(change: Change) -> Change:
    """What can be checked without the database, as stored (scores as ints)."""
    match change:
        case UserScore(username, score):
            return UserScore(username, values.score(f"the distribution score of {username}", score))
        case GrantQueue(queue, messaging, score):
            return GrantQueue(
                queue, messaging, values.score(f"the score of queue {queue!r}", score)
            )
        case Activities(names, default):
            configuration.check_default_activity(names, default)
        case GiveUser(username) | TakeUser(username):
            values.text("the username", username, required=True)
    return change


async def _apply(tx: Tx, actor: Actor, profile_id: int, name: str, change: Change) -> None:
    match change:
        case GiveUser(username):
            await profiles.assign_in(tx, actor, profile_id, name, username)
        case TakeUser(username):
            await profiles.unassign_in(tx, actor, profile_id, name, username)
        case UserScore(username, score):
            assert isinstance(score, int)
            await profiles.set_distribution_score_in(tx, profile_id, name, username, score)
        case Activities(names, default):
            await configuration.set_profile_activities_in(tx, profile_id, names, default)
        case GrantQueue(queue, messaging, score):
            assert isinstance(score, int)
            await configuration.set_profile_queue_in(
                tx, profile_id, queue, messaging=messaging, score=score
            )
        case RevokeQueue(queue):
            await configuration.remove_profile_queue_in(tx, profile_id, queue)
        case Numbers(numbers):
            await configuration.set_profile_numbers_in(tx, profile_id, numbers)
        case GrantTemplate(template, granted):
            await configuration.set_profile_template_in(tx, profile_id, template, granted=granted)


async def save(
    db: Database,
    actor: Actor,
    name: str,
    settings: Mapping[str, object] | None = None,
    changes: Sequence[Change] = (),
) -> Profile:
    """Store ``settings`` (as ``profiles.edit`` takes them; may rename) and ``changes``
    to permission profile ``name``, in one transaction: all of them or none.

    A refusal of one change carries it as ``about`` (a refused setting: None).
    """
    authorize(actor, Action.MANAGE_PERMISSIONS)
    checked: list[Change] = []
    for change in changes:
        try:
            checked.append(_check(change))
        except SwitchboardError as exc:
            exc.about = change
            raise
    async with db.transaction() as tx:
        profile_id = await profiles.id_by_name_in(tx, name)
        if settings:
            name = await profiles.edit_in(tx, profile_id, name, settings)
        for change, stored in zip(changes, checked, strict=True):
            try:
                await _apply(tx, actor, profile_id, name, stored)
            except SwitchboardError as exc:
                exc.about = change
                raise
        if settings or checked:
            await profiles.changed(tx, actor, profile_id)
        return await profiles.get(tx, name)
