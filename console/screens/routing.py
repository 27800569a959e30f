"""The agent's routing pickers: activity (F7), active permission profile (F8), transfer (F9).

Each is a ``ChoiceScreen`` over what core lists, and each choice is core's
to make: ``activities.choose``, ``profiles.activate``, ``transfers.to_queue``
or ``transfers.to_agent``. A refusal (an activity the profile no longer
offers, a transfer right the profile lacks) shows core's message in the
picker.

Under the destinations, "On call now" lists each on-call schedule's
on-call profile with its contact numbers, to read out to the caller (the
SMS product cannot place a call), and a held profile with core's reason.
"""

from __future__ import annotations

from rich.text import Text

from console.context import ConsoleContext
from console.screens.choice import ChoiceScreen
from console.text import literal
from console.widgets import on_call
from core.people import agents
from core.permissions import configuration, profiles
from core.routing import activities, transfers
from core.sms.conversations import Conversation


def _mark(current: bool) -> Text:
    return Text("● " if current else "  ", style="bold")


async def activity_picker(context: ConsoleContext) -> ChoiceScreen[str]:
    """The activities the active permission profile offers, the current one marked."""
    db, actor = context.db, context.actor
    now = await activities.current(db, actor)
    choices: list[tuple[str, Text]] = []
    current = None
    for index, activity in enumerate(now.allowed):
        here = now.activity is not None and activity.id == now.activity.id
        current = index if here else current
        label = _mark(here) + literal(activity.name)
        label.append(
            "  offered conversations" if activity.available else "  not offered", style="dim"
        )
        choices.append((activity.name, label))

    async def choose(name: str) -> str:
        chosen = await activities.choose(db, context.actor, name)
        return f"Your activity is now {chosen.name}"

    title = Text("Activity") + Text(
        f"  (permission profile {actor.profile_name or 'none'})", style="dim"
    )
    return ChoiceScreen(title, choices, choose, current=current, id="activity-picker")


async def profile_picker(context: ConsoleContext) -> ChoiceScreen[str]:
    """The permission profiles this user holds, the active one marked."""
    db, actor = context.db, context.actor
    held = [p for p in await profiles.list_profiles(db) if actor.holds(p.id)]
    choices: list[tuple[str, Text]] = []
    current = None
    for index, profile in enumerate(held):
        here = profile.id == actor.profile_id
        current = index if here else current
        label = _mark(here) + literal(profile.name)
        if profile.description:
            label.append("  ")
            label.append_text(literal(profile.description, style="dim"))
        choices.append((profile.name, label))

    async def choose(name: str) -> str:
        await profiles.activate(db, context.actor, context.actor.username, name)
        return f"Your permission profile is now {name}"

    return ChoiceScreen(
        "Active permission profile", choices, choose, current=current, id="profile-picker"
    )


async def transfer_picker(
    context: ConsoleContext, conversation: Conversation
) -> ChoiceScreen[tuple[str, str]]:
    """Hand the conversation to a queue (offered again) or to a named, active agent."""
    db = context.db
    choices: list[tuple[tuple[str, str], Text]] = []
    for queue in await configuration.list_queues(db):
        if queue.messaging:
            label = Text("queue  ", style="dim") + literal(queue.name)
            choices.append((("queue", queue.name), label))
    for agent in await agents.list_agents(db):
        if agent.active and agent.id != context.actor.id:
            label = Text("agent  ", style="dim") + literal(agent.username)
            label.append("  ")
            label.append_text(literal(agent.name, style="dim"))
            choices.append((("agent", agent.username), label))

    async def choose(to: tuple[str, str]) -> str:
        kind, name = to
        actor = context.actor
        if kind == "queue":
            await transfers.to_queue(db, actor, conversation.id, name)
            return f"Transferred to the queue {name}: it is offered again there"
        await transfers.to_agent(db, actor, conversation.id, name)
        return f"Transferred to {name}"

    who = conversation.contact_name or conversation.phone
    title = Text("Transfer the conversation with ") + literal(who, style="bold")
    on_call_now = await on_call.for_transfer(db, context.actor)
    return ChoiceScreen(title, choices, choose, note=on_call_now, id="transfer-picker")
