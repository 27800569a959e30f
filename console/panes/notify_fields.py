"""Notifications › Fields (P2): the data an agent collects when closing, and the
merge fields of every notice.

One row a field, in the close form's order: its merge field (``{{name}}``),
label, type, maximum length, PHI, required, and its kind (custom; built-in,
collected by the agent; or system, filled when the conversation closes).
``n`` adds a field, ``e`` or Enter edits one (``CollectedFieldForm``), ``p``
flips its PHI flag, ``d`` deletes one after a question. Core decides: a
refusal (a built-in field, one a saved template uses, naming the templates)
is shown on the line above the list as core words it. In HIPAA mode a note
at the top says PHI fields never leave. The feed keeps it live.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from console.context import ConsoleContext
from console.failures import ReportsFailures
from console.live import Changes
from console.removal import gone
from console.screens.collected_field_form import TYPE_LABELS, CollectedFieldForm
from console.screens.confirm import ConfirmScreen
from console.text import literal
from console.widgets.keyed_table import KeyedTable
from console.widgets.status_line import StatusLine
from core import settings
from core.errors import SwitchboardError
from core.notify import fields
from core.notify.fields import CollectedField

HINT = "n add · e edit · p PHI on/off · d delete"
HIPAA_NOTE = "HIPAA mode is on: PHI fields are withheld from every SMS and email."


def _kind(field: CollectedField) -> Text:
    if not field.collected:
        return Text("system", style="dim")
    return Text("built-in") if field.builtin else Text("custom", style="cyan")


def _yes(flag: bool, style: str = "") -> Text:
    return Text("yes", style=style) if flag else Text("")


def _cells(field: CollectedField) -> dict[str, Text]:
    return {
        "name": literal("{{" + field.name + "}}"),
        "label": literal(field.label),
        "type": Text(TYPE_LABELS.get(field.type, field.type)),
        "max": Text(str(field.max_length), justify="right"),
        "phi": _yes(field.phi, "bold magenta"),
        "required": _yes(field.required),
        "kind": _kind(field),
    }


COLUMNS = (
    ("Field", "name", 16),
    ("Label", "label", 16),
    ("Type", "type", 9),
    ("Max", "max", 5),
    ("PHI", "phi", 3),
    ("Req.", "required", 4),
    ("Kind", "kind", 8),
)


class FieldTable(KeyedTable[CollectedField]):
    def __init__(self) -> None:
        super().__init__(COLUMNS, _cells, lambda f: f.id, id="field-list")


class NotifyFields(ReportsFailures, Vertical):
    DEFAULT_CSS = """
    NotifyFields { height: 1fr; }
    NotifyFields #field-hipaa { height: auto; padding: 0 1; color: $warning; display: none; }
    """
    BINDINGS = [
        Binding("n", "add", "Add field", id="fields.new", tooltip="Add a collected field"),
        Binding(
            "e,enter",
            "edit",
            "Edit",
            id="fields.edit",
            tooltip="Edit the selected field (a built-in one: its label and PHI flag)",
        ),
        Binding(
            "p",
            "toggle_phi",
            "PHI",
            id="fields.phi",
            tooltip="Mark the selected field PHI, or not",
        ),
        Binding(
            "d",
            "delete",
            "Delete",
            id="fields.delete",
            tooltip="Delete the selected custom field (asks first)",
        ),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__(id="notify-fields-list")
        self.context = context

    def compose(self) -> ComposeResult:
        yield Static(HIPAA_NOTE, id="field-hipaa")
        yield StatusLine(HINT, wrapped=True, id="field-status")
        yield FieldTable()

    async def on_mount(self) -> None:
        if gone(self):
            return  # taken away before it composed: it has no parts
        self.app.changes.subscribe(self, self.on_changes)  # type: ignore[attr-defined]
        await self.reload()
        await self.reload_hipaa()

    def focus_default(self) -> None:
        self.query_one(FieldTable).focus()

    async def reload(self) -> None:
        found = await fields.list_fields(self.context.db, self.context.actor)
        if gone(self):
            return  # taken away while reading (see console/removal.py)
        self.query_one(FieldTable).show(found)

    async def reload_hipaa(self) -> None:
        on = (await settings.load(self.context.db)).hipaa_mode
        if not gone(self):
            self.query_one("#field-hipaa", Static).display = on

    async def on_changes(self, changes: Changes) -> None:
        if changes.about("collected_field."):
            await self.reload()
        if changes.about("settings."):
            await self.reload_hipaa()

    def say(self, message: str | None, *, error: bool = False) -> None:
        self.query_one("#field-status", StatusLine).say(message, error=error)

    def _selected(self) -> CollectedField | None:
        field = self.query_one(FieldTable).selected()
        if field is None:
            self.say("No field selected.", error=True)
        return field

    def action_add(self) -> None:
        self.app.push_screen(CollectedFieldForm(self.context), self._form_closed)

    @on(DataTable.RowSelected, "#field-list")
    def _row_chosen(self) -> None:
        # Enter on a row: the table takes the key, so its selection opens the form.
        self.action_edit()

    def action_edit(self) -> None:
        field = self._selected()
        if field is not None:
            self.app.push_screen(CollectedFieldForm(self.context, field), self._form_closed)

    async def _form_closed(self, saved: CollectedField | None) -> None:
        if saved is not None:
            await self.reload()
            self.query_one(FieldTable).select(saved.id)
            self.say(f"Saved field {saved.name}")
        self.focus_default()

    @work(exclusive=True, group="field-phi", exit_on_error=False, description="mark a field PHI")
    async def action_toggle_phi(self) -> None:
        field = self._selected()
        if field is None:
            return
        try:
            changed = await fields.edit(
                self.context.db, self.context.actor, field.name, phi=not field.phi
            )
        except SwitchboardError as exc:
            self.say(str(exc), error=True)
            return
        await self.reload()
        self.say(f"{changed.name} is {'PHI' if changed.phi else 'not PHI'}")

    def action_delete(self) -> None:
        field = self._selected()
        if field is None:
            return
        question = Text.assemble(
            "Delete the collected field ",
            literal("{{" + field.name + "}}", style="bold"),
            " (",
            literal(field.label),
            ")? Closures keep the values already collected.",
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(field.name)

        self.app.push_screen(ConfirmScreen(question, yes_label="Delete"), answered)

    @work(exclusive=True, group="field-delete", exit_on_error=False, description="delete a field")
    async def _delete(self, name: str) -> None:
        try:
            await fields.delete(self.context.db, self.context.actor, name)
        except SwitchboardError as exc:
            # Core names the templates that use it: the person knows where to go.
            self.say(str(exc), error=True)
            return
        await self.reload()
        self.say(f"Deleted field {name}")
