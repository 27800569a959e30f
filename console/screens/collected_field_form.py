"""Add a collected field, or edit one (P2).

A new field has a name (its merge field, ``{{name}}``), a label, a type, a
maximum length, a PHI flag and whether the close form requires it. Editing
keeps the name; a built-in field's type, length and "required" are shown but
cannot be changed (core allows its label and PHI flag only). Only what was
changed is sent to core. A refusal is shown under the fields, in core's
words, with what was typed kept; the form closes with the field as stored.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Select, Static

from console.context import ConsoleContext
from console.screens.form_fields import Remembered, Tick
from console.screens.small_form import SmallForm, bindings
from console.text import literal
from console.widgets.editing import Input
from core.errors import InvalidInput
from core.notify import fields
from core.notify.fields import CollectedField

TYPE_LABELS = {t: t.replace("_", " ") for t in fields.TYPES}
_LOCKED = ("field-type", "field-max", "field-required")
"""What a built-in field keeps: the built-in notice modes and the system rely on them."""
_KEYWORDS = {
    "field-label": "label",
    "field-type": "type",
    "field-max": "max_length",
    "field-phi": "phi",
    "field-required": "required",
}
"""Each widget's ``fields.edit`` keyword."""


def _whole_number(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() else None


class CollectedFieldForm(Remembered, SmallForm):
    DEFAULT_CSS = """
    CollectedFieldForm { align: center middle; }
    CollectedFieldForm > Vertical {
        width: 66; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    CollectedFieldForm Label { margin-top: 1; }
    CollectedFieldForm #field-flags { height: auto; margin-top: 1; }
    CollectedFieldForm Tick { margin-right: 2; }
    CollectedFieldForm #field-max { width: 24; }
    CollectedFieldForm #field-form-error { color: $error; height: auto; margin-top: 1; }
    CollectedFieldForm #field-form-hint { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = bindings("field_form", "this field")

    def __init__(self, context: ConsoleContext, current: CollectedField | None = None) -> None:
        super().__init__()
        self.context = context
        self.current = current
        self.loaded = {}

    def compose(self) -> ComposeResult:
        field = self.current
        with Vertical():
            if field is None:
                yield Static("[b]Add a collected field[/b]")
                yield Label("Name: the merge field, lowercase letters, digits and _")
                yield Input(placeholder="e.g. account_number", id="field-name", compact=True)
            else:
                title = literal("{{" + field.name + "}}", style="bold")
                if field.builtin:
                    title.append("  built in: only its label and PHI flag change", style="dim")
                yield Static(title, id="field-title")
            yield Label("Label: what the close form asks")
            yield Input(id="field-label", compact=True)
            yield Label("Type")
            yield Select(
                [(label, kind) for kind, label in TYPE_LABELS.items()],
                value="text",
                allow_blank=False,
                id="field-type",
                compact=True,
            )
            yield Label("Maximum length, in characters")
            yield Input(placeholder="the type's default", id="field-max", compact=True)
            with Horizontal(id="field-flags"):
                yield Tick("PHI (withheld in HIPAA mode)", id="field-phi", compact=True)
                yield Tick("Required at close", id="field-required", compact=True)
            yield Static(id="field-form-error", classes="form-error")
            yield Static("Ctrl+S save · Esc cancel · space ticks a box", id="field-form-hint")

    def on_mount(self) -> None:
        field = self.current
        if field is not None:
            self.put("field-label", field.label)
            self.put("field-type", field.type)
            self.put("field-max", str(field.max_length))
            self.put("field-phi", field.phi)
            self.put("field-required", field.required)
            for widget_id in _LOCKED if field.builtin else ():
                self.query_one(f"#{widget_id}").disabled = True
            self.query_one("#field-label", Input).focus()
        else:
            self.query_one("#field-name", Input).focus()

    def value_of(self, widget_id: str) -> object:
        if widget_id == "field-type":
            return self.query_one("#field-type", Select).value
        return super().value_of(widget_id)

    def put(self, widget_id: str, value: object) -> None:
        if widget_id == "field-type":
            self.query_one("#field-type", Select).value = value
            self.loaded[widget_id] = value
            return
        super().put(widget_id, value)

    async def save(self) -> CollectedField:
        typed_max = self.query_one("#field-max", Input).value
        max_length = _whole_number(typed_max)
        if typed_max.strip() and max_length is None:
            raise InvalidInput(
                f"the maximum length is a whole number of characters, not {typed_max!r}"
            )
        label = str(self.value_of("field-label"))
        kind = str(self.value_of("field-type"))
        phi, required = bool(self.value_of("field-phi")), bool(self.value_of("field-required"))
        db, actor = self.context.db, self.context.actor
        if self.current is not None:
            return await fields.edit(db, actor, self.current.name, **self._changes())
        name = self.query_one("#field-name", Input).value.strip()
        return await fields.add(
            db, actor, name, label, kind, max_length=max_length, phi=phi, required=required
        )

    def _changes(self) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        for widget_id in self.changed(list(self.loaded)):
            value = self.value_of(widget_id)
            if widget_id == "field-max":
                value = _whole_number(str(value))
            changes[_KEYWORDS[widget_id]] = value
        return changes
