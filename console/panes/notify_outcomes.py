"""Notifications › Outcomes (P3): the closing outcomes and who each notifies.

The list shows every outcome in the close form's order, archived ones marked:
its kind and how many of the 10 recipients it has. ``n`` adds one, ``r``
renames it, ``a`` archives it or brings it back, Enter opens its recipients
(``OutcomeRecipients``). Core decides; a refusal is shown on the line above
the list, as core words it. The feed keeps the rows live: an ``outcome.*``
event re-reads that outcome's recipients, a replaced profile those of the
outcomes it moved.
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
from console.screens.outcome_form import KIND_LABELS, OutcomeForm
from console.screens.outcome_recipients import OutcomeRecipients
from console.text import literal
from console.widgets.keyed_table import KeyedTable
from console.widgets.status_line import StatusLine
from core.errors import NotFound, SwitchboardError
from core.notify import outcomes
from core.notify.outcomes import Outcome
from core.records import record

HINT = "n add · r rename · a archive/unarchive · Enter who it notifies"


@record
class OutcomeRow:
    outcome: Outcome
    recipients: int


def _cells(row: OutcomeRow) -> dict[str, Text]:
    o = row.outcome
    full = row.recipients >= outcomes.MAX_RECIPIENTS
    return {
        "name": literal(o.name, style="dim" if o.archived else ""),
        "kind": Text(KIND_LABELS.get(o.kind, o.kind)),
        "recipients": Text(
            f"{row.recipients}/{outcomes.MAX_RECIPIENTS}",
            style="bold yellow" if full else "",
            justify="right",
        ),
        "state": Text("archived", style="dim") if o.archived else Text(""),
    }


COLUMNS = (
    ("Outcome", "name", 32),
    ("Kind", "kind", 11),
    ("Notifies", "recipients", 8),
    ("", "state", 8),
)


class OutcomeTable(KeyedTable[OutcomeRow]):
    def __init__(self) -> None:
        super().__init__(COLUMNS, _cells, lambda r: r.outcome.id, id="outcome-list")


class NotifyOutcomes(ReportsFailures, Vertical):
    DEFAULT_CSS = """
    NotifyOutcomes { height: 1fr; }
    """
    BINDINGS = [
        Binding("n", "add", "Add outcome", id="outcomes.new", tooltip="Add a closing outcome"),
        Binding(
            "r", "rename", "Rename", id="outcomes.rename", tooltip="Rename the selected outcome"
        ),
        Binding(
            "a",
            "archive",
            "Archive",
            id="outcomes.archive",
            tooltip="Archive the selected outcome (no longer offered at close), or bring it back",
        ),
        Binding(
            "enter",
            "recipients",
            "Notifies",
            id="outcomes.recipients",
            tooltip="Who the selected outcome notifies: profiles, groups, on-call schedules",
        ),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__(id="notify-outcomes-list")
        self.context = context
        self.counts: dict[int, int] = {}

    def compose(self) -> ComposeResult:
        yield StatusLine(HINT, wrapped=True, id="outcome-status")
        yield OutcomeTable()

    async def on_mount(self) -> None:
        if gone(self):
            return  # taken away before it composed: it has no parts
        self.app.changes.subscribe(self, self.on_changes)  # type: ignore[attr-defined]
        await self.reload()

    def focus_default(self) -> None:
        self.query_one(OutcomeTable).focus()

    async def reload(self, named: set[int] | None = None) -> None:
        """Read the outcomes; recipients are counted again for ``named`` ones
        (every one when None) and for those not seen before."""
        db, actor = self.context.db, self.context.actor
        found = await outcomes.list_outcomes(db, actor, archived=True)
        for o in found:
            if named is None or o.id in named or o.id not in self.counts:
                try:
                    self.counts[o.id] = len(await outcomes.recipients(db, actor, o.name))
                except NotFound:
                    # Renamed by another process since the list was read: the
                    # rename's event brings it back here with its new name.
                    self.counts.setdefault(o.id, 0)
        if gone(self):
            return  # taken away while reading (see console/removal.py)
        self.query_one(OutcomeTable).show([OutcomeRow(o, self.counts[o.id]) for o in found])

    async def on_changes(self, changes: Changes) -> None:
        if changes.missed:
            await self.reload()
            return
        named: set[int] = set()
        for e in changes.events:
            if e.kind.startswith("outcome.") and e.entity_id is not None:
                named.add(e.entity_id)
            elif e.kind == "notification_profile.replaced":
                # Rows folded into the new profile's change the counts.
                named.update(e.data.get("outcome_ids") or ())
        if named:
            await self.reload(named)

    def select_place(self, outcome_id: int) -> None:
        """Put the cursor on outcome ``outcome_id`` (a link opened from elsewhere)."""
        self.query_one(OutcomeTable).select(outcome_id)

    def say(self, message: str | None, *, error: bool = False) -> None:
        self.query_one("#outcome-status", StatusLine).say(message, error=error)

    def _selected(self) -> Outcome | None:
        row = self.query_one(OutcomeTable).selected()
        if row is None:
            self.say("No outcome selected.", error=True)
            return None
        return row.outcome

    def action_add(self) -> None:
        self.app.push_screen(OutcomeForm(self.context), self._form_closed)

    def action_rename(self) -> None:
        outcome = self._selected()
        if outcome is not None:
            self.app.push_screen(OutcomeForm(self.context, outcome), self._form_closed)

    async def _form_closed(self, saved: Outcome | None) -> None:
        if saved is not None:
            await self.reload({saved.id})
            self.query_one(OutcomeTable).select(saved.id)
            self.say(f"Saved outcome {saved.name}")
        self.focus_default()

    @on(DataTable.RowSelected, "#outcome-list")
    def _row_chosen(self) -> None:
        # Enter on a row: the table takes the key; its selection opens the recipients.
        self.action_recipients()

    def action_recipients(self) -> None:
        outcome = self._selected()
        if outcome is not None:
            self.app.push_screen(OutcomeRecipients(self.context, outcome), self._recipients_closed)

    async def _recipients_closed(self, _: None) -> None:
        self.focus_default()

    @work(exclusive=True, group="outcome-archive", exit_on_error=False, description="archive")
    async def action_archive(self) -> None:
        outcome = self._selected()
        if outcome is None:
            return
        try:
            changed = await outcomes.archive(
                self.context.db, self.context.actor, outcome.name, not outcome.archived
            )
        except SwitchboardError as exc:
            self.say(str(exc), error=True)
            return
        await self.reload({changed.id})
        done = "Archived" if changed.archived else "Brought back"
        self.say(f"{done} outcome {changed.name}")
