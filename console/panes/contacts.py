"""The contacts pane: search as you type, Ready toggle, edit, text, import a CSV (M1, M2, M9).

A database may hold 10^6 contacts, so the table never holds them all: it
shows a window of at most three pages, loaded by keyset from the FTS index
(``contacts.search_page``). Reaching the last row loads the next page and
drops the oldest; reaching the first row loads the page before. Changes from
other processes (an SMS sent flips Ready) arrive through ``app.changes`` and
update the shown rows in place.
"""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from console.context import ConsoleContext
from console.failures import ReportsFailures
from console.live import Changes
from console.removal import gone
from console.screens.confirm import ConfirmScreen
from console.screens.contact_form import ContactForm
from console.screens.contact_import import ContactImportForm
from console.screens.csv_problems import CsvReport
from console.text import literal
from console.widgets.editing import Input
from core.errors import NotFound
from core.people import contacts
from core.people.authz import Action, allows
from core.people.contacts import Contact
from core.sms.phones import display as phone_display

PAGE = 50
WINDOW = 3 * PAGE
"""Rows held at most: the page on screen and one page each way."""
SEARCH_DELAY = 0.15
"""Seconds of quiet typing before a search runs."""
MAX_READY_NOTES = 3
"""More Ready changes than this in one batch are told in one notification."""

# Ready and the numbers come first so they stay on screen at 80 columns: they
# are what an agent texting someone needs; job title and email can scroll.
COLUMNS = (
    ("Name", "name", 20),
    ("Ready", "ready", 5),
    ("Phones", "phones", None),
    ("Job title", "job", 14),
    ("Email", "email", 20),
)


def ready_text(ready: bool) -> Text:
    return Text("✓", style="bold green") if ready else Text("✗", style="bold red")


def phones_text(contact: Contact) -> Text:
    """Every number; only those that cannot be texted say their kind, so two fit at 80 columns."""
    shown = ", ".join(
        phone_display(p.e164) + ("" if p.kind == "mobile" else f" ({p.kind})")
        for p in contact.phones
    )
    return literal(shown)


def cells(contact: Contact) -> dict[str, Text]:
    """A row's cells, in COLUMNS order."""
    return {
        "name": literal(contact.name or "—"),
        "ready": ready_text(contact.ready),
        "phones": phones_text(contact),
        "job": literal(contact.job_title),
        "email": literal(contact.email),
    }


class ContactTable(DataTable[Text]):
    """A window onto the search results, keyed by contact id."""

    BINDINGS = [
        Binding(
            "pagedown",
            "next_page",
            "Next page",
            id="contacts.next_page",
            tooltip="Move down a screen; loads more contacts at the end",
            show=False,
        ),
        # In a row table DataTable's home/end scroll sideways; in a list they
        # mean the first and last row (which then loads the page beyond).
        Binding(
            "end,ctrl+end",
            "scroll_bottom",
            "Last row",
            id="contacts.last_row",
            tooltip="Go to the last contact loaded; loads the next page",
            show=False,
        ),
        Binding(
            "home,ctrl+home",
            "scroll_top",
            "First row",
            id="contacts.first_row",
            tooltip="Go to the first contact loaded; loads the page before",
            show=False,
        ),
    ]

    def __init__(self) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id="contact-list")
        self.window: list[Contact] = []

    def on_mount(self) -> None:
        for label, key, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    def action_next_page(self) -> None:
        if self.row_count and self.cursor_row >= self.row_count - 1:
            # Already at the end: ask the pane for more without moving.
            self.post_message(self.AtEdge(self, below=True))
        else:
            self.action_page_down()

    class AtEdge(Message):
        """The cursor is on the first or last row held."""

        def __init__(self, table: ContactTable, *, below: bool) -> None:
            super().__init__()
            self.table = table
            self.below = below

    def selected(self) -> Contact | None:
        if not self.window or self.row_count == 0:
            return None
        return self.window[min(self.cursor_row, len(self.window) - 1)]

    def replace(self, found: list[Contact]) -> None:
        """Show a new result list from the top."""
        self.clear()
        for contact in found:
            self.add_row(*cells(contact).values(), key=str(contact.id))
        self.window = list(found)
        if found:
            self.move_cursor(row=0)

    def append(self, found: list[Contact]) -> int:
        """Add a page below, dropping the oldest rows past WINDOW; returns rows dropped."""
        keep = self.selected()
        for contact in found:
            self.add_row(*cells(contact).values(), key=str(contact.id))
        self.window += found
        dropped = max(0, len(self.window) - WINDOW)
        for contact in self.window[:dropped]:
            self.remove_row(str(contact.id))
        self.window = self.window[dropped:]
        if keep is not None and dropped:
            self.move_cursor(row=self.get_row_index(str(keep.id)), animate=False)
        return dropped

    def prepend(self, found: list[Contact]) -> int:
        """Add a page above, dropping the newest rows past WINDOW; returns rows dropped.

        DataTable only appends, so the (at most WINDOW) rows are laid again.
        """
        keep = self.selected()
        window = found + self.window
        dropped = max(0, len(window) - WINDOW)
        self.window = window[: len(window) - dropped]
        self.clear()
        for contact in self.window:
            self.add_row(*cells(contact).values(), key=str(contact.id))
        if keep is not None:
            self.move_cursor(row=self.get_row_index(str(keep.id)), animate=False)
        return dropped

    def drop(self, contact_id: int) -> None:
        """Take the contact's row away if it is shown (it was deleted)."""
        if any(c.id == contact_id for c in self.window):
            self.window = [c for c in self.window if c.id != contact_id]
            self.remove_row(str(contact_id))

    def refresh_contact(self, contact: Contact) -> bool:
        """Update the contact's row in place if it is shown; returns whether it was."""
        for index, shown in enumerate(self.window):
            if shown.id == contact.id:
                self.window[index] = contact
                for column, value in cells(contact).items():
                    self.update_cell(str(contact.id), column, value)
                return True
        return False


class ContactsPane(ReportsFailures, Vertical):
    DEFAULT_CSS = """
    ContactsPane { height: 1fr; }
    ContactsPane > #contact-search { margin: 0 0; }
    ContactsPane > #contacts-status { height: 1; padding: 0 1; color: $text-muted; }
    ContactsPane > ContactTable { height: 1fr; }
    """
    BINDINGS = [
        Binding(
            "slash",
            "focus_search",
            "Search",
            id="contacts.search",
            tooltip="Search by name, job title, email or phone",
        ),
        Binding(
            "space",
            "toggle_ready",
            "Ready",
            id="contacts.toggle_ready",
            tooltip="Switch the highlighted contact's Ready status",
        ),
        Binding(
            "e,enter",
            "edit",
            "Edit",
            id="contacts.edit",
            tooltip="Edit the highlighted contact",
        ),
        Binding("n", "new", "New", id="contacts.new", tooltip="Add a new contact"),
        Binding(
            "delete",
            "delete",
            "Delete",
            id="contacts.delete",
            tooltip="Delete the highlighted contact, after asking",
            # Rare, and the footer is full at 80 columns: listed under ? and Ctrl+P.
            show=False,
        ),
        Binding(
            "i",
            "import_csv",
            "Import",
            id="contacts.import",
            tooltip="Import contacts from a CSV file",
        ),
        Binding(
            "s",
            "text",
            "Text",
            id="contacts.text",
            tooltip="Write an SMS to the highlighted contact",
        ),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__()
        self.context = context
        self.query_text = ""
        self.more_above = False
        self.more_below = False
        self._generation = 0
        """Bumped by each new search, so a page loaded for an older one is dropped."""

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="Search name, job title, email or phone  ( / )",
            id="contact-search",
        )
        yield Static(id="contacts-status")
        yield ContactTable()

    async def on_mount(self) -> None:
        if gone(self):
            return  # taken away before it composed: it has no parts
        self.app.changes.subscribe(self, self.on_changes)  # type: ignore[attr-defined]
        self.run_search("", delay=0)

    def focus_default(self) -> None:
        self.query_one(ContactTable).focus()

    @property
    def table(self) -> ContactTable:
        return self.query_one(ContactTable)

    # --- searching and paging -----------------------------------------------

    @on(Input.Changed, "#contact-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.run_search(event.value)

    @on(Input.Submitted, "#contact-search")
    def _search_submitted(self) -> None:
        self.table.focus()

    @work(
        exclusive=True, group="contact-search", exit_on_error=False, description="search contacts"
    )
    async def run_search(self, text: str, delay: float = SEARCH_DELAY) -> None:
        """Search after a quiet moment; a newer keystroke cancels this one."""
        if delay:
            await asyncio.sleep(delay)
        self._generation += 1
        self.workers.cancel_group(self, "contact-page")
        found = await contacts.search_page(self.context.db, self.context.actor, text, limit=PAGE)
        if gone(self):
            return  # the app closed while searching (see console/removal.py)
        self.query_text = text.strip()
        self.more_above = False
        self.more_below = len(found) == PAGE
        self.table.replace(found)
        self._show_status()

    @work(
        exclusive=True,
        group="contact-page",
        exit_on_error=False,
        description="load more contacts",
    )
    async def load_page(self, below: bool) -> None:
        """Load the page after the last row held (or before the first one)."""
        table = self.table
        if not table.window or not (self.more_below if below else self.more_above):
            return
        generation = self._generation
        db, actor = self.context.db, self.context.actor
        if below:
            found = await contacts.search_page(
                db, actor, self.query_text, after_id=table.window[-1].id, limit=PAGE
            )
        else:
            found = await contacts.search_page(
                db, actor, self.query_text, before_id=table.window[0].id, limit=PAGE
            )
        if generation != self._generation or gone(self):
            return  # a new search replaced the list meanwhile, or the app closed
        if below:
            self.more_below = len(found) == PAGE
            if found and table.append(found):
                self.more_above = True
        else:
            self.more_above = len(found) == PAGE
            if found and table.prepend(found):
                self.more_below = True
        self._show_status()

    @on(DataTable.RowHighlighted, "#contact-list")
    def _row_highlighted(self) -> None:
        # Read the cursor now, not from the event: a re-laid window moves it.
        table = self.table
        if not table.row_count:
            return
        if table.cursor_row >= table.row_count - 1 and self.more_below:
            self.load_page(below=True)
        elif table.cursor_row == 0 and self.more_above:
            self.load_page(below=False)

    @on(ContactTable.AtEdge)
    def _at_edge(self, event: ContactTable.AtEdge) -> None:
        self.load_page(below=event.below)

    def _show_status(self) -> None:
        table = self.table
        line = Text()
        if self.query_text:
            line.append("matching ")
            line.append_text(literal(self.query_text[:40]))
            line.append(": ")
        if not table.window:
            line.append("no contacts" if not self.query_text else "nobody")
        else:
            line.append(f"{len(table.window)} shown")
            if self.more_above:
                line.append(" · more above")
            if self.more_below:
                line.append(" · more below")
        self.query_one("#contacts-status", Static).update(line)

    # --- actions ------------------------------------------------------------

    def action_focus_search(self) -> None:
        self.query_one("#contact-search", Input).focus()

    @work(group="contact-ready", exit_on_error=False, description="change Ready")
    async def action_toggle_ready(self) -> None:
        contact = self.table.selected()
        if contact is None:
            return
        actor = self.context.actor
        changed = await contacts.set_ready(
            self.context.db,
            actor,
            contact.id,
            not contact.ready,
            reason=f"changed by {actor.label} in the console",
        )
        self.table.refresh_contact(changed)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        # Enter on the table: DataTable turns it into RowSelected.
        event.stop()
        self.action_edit()

    @work(group="contact-form", exit_on_error=False, description="edit the contact")
    async def action_edit(self) -> None:
        contact = self.table.selected()
        if contact is None:
            return
        db = self.context.db
        try:
            fresh = await contacts.get(db, contact.id)
            history = await contacts.ready_history(db, contact.id, limit=5)
        except NotFound:
            self.notify("That contact no longer exists.", severity="warning")
            return
        saved = await self.app.push_screen_wait(ContactForm(self.context, fresh, history))
        if saved is not None:
            self.table.refresh_contact(saved)
            self.notify(f"Saved {saved.label}", markup=False)

    @work(group="contact-form", exit_on_error=False, description="add a contact")
    async def action_new(self) -> None:
        saved = await self.app.push_screen_wait(ContactForm(self.context))
        if saved is not None:
            self.notify(f"Added {saved.label}", markup=False)
            # Contacts are listed in id order, so a new one is last: show it
            # only when the list has reached its end.
            table = self.table
            if not self.more_below and not self.query_text:
                table.append([saved])
                table.move_cursor(row=table.get_row_index(str(saved.id)))
            self._show_status()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Hidden without the right: core refuses anyway, the footer need not offer it.
        if action == "import_csv":
            return allows(self.context.actor, Action.IMPORT_CONTACTS, None)
        if action == "delete":
            return allows(self.context.actor, Action.DELETE_CONTACTS, None)
        return True

    @work(group="contact-form", exit_on_error=False, description="delete the contact")
    async def action_delete(self) -> None:
        contact = self.table.selected()
        if contact is None:
            return
        question = Text.assemble(
            "Delete ",
            literal(contact.label, style="bold"),
            "? Their conversations stay under their number; campaign targets not yet"
            " sent are removed, and their cases no longer list them.",
        )
        yes = await self.app.push_screen_wait(
            ConfirmScreen(question, yes_label="Delete", no_label="Keep")
        )
        if yes:
            done = await contacts.delete(self.context.db, self.context.actor, contact.id)
            self.table.drop(contact.id)
            self._show_status()
            self.notify(f"Deleted {done.contact.label}", markup=False)

    def action_import_csv(self) -> None:
        self.app.push_screen(ContactImportForm(self.context), self._imported)

    async def _imported(self, report: object) -> None:
        if isinstance(report, CsvReport):
            self.notify(report.summary, title="Contacts", markup=False)
            if report.problems:
                self.app.push_screen(report.screen())
            # Imported contacts come after those listed (id order): search again.
            self.run_search(self.query_text, delay=0)

    @work(group="contact-text", exit_on_error=False, description="start a conversation")
    async def action_text(self) -> None:
        contact = self.table.selected()
        if contact is None:
            return
        if not contact.mobiles:
            self.notify(
                f"{contact.label} has no mobile number to text.", severity="warning", markup=False
            )
            return
        await self.app.start_conversation(contact.id)  # type: ignore[attr-defined]

    # --- live ---------------------------------------------------------------

    async def on_changes(self, changes: Changes) -> None:
        for event in changes.events:
            if event.kind == "contact.deleted" and event.entity_id is not None:
                self.table.drop(event.entity_id)
        ready_events = [e for e in changes.events if e.kind == "contact.ready_changed"]
        shown = {c.id for c in self.table.window}
        updated = {
            e.entity_id
            for e in changes.events
            if e.kind in ("contact.updated", "contact.ready_changed") and e.entity_id in shown
        }
        if changes.missed:
            updated = shown  # which ones changed was pruned unread: look at them all
        fresh: dict[int, Contact] = {}
        for contact_id in updated:
            try:
                fresh[contact_id] = await contacts.get(self.context.db, contact_id)
            except NotFound:
                continue
            self.table.refresh_contact(fresh[contact_id])
        # The agent who toggled Ready here sees the cell change; tell about
        # everything else (an SMS sent, another console, an import).
        me = self.context.actor.id
        others = [
            e for e in ready_events if e.actor_id != me or e.data.get("message_id") is not None
        ]
        if len(others) > MAX_READY_NOTES:
            self.notify(f"Ready changed for {len(others)} contacts", title="Contacts")
            return
        for event in others:
            contact = fresh.get(event.entity_id or 0)
            if contact is None:
                try:
                    contact = await contacts.get(self.context.db, event.entity_id or 0)
                except NotFound:
                    continue
            became = "ready" if event.data.get("ready") else "not ready"
            # The reason is free text (it may quote a number): it lives in the
            # contact's history, never in the feed.
            latest = await contacts.ready_history(self.context.db, contact.id, limit=1)
            reason = (latest[0].reason if latest else "") or "no reason given"
            # markup=False: the name and the reason are contact / agent text.
            self.notify(
                f"{contact.label}: Ready → {became} ({reason})",
                title="Contacts",
                markup=False,
            )
