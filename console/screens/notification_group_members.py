"""A notification group's members (P3): add a profile with ``a``, remove one with ``x``.

Adding picks from the profiles not yet in the group; core refuses the 51st
member, naming the limit, and the refusal shows on the line under the list.
The list follows the change feed, so someone else's change shows at once.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from console.context import ConsoleContext
from console.failures import ReportsFailures
from console.live import Changes
from console.screens.choice import ChoiceScreen
from console.text import literal
from console.widgets.status_line import StatusLine
from core.errors import SwitchboardError
from core.notify import groups, profiles
from core.notify.groups import Group
from core.text import counted


class GroupMembersScreen(ReportsFailures, ModalScreen[None]):
    DEFAULT_CSS = """
    GroupMembersScreen { align: center middle; }
    GroupMembersScreen > Vertical {
        width: 64; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    GroupMembersScreen #members-title { text-style: bold; margin-bottom: 1; }
    GroupMembersScreen OptionList { height: auto; max-height: 14; }
    GroupMembersScreen #members-status { height: auto; padding: 0; margin-top: 1; }
    GroupMembersScreen #members-status.-error { color: $text-error; }
    """
    BINDINGS = [
        Binding("a", "add", "Add member", id="group_members.add", tooltip="Add a profile"),
        Binding(
            "x",
            "remove",
            "Remove member",
            id="group_members.remove",
            tooltip="Take the selected profile out of the group",
        ),
        Binding("escape", "close", "Close", id="group_members.close", tooltip="Back to groups"),
    ]

    def __init__(self, context: ConsoleContext, group_id: int) -> None:
        super().__init__()
        self.context = context
        self.group_id = group_id
        self.group: Group | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(id="members-title")
            yield OptionList(id="members-list")
            yield StatusLine(HINT, id="members-status")

    async def on_mount(self) -> None:
        self.app.changes.subscribe(self, self.on_changes)  # type: ignore[attr-defined]
        await self.reload()
        self.query_one(OptionList).focus()

    async def reload(self) -> None:
        try:
            group = await groups.get(self.context.db, self.context.actor, self.group_id)
        except SwitchboardError as exc:
            self.say(str(exc), error=True)  # deleted meanwhile: nothing left to show
            self.query_one(OptionList).clear_options()
            return
        self.group = group
        count = len(group.members)
        self.query_one("#members-title", Static).update(
            Text.assemble("Group ", literal(group.name), f": {counted(count, 'member')}")
        )
        options = self.query_one(OptionList)
        at = options.highlighted
        options.clear_options()
        options.add_options(Option(literal(m.alias), id=str(m.profile_id)) for m in group.members)
        if group.members:
            options.highlighted = min(at or 0, count - 1)

    async def on_changes(self, changes: Changes) -> None:
        if changes.about("notification_group.", "notification_profile."):
            await self.reload()

    def say(self, message: str | None, *, error: bool = False) -> None:
        self.query_one("#members-status", StatusLine).say(message, error=error)

    @work(exclusive=True, group="members-add", exit_on_error=False, description="add a member")
    async def action_add(self) -> None:
        if self.group is None:
            return
        group = self.group
        members = {m.profile_id for m in group.members}
        candidates = [
            p
            for p in await profiles.list_profiles(self.context.db, self.context.actor)
            if p.id not in members
        ]
        if not candidates:
            self.say("Every notification profile is already in this group.", error=True)
            return

        async def add(profile_id: int) -> str:
            await groups.add_member(self.context.db, self.context.actor, group.id, profile_id)
            alias = next(p.alias for p in candidates if p.id == profile_id)
            return f"Added {alias} to {group.name}"

        title = Text.assemble("Add to group ", literal(group.name, style="bold"))
        choices = [(p.id, literal(p.alias)) for p in candidates]
        self.app.push_screen(ChoiceScreen(title, choices, add), self._added)

    async def _added(self, profile_id: int | None) -> None:
        await self.reload()
        self.query_one(OptionList).focus()

    @work(exclusive=True, group="members-remove", exit_on_error=False, description="remove")
    async def action_remove(self) -> None:
        options = self.query_one(OptionList)
        if self.group is None or options.highlighted is None:
            self.say("No member selected.", error=True)
            return
        option = options.get_option_at_index(options.highlighted)
        member = next(m for m in self.group.members if str(m.profile_id) == option.id)
        try:
            await groups.remove_member(
                self.context.db, self.context.actor, self.group.id, member.profile_id
            )
        except SwitchboardError as exc:
            self.say(str(exc), error=True)
            return
        await self.reload()
        self.say(f"Removed {member.alias}")

    def action_close(self) -> None:
        self.dismiss(None)


HINT = "a add · x remove · Esc back"
