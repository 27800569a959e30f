"""The Cases tab's dialogs: a new case, a note with its recipients, the recipient
picker, a contact to add, and a contact's case link.

The forms call core themselves (``SmallForm``): a refusal (a note too long,
a recipient not on the case) is shown under the fields in core's words and
what was typed stays. The pickers only choose; the pane asks core.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Select, SelectionList, Static
from textual.widgets.option_list import Option
from textual.widgets.selection_list import Selection

from console.context import ConsoleContext
from console.removal import gone
from console.screens.small_form import SmallForm, bindings
from console.text import literal
from console.widgets.editing import Input, TextArea
from core.cases.case_contacts import CaseContact
from core.cases.locations import Location
from core.people import contacts
from core.sms.phones import display as phone_display

_FORM_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 72; max-width: 100%; height: auto; max-height: 100%;
    border: round $accent; background: $surface; padding: 0 1;
}}
{name} .form-title {{ text-style: bold; margin-bottom: 1; }}
{name} .form-error {{ color: $error; height: auto; margin-top: 1; }}
{name} .form-hint {{ color: $text-muted; height: auto; }}
{name} Horizontal {{ height: auto; align-horizontal: right; }}
{name} Button {{ margin-left: 1; }}
"""


def contact_label(c: CaseContact) -> Text:
    """Name, job title and phone as typed (literal), and whether they are texted."""
    text = literal(c.name or f"contact {c.contact_id}")
    if c.job_title:
        text.append(" · ").append_text(literal(c.job_title))
    if c.phone:
        text.append(f" · {phone_display(c.phone)}")
    text.append(" · SMS on" if c.sms_enabled else " · SMS off", style="dim")
    return text


def names(chosen: Sequence[CaseContact]) -> Text:
    """'Ann (SMS), Bob (SMS off: not texted)': who a note goes to, and who gets a text."""
    if not chosen:
        return Text("nobody (the note stays on the case)", style="dim")
    text = Text()
    for i, c in enumerate(chosen):
        if i:
            text.append(", ")
        text.append_text(literal(c.name or f"contact {c.contact_id}"))
        text.append(" (SMS)" if c.sms_enabled else " (SMS off: not texted)", style="dim")
    return text


class RecipientPicker(ModalScreen[list[int] | None]):
    """The case's contacts with a tick each, searchable by name, job title, email or phone.

    Dismissed with the ticked contact ids (in the case's order), or None on Esc.
    """

    DEFAULT_CSS = (
        _FORM_CSS.format(name="RecipientPicker")
        + """
    RecipientPicker SelectionList { height: auto; max-height: 12; }
    """
    )
    BINDINGS = [
        Binding("ctrl+s", "done", "Done", id="recipients.done", tooltip="Use the ticked contacts"),
        Binding("escape", "cancel", "Cancel", id="recipients.cancel", tooltip="Change nothing"),
    ]

    def __init__(self, case_contacts: Sequence[CaseContact], chosen: Sequence[int]) -> None:
        super().__init__()
        self.contacts = list(case_contacts)
        self.chosen = set(chosen)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Recipients: contacts on this case", classes="form-title")
            yield Input(
                placeholder="search name, job title, email or phone",
                id="recipient-search",
                compact=True,
            )
            yield SelectionList[int](id="recipient-list")
            yield Static(
                "space tick · Ctrl+S done · Esc cancel · ↓ from the search to the list",
                classes="form-hint",
            )

    def on_mount(self) -> None:
        self._fill("")
        self.query_one(SelectionList).focus()

    def _fill(self, needle: str) -> None:
        options = self.query_one(SelectionList)
        options.clear_options()
        options.add_options(
            [
                Selection(contact_label(c), c.contact_id, c.contact_id in self.chosen)
                for c in self.contacts
                if c.matches(needle.strip().casefold())
            ]
        )

    @on(Input.Changed, "#recipient-search")
    def _search(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#recipient-search")
    def _to_list(self) -> None:
        self.query_one(SelectionList).focus()

    def key_down(self) -> None:
        if self.focused is self.query_one("#recipient-search", Input):
            self.query_one(SelectionList).focus()

    @on(SelectionList.SelectionToggled, "#recipient-list")
    def _toggled(self, event: SelectionList.SelectionToggled[int]) -> None:
        # Kept outside the list: a search that hides a ticked contact keeps the tick.
        value = event.selection.value
        self.chosen.symmetric_difference_update({value})

    def action_done(self) -> None:
        self.dismiss([c.contact_id for c in self.contacts if c.contact_id in self.chosen])

    def action_cancel(self) -> None:
        self.dismiss(None)


Send = Callable[[str, list[int]], Awaitable[object]]
"""Core adds the note (body, recipient contact ids) and returns it."""


class NoteForm(SmallForm):
    """A free note: its body and recipients (Ctrl+R picks them); Ctrl+S adds it."""

    DEFAULT_CSS = (
        _FORM_CSS.format(name="NoteForm")
        + """
    NoteForm TextArea { height: 8; }
    NoteForm #note-to { height: auto; margin-top: 1; }
    """
    )
    BINDINGS = [
        *bindings("note_form", "the note and text its recipients"),
        Binding(
            "ctrl+r",
            "recipients",
            "Recipients",
            id="note_form.recipients",
            tooltip="Choose who the note goes to (contacts on the case)",
        ),
    ]

    def __init__(
        self,
        title: Text,
        case_contacts: Sequence[CaseContact],
        chosen: Sequence[int],
        send: Send,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.contacts = list(case_contacts)
        self.chosen = list(chosen)
        self.send = send

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, classes="form-title")
            yield TextArea(id="note-body", soft_wrap=True)
            yield Static(id="note-to")
            yield Static(
                "Ctrl+R recipients · Ctrl+S add and text · Esc cancel", classes="form-hint"
            )
            yield from self.buttons()

    def on_mount(self) -> None:
        self._show_to()
        self.query_one(TextArea).focus()

    def _show_to(self) -> None:
        by_id = {c.contact_id: c for c in self.contacts}
        chosen = [by_id[i] for i in self.chosen if i in by_id]
        self.query_one("#note-to", Static).update(Text("To: ").append_text(names(chosen)))

    def action_recipients(self) -> None:
        self.app.push_screen(RecipientPicker(self.contacts, self.chosen), self._picked)

    def _picked(self, chosen: list[int] | None) -> None:
        if chosen is not None:
            self.chosen = chosen
            self._show_to()

    async def save(self) -> object:
        return await self.send(self.query_one(TextArea).text, list(self.chosen))


class CaseForm(SmallForm):
    """A new case: its title and location; the person making it owns it (core's rule)."""

    DEFAULT_CSS = _FORM_CSS.format(name="CaseForm")
    BINDINGS = bindings("case_form", "the new case")

    def __init__(
        self, locations: Sequence[Location], create: Callable[[str, int], Awaitable[object]]
    ) -> None:
        super().__init__()
        self.locations = list(locations)
        self.create = create

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("New case", classes="form-title")
            yield Label("Title")
            yield Input(id="case-title", compact=True, max_length=200)
            yield Label("Location")
            yield Select(
                [(literal(loc.name), loc.id) for loc in self.locations],
                prompt="no location yet: a manager adds one with L",
                id="case-location",
                compact=True,
            )
            yield from self.buttons()

    def on_mount(self) -> None:
        if self.locations:
            self.query_one(Select).value = self.locations[0].id
        self.query_one("#case-title", Input).focus()

    async def save(self) -> object:
        location = self.query_one(Select).value
        # No location chosen: core names the rule (an unknown location).
        chosen = location if isinstance(location, int) else 0
        return await self.create(self.query_one("#case-title", Input).value, chosen)


class ContactPicker(ModalScreen[int | None]):
    """Search existing contacts (name, job title, email or phone) and pick one."""

    DEFAULT_CSS = (
        _FORM_CSS.format(name="ContactPicker")
        + """
    ContactPicker OptionList { height: auto; max-height: 12; }
    """
    )
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="contact_picker.cancel", tooltip="Add nobody"),
    ]
    LIMIT = 20

    def __init__(self, context: ConsoleContext, title: Text) -> None:
        super().__init__()
        self.context = context
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, classes="form-title")
            yield Input(
                placeholder="search name, job title, email or phone",
                id="contact-picker-search",
                compact=True,
            )
            yield OptionList(id="contact-picker-list")
            yield Static("type to search · ↓ list · Enter add · Esc cancel", classes="form-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        self._search("")

    @on(Input.Changed, "#contact-picker-search")
    def _changed(self, event: Input.Changed) -> None:
        self._search(event.value)

    @on(Input.Submitted, "#contact-picker-search")
    def _to_list(self) -> None:
        self.query_one(OptionList).focus()

    def key_down(self) -> None:
        if self.focused is self.query_one(Input):
            self.query_one(OptionList).focus()

    @work(
        exclusive=True, group="contact-picker", exit_on_error=False, description="search contacts"
    )
    async def _search(self, text: str) -> None:
        found = await contacts.search_page(
            self.context.db, self.context.actor, text, limit=self.LIMIT
        )
        if gone(self):
            return  # closed while searching (see console/removal.py)
        options = self.query_one(OptionList)
        options.clear_options()
        for c in found:
            label = literal(c.label)
            if c.job_title:
                label.append(" · ").append_text(literal(c.job_title))
            if c.mobiles:
                label.append(f" · {phone_display(c.mobiles[0].e164)}")
            options.add_option(Option(label, id=str(c.id)))

    @on(OptionList.OptionSelected, "#contact-picker-list")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(int(event.option.id or 0))

    def action_cancel(self) -> None:
        self.dismiss(None)


class LinkScreen(ModalScreen[None]):
    """A contact's link to the mobile case page, shown literally (and copied when the
    terminal lets the console write the clipboard)."""

    DEFAULT_CSS = (
        _FORM_CSS.format(name="LinkScreen")
        + """
    LinkScreen #link-url { height: auto; margin: 1 0; }
    """
    )
    BINDINGS = [
        Binding("escape,enter", "close", "Close", id="case_link.close", tooltip="Close"),
    ]

    def __init__(self, title: Text, url: str) -> None:
        super().__init__()
        self.title_text = title
        self.url = url

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, classes="form-title")
            yield Static(literal(self.url, one_line=False), id="link-url")
            yield Static(
                "Copied to the clipboard where the terminal allows it. Enter or Esc closes.",
                classes="form-hint",
            )

    def on_mount(self) -> None:
        self.app.copy_to_clipboard(self.url)

    def action_close(self) -> None:
        self.dismiss(None)
