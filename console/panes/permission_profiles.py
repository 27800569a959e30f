"""The Manager tab's Permission profiles section (R1): a list with search, add, edit, delete.

The list is searched by name or reference as you type
(``profiles.list_profiles``). ``n`` adds a profile and ``e`` (or Enter)
edits one, both in the editor (``PermissionProfileForm``); ``d`` deletes one
after a question; ``s`` opens what profiles are built from (``CentreSetup``:
activities, queues, SMS templates). Core decides: a refusal (someone's only profile, the 51st
profile, the last user who can manage users) is shown on one line above the
list, as core words it. The section exists only for a principal who may
manage permission profiles (``ManagerPane`` asks).
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
from console.removal import gone
from console.screens.centre_setup import CentreSetup
from console.screens.confirm import ConfirmScreen
from console.screens.permission_profile_form import PermissionProfileForm
from console.text import literal
from console.widgets.editing import Input
from console.widgets.status_line import StatusLine
from core.errors import SwitchboardError
from core.permissions import profiles
from core.permissions.profiles import Profile
from core.text import counted

_FEED_KINDS = ("permission_profile.", "agent.")
"""Events that change the list: a profile, or who holds one (the Users column)."""


class ProfileTable(DataTable[Text]):
    """Permission profiles by name, keyed by id: updated in place, the cursor stays."""

    COLUMNS = (("Name", "name", 22), ("Alias", "alias", 14), ("Reference", "reference", 14))

    def __init__(self) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id="profile-list")
        self.shown: list[Profile] = []

    def on_mount(self) -> None:
        for label, key, width in self.COLUMNS:
            self.add_column(label, key=key, width=width)
        self.add_column("Users", key="users", width=5)

    @staticmethod
    def cells(profile: Profile) -> dict[str, Text]:
        return {
            "name": literal(profile.name),
            "alias": literal(profile.alias),
            "reference": literal(profile.reference),
            "users": Text(str(profile.users), justify="right"),
        }

    def show(self, found: list[Profile]) -> None:
        """Diff the rows against ``found``: update in place, drop gone ones, add new ones.

        At most 50 profiles: when a new or renamed one belongs between others,
        the rows are laid again in name order, the cursor kept on its profile.
        """
        old = [p.id for p in self.shown]
        new = [p.id for p in found]
        kept = [i for i in old if i in set(new)]
        if new[: len(kept)] != kept:
            chosen = self.selected()
            self.clear()
            self.shown = []
            self.show(found)
            if chosen is not None and chosen.id in new:
                self.move_cursor(row=self.get_row_index(str(chosen.id)))
            return
        for dropped in set(old) - set(new):
            self.remove_row(str(dropped))
        for profile in found:
            cells = self.cells(profile)
            if profile.id in kept:
                for column, value in cells.items():
                    self.update_cell(str(profile.id), column, value)
            else:
                self.add_row(*cells.values(), key=str(profile.id))
        self.shown = found

    def selected(self) -> Profile | None:
        if self.row_count == 0:
            return None
        row = min(self.cursor_row, self.row_count - 1)
        key = self.coordinate_to_cell_key((row, 0)).row_key.value
        return next((p for p in self.shown if str(p.id) == key), None)

    def select(self, name: str) -> None:
        for profile in self.shown:
            if profile.name == name:
                self.move_cursor(row=self.get_row_index(str(profile.id)))
                return


class PermissionProfiles(ReportsFailures, Vertical):
    """The list of permission profiles: search, add, edit, delete."""

    DEFAULT_CSS = """
    PermissionProfiles { height: 1fr; }
    PermissionProfiles #profile-search { margin: 0 0; }
    """
    BINDINGS = [
        Binding(
            "slash",
            "focus_search",
            "Search",
            id="profiles.search",
            tooltip="Search permission profiles by name or reference",
        ),
        Binding("n", "add", "New profile", id="profiles.new", tooltip="Add a permission profile"),
        Binding(
            "e,enter",
            "edit",
            "Edit profile",
            id="profiles.edit",
            tooltip="Edit the selected permission profile: settings and configuration",
        ),
        Binding(
            "s",
            "setup",
            "Activities, queues, templates",
            id="profiles.setup",
            tooltip="What profiles are built from: activities, queues, SMS templates",
            show=False,  # the section's hint line says it; at 80 columns the footer is full
        ),
        Binding(
            "escape",
            "leave_search",
            "Back to the list",
            id="profiles.leave_search",
            tooltip="From the search box back to the list",
            show=False,
        ),
        Binding(
            "d",
            "delete",
            "Delete profile",
            id="profiles.delete",
            tooltip="Delete the selected permission profile (asks first)",
        ),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__(id="manager-profiles-section")
        self.context = context

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="/ search by name or reference",
            id="profile-search",
            compact=True,
        )
        yield StatusLine(HINT, id="profile-status")
        yield ProfileTable()

    async def on_mount(self) -> None:
        if gone(self):
            return  # taken away before it composed: it has no parts
        self.app.changes.subscribe(self, self.on_changes)  # type: ignore[attr-defined]
        await self.reload()

    def focus_default(self) -> None:
        self.query_one(ProfileTable).focus()

    @property
    def search(self) -> str:
        return self.query_one("#profile-search", Input).value

    async def reload(self) -> None:
        found = await profiles.list_profiles(self.context.db, self.search)
        if gone(self):
            return  # taken away while reading (see console/removal.py)
        self.query_one(ProfileTable).show(found)

    async def on_changes(self, changes: Changes) -> None:
        if changes.about(*_FEED_KINDS):
            await self.reload()

    def say(self, message: str | None, *, error: bool = False) -> None:
        """One line above the list: the keys, or what just happened (core's words)."""
        self.query_one("#profile-status", StatusLine).say(message, error=error)

    @on(Input.Changed, "#profile-search")
    async def _search_changed(self) -> None:
        await self.reload()

    @on(Input.Submitted, "#profile-search")
    def _search_done(self) -> None:
        self.focus_default()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "leave_search":
            return self.query_one("#profile-search", Input).has_focus
        return True

    def action_leave_search(self) -> None:
        self.focus_default()

    @on(DataTable.RowSelected, "#profile-list")
    def _row_chosen(self) -> None:
        # Enter on a row: the table takes the key, so its selection opens the editor.
        self.action_edit()

    def action_focus_search(self) -> None:
        self.query_one("#profile-search", Input).focus()

    def action_add(self) -> None:
        self.app.push_screen(PermissionProfileForm(self.context, None), self._editor_closed)

    def action_edit(self) -> None:
        profile = self.query_one(ProfileTable).selected()
        if profile is None:
            self.say("No permission profile selected.", error=True)
            return
        self.app.push_screen(PermissionProfileForm(self.context, profile.name), self._editor_closed)

    async def _editor_closed(self, name: str | None) -> None:
        await self.reload()
        if name is not None:
            self.query_one(ProfileTable).select(name)
            self.say(f"Saved permission profile {name}")
        self.focus_default()

    def action_setup(self) -> None:
        self.app.push_screen(CentreSetup(self.context), self._setup_closed)

    async def _setup_closed(self, _: None) -> None:
        await self.reload()
        self.focus_default()

    def action_delete(self) -> None:
        profile = self.query_one(ProfileTable).selected()
        if profile is None:
            self.say("No permission profile selected.", error=True)
            return
        question = Text.assemble(
            "Delete permission profile ",
            literal(profile.name, style="bold"),
            f"? {counted(profile.users, 'user')} {'holds' if profile.users == 1 else 'hold'} it.",
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(profile.name)

        self.app.push_screen(ConfirmScreen(question, yes_label="Delete"), answered)

    @work(exclusive=True, group="profile-delete", exit_on_error=False, description="delete")
    async def _delete(self, name: str) -> None:
        try:
            await profiles.delete(self.context.db, self.context.actor, name)
        except SwitchboardError as exc:
            # Core's refusal, on the section's one line: it names who or what.
            self.say(str(exc), error=True)
            return
        await self.reload()
        self.say(f"Deleted permission profile {name}")


HINT = "/ search · n new · e edit · d delete · s activities, queues, templates"
