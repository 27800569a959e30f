"""The manager dashboard (M7, M8, R1-R3, P1-P7, A1-A6): every conversation, the account
settings, the agents, the permission profiles, the notifications, the mobile alerts.

Sections in tabs, each with its own keys (shown in the footer while the
section has focus): 1 to 6 switch between them. The Alerts section (6) is there
for anyone with an active profile (``VIEW_SHIFTS``); its sub-tabs say what each
may change. The Permission profiles
section (4) and the Notifications section (5) are there only while the
principal has the right each needs (``OPTIONAL``); they come and go with a
change to the principal (the feed). Anywhere in the settings
form digits are typed, never section keys (``SettingsForm.check_consume_key``):
Esc leaves the form first. Everything a manager may
do here is checked again in core; the dashboard only shows and asks.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from console.context import ConsoleContext
from console.failures import ReportsFailures
from console.live import Changes
from console.panes.alerts import AlertsPane
from console.panes.conversations import ConversationList, filter_line, named_conversations
from console.panes.notifications import NotificationsPane
from console.panes.numbers import OurNumbers
from console.panes.permission_profiles import PermissionProfiles
from console.panes.settings_form import SettingsForm
from console.panes.thread import ThreadPane
from console.removal import gone
from console.screens.agent_form import AgentForm
from console.screens.confirm import ConfirmScreen
from console.text import literal
from console.widgets.deferred_tab import DeferredTab, content_of
from core.people import agents
from core.people.agents import Agent
from core.people.authz import Action
from core.sms import conversations
from core.sms.conversations import Conversation, Filter

MANAGER_FILTERS = (Filter.ALL, Filter.UNANSWERED, Filter.ANSWERED)
FILTER_KEYS = {Filter.ALL: "a", Filter.UNANSWERED: "u", Filter.ANSWERED: "r"}


# Columns for a manager: the wait comes before the state so it stays visible at 80 columns.
MANAGER_COLUMNS = (
    ("", "unread", 1),
    ("Contact", "contact", 14),
    ("Owner", "owner", 6),
    ("Wait", "wait", 5),
    ("State", "state", 6),
    ("Last message", "last", None),
)


class ManagerConversationList(ConversationList):
    """The agents' conversation list with a manager's columns, under its own id."""

    COLUMNS = MANAGER_COLUMNS

    def __init__(self) -> None:
        super().__init__(id="manager-conversation-list")

    def cells(self, conversation: Conversation, me: int | None, now: datetime) -> dict[str, Text]:
        cells = super().cells(conversation, me, now)
        if not conversation.is_public and conversation.owner_id not in (None, me):
            # "follow" is an agent's word; a manager sees someone else's conversation.
            cells["state"] = Text("owned")
        return cells


class ManagerConversations(ReportsFailures, Horizontal):
    """Every conversation with its owner and wait, oldest-waiting first; a read-only thread."""

    DEFAULT_CSS = """
    ManagerConversations { height: 1fr; }
    ManagerConversations > #manager-conversation-side { width: 55%; min-width: 34; }
    ManagerConversations #manager-filter-line { height: auto; color: $text-muted; }
    ManagerConversations ThreadPane { width: 1fr; border-left: solid $panel; }
    """
    BINDINGS = [
        Binding(
            "a", "filter('all')", "All", id="manager.all", tooltip="Every conversation, any owner"
        ),
        Binding(
            "u",
            "filter('unanswered')",
            "Unanswered",
            id="manager.unanswered",
            tooltip="Contacts waiting for an answer",
        ),
        Binding(
            "r",
            "filter('answered')",
            "Answered",
            id="manager.answered",
            tooltip="Conversations where the last word was ours",
        ),
        Binding(
            "T",
            "take_over",
            "Take over",
            id="manager.take_over",
            tooltip="Become the owner of the selected conversation (the owner stays subscribed)",
        ),
    ]

    view: reactive[Filter] = reactive(Filter.ALL)

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__(id="manager-conversations-section")
        self.context = context
        self._missed = False
        self._named: set[int] = set()

    def compose(self) -> ComposeResult:
        with Vertical(id="manager-conversation-side"):
            yield Static(id="manager-filter-line")
            yield ManagerConversationList()
        yield ThreadPane(self.context, read_only=True, id="manager-thread")

    async def on_mount(self) -> None:
        if gone(self):
            return  # taken away before it composed: it has no parts
        self.app.changes.subscribe(self, self.on_changes)  # type: ignore[attr-defined]
        table = self.query_one(ManagerConversationList)
        table.me, table.now = self.context.actor.id, self.context.clock.now
        # Wait times grow with nobody touching anything.
        self.set_interval(20, table.retime, name="manager-wait-times")
        await self.reload()

    def focus_default(self) -> None:
        self.query_one(ManagerConversationList).focus()

    def watch_view(self, view: Filter) -> None:
        if gone(self):
            return  # a watcher runs on mount, also for a section taken away before it composed
        line = filter_line([(FILTER_KEYS[name], name) for name in MANAGER_FILTERS], view)
        self.query_one("#manager-filter-line", Static).update(line)

    async def fetch(self, **page: Any) -> list[Conversation]:
        return await conversations.list_for(self.context.db, self.context.actor, self.view, **page)

    async def reload(self, *, keep_loaded: bool = False) -> None:
        table = self.query_one(ManagerConversationList)
        thread = self.query_one(ThreadPane)
        rows = len(table.shown) if keep_loaded else 0
        await table.load(self.fetch, rows=rows)
        if gone(self):
            return  # taken away while reading (see console/removal.py)
        if thread.conversation_id is None and table.shown:
            await thread.show(table.selected_id())

    async def on_changes(self, changes: Changes) -> None:
        table = self.query_one(ManagerConversationList)
        self._missed |= changes.missed
        self._named |= named_conversations(changes, table.shown)
        # Behind another tab nobody sees the rows: they are brought up to date
        # when the section is shown, not with every batch of a busy feed.
        if table.region:
            await self.catch_up()

    async def catch_up(self) -> None:
        """Apply what the feed named while the rows were not on screen."""
        missed, named = self._missed, self._named
        self._missed, self._named = False, set()
        if missed:
            await self.reload(keep_loaded=True)
        else:
            await self.query_one(ManagerConversationList).refresh_rows(self.fetch, named)

    def on_show(self) -> None:
        if self._missed or self._named:
            self.run_worker(self.catch_up(), group="catch-up", exit_on_error=False)

    async def action_filter(self, view: str) -> None:
        self.view = Filter(view)
        await self.reload()

    @on(ConversationList.AtEnd)
    async def _at_end(self) -> None:
        await self.query_one(ManagerConversationList).load_more(self.fetch)

    @on(DataTable.RowHighlighted, "#manager-conversation-list")
    @on(DataTable.RowSelected, "#manager-conversation-list")
    async def _open(self, event: DataTable.RowHighlighted | DataTable.RowSelected) -> None:
        table = self.query_one(ManagerConversationList)
        if table.at_end:
            await table.load_more(self.fetch)
        if event.row_key.value is not None:
            await self.query_one(ThreadPane).show(int(event.row_key.value))

    @work(exclusive=True, group="take-over", exit_on_error=False, description="take over")
    async def action_take_over(self) -> None:
        table = self.query_one(ManagerConversationList)
        conversation_id = table.selected_id()
        if conversation_id is None:
            self.notify("No conversation selected.", severity="warning")
            return
        before = {c.id: c for c in table.shown}.get(conversation_id)
        taken = await conversations.take_over(self.context.db, self.context.actor, conversation_id)
        who = taken.contact_name or taken.phone
        previous = before.owner if before and before.owner_id != self.context.actor.id else None
        # markup=False: names are typed by people (contacts, agents).
        self.notify(
            f"You now own the conversation with {who}"
            + (f"; {previous} stays on as a subscriber" if previous else ""),
            markup=False,
        )
        await table.refresh_rows(self.fetch, {taken.id})


class AgentTable(DataTable[Text]):
    COLUMNS = (("Username", "username", 14), ("Name", "name", 24), ("Profile", "profile", 12))

    def __init__(self) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id="agent-list")
        self.shown: list[Agent] = []

    def on_mount(self) -> None:
        for label, key, width in self.COLUMNS:
            self.add_column(label, key=key, width=width)
        self.add_column("Active", key="active", width=8)

    @staticmethod
    def cells(agent: Agent) -> dict[str, Text]:
        return {
            "username": literal(agent.username),
            "name": literal(agent.name),
            "profile": literal(agent.profile),
            "active": Text("yes", style="green") if agent.active else Text("no", style="bold red"),
        }

    def show(self, found: list[Agent]) -> None:
        """Update rows in place, add new ones, drop gone ones; the cursor stays put."""
        old = {a.username for a in self.shown}
        new = {a.username for a in found}
        for username in old - new:
            self.remove_row(username)
        for agent in found:
            cells = self.cells(agent)
            if agent.username in old:
                for column, value in cells.items():
                    self.update_cell(agent.username, column, value)
            else:
                self.add_row(*cells.values(), key=agent.username)
        self.shown = found

    def selected(self) -> Agent | None:
        if self.row_count == 0 or self.cursor_row is None:
            return None
        row = min(self.cursor_row, self.row_count - 1)
        username = self.coordinate_to_cell_key((row, 0)).row_key.value
        return next((a for a in self.shown if a.username == username), None)

    def select(self, username: str) -> None:
        self.move_cursor(row=self.get_row_index(username))


class ManagerAgents(ReportsFailures, Vertical):
    """Who may log in: add people, deactivate and reactivate them."""

    DEFAULT_CSS = """
    ManagerAgents { height: 1fr; }
    ManagerAgents #agent-hint { height: 1; padding: 0 1; color: $text-muted; }
    ManagerAgents AgentTable { height: 1fr; }
    """
    BINDINGS = [
        Binding("n", "add", "Add agent", id="manager.add_agent", tooltip="Add an agent or manager"),
        Binding(
            "d",
            "set_active(False)",
            "Deactivate",
            id="manager.deactivate_agent",
            tooltip="Stop the selected person logging in (asks first)",
        ),
        Binding(
            "e",
            "set_active(True)",
            "Reactivate",
            id="manager.reactivate_agent",
            tooltip="Let the selected deactivated person log in again",
        ),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__(id="manager-agents-section")
        self.context = context

    def compose(self) -> ComposeResult:
        yield Static(
            "n add · d deactivate · e reactivate · Tab to our numbers (keys below)",
            id="agent-hint",
        )
        yield AgentTable()
        yield OurNumbers(self.context)

    async def on_mount(self) -> None:
        if gone(self):
            return  # taken away before it composed: it has no parts
        self.app.changes.subscribe(self, self.on_changes)  # type: ignore[attr-defined]
        await self.reload()

    def focus_default(self) -> None:
        self.query_one(AgentTable).focus()

    async def reload(self) -> None:
        found = await agents.list_agents(self.context.db)
        if not gone(self):
            self.query_one(AgentTable).show(found)

    async def on_changes(self, changes: Changes) -> None:
        if changes.about("agent."):
            await self.reload()

    def action_add(self) -> None:
        async def added(agent: Agent | None) -> None:
            if agent is None:
                return
            await self.reload()
            self.query_one(AgentTable).select(agent.username)
            self.notify(f"Added {agent.username} ({agent.profile})", markup=False)

        self.app.push_screen(AgentForm(self.context), added)

    def action_set_active(self, active: bool) -> None:
        agent = self.query_one(AgentTable).selected()
        if agent is None:
            return
        if agent.active == active:
            state = "active" if active else "deactivated"
            self.notify(f"{agent.username} is already {state}.", markup=False)
            return
        if active:
            self._set_active(agent, True)
            return
        question = Text.assemble(
            "Deactivate ",
            literal(agent.name, style="bold"),
            " (",
            literal(agent.username),
            ")? They will no longer be able to log in.",
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._set_active(agent, False)

        self.app.push_screen(ConfirmScreen(question, yes_label="Deactivate"), answered)

    @work(
        exclusive=True,
        group="agent-active",
        exit_on_error=False,
        description="change whether the agent can log in",
    )
    async def _set_active(self, agent: Agent, active: bool) -> None:
        changed = await agents.set_active(
            self.context.db, self.context.actor, agent.username, active
        )
        await self.reload()
        state = "reactivated" if changed.active else "deactivated"
        self.notify(f"{changed.username} {state}", markup=False)


SECTIONS = (
    ("manager-conversations", "1 Conversations"),
    ("manager-settings", "2 Settings"),
    ("manager-agents", "3 Agents"),
    ("manager-profiles", "4 Permissions"),
    ("manager-notifications", "5 Notify"),
    ("manager-alerts", "6 Alerts"),
)

Section = (
    ManagerConversations
    | SettingsForm
    | ManagerAgents
    | PermissionProfiles
    | NotificationsPane
    | AlertsPane
)

OPTIONAL: dict[str, Action] = {
    "manager-profiles": Action.MANAGE_PERMISSIONS,
    "manager-notifications": Action.MANAGE_NOTIFICATIONS,
    # Who gets mobile alerts is not secret among staff; changing it is checked per sub-tab.
    "manager-alerts": Action.VIEW_SHIFTS,
}
"""The sections only some principals get, and the right each needs."""


class ManagerPane(Vertical):
    DEFAULT_CSS = """
    ManagerPane { height: 1fr; }
    ManagerPane > TabbedContent { height: 1fr; }
    """
    BINDINGS = [
        Binding(
            "1",
            "section('manager-conversations')",
            "Manager conversations",
            id="manager.section_conversations",
            tooltip="Every conversation, with owner and wait",
            show=False,
        ),
        Binding(
            "2",
            "section('manager-settings')",
            "Manager settings",
            id="manager.section_settings",
            tooltip="Account settings: public minutes, opt-out wording",
            show=False,
        ),
        Binding(
            "3",
            "section('manager-agents')",
            "Manager agents",
            id="manager.section_agents",
            tooltip="Add, deactivate and reactivate agents; our numbers and what each is for",
            show=False,
        ),
        Binding(
            "4",
            "section('manager-profiles')",
            "Permission profiles",
            id="manager.section_profiles",
            tooltip="Permission profiles: search, add, edit, delete",
            show=False,
        ),
        Binding(
            "5",
            "section('manager-notifications')",
            "Notifications",
            id="manager.section_notifications",
            tooltip="Notification profiles, groups, outcomes, fields, on-call schedules",
            show=False,
        ),
        Binding(
            "6",
            "section('manager-alerts')",
            "Alerts",
            id="manager.section_alerts",
            tooltip="Mobile alerts: settings with their preview, staff consent, shifts",
            show=False,
        ),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__(id="manager-pane")
        self.context = context

    def compose(self) -> ComposeResult:
        # No `initial`: the first section is the default anyway, and an initial tab
        # can fail Textual's check when the pane is added to a running app (a
        # principal reload adds the Manager tab) before its tab list is mounted.
        # The first section is made now, the others when first chosen (DeferredTab).
        with TabbedContent(id="manager-sections"):
            with TabPane(SECTIONS[0][1], id=SECTIONS[0][0]):
                yield ManagerConversations(self.context)
            yield DeferredTab(
                SECTIONS[1][1],
                lambda: SettingsForm(self.context, id="settings-form"),
                id=SECTIONS[1][0],
            )
            yield DeferredTab(
                SECTIONS[2][1], lambda: ManagerAgents(self.context), id=SECTIONS[2][0]
            )
            for section in OPTIONAL:
                if self.context.may(OPTIONAL[section]):
                    yield self._optional_section(section)

    def _optional_section(self, section: str) -> TabPane:
        label = dict(SECTIONS)[section]
        make: Callable[[], Widget] = {
            "manager-profiles": lambda: PermissionProfiles(self.context),
            "manager-alerts": lambda: AlertsPane(self.context),
        }.get(section, lambda: NotificationsPane(self.context))
        return DeferredTab(label, make, id=section)

    async def on_mount(self) -> None:
        if gone(self):
            return  # taken away before it composed: it has no parts
        self.app.changes.subscribe(self, self.on_changes)  # type: ignore[attr-defined]
        # Should the tab list have mounted after its own mount (see compose),
        # nothing would be shown: show the first section once everything is in.
        self.call_after_refresh(self._show_a_section)

    def _show_a_section(self) -> None:
        if gone(self):
            return  # taken away before the refresh this waited for
        sections = self.query_one("#manager-sections", TabbedContent)
        if not sections.active:
            sections.active = SECTIONS[0][0]

    async def on_changes(self, changes: Changes) -> None:
        # The app publishes a reloaded principal as missed=True: the optional
        # sections follow the rights they need.
        if not changes.missed or gone(self):
            return  # nothing new about the principal, or the pane is going (a tab removed)
        tabs = self.query_one("#manager-sections", TabbedContent)
        for section, action in OPTIONAL.items():
            shown = bool(tabs.query(f"#{section}"))
            if self.context.may(action) and not shown:
                await tabs.add_pane(self._optional_section(section))
            elif shown and not self.context.may(action):
                if tabs.active == section:
                    tabs.active = "manager-conversations"
                await tabs.remove_pane(section)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "section" and parameters and parameters[0] in OPTIONAL:
            return self.context.may(OPTIONAL[str(parameters[0])])
        return True

    def _section_widget(self, section: str) -> Section | None:
        """The section's widget; None before its first showing (DeferredTab)."""
        pane = self.query_one(f"#{section}", TabPane)
        return next(iter(pane.query_children()), None)  # type: ignore[return-value]

    def focus_default(self) -> None:
        active = self.query_one("#manager-sections", TabbedContent).active
        widget = self._section_widget(active) if active else None
        if widget is not None:
            widget.focus_default()

    async def action_section(self, section: str) -> None:
        self.query_one("#manager-sections", TabbedContent).active = section
        widget = await content_of(self.query_one(f"#{section}", TabPane))
        if widget is not None:
            cast(Section, widget).focus_default()

    @on(TabbedContent.TabActivated, "#manager-sections")
    async def _section_shown(self, event: TabbedContent.TabActivated) -> None:
        # The app focuses a pane when one of *its* tabs is chosen; ours are not its tabs.
        event.stop()
        await content_of(event.pane)
