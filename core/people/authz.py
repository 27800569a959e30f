"""Who may do what. Every service asks ``authorize`` before it acts.

The policy is one object behind one function, so a later permission-profile
policy (R1-R5) replaces ``RolePolicy`` without touching the services.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from core.errors import NotAllowed


class Role(StrEnum):
    AGENT = "agent"
    MANAGER = "manager"
    SYSTEM = "system"
    """The worker, and the local operator running admin commands on the database file."""


class Action(StrEnum):
    SEND_SMS = "send SMS"
    VIEW_CONVERSATION = "view this conversation"
    VIEW_ALL_CONVERSATIONS = "view every conversation"
    TAKE_CONVERSATION = "take this conversation"
    TAKE_OVER_CONVERSATION = "take over a conversation owned by another agent"
    CONFIRM_OPTOUT = "confirm or dismiss a possible opt-out"
    VIEW_CONTACTS = "view contacts"
    EDIT_CONTACTS = "edit contacts"
    IMPORT_CONTACTS = "import or export contacts"
    MANAGE_NUMBERS = "manage SMS numbers"
    MANAGE_AGENTS = "manage agents"
    MANAGE_SETTINGS = "change account settings"
    TRANSFER_TO_QUEUE = "transfer a conversation to a queue"
    TRANSFER_TO_AGENT = "transfer a conversation to another agent"
    ANSWER_OFFER = "accept or refuse this offer"


@dataclass(frozen=True, slots=True)
class Actor:
    id: int | None
    username: str
    role: Role
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or self.username


SYSTEM = Actor(id=None, username="system", role=Role.SYSTEM, name="Switchboard")


@dataclass(frozen=True, slots=True)
class ConversationAccess:
    """What the policy needs to know about a conversation."""

    owner_id: int | None
    subscriber_ids: frozenset[int]
    is_public: bool


@dataclass(frozen=True, slots=True)
class OfferAccess:
    """What the policy needs to know about a routing offer: whose it is."""

    agent_id: int


class Policy(Protocol):
    def allows(self, actor: Actor, action: Action, target: object | None) -> bool: ...


_AGENT_ACTIONS = {
    Action.SEND_SMS,
    Action.VIEW_CONVERSATION,
    Action.TAKE_CONVERSATION,
    Action.CONFIRM_OPTOUT,
    Action.VIEW_CONTACTS,
    Action.EDIT_CONTACTS,
    Action.ANSWER_OFFER,
}


class RolePolicy:
    """Two roles: managers may do everything; agents work their own conversations."""

    def allows(self, actor: Actor, action: Action, target: object | None) -> bool:
        if actor.role in (Role.SYSTEM, Role.MANAGER):
            return True
        if action not in _AGENT_ACTIONS:
            return False
        if isinstance(target, ConversationAccess) and action in (
            Action.VIEW_CONVERSATION,
            Action.CONFIRM_OPTOUT,
        ):
            return (
                target.is_public
                or target.owner_id is None
                or target.owner_id == actor.id
                or (actor.id in target.subscriber_ids)
            )
        if isinstance(target, ConversationAccess) and action is Action.TAKE_CONVERSATION:
            return target.is_public or target.owner_id is None
        if action is Action.ANSWER_OFFER:
            # An agent answers the offers made to them; transfers are a manager's.
            return isinstance(target, OfferAccess) and target.agent_id == actor.id
        return True


_policy: Policy = RolePolicy()


def set_policy(policy: Policy) -> None:
    global _policy
    _policy = policy


def allows(actor: Actor, action: Action, target: object | None = None) -> bool:
    return _policy.allows(actor, action, target)


def authorize(actor: Actor, action: Action, target: object | None = None) -> None:
    """Raise NotAllowed unless ``actor`` may do ``action`` on ``target``."""
    if not _policy.allows(actor, action, target):
        raise NotAllowed(f"{actor.label} ({actor.role}) may not {action}.")
