"""The Notifications section's Groups sub-tab (P3, P5): groups of notification profiles.

Groups by name with their member count. ``n`` adds a group and ``r`` renames
one (core checks the name: required, unique whatever the case); ``d``
deletes one after a question, and a group an on-call slot or an outcome
uses is refused by core with every link, listed in a dialog where Enter
opens the place. Enter shows a group's members, where ``a`` adds a profile
and ``x`` removes one (core refuses the 51st). The rows follow the change
feed in place.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable

from console.context import ConsoleContext
from console.failures import ReportsFailures
from console.live import Changes
from console.panes.notify_places import OpenPlace
from console.removal import gone
from console.screens.confirm import ConfirmScreen
from console.screens.notification_group_members import GroupMembersScreen
from console.screens.notification_links import LinksScreen
from console.screens.prompt import PromptScreen
from console.text import literal
from console.widgets.keyed_table import KeyedTable
from console.widgets.status_line import StatusLine
from core.errors import InUse, SwitchboardError
from core.notify import groups
from core.notify.groups import Group
from core.notify.links import Link
from core.text import counted

_FEED_KINDS = ("notification_group.", "notification_profile.deleted")
"""Events that change the list: a group, its members, or a member profile gone."""


class GroupTable(KeyedTable[Group]):
    """Groups by name, keyed by id: updated in place, the cursor stays."""

    def __init__(self) -> None:
        super().__init__(
            (("Group", "name", 36), ("Members", "members", 7)),
            _group_cells,
            lambda g: g.id,
            id="ngroup-list",
        )


def _group_cells(group: Group) -> dict[str, Text]:
    return {
        "name": literal(group.name),
        "members": Text(str(len(group.members)), justify="right"),
    }


class NotificationGroupsTab(ReportsFailures, Vertical):
    """Notification groups: add, rename, delete, members."""

    DEFAULT_CSS = """
    NotificationGroupsTab { height: 1fr; }
    """
    BINDINGS = [
        Binding("n", "add", "New", id="notify_groups.new", tooltip="Add a notification group"),
        Binding(
            "r",
            "rename",
            "Rename",
            id="notify_groups.rename",
            tooltip="Rename the selected group",
        ),
        Binding(
            "d",
            "delete",
            "Delete",
            id="notify_groups.delete",
            tooltip="Delete the selected group (asks first; lists where it is used)",
        ),
        Binding(
            "enter",
            "members",
            "Members",
            id="notify_groups.members",
            tooltip="The selected group's members: add and remove profiles",
        ),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__(id="notify-groups-section")
        self.context = context
        self._wanted: int | None = None
        """A group to select once the rows are there (``select_place`` before a load)."""

    def compose(self) -> ComposeResult:
        yield StatusLine(HINT, id="ngroup-status")
        yield GroupTable()

    async def on_mount(self) -> None:
        if gone(self):
            return  # taken away before it composed: it has no parts
        self.app.changes.subscribe(self, self.on_changes)  # type: ignore[attr-defined]
        await self.reload()

    def focus_default(self) -> None:
        self.query_one(GroupTable).focus()

    async def reload(self) -> None:
        found = await groups.list_groups(self.context.db, self.context.actor)
        if gone(self):
            return  # taken away while reading (see console/removal.py)
        table = self.query_one(GroupTable)
        table.show(found)
        if self._wanted is not None:
            table.select(self._wanted)
            self._wanted = None

    async def on_changes(self, changes: Changes) -> None:
        if changes.about(*_FEED_KINDS):
            await self.reload()

    def select_place(self, group_id: int) -> None:
        """Put the cursor on group ``group_id`` (a link opened from elsewhere)."""
        table = self.query_one(GroupTable)
        if any(g.id == group_id for g in table.shown):
            table.select(group_id)
        else:
            self._wanted = group_id
            self.run_worker(self.reload(), group="ngroup-reload", exit_on_error=False)

    def say(self, message: str | None, *, error: bool = False) -> None:
        self.query_one("#ngroup-status", StatusLine).say(message, error=error)

    def _selected(self) -> Group | None:
        group = self.query_one(GroupTable).selected()
        if group is None:
            self.say("No group selected.", error=True)
        return group

    @on(DataTable.RowSelected, "#ngroup-list")
    def _row_chosen(self) -> None:
        self.action_members()

    def action_add(self) -> None:
        async def add(name: str) -> str:
            group = await groups.add(self.context.db, self.context.actor, name)
            self._wanted = group.id
            return f"Added group {group.name}"

        self.app.push_screen(PromptScreen(Text("Name of the new group"), add), self._back)

    def action_rename(self) -> None:
        group = self._selected()
        if group is None:
            return

        async def rename(name: str) -> str:
            renamed = await groups.rename(self.context.db, self.context.actor, group.id, name)
            return f"Renamed {group.name} to {renamed.name}"

        title = Text.assemble("Rename group ", literal(group.name, style="bold"), " to")
        self.app.push_screen(PromptScreen(title, rename, value=group.name), self._back)

    async def _back(self, _: object) -> None:
        await self.reload()
        self.focus_default()

    def action_members(self) -> None:
        group = self._selected()
        if group is not None:
            self.app.push_screen(GroupMembersScreen(self.context, group.id), self._back)

    def action_delete(self) -> None:
        group = self._selected()
        if group is None:
            return
        question = Text.assemble(
            "Delete group ",
            literal(group.name, style="bold"),
            f"? Its {counted(len(group.members), 'member')}"
            f" {'stays a profile' if len(group.members) == 1 else 'stay as profiles'}.",
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(group)

        self.app.push_screen(ConfirmScreen(question, yes_label="Delete"), answered)

    @work(exclusive=True, group="ngroup-delete", exit_on_error=False, description="delete")
    async def _delete(self, group: Group) -> None:
        try:
            await groups.delete(self.context.db, self.context.actor, group.id)
        except InUse as exc:
            what = Text.assemble("Group ", literal(group.name, style="bold"))

            def chosen(choice: Link | str | None) -> None:
                if isinstance(choice, Link):
                    self.post_message(OpenPlace(choice))

            self.app.push_screen(LinksScreen(what, exc, replace=False), chosen)
            return
        except SwitchboardError as exc:
            self.say(str(exc), error=True)
            return
        await self.reload()
        self.say(f"Deleted group {group.name}")


HINT = "n new · r rename · d delete · Enter members · < > sub-tabs"
