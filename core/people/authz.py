"""Who may do what. Every service asks ``authorize`` before it acts.

One rule per action (``RULES``), read from the principal's active permission
profile. A rule answers both questions a service asks: "may this principal
do this to this target?" (``allows``/``authorize``) and "which rows may it
see?" (``scope``: an SQL fragment and its parameters). Both come from the
same condition object (``Cond``), which can test a target and write itself
as SQL, so a list and a single check cannot disagree
(tests/core/test_permission_matrix.py checks it on generated data).

The SYSTEM principal (the worker, the local operator) may do everything.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from core.errors import NotAllowed
from core.permissions.principal import SYSTEM, Principal
from core.records import record

Actor = Principal
"""Services call whoever asks their ``actor``: it is the principal."""

__all__ = [
    "SYSTEM",
    "Action",
    "Actor",
    "ConversationAccess",
    "NumberAccess",
    "OfferAccess",
    "Principal",
    "Scope",
    "TemplateAccess",
    "allows",
    "authorize",
    "scope",
]


class Action(StrEnum):
    SEND_SMS = "send SMS from this number"
    VIEW_CONVERSATION = "view this conversation"
    VIEW_ALL_CONVERSATIONS = "view every conversation"
    TAKE_CONVERSATION = "take this conversation"
    TAKE_OVER_CONVERSATION = "take over a conversation owned by another agent"
    CONFIRM_OPTOUT = "confirm or dismiss a possible opt-out"
    VIEW_CONTACTS = "view contacts"
    EDIT_CONTACTS = "edit contacts"
    IMPORT_CONTACTS = "import or export contacts"
    DELETE_CONTACTS = "delete contacts"
    MANAGE_NUMBERS = "manage SMS numbers"
    MANAGE_AGENTS = "manage agents"
    MANAGE_PERMISSIONS = "manage permission profiles, activities, queues and SMS templates"
    MANAGE_SETTINGS = "change account settings"
    TRANSFER_TO_QUEUE = "transfer this conversation to a queue"
    TRANSFER_TO_AGENT = "transfer this conversation to an agent"
    ANSWER_OFFER = "answer this offer"
    REFUSE_OFFER = "refuse this offer"
    VIEW_STATISTICS = "view statistics"
    USE_TEMPLATE = "use this SMS template"
    CLOSE_CONVERSATION = "close this conversation with an outcome"
    VIEW_ON_CALL = "see notification profiles and who is on call"
    MANAGE_NOTIFICATIONS = (
        "manage notification profiles, groups, outcomes, collected fields and on-call schedules"
    )
    VIEW_SHIFTS = "see shifts, who is on shift and who gets mobile alerts"
    MANAGE_SHIFTS = "manage staff shifts"
    SET_OWN_ALERTS = "set this person's alert consent and New Chat alert"
    VIEW_CAMPAIGN = "see this SMS campaign"
    MANAGE_CAMPAIGN = "create, edit, start, pause, resume or cancel this SMS campaign"
    VIEW_CAMPAIGN_POOL = "see this SMS campaign's waiting pool"
    PROGRAM_TARGETS = "program this SMS campaign's targets"
    REPROGRAM_TARGETS = "reprogram this SMS campaign's targets"
    REMOVE_TARGETS = "remove this SMS campaign's targets"
    VIEW_CASES = "see cases"
    WORK_CASE = "add notes, quick actions and contacts to this case"
    MANAGE_LOCATIONS = "manage case locations"


@record
class ConversationAccess:
    """What the rules need to know about a conversation."""

    owner_id: int | None
    subscriber_ids: frozenset[int]
    is_public: bool
    queue_id: int | None = None
    """Its queue: the one routing gave it, else its number's; None: no queue."""


@record
class NumberAccess:
    """One of our numbers, as a sender."""

    number_id: int
    e164: str = ""


@record
class OfferAccess:
    """A routing offer: only the agent it was made to answers it."""

    agent_id: int


@record
class CampaignAccess:
    """An SMS campaign; None as the target of MANAGE_CAMPAIGN: creating one."""

    campaign_id: int


@record
class StaffAccess:
    """A staff member whose own choices (alert consent) are in question."""

    agent_id: int


@record
class TemplateAccess:
    template_id: int


@record
class Scope:
    """Rows of ``conversations`` (aliased as the caller said) a principal may see."""

    sql: str
    params: tuple[object, ...] = ()


# --- conditions on conversations: each tests a target and writes itself as SQL


class Cond:
    def test(self, target: ConversationAccess) -> bool:
        raise NotImplementedError

    def sql(self, alias: str) -> Scope:
        raise NotImplementedError


class _Every(Cond):
    def test(self, target: ConversationAccess) -> bool:
        return True

    def sql(self, alias: str) -> Scope:
        return Scope("1")


class _Nothing(Cond):
    def test(self, target: ConversationAccess) -> bool:
        return False

    def sql(self, alias: str) -> Scope:
        return Scope("0")


EVERY, NOTHING = _Every(), _Nothing()


class Public(Cond):
    """Public: waited past the public minutes, or owned by nobody (public from the start)."""

    def test(self, target: ConversationAccess) -> bool:
        return target.is_public or target.owner_id is None

    def sql(self, alias: str) -> Scope:
        return Scope(f"({alias}.is_public = 1 OR {alias}.owner_id IS NULL)")


# A conversation's queue, as ``ConversationAccess.queue_id`` has it.
_QUEUE = "coalesce({a}.queue_id, (SELECT n.queue_id FROM numbers n WHERE n.id = {a}.number_id))"


@record
class InPool(Cond):
    """The waiting pool of a profile whose queues (messaging on) are ``queue_ids``:
    public conversations of those queues, and public ones with no queue (everyone's)."""

    queue_ids: frozenset[int]

    def test(self, target: ConversationAccess) -> bool:
        return Public().test(target) and (
            target.queue_id is None or target.queue_id in self.queue_ids
        )

    def sql(self, alias: str) -> Scope:
        public = Public().sql(alias)
        queue = _QUEUE.format(a=alias)
        ids = sorted(self.queue_ids)
        return Scope(
            f"({public.sql} AND CASE WHEN {queue} IS NULL THEN 1"
            f" ELSE {queue} IN ({', '.join('?' * len(ids))}) END)",
            (*public.params, *ids),
        )


@record
class OwnedBy(Cond):
    agent_id: int

    def test(self, target: ConversationAccess) -> bool:
        return target.owner_id == self.agent_id

    def sql(self, alias: str) -> Scope:
        return Scope(f"{alias}.owner_id = ?", (self.agent_id,))


@record
class FollowedBy(Cond):
    agent_id: int

    def test(self, target: ConversationAccess) -> bool:
        return self.agent_id in target.subscriber_ids

    def sql(self, alias: str) -> Scope:
        return Scope(
            "EXISTS (SELECT 1 FROM conversation_subscribers s"
            f" WHERE s.conversation_id = {alias}.id AND s.agent_id = ?)",
            (self.agent_id,),
        )


@record
class AnyOf(Cond):
    parts: tuple[Cond, ...]

    def test(self, target: ConversationAccess) -> bool:
        return any(p.test(target) for p in self.parts)

    def sql(self, alias: str) -> Scope:
        if not self.parts:
            return Scope("0")
        scopes = [p.sql(alias) for p in self.parts]
        return Scope(
            "(" + " OR ".join(s.sql for s in scopes) + ")",
            tuple(v for s in scopes for v in s.params),
        )


# --- the rules -----------------------------------------------------------------


@record
class Rule:
    """What an action needs: a profile right (``needs``, a ProfileSettings name;
    None: any active profile) and, for conversations, which ones (``rows``);
    for other targets, ``check`` returns why not, or None."""

    needs: str | None = None
    rows: Callable[[Principal], Cond] | None = None
    check: Callable[[Principal, object], str | None] | None = None


def _visible(p: Principal) -> Cond:
    # Supervision: every conversation (the manager dashboard). Otherwise the
    # agent's own and followed ones, and the waiting pool if the profile has it.
    if p.settings.supervision:
        return EVERY
    assert p.id is not None
    mine: tuple[Cond, ...] = (OwnedBy(p.id), FollowedBy(p.id))
    return AnyOf((*mine, _pool(p)) if p.settings.pool_access else mine)


def _pool(p: Principal) -> Cond:
    # R2 pool access: the public conversations of the profile's queues (messaging
    # on), and those of no queue. Seeing it and taking from it are this one rule.
    return InPool(p.queue_ids)


def _closable(p: Principal) -> Cond:
    # P4: the agent who has the conversation closes it; a supervisor any.
    if p.settings.supervision:
        return EVERY
    assert p.id is not None
    return OwnedBy(p.id)


def _sender(p: Principal, target: object) -> str | None:
    if not isinstance(target, NumberAccess):
        return "the number to send from is not known"
    # An empty list means every number: the built-in profiles name none, and
    # a centre that never restricts senders need not list each new number.
    if p.number_ids and target.number_id not in p.number_ids:
        shown = target.e164 or f"number {target.number_id}"
        return f"{shown} is not one of the SMS numbers of permission profile {p.profile_name!r}"
    return None


def _own_offer(p: Principal, target: object) -> str | None:
    if isinstance(target, OfferAccess) and target.agent_id == p.id:
        return None
    return "the offer was made to another agent"


def _template(p: Principal, target: object) -> str | None:
    if isinstance(target, TemplateAccess) and target.template_id in p.template_ids:
        return None
    return f"the template is not one of permission profile {p.profile_name!r}'s"


def _campaign(p: Principal, target: object) -> str | None:
    # A profile that manages the account sees every campaign; others those their
    # profile lists (the seed's Configuration tab). Creating one names none yet.
    if target is None or p.settings.manage_settings:
        return None
    if isinstance(target, CampaignAccess) and target.campaign_id in p.campaign_ids:
        return None
    return f"the campaign is not one of permission profile {p.profile_name!r}'s"


def _self(p: Principal, target: object) -> str | None:
    if isinstance(target, StaffAccess) and target.agent_id == p.id:
        return None
    return "only the person themselves may give or take back consent to SMS on their phone"


RULES: dict[Action, Rule] = {
    Action.SEND_SMS: Rule(check=_sender),
    Action.VIEW_CONVERSATION: Rule(rows=_visible),
    Action.VIEW_ALL_CONVERSATIONS: Rule(needs="supervision"),
    Action.TAKE_CONVERSATION: Rule(needs="pool_access", rows=_pool),
    Action.TAKE_OVER_CONVERSATION: Rule(needs="supervision"),
    Action.CONFIRM_OPTOUT: Rule(rows=_visible),
    Action.VIEW_CONTACTS: Rule(),
    Action.EDIT_CONTACTS: Rule(),
    Action.IMPORT_CONTACTS: Rule(needs="manage_contacts"),
    Action.DELETE_CONTACTS: Rule(needs="manage_contacts"),
    Action.MANAGE_NUMBERS: Rule(needs="manage_numbers"),
    Action.MANAGE_AGENTS: Rule(needs="manage_users"),
    Action.MANAGE_PERMISSIONS: Rule(needs="manage_users"),
    Action.MANAGE_SETTINGS: Rule(needs="manage_settings"),
    Action.TRANSFER_TO_QUEUE: Rule(needs="transfer_to_queue", rows=_visible),
    Action.TRANSFER_TO_AGENT: Rule(needs="transfer_to_agent", rows=_visible),
    Action.ANSWER_OFFER: Rule(check=_own_offer),
    Action.REFUSE_OFFER: Rule(needs="may_refuse", check=_own_offer),
    Action.VIEW_STATISTICS: Rule(needs="statistics"),
    Action.USE_TEMPLATE: Rule(check=_template),
    Action.CLOSE_CONVERSATION: Rule(rows=_closable),
    # Agents read contact numbers and who is on call to transfer (P1, on-call).
    Action.VIEW_ON_CALL: Rule(),
    # The client's notification set-up is account configuration.
    Action.MANAGE_NOTIFICATIONS: Rule(needs="manage_settings"),
    Action.VIEW_SHIFTS: Rule(),
    # Shifts are staffing, like users: who works when.
    Action.MANAGE_SHIFTS: Rule(needs="manage_users"),
    # A2: consent is the person's own; a manager sees it but cannot tick it.
    Action.SET_OWN_ALERTS: Rule(check=_self),
    # S1, the seed's SMS campaign rights: access, then each targeting right.
    Action.VIEW_CAMPAIGN: Rule(needs="campaigns", check=_campaign),
    Action.MANAGE_CAMPAIGN: Rule(needs="campaigns", check=_campaign),
    Action.VIEW_CAMPAIGN_POOL: Rule(needs="campaign_pool", check=_campaign),
    Action.PROGRAM_TARGETS: Rule(needs="campaign_program", check=_campaign),
    Action.REPROGRAM_TARGETS: Rule(needs="campaign_reprogram", check=_campaign),
    Action.REMOVE_TARGETS: Rule(needs="campaign_remove", check=_campaign),
    # C1-C4: any signed-in agent works cases; where they are sent from is configuration.
    Action.VIEW_CASES: Rule(),
    Action.WORK_CASE: Rule(),
    Action.MANAGE_LOCATIONS: Rule(needs="manage_settings"),
}


def refusal(actor: Principal, action: Action, target: object | None = None) -> str | None:
    """Why ``actor`` may not do ``action`` on ``target``, or None if it may."""
    if actor.system:
        return None
    if actor.profile_id is None or actor.id is None:
        return "no active permission profile"
    rule = RULES[action]
    if rule.needs is not None and not getattr(actor.settings, rule.needs):
        return f"permission profile {actor.profile_name!r} does not have {rule.needs}"
    if (
        rule.rows is not None
        and isinstance(target, ConversationAccess)
        and not rule.rows(actor).test(target)
    ):
        return f"permission profile {actor.profile_name!r} does not reach this conversation"
    if rule.check is not None:
        return rule.check(actor, target)
    return None


def allows(actor: Principal, action: Action, target: object | None = None) -> bool:
    return refusal(actor, action, target) is None


def authorize(actor: Principal, action: Action, target: object | None = None) -> None:
    """Raise NotAllowed unless ``actor`` may do ``action`` on ``target``, naming the rule."""
    why = refusal(actor, action, target)
    if why is not None:
        raise NotAllowed(f"{actor.label} may not {action}: {why}")


def scope(actor: Principal, action: Action, alias: str = "c") -> Scope:
    """The conversations ``actor`` may ``action``, as SQL on ``alias``: the same rule
    ``allows`` applies to one ``ConversationAccess``."""
    rule = RULES[action]
    if rule.rows is None:
        raise ValueError(f"{action} is not about conversations")
    if actor.system:
        return Scope("1")
    if refusal(actor, action) is not None:
        return Scope("0")
    return rule.rows(actor).sql(alias)
