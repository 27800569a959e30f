"""Who an outcome notifies (P3): every notification profile with an on/off switch,
then every group and on-call schedule, each added or removed the same way.

Space or Enter switches the row under the cursor; core decides (at most 10
recipients, a group or a schedule counting as one) and its refusal is shown
under the list as core words it. What other consoles change (a profile
added or renamed, a recipient switched elsewhere) comes in from the feed.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from console.context import ConsoleContext
from console.live import Changes
from console.text import literal
from console.widgets.keyed_table import KeyedTable
from core.errors import NotFound, SwitchboardError
from core.notify import groups, oncall, outcomes, profiles
from core.notify.outcomes import Outcome
from core.records import record

KIND_LABELS = {"profile": "profile", "group": "group", "schedule": "on call"}
_FEED_KINDS = ("outcome.", "notification_profile.", "notification_group.", "oncall_schedule.")
"""A recipient switched, or a profile, group or schedule added, renamed or deleted."""


@record
class Candidate:
    kind: str
    """profile, group or schedule (``outcomes.RECIPIENT_KINDS``)."""
    target_id: int
    name: str
    on: bool

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.target_id}"


def _cells(c: Candidate) -> dict[str, Text]:
    return {
        "on": Text("on", style="bold green") if c.on else Text("off", style="dim"),
        "kind": Text(KIND_LABELS[c.kind]),
        "name": literal(c.name),
    }


COLUMNS = (("", "on", 3), ("Kind", "kind", 7), ("Name", "name", 40))


class RecipientTable(KeyedTable[Candidate]):
    def __init__(self) -> None:
        super().__init__(COLUMNS, _cells, lambda c: c.key, id="recipient-list")


class OutcomeRecipients(ModalScreen[None]):
    DEFAULT_CSS = """
    OutcomeRecipients { align: center middle; }
    OutcomeRecipients > Vertical {
        width: 66; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    OutcomeRecipients #recipients-title { text-style: bold; }
    OutcomeRecipients RecipientTable { height: auto; max-height: 14; margin-top: 1; }
    OutcomeRecipients #recipients-error { color: $text-error; margin-top: 1; display: none; }
    OutcomeRecipients #recipients-hint { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [
        Binding(
            "space",
            "switch",
            "On/off",
            id="recipients.switch",
            tooltip="Switch the selected profile on or off for this outcome; add or remove"
            " the group or schedule",
        ),
        Binding("escape", "close", "Close", id="recipients.close", tooltip="Back to the outcomes"),
    ]

    def __init__(self, context: ConsoleContext, outcome: Outcome) -> None:
        super().__init__()
        self.context = context
        self.outcome = outcome
        self.count = 0

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(id="recipients-title")
            yield RecipientTable()
            yield Static(id="recipients-error")
            yield Static("space or Enter switch on/off · Esc close", id="recipients-hint")

    async def on_mount(self) -> None:
        self.app.changes.subscribe(self, self.on_changes)  # type: ignore[attr-defined]
        self.query_one(RecipientTable).focus()
        await self.reload()

    @property
    def error(self) -> str:
        shown = self.query_one("#recipients-error", Static)
        return str(shown.render()) if shown.display else ""

    def say(self, message: str | None) -> None:
        shown = self.query_one("#recipients-error", Static)
        shown.update(literal(message or "", one_line=False))
        shown.display = bool(message)

    async def reload(self) -> None:
        db, actor = self.context.db, self.context.actor
        # The outcome may have been renamed elsewhere: find it again by id.
        found = [
            o
            for o in await outcomes.list_outcomes(db, actor, archived=True)
            if o.id == self.outcome.id
        ]
        if not found:
            self.say("This outcome no longer exists.")
            return
        self.outcome = found[0]
        try:
            chosen = {
                (r.kind, r.target_id)
                for r in await outcomes.recipients(db, actor, self.outcome.name)
            }
        except NotFound:
            return  # renamed since it was read: the rename's event reloads it
        everyone = (
            [("profile", p.id, p.alias) for p in await profiles.list_profiles(db, actor)]
            + [("group", g.id, g.name) for g in await groups.list_groups(db, actor)]
            + [("schedule", s.id, s.name) for s in await oncall.list_schedules(db, actor)]
        )
        self.count = len(chosen)
        self.query_one(RecipientTable).show(
            [Candidate(k, i, n, (k, i) in chosen) for k, i, n in everyone]
        )
        self._title()

    def _title(self) -> None:
        title = Text.assemble(
            "Who ",
            literal(self.outcome.name, style="bold"),
            f" notifies: {self.count}/{outcomes.MAX_RECIPIENTS}",
            " (archived)" if self.outcome.archived else "",
        )
        if not len(self.query_one(RecipientTable).shown):
            title.append("\nNo notification profiles, groups or schedules yet.", style="dim")
        self.query_one("#recipients-title", Static).update(title)

    async def on_changes(self, changes: Changes) -> None:
        if changes.about(*_FEED_KINDS):
            await self.reload()

    @on(DataTable.RowSelected, "#recipient-list")
    def _row_chosen(self) -> None:
        # Enter on a row: the table takes the key; its selection switches the row.
        self.action_switch()

    def action_switch(self) -> None:
        candidate = self.query_one(RecipientTable).selected()
        if candidate is not None:
            self._switch(candidate)

    @work(exclusive=True, group="recipient", exit_on_error=False, description="switch a recipient")
    async def _switch(self, c: Candidate) -> None:
        try:
            await outcomes.set_recipient(
                self.context.db, self.context.actor, self.outcome.name, c.kind, c.name, not c.on
            )
        except NotFound as exc:
            self.say(str(exc))
            await self.reload()
            return
        except SwitchboardError as exc:
            # Core's refusal (the 11th recipient), where the person is looking.
            self.say(str(exc))
            return
        self.say(None)
        await self.reload()

    def action_close(self) -> None:
        self.dismiss(None)
