"""Edit or create a contact: fields, Ready, phone numbers, custom fields (M1, M9).

The form only collects what was typed; ``core.people.contacts`` validates and saves.
A refused save (bad number, bad email…) is shown in the form, which stays
open with everything still typed in it. Contact text is always shown literal.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Select, Static, Switch

from console.context import ConsoleContext
from console.text import literal
from console.times import stamp
from console.widgets.editing import Input, TextArea
from core.errors import InvalidInput, SwitchboardError
from core.people import contacts
from core.people.contacts import PHONE_KINDS, Contact, ContactDraft, ReadyChange

HISTORY_SHOWN = 5


class PhoneRow(Horizontal):
    """One phone number: the number as typed and its kind."""

    DEFAULT_CSS = """
    PhoneRow { height: 1; }
    PhoneRow > Input { width: 1fr; }
    PhoneRow > Select { width: 14; margin: 0 1; }
    PhoneRow > Button { width: 8; min-width: 8; }
    """

    def __init__(self, number: str = "", kind: str = "mobile") -> None:
        super().__init__(classes="phone-row")
        self.number = number
        self.kind = kind if kind in PHONE_KINDS else "other"

    def compose(self) -> ComposeResult:
        yield Input(
            self.number, placeholder="+1 212 555 0100", classes="phone-number", compact=True
        )
        yield Select(
            [(k, k) for k in PHONE_KINDS],
            value=self.kind,
            allow_blank=False,
            classes="phone-kind",
            compact=True,
        )
        yield Button(
            "Remove", classes="remove-phone", tooltip="Remove this number (ctrl+r)", compact=True
        )

    def value(self) -> tuple[str, str]:
        kind = self.query_one(".phone-kind", Select).value
        return self.query_one(".phone-number", Input).value, str(kind)


class ContactForm(ModalScreen[Contact | None]):
    """Returns the saved contact, or None when cancelled."""

    # One line a field, no gaps between rows: at 80x24 the form shows a contact
    # with five numbers, every one of them, without scrolling.
    DEFAULT_CSS = """
    ContactForm { align: center middle; }
    ContactForm > Vertical {
        width: 90; max-width: 100%; height: 100%; max-height: 40;
        border: round $accent; background: $surface; padding: 0 1;
    }
    ContactForm VerticalScroll { height: 1fr; }
    ContactForm .field { height: 1; }
    ContactForm .field > Label { width: 11; color: $text-muted; }
    ContactForm .field > Input { width: 1fr; }
    ContactForm Switch { border: none; height: 1; padding: 0; }
    ContactForm .heading { color: $text-muted; margin-top: 1; }
    ContactForm #phones { height: auto; }
    ContactForm #add-phone { margin-bottom: 0; }
    ContactForm #custom { height: 4; margin-bottom: 1; }
    ContactForm #form-error { color: $error; height: auto; max-height: 3; }
    ContactForm #history { color: $text-muted; height: auto; }
    ContactForm #form-buttons { height: 1; align-horizontal: right; }
    ContactForm #form-buttons > Button { margin-left: 2; }
    """
    BINDINGS = [
        Binding(
            "ctrl+s",
            "save",
            "Save",
            id="contact_form.save",
            tooltip="Save the contact",
            priority=True,
        ),
        Binding("escape", "cancel", "Cancel", id="contact_form.cancel", tooltip="Close, unsaved"),
        Binding(
            "ctrl+n",
            "add_phone",
            "Add phone",
            id="contact_form.add_phone",
            tooltip="Add a phone number",
        ),
        Binding(
            "ctrl+r",
            "remove_phone",
            "Remove phone",
            id="contact_form.remove_phone",
            tooltip="Remove the phone number being edited",
        ),
    ]

    def __init__(
        self,
        context: ConsoleContext,
        contact: Contact | None = None,
        history: list[ReadyChange] | None = None,
    ) -> None:
        super().__init__()
        self.context = context
        self.contact = contact
        self.history = history or []
        self.draft = contacts.draft_from(contact) if contact else ContactDraft()

    def compose(self) -> ComposeResult:
        draft = self.draft
        title = f"Edit contact {self.contact.id}" if self.contact else "New contact"
        with Vertical():
            yield Static(f"[b]{title}[/b]  ctrl+s saves · Esc cancels")
            with VerticalScroll():
                for label, field_id, value in (
                    ("Name", "name", draft.name),
                    ("Job title", "job-title", draft.job_title),
                    ("Email", "email", draft.email),
                ):
                    with Horizontal(classes="field"):
                        yield Label(label)
                        yield Input(value, id=field_id, compact=True)
                with Horizontal(classes="field"):
                    yield Label("Ready")
                    yield Switch(draft.ready, id="ready", tooltip="Ready to be texted (M9)")
                yield Label("Phone numbers (only mobiles can be texted)", classes="heading")
                with Vertical(id="phones"):
                    for number, kind in draft.phones:
                        yield PhoneRow(number, kind)
                yield Button("Add phone", id="add-phone", tooltip="ctrl+n", compact=True)
                yield Label("Custom fields, one key=value a line", classes="heading")
                yield TextArea(
                    "\n".join(f"{k}={v}" for k, v in draft.custom.items()),
                    id="custom",
                    soft_wrap=False,
                    compact=True,
                )
                yield Static(self._history_text(), id="history")
            yield Static(id="form-error")
            with Horizontal(id="form-buttons"):
                yield Button("Save", id="save", variant="primary", tooltip="ctrl+s", compact=True)
                yield Button("Cancel", id="cancel", tooltip="Esc", compact=True)

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()

    def _history_text(self):  # type: ignore[no-untyped-def]
        text = literal("Ready history: " + ("none yet" if not self.history else ""))
        for change in self.history[:HISTORY_SHOWN]:
            mark = "✓ ready" if change.ready else "✗ not ready"
            text.append("\n")
            text.append_text(literal(f"{stamp(change.at, self.context.zone)}  {mark}  "))
            text.append_text(literal(change.reason))
        text.no_wrap = False
        return text

    # --- phone rows -----------------------------------------------------------

    async def action_add_phone(self) -> None:
        row = PhoneRow()
        await self.query_one("#phones").mount(row)
        row.query_one(".phone-number", Input).focus()

    async def action_remove_phone(self) -> None:
        focused = self.focused
        row = next(
            (a for a in (focused.ancestors if focused else []) if isinstance(a, PhoneRow)), None
        )
        if row is None:
            self.notify("Move to the phone number to remove first.", severity="warning")
            return
        await row.remove()
        self.query_one("#add-phone").focus()

    @on(Button.Pressed, "#add-phone")
    async def _add_pressed(self) -> None:
        await self.action_add_phone()

    @on(Button.Pressed, ".remove-phone")
    async def _remove_pressed(self, event: Button.Pressed) -> None:
        row = next(a for a in event.button.ancestors if isinstance(a, PhoneRow))
        await row.remove()
        self.query_one("#add-phone").focus()

    # --- save / cancel --------------------------------------------------------

    @on(Button.Pressed, "#save")
    async def _save_pressed(self) -> None:
        await self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def collect(self) -> ContactDraft:
        """What the form holds now; InvalidInput for a custom line without '='."""
        custom: dict[str, str] = {}
        lines = self.query_one("#custom", TextArea).text.splitlines()
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            if "=" not in line:
                raise InvalidInput(f"custom field line {number}: write it as key=value")
            key, value = line.split("=", 1)
            custom[key] = value
        return ContactDraft(
            name=self.query_one("#name", Input).value,
            job_title=self.query_one("#job-title", Input).value,
            email=self.query_one("#email", Input).value,
            ready=self.query_one("#ready", Switch).value,
            phones=[row.value() for row in self.query(PhoneRow) if row.value()[0].strip()],
            custom=custom,
        )

    async def action_save(self) -> None:
        error = self.query_one("#form-error", Static)
        try:
            draft = self.collect()
            if self.contact is None:
                saved = await contacts.create(self.context.db, self.context.actor, draft)
            else:
                saved = await contacts.update(
                    self.context.db, self.context.actor, self.contact.id, draft
                )
        except SwitchboardError as exc:
            # Kept here, not in the app's handler: a form shows the refusal under
            # its fields and stays open with what was typed.
            # InvalidInput / InvalidPhoneNumber name the field; NotAllowed,
            # NotFound (deleted meanwhile) are shown the same way.
            error.update(literal(str(exc), one_line=False))
            return
        error.update("")
        self.dismiss(saved)
