"""Alerts › Staff (A2 for managers): each person's mobile, permission, New Chat alert
and what their alerts still miss.

A manager (``manage_users``) may set or correct a number (``m``): core's
``set_mobile``, which clears the permission, as consent is for a phone. There is
no key to tick the permission or the New Chat alert for someone: they are the
person's own (core refuses anyway). Without ``manage_users`` only one's own row
shows. The rows follow the change feed (staff, agents, shifts, settings).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Static

from console.context import ConsoleContext
from console.failures import ReportsFailures
from console.live import Changes
from console.removal import gone
from console.screens.prompt import PromptScreen
from console.text import literal
from console.times import day_stamp
from console.widgets.alert_line import SHORT
from core.alerts import consent, readiness
from core.alerts.consent import StaffView
from core.people import agents
from core.people.authz import Action

# Sized for 80 columns: what alerts miss is said in short words (``alert_line.SHORT``).
COLUMNS = (
    ("Username", "username", 8),
    ("Mobile", "mobile", 12),
    ("Permission", "permission", 21),
    ("Chat", "new_chat", 4),
    ("Alerts", "ready", None),
)
HINT_MANAGER = "m sets or corrects a mobile number (which clears its permission)"
HINT_OWN = "Your own row: change it with Ctrl+Y (My alerts) from Conversations"


def permission_text(view: StaffView, zone: ZoneInfo) -> Text:
    if view.permitted_at is None:
        return Text("not given", style="dim")
    when = day_stamp(view.permitted_at, zone)
    return Text.assemble(when, " by ", literal(view.permitted_by or "the operator"))


def ready_text(ready: readiness.Readiness) -> Text:
    if ready.configured:
        return Text("configured", style="green")
    named = [SHORT.get(m, m) for m in ready.missing if m != readiness.ACCOUNT_OFF]
    text = "missing " + ", ".join(named) if named else ""
    if readiness.ACCOUNT_OFF in ready.missing:
        text = "off in account" + ("; " + text if text else "")
    return Text(text, style="yellow")


class StaffAlertsTab(ReportsFailures, Vertical):
    DEFAULT_CSS = """
    StaffAlertsTab { height: 1fr; }
    StaffAlertsTab #alert-staff-hint { height: 1; padding: 0 1; color: $text-muted; }
    StaffAlertsTab DataTable { height: 1fr; }
    """
    BINDINGS = [
        Binding(
            "m",
            "set_mobile",
            "Mobile number",
            id="alert_staff.set_mobile",
            tooltip="Set or correct the selected person's mobile number (clears their permission)",
        ),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__(id="alert-staff")
        self.context = context
        self.shown: dict[str, StaffView] = {}

    @property
    def manages(self) -> bool:
        return self.context.may(Action.MANAGE_AGENTS)

    def compose(self) -> ComposeResult:
        yield Static(HINT_MANAGER if self.manages else HINT_OWN, id="alert-staff-hint")
        yield DataTable[Text](cursor_type="row", zebra_stripes=True, id="alert-staff-table")

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#alert-staff-table", DataTable)

    async def on_mount(self) -> None:
        if gone(self):
            return  # taken away before it composed: it has no parts
        for label, key, width in COLUMNS:
            self.table.add_column(label, key=key, width=width)
        self.app.changes.subscribe(self, self.on_changes)  # type: ignore[attr-defined]
        await self.reload()

    def focus_default(self) -> None:
        self.table.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "set_mobile":
            return self.manages
        return True

    async def _ids(self) -> list[int]:
        if not self.manages:
            return [self.context.actor.id] if self.context.actor.id is not None else []
        return [a.id for a in await agents.list_agents(self.context.db) if a.active]

    async def reload(self) -> None:
        db, actor = self.context.db, self.context.actor
        rows: list[tuple[StaffView, readiness.Readiness]] = []
        for agent_id in await self._ids():
            rows.append(
                (
                    await consent.staff_view(db, actor, agent_id),
                    await readiness.readiness(db, actor, agent_id),
                )
            )
        if gone(self):
            return  # taken away while reading (see console/removal.py)
        table = self.table
        keep = table.cursor_row
        table.clear()
        self.shown = {}
        for view, ready in rows:
            mobile = literal(view.mobile) if view.mobile else Text("none", style="dim")
            if view.opted_out:
                mobile.append(" STOP", style="bold red")
            table.add_row(
                literal(view.username),
                mobile,
                permission_text(view, self.context.zone),
                Text("on") if view.new_chat else Text("off", style="dim"),
                ready_text(ready),
                key=view.username,
            )
            self.shown[view.username] = view
        if table.row_count:
            table.move_cursor(row=min(keep, table.row_count - 1))

    async def on_changes(self, changes: Changes) -> None:
        if gone(self):
            return  # being removed: a principal reload took the section away
        if changes.about("staff.", "agent.", "shift.", "settings.changed"):
            await self.reload()

    def selected(self) -> StaffView | None:
        table = self.table
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        return self.shown.get(key or "")

    def action_set_mobile(self) -> None:
        person = self.selected()
        if person is None:
            return
        db, actor = self.context.db, self.context.actor

        async def submit(number: str) -> str:
            changed = await consent.set_mobile(db, actor, person.agent_id, number or None)
            await self.reload()
            if changed.mobile is None:
                return f"{changed.username} has no mobile number now"
            return (
                f"{changed.username}'s mobile is {changed.mobile}; the permission is theirs to give"
            )

        title = Text.assemble(
            "Mobile number of ", literal(person.name, style="bold"), " (blank: none)"
        )
        self.app.push_screen(PromptScreen(title, submit, value=person.mobile or ""))
