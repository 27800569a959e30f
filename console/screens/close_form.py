"""Close a conversation with an outcome (P4): the outcome, the collected data, a comment.

The form lists what core declares (the outcomes not archived, message ones
first; the collected fields in their order, required ones starred, PHI ones
marked) and hands everything to ``closing.close``. Core checks every value:
its refusal is shown under the field it names (``SwitchboardError.about``),
or above the fields when it is about the close as a whole, and what was
typed stays. It closes with core's Closure, or None when cancelled.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Label, Select, Static

from console.context import ConsoleContext
from console.safe_text import printable
from console.text import literal
from console.widgets.editing import Input, TextArea
from core import settings
from core.errors import SwitchboardError
from core.notify import closing, fields, outcomes
from core.notify.closing import Closure
from core.notify.fields import CollectedField
from core.notify.outcomes import Outcome
from core.sms.conversations import Conversation

COMMENT = "agent_comment"
"""The comment's name in core's refusals (a system field, typed here)."""
OUTCOME = "outcome"
_PLACEHOLDERS = {
    "phone": "e.g. +1 212 555 0100",
    "email": "e.g. name@example.com",
    "datetime": "e.g. 2026-03-01T14:30",
    "number": "a number",
}


def outcome_options(found: list[Outcome]) -> list[tuple[Text, str]]:
    """Message outcomes first, then the non-message ones, each marked as such."""
    ordered = [o for o in found if o.kind == "message"] + [o for o in found if o.kind != "message"]
    return [
        (
            literal(o.name) + Text("  message" if o.kind == "message" else "  no message", "dim"),
            o.name,
        )
        for o in ordered
    ]


def _placeholder(field: CollectedField, known: dict[str, str]) -> str:
    """What an empty field means: for the caller's name and phone, what the notices will
    say instead (the conversation's); for others, an example of the type."""
    if known.get(field.name):
        return f"empty: {printable(known[field.name])} (from the conversation)"
    return _PLACEHOLDERS.get(field.type, "")


def field_label(field: CollectedField) -> Text:
    label = literal(field.label, one_line=False)
    if field.required:
        label.append(" *", style="bold")
    if field.phi:
        label.append("  PHI", style="bold yellow")
    return label


def _row(label: Text, widget: Widget, about: str) -> ComposeResult:
    """The label beside its field, core's refusal about it under the field."""
    with Horizontal(classes="close-row"):
        yield Label(label)
        with Vertical():
            yield widget
            yield Static(classes="field-error", id=f"error-{about}")


class CloseForm(ModalScreen[Closure | None]):
    """Ctrl+S closes the conversation, Esc cancels; Enter moves to the next field."""

    DEFAULT_CSS = """
    CloseForm { align: center middle; }
    CloseForm > Vertical {
        width: 72; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    CloseForm #close-fields { height: auto; max-height: 1fr; margin-top: 1; }
    CloseForm .close-row { height: auto; }
    CloseForm .close-row > Label { width: 22; height: auto; padding-right: 1; }
    CloseForm .close-row > Vertical { width: 1fr; height: auto; }
    CloseForm TextArea { height: 3; }
    CloseForm #close-comment { height: 2; }
    CloseForm .field-error { color: $error; height: auto; display: none; }
    CloseForm .field-error.shown { display: block; }
    CloseForm #close-hint { color: $text-muted; height: auto; }
    CloseForm #close-buttons { height: auto; align-horizontal: right; margin-top: 1; }
    CloseForm Button { margin-left: 1; }
    """
    BINDINGS = [
        Binding(
            "ctrl+s",
            "save",
            "Close conversation",
            id="close_form.save",
            tooltip="Close the conversation with this outcome and send its notices",
        ),
        Binding("escape", "cancel", "Cancel", id="close_form.cancel", tooltip="Leave it open"),
    ]

    def __init__(
        self,
        context: ConsoleContext,
        conversation: Conversation,
        choices: list[Outcome],
        collected: list[CollectedField],
        *,
        hipaa_mode: bool = False,
    ) -> None:
        super().__init__(id="close-form")
        self.context = context
        self.conversation = conversation
        self.choices = choices
        self.collected = [f for f in collected if f.collected]
        self.hipaa_mode = hipaa_mode

    def compose(self) -> ComposeResult:
        c = self.conversation
        heading = Text("Close ", style="bold")
        heading.append_text(literal(c.contact_name or c.phone, style="bold"))
        if c.contact_name:
            heading.append(f" {c.phone}", style="dim")
        hint = Text("* required · ")
        hint.append("PHI", style="bold yellow")
        hint.append(
            " withheld from every notice: HIPAA mode is on"
            if self.hipaa_mode
            else " protected health information"
        )
        hint.append(" · Ctrl+S closes")
        with Vertical():
            yield Static(heading)
            yield Static(hint, id="close-hint")
            yield Static(classes="field-error", id="close-error")
            with VerticalScroll(id="close-fields"):
                yield from _row(
                    Text("Outcome *"),
                    Select[str](
                        outcome_options(self.choices),
                        prompt="Choose the outcome…",
                        id="close-outcome",
                        compact=True,
                    ),
                    OUTCOME,
                )
                known = closing.known_caller(c.contact_name, c.phone)
                for field in self.collected:
                    widget: Widget
                    if field.type == "long_text":
                        widget = TextArea(id=f"field-{field.name}", compact=True)
                    else:
                        widget = Input(
                            placeholder=_placeholder(field, known),
                            max_length=field.max_length,
                            id=f"field-{field.name}",
                            compact=True,
                        )
                    yield from _row(field_label(field), widget, field.name)
                comment = TextArea(id="close-comment", compact=True)
                yield from _row(Text("Agent comment"), comment, COMMENT)
            with Horizontal(id="close-buttons"):
                yield Button("Cancel", id="close-cancel")
                yield Button("Close conversation", variant="primary", id="close-save")

    def on_mount(self) -> None:
        self.query_one("#close-outcome", Select).focus()

    # --- values and refusals ------------------------------------------------

    def data(self) -> dict[str, str]:
        """What was typed in each collected field, as core takes it."""
        typed: dict[str, str] = {}
        for field in self.collected:
            widget = self.query_one(f"#field-{field.name}")
            typed[field.name] = widget.text if isinstance(widget, TextArea) else widget.value  # type: ignore[attr-defined]
        return typed

    def chosen(self) -> str:
        value = self.query_one("#close-outcome", Select).value
        # Nothing chosen is passed on as nothing: core says no outcome has that name.
        return value if isinstance(value, str) else ""

    def show_error(self, message: str | None, about: object = None) -> None:
        """Core's refusal under the field it is about, else above the fields."""
        for error in self.query(".field-error"):
            assert isinstance(error, Static)
            error.update("")
            error.remove_class("shown")
        if message is None:
            return
        where = self.query(f"#error-{about}") if isinstance(about, str) else None
        target = where.first(Static) if where else self.query_one("#close-error", Static)
        target.update(literal(message, one_line=False))
        target.add_class("shown")
        field = self._field_of(about)
        if field is not None:
            field.focus()
            field.scroll_visible()
        target.scroll_visible()

    def _field_of(self, about: object) -> Widget | None:
        if about == OUTCOME:
            return self.query_one("#close-outcome")
        if about == COMMENT:
            return self.query_one("#close-comment")
        found = self.query(f"#field-{about}") if isinstance(about, str) else None
        return found.first() if found else None

    # --- actions ------------------------------------------------------------

    async def action_save(self) -> None:
        try:
            closed = await closing.close(
                self.context.db,
                self.context.actor,
                self.conversation.id,
                self.chosen(),
                self.data(),
                self.query_one("#close-comment", TextArea).text,
            )
        except SwitchboardError as exc:
            # Kept here, not in the app's handler: the refusal goes under the
            # field it names and the form stays open with what was typed.
            self.show_error(str(exc), exc.about)
            return
        self.dismiss(closed)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def _next_field(self) -> None:
        # Enter in a one-line field moves on: closing sends notices, so only Ctrl+S does.
        self.focus_next()

    @on(Button.Pressed, "#close-save")
    async def _save_pressed(self) -> None:
        await self.action_save()

    @on(Button.Pressed, "#close-cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(None)


async def close_form(context: ConsoleContext, conversation: Conversation) -> CloseForm:
    """The form for ``conversation``, with core's outcomes and collected fields."""
    db, actor = context.db, context.actor
    return CloseForm(
        context,
        conversation,
        await outcomes.list_outcomes(db, actor),
        await fields.list_fields(db, actor),
        hipaa_mode=(await settings.load(db)).hipaa_mode,
    )
