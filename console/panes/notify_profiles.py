"""The Notifications section's Profiles sub-tab (P1, P5, P7): notification profiles.

A list searched by alias as you type, with email and SMS (on or off, and how
many addresses or numbers) and the hold status. ``n`` adds a profile and
``e`` (or Enter) edits one in the editor (``NotificationProfileForm``); ``d``
deletes one after a question: a profile something still uses is refused by
core with every link, listed in a dialog where Enter opens the place and
``r`` replaces the profile with another one everywhere, then deletes it.
``h`` holds its calls (indefinitely, or until a local date and time; core
refuses a past one), ``u`` lifts the hold. The rows follow the change feed
in place; core decides everything and its refusals show on the line above
the list.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

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
from console.screens.choice import ChoiceScreen
from console.screens.confirm import ConfirmScreen
from console.screens.notification_links import REPLACE, LinksScreen
from console.screens.notification_profile_form import NotificationProfileForm
from console.screens.prompt import PromptScreen
from console.text import literal
from console.times import stamp
from console.widgets.editing import Input
from console.widgets.keyed_table import KeyedTable
from console.widgets.status_line import StatusLine
from core.errors import InUse, InvalidInput, SwitchboardError
from core.notify import links, profiles
from core.notify.links import Link
from core.notify.profiles import HoldStatus, NotificationProfile
from core.text import counted
from core.weektime import wall_instant

HOLD_FORMAT = "%Y-%m-%d %H:%M"
"""How the end of a hold is typed: the account's wall-clock time, to the minute."""


def channel(on: bool, count: int) -> Text:
    """A channel's cell: on or off, and how many addresses or numbers it has."""
    return Text(f"{'on' if on else 'off'} · {count}", style="" if on else "dim")


def hold_text(status: HoldStatus, zone: ZoneInfo) -> Text:
    """The hold column, its end in the account's time zone."""
    if status.kind == "held_until" and status.until is not None:
        until = stamp(status.until, zone)
        return Text(f"held until {until}", style="yellow")
    style = {"held": "bold yellow", "hold_expired": "dim"}.get(status.kind, "green")
    return Text(status.text, style=style)


def hold_until(typed: str, zone: ZoneInfo) -> datetime | None:
    """The end of a hold as typed (``HOLD_FORMAT``, the wall time of ``zone``, the
    account's); blank: until unheld."""
    typed = typed.strip()
    if not typed:
        return None
    try:
        wall = datetime.strptime(typed, HOLD_FORMAT)  # noqa: DTZ007 - read in ``zone`` below
    except ValueError:
        raise InvalidInput(
            f"{typed!r} is not a date and time written as YYYY-MM-DD HH:MM"
            " (for example 2026-03-01 17:30)"
        ) from None
    return wall_instant(wall, zone)


COLUMNS = (("Alias", "alias", 26), ("Email", "email", 8), ("SMS", "sms", 8), ("Hold", "hold", None))


class NotifyProfileTable(KeyedTable[NotificationProfile]):
    """Notification profiles by alias, keyed by id: updated in place, the cursor stays."""

    def __init__(self, zone: Callable[[], ZoneInfo]) -> None:
        super().__init__(
            (
                ("Alias", "alias", 26),
                ("Email", "email", 8),
                ("SMS", "sms", 8),
                ("Hold", "hold", None),
            ),
            self._cells,
            lambda p: p.id,
            id="nprofile-list",
        )
        self.zone = zone
        """The account's time zone, which the hold's end is shown in."""
        self.now: datetime | None = None
        """The instant the hold column is read at (``show_at``)."""

    def _cells(self, profile: NotificationProfile) -> dict[str, Text]:
        d = profile.draft
        return {
            "alias": literal(profile.alias),
            "email": channel(d.email_on, len(d.emails)),
            "sms": channel(d.sms_on, len(d.sms_numbers)),
            "hold": hold_text(profile.status(self.now or profile.updated_at), self.zone()),
        }

    def show_at(self, found: list[NotificationProfile], now: datetime) -> None:
        """``show``, the hold column read at ``now``."""
        # The hold column reads the time: every row's cells are compared.
        self.now = now
        self.show(found, recheck=True)

    def select_alias(self, alias: str) -> None:
        profile = next((p for p in self.shown if p.alias == alias), None)
        if profile is not None:
            self.select(profile.id)


class NotificationProfilesTab(ReportsFailures, Vertical):
    """Notification profiles: search, add, edit, delete or replace, hold and unhold."""

    DEFAULT_CSS = """
    NotificationProfilesTab { height: 1fr; }
    """
    BINDINGS = [
        Binding(
            "slash",
            "focus_search",
            "Search",
            id="notify_profiles.search",
            tooltip="Search notification profiles by alias",
        ),
        Binding(
            "n",
            "add",
            "New",
            id="notify_profiles.new",
            tooltip="Add a notification profile",
        ),
        Binding(
            "e,enter",
            "edit",
            "Edit",
            id="notify_profiles.edit",
            tooltip="Edit the selected notification profile",
        ),
        Binding(
            "d",
            "delete",
            "Delete",
            id="notify_profiles.delete",
            tooltip="Delete the selected notification profile (asks first; lists where it is used)",
        ),
        Binding(
            "h",
            "hold",
            "Hold",
            id="notify_profiles.hold",
            tooltip="Hold my calls: no transfers or on-call dispatch to the profile for now",
        ),
        Binding(
            "u",
            "unhold",
            "Unhold",
            id="notify_profiles.unhold",
            tooltip="Lift the selected profile's hold",
        ),
        Binding(
            "escape",
            "leave_search",
            "Back to the list",
            id="notify_profiles.leave_search",
            tooltip="From the search box back to the list",
            show=False,
        ),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__(id="notify-profiles-section")
        self.context = context

    def compose(self) -> ComposeResult:
        yield Input(placeholder="/ search by alias", id="nprofile-search", compact=True)
        yield StatusLine(HINT, id="nprofile-status")
        yield NotifyProfileTable(lambda: self.context.zone)

    async def on_mount(self) -> None:
        if gone(self):
            return  # taken away before it composed: it has no parts
        self.app.changes.subscribe(self, self.on_changes)  # type: ignore[attr-defined]
        await self.reload()

    def focus_default(self) -> None:
        self.query_one(NotifyProfileTable).focus()

    @property
    def search(self) -> str:
        return self.query_one("#nprofile-search", Input).value

    async def reload(self) -> None:
        found = await profiles.list_profiles(self.context.db, self.context.actor, self.search)
        if gone(self):
            return  # taken away while reading (see console/removal.py)
        self.query_one(NotifyProfileTable).show_at(found, self.context.clock.now())

    async def on_changes(self, changes: Changes) -> None:
        if changes.about("notification_profile."):
            await self.reload()

    def say(self, message: str | None, *, error: bool = False) -> None:
        """One line above the list: the keys, or what just happened (core's words)."""
        self.query_one("#nprofile-status", StatusLine).say(message, error=error)

    @on(Input.Changed, "#nprofile-search")
    async def _search_changed(self) -> None:
        await self.reload()

    @on(Input.Submitted, "#nprofile-search")
    def _search_done(self) -> None:
        self.focus_default()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "leave_search":
            return self.query_one("#nprofile-search", Input).has_focus
        return True

    def action_leave_search(self) -> None:
        self.focus_default()

    def action_focus_search(self) -> None:
        self.query_one("#nprofile-search", Input).focus()

    @on(DataTable.RowSelected, "#nprofile-list")
    def _row_chosen(self) -> None:
        # Enter on a row: the table takes the key, so its selection opens the editor.
        self.action_edit()

    def _selected(self) -> NotificationProfile | None:
        profile = self.query_one(NotifyProfileTable).selected()
        if profile is None:
            self.say("No notification profile selected.", error=True)
        return profile

    # --- add, edit ------------------------------------------------------------------

    def action_add(self) -> None:
        self.app.push_screen(NotificationProfileForm(self.context, None), self._editor_closed)

    def action_edit(self) -> None:
        profile = self._selected()
        if profile is not None:
            form = NotificationProfileForm(self.context, profile.id)
            self.app.push_screen(form, self._editor_closed)

    async def _editor_closed(self, alias: str | None) -> None:
        await self.reload()
        if alias is not None:
            self.query_one(NotifyProfileTable).select_alias(alias)
            self.say(f"Saved notification profile {alias}")
        self.focus_default()

    # --- delete or replace (P5) -------------------------------------------------------

    def action_delete(self) -> None:
        profile = self._selected()
        if profile is None:
            return
        question = Text.assemble(
            "Delete notification profile ", literal(profile.alias, style="bold"), "?"
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(profile)

        self.app.push_screen(ConfirmScreen(question, yes_label="Delete"), answered)

    @work(exclusive=True, group="nprofile-delete", exit_on_error=False, description="delete")
    async def _delete(self, profile: NotificationProfile) -> None:
        try:
            await profiles.delete(self.context.db, self.context.actor, profile.id)
        except InUse as exc:
            self._show_links(profile, exc)
            return
        except SwitchboardError as exc:
            self.say(str(exc), error=True)
            return
        await self.reload()
        self.say(f"Deleted notification profile {profile.alias}")

    def _show_links(self, profile: NotificationProfile, refusal: InUse) -> None:
        what = Text.assemble("Notification profile ", literal(profile.alias, style="bold"))

        def chosen(choice: Link | str | None) -> None:
            if isinstance(choice, Link):
                self.post_message(OpenPlace(choice))
            elif choice == REPLACE:
                self._pick_replacement(profile)

        self.app.push_screen(LinksScreen(what, refusal, replace=True), chosen)

    @work(exclusive=True, group="nprofile-replace", exit_on_error=False, description="replace")
    async def _pick_replacement(self, old: NotificationProfile) -> None:
        others = [
            p
            for p in await profiles.list_profiles(self.context.db, self.context.actor)
            if p.id != old.id
        ]
        if not others:
            self.say("There is no other notification profile to replace it with.", error=True)
            return

        async def replace(new_id: int) -> str:
            done = await links.replace(
                self.context.db, self.context.actor, old.id, new_id, delete_old=True
            )
            new = next(p.alias for p in others if p.id == new_id)
            moved = sum(done.moved.values()) + sum(done.folded.values())
            return f"{old.alias} replaced by {new} in {counted(moved, 'place')}, then deleted"

        title = Text.assemble("Replace ", literal(old.alias, style="bold"), " with…")
        choices = [(p.id, literal(p.alias)) for p in others]

        async def closed(new_id: int | None) -> None:
            await self.reload()
            if new_id is not None:
                self.say(f"Deleted notification profile {old.alias}")
            self.focus_default()

        self.app.push_screen(ChoiceScreen(title, choices, replace), closed)

    # --- hold my calls (P7) --------------------------------------------------------

    def action_hold(self) -> None:
        profile = self._selected()
        if profile is None:
            return

        async def hold(typed: str) -> str:
            until = hold_until(typed, self.context.zone)
            held = await profiles.hold(self.context.db, self.context.actor, profile.id, until)
            status = held.status(self.context.clock.now())
            return f"{held.alias}: {hold_text(status, self.context.zone)}"

        title = Text.assemble(
            "Hold calls for ",
            literal(profile.alias, style="bold"),
            f" until (YYYY-MM-DD HH:MM, {self.context.zone.key})? Leave it blank to hold"
            " until unheld.",
        )
        self.app.push_screen(PromptScreen(title, hold, placeholder="YYYY-MM-DD HH:MM"), self._held)

    async def _held(self, typed: str | None) -> None:
        await self.reload()
        self.focus_default()

    @work(exclusive=True, group="nprofile-hold", exit_on_error=False, description="lift the hold")
    async def action_unhold(self) -> None:
        profile = self._selected()
        if profile is None:
            return
        if profile.status(self.context.clock.now()).kind == "available":
            self.say(f"{profile.alias} is not held.")
            return
        try:
            await profiles.unhold(self.context.db, self.context.actor, profile.id)
        except SwitchboardError as exc:
            self.say(str(exc), error=True)
            return
        await self.reload()
        self.say(f"{profile.alias} is available again")


HINT = "/ search · n new · e edit · d delete · h hold · u unhold · < > sub-tabs"
