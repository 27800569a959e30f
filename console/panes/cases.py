"""The Cases tab (C1-C3): the cases, and the selected one's contacts and notes.

The list (code, title, location, status, owner, last change) is a KeyedTable
brought up to date in place, searched as you type (title or code, core's
search). Under it the selected case's contacts (name, phone, SMS on or off,
when invited) and its notes, oldest first, each with its subject, from and
to, date and time, and the body shown literally. The feed's "case.note" and
"case.changed" re-read the list, and the selected case when it is the one
named: a note written on the mobile page or by SMS reply appears without a
key press.

Keys: n note (body and recipients), 1-4 the quick actions (asked first, with
who gets a text), p recipients for the next note or quick action (default:
every contact texted on the case), a add a contact, s SMS on or off for the
selected contact (on sends the invitation the first time), c new case, x
close or reopen, k the selected contact's link, L locations (only with the
right to manage them). Every rule is core's; a refusal is told by the app.
"""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Static

from console.context import ConsoleContext
from console.failures import ReportsFailures
from console.live import Changes
from console.removal import gone
from console.screens.case_forms import (
    CaseForm,
    ContactPicker,
    LinkScreen,
    NoteForm,
    RecipientPicker,
    names,
)
from console.screens.case_locations import LocationsScreen
from console.screens.confirm import ConfirmScreen
from console.text import literal
from console.times import day_stamp, stamp
from console.widgets.editing import Input
from console.widgets.keyed_table import KeyedTable
from console.widgets.status_line import StatusLine
from core.cases import case_contacts, cases, locations, notes, reply_view, texts
from core.cases.case_contacts import CaseContact
from core.cases.cases import Case
from core.cases.notes import Note
from core.cases.reply_view import SmsOrigin
from core.people.authz import Action
from core.sms.phones import display as phone_display
from core.text import counted

_FEED_KINDS = ("case.",)
QUICK = dict(zip("1234", texts.QUICK_ACTIONS, strict=True))
"""The quick-action keys, in C2's order: Checked in, Approval requested, Ready, In service."""
HINT = "n note  1-4 quick  p to  a add  s SMS  k link  c new  x close"


def _case_cells(case: Case, zone: ZoneInfo) -> dict[str, Text]:
    return {
        "code": Text(case.code, style="bold"),
        "title": literal(case.title),
        "location": literal(case.location),
        "status": Text(case.status, style="" if case.is_open else "dim"),
        "owner": literal(case.owner),
        "updated": Text(day_stamp(case.updated_at, zone)),
    }


class CaseTable(KeyedTable[Case]):
    def __init__(self, zone: Callable[[], ZoneInfo]) -> None:
        super().__init__(
            # 76 columns with the cells' padding: the list fits 80 without scrolling.
            (
                ("Code", "code", 5),
                ("Title", "title", 20),
                ("Location", "location", 12),
                ("Status", "status", 6),
                ("Owner", "owner", 8),
                ("Last change", "updated", 12),
            ),
            lambda case: _case_cells(case, zone()),
            lambda case: case.id,
            id="case-list",
        )


def _contact_cells(c: CaseContact, zone: ZoneInfo) -> dict[str, Text]:
    return {
        "name": literal(c.name or f"contact {c.contact_id}"),
        "phone": Text(phone_display(c.phone) if c.phone else "-"),
        "sms": Text("on", style="bold green") if c.sms_enabled else Text("off", style="dim"),
        "invited": Text(day_stamp(c.invited_at, zone) if c.invited_at else "-"),
    }


class CaseContactTable(KeyedTable[CaseContact]):
    def __init__(self, zone: Callable[[], ZoneInfo]) -> None:
        super().__init__(
            (
                ("Contact", "name", 24),
                ("Phone", "phone", 16),
                ("SMS", "sms", 3),
                ("Invited", "invited", 12),
            ),
            lambda c: _contact_cells(c, zone()),
            lambda c: c.contact_id,
            id="case-contacts",
        )


def note_text(note: Note, zone: ZoneInfo, origin: SmsOrigin | None = None) -> Text:
    """One note: subject, from → to, date and time, then the body as written.

    A reply by SMS says which phone it came from and which of our numbers it
    was sent to (C3), and when it was received.
    """
    head = Text()
    head.append("Reply by SMS" if origin is not None else note.subject, style="bold")
    head.append(" · ")
    if origin is not None:
        head.append_text(literal(origin.from_name or "unknown contact"))
        head.append(f" {phone_display(origin.from_phone)} → {phone_display(origin.to_number)}")
        head.append(f"  {stamp(origin.at, zone)}", style="dim")
        head.append("\n")
        head.append_text(literal(note.body, one_line=False))
        return head
    head.append_text(literal(note.author or "someone"))
    if note.source == "page":
        head.append(" (on the case page)", style="dim")
    head.append(" → ")
    if note.recipients:
        for i, r in enumerate(note.recipients):
            if i:
                head.append(", ")
            head.append_text(literal(r.name or f"contact {r.contact_id}"))
            if r.skipped:
                head.append(" (not texted)", style="dim")
    else:
        head.append("the case", style="dim")
    head.append(f"  {stamp(note.created_at, zone)}", style="dim")
    head.append("\n")
    head.append_text(literal(note.body, one_line=False))
    return head


class CasesPane(ReportsFailures, Vertical):
    DEFAULT_CSS = """
    CasesPane { height: 1fr; }
    CasesPane #case-search { height: 1; margin: 0 1; }
    CasesPane #case-list { height: auto; min-height: 3; max-height: 8; }
    CasesPane #case-title { height: 2; padding: 0 1; border-top: solid $primary; }
    CasesPane #case-contacts { height: auto; max-height: 5; }
    CasesPane #case-notes { height: 2fr; min-height: 3; padding: 0 1; }
    CasesPane .case-note { margin-bottom: 1; }
    """
    BINDINGS = [
        Binding(
            "slash", "focus_search", "Search", id="cases.search", tooltip="Search title or code"
        ),
        Binding("n", "note", "Note", id="cases.note", tooltip="Write a note to chosen contacts"),
        *(
            Binding(
                key,
                f"quick('{kind}')",
                texts.SUBJECTS[kind],
                id=f"cases.quick_{kind}",
                tooltip=f"Quick action: {texts.SUBJECTS[kind]} (asks first, with the recipients)",
                show=False,
            )
            for key, kind in QUICK.items()
        ),
        Binding(
            "p",
            "recipients",
            "Recipients",
            id="cases.recipients",
            tooltip="Who the next note or quick action goes to (contacts on the case)",
        ),
        Binding(
            "a",
            "add_contact",
            "Add contact",
            id="cases.add_contact",
            tooltip="Put an existing contact on the case",
        ),
        Binding(
            "s",
            "toggle_sms",
            "SMS on/off",
            id="cases.sms",
            tooltip="Text the selected contact about the case, or stop (on sends the invitation)",
        ),
        Binding(
            "k", "link", "Link", id="cases.link", tooltip="The selected contact's case page link"
        ),
        Binding(
            "K",
            "revoke_links",
            "Revoke links",
            id="cases.revoke",
            tooltip="Withdraw every case page link the selected contact holds (asks first)",
            show=False,
        ),
        Binding("c", "new_case", "New case", id="cases.new", tooltip="A new case"),
        Binding(
            "x", "close_case", "Close/reopen", id="cases.close", tooltip="Close or reopen the case"
        ),
        Binding(
            "L",
            "locations",
            "Locations",
            id="cases.locations",
            tooltip="Case locations and their 'direct reply to SMS'",
        ),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__(id="cases-pane")
        self.context = context
        self.search = ""
        self.shown_case: Case | None = None
        self.contacts: list[CaseContact] = []
        self.notes: list[Note] = []
        self.origins: dict[int, SmsOrigin] = {}
        """Where the notes that came by SMS came from (C3: from, to, when)."""
        self.chosen: dict[int, list[int]] = {}
        self.redraw = False
        """Draw every row and note again at the next read (the account's zone changed)."""
        """Recipients picked (p) per case; absent: every contact texted on it."""

    def compose(self) -> ComposeResult:
        yield Input(placeholder="search title or code  ( / )", id="case-search", compact=True)
        yield StatusLine(self._hint, id="cases-status")
        yield CaseTable(lambda: self.context.zone)
        yield Static(id="case-title")
        yield CaseContactTable(lambda: self.context.zone)
        yield VerticalScroll(id="case-notes")

    async def on_mount(self) -> None:
        if gone(self):
            return  # taken away before it composed: it has no parts
        self.app.changes.subscribe(self, self.on_changes)  # type: ignore[attr-defined]
        self.say(None)
        await self.reload()

    def focus_default(self) -> None:
        self.table.focus()

    @property
    def table(self) -> CaseTable:
        return self.query_one(CaseTable)

    @property
    def contact_table(self) -> CaseContactTable:
        return self.query_one(CaseContactTable)

    @property
    def selected(self) -> Case | None:
        return self.table.selected()

    @property
    def selected_contact(self) -> CaseContact | None:
        return self.contact_table.selected()

    # --- reading ----------------------------------------------------------------

    async def reload(self) -> None:
        found = await cases.list_cases(self.context.db, self.context.actor, self.search)
        if gone(self):
            return  # taken away while reading (see console/removal.py)
        self.table.show(found, recheck=self.redraw)
        await self.show_case(self.selected)

    async def show_case(self, case: Case | None) -> None:
        """The case's title line, contacts and notes (oldest first), read again."""
        db, actor = self.context.db, self.context.actor
        if gone(self):
            return  # its worker started as the pane went
        title = self.query_one("#case-title", Static)
        if case is None:
            self.shown_case, self.contacts, self.notes = None, [], []
            title.update(Text("No case" + (" found." if self.search else " yet: c makes one.")))
            self.contact_table.show([])
            await self._show_notes()
            self.refresh_bindings()
            return
        moved = self.shown_case is None or self.shown_case.id != case.id
        self.shown_case = case
        self.contacts = await case_contacts.list_contacts(db, actor, case.id)
        self.notes = list(reversed(await notes.list_notes(db, actor, case.id)))
        self.origins = await reply_view.sms_origins(
            db, [n.id for n in self.notes if n.source == "sms"]
        )
        if gone(self):
            return  # taken away while reading (see console/removal.py)
        line = Text.assemble((f"Case {case.code} ", "bold"))
        line.append_text(literal(case.title, style="bold"))
        line.append(f" · {case.status} · ")
        line.append_text(literal(case.location))
        line.append(f" · {len(self.notes)} notes · to: ")
        line.append_text(names(self.recipients()))
        title.update(line)
        self.contact_table.show(self.contacts, recheck=self.redraw)
        await self._show_notes(scroll=moved)
        self.refresh_bindings()

    async def _show_notes(self, *, scroll: bool = True) -> None:
        box = self.query_one("#case-notes", VerticalScroll)
        shown = {w.id for w in box.children}
        wanted = [f"note-{n.id}" for n in self.notes]
        if self.redraw or [w for w in shown if w not in wanted]:
            await box.remove_children()
            shown = set()
        fresh = [
            Static(
                note_text(n, self.context.zone, self.origins.get(n.id)),
                id=f"note-{n.id}",
                classes="case-note",
            )
            for n in self.notes
            if f"note-{n.id}" not in shown
        ]
        if fresh:
            await box.mount_all(fresh)
        if not self.notes and not box.children:
            await box.mount(Static(Text("No notes yet.", style="dim"), id="no-notes"))
        elif self.notes and box.query("#no-notes"):
            await box.query_one("#no-notes").remove()
        if scroll:
            # Newest last and in view, and kept there as notes arrive live, until the
            # person scrolls up to read (Textual's anchor).
            box.anchor()
        self.redraw = False

    def recipients(self) -> list[CaseContact]:
        """Who the next note or quick action goes to: the pick (p), else every texted contact."""
        case = self.shown_case
        if case is None:
            return []
        picked = self.chosen.get(case.id)
        if picked is None:
            return [c for c in self.contacts if c.sms_enabled]
        by_id = {c.contact_id: c for c in self.contacts}
        return [by_id[i] for i in picked if i in by_id]

    async def on_changes(self, changes: Changes) -> None:
        if changes.missed:
            # Also how a reloaded principal is published: rights may have changed. And a
            # new account zone: every time shown is drawn again.
            self.refresh_bindings()
            self.say(None)
            self.redraw = True
        if changes.about(*_FEED_KINDS):
            self._refresh()

    @work(exclusive=True, group="cases-refresh", exit_on_error=False, description="refresh cases")
    async def _refresh(self) -> None:
        await self.reload()

    @on(DataTable.RowHighlighted, "#case-list")
    def _moved(self) -> None:
        self._show_selected()

    @work(exclusive=True, group="cases-refresh", exit_on_error=False, description="show the case")
    async def _show_selected(self) -> None:
        await self.show_case(self.selected)

    @on(Input.Changed, "#case-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.search = event.value
        self._refresh()

    @on(Input.Submitted, "#case-search")
    def _search_done(self) -> None:
        self.table.focus()

    def action_focus_search(self) -> None:
        self.query_one("#case-search", Input).focus()

    def say(self, message: str | None, *, error: bool = False) -> None:
        self.query_one("#cases-status", StatusLine).say(message, error=error)

    def _hint(self) -> str:
        return HINT + ("  L locations" if self.context.may(Action.MANAGE_LOCATIONS) else "")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "locations":
            # Hidden without the right: core refuses anyway.
            return self.context.may(Action.MANAGE_LOCATIONS)
        if action in ("note", "quick", "recipients", "add_contact", "close_case"):
            return self.selected is not None
        if action in ("toggle_sms", "link"):
            return self.selected is not None and self.selected_contact is not None
        return True

    # --- notes --------------------------------------------------------------------

    def action_note(self) -> None:
        case = self.shown_case
        if case is None:
            return
        title = Text.assemble(("New note on case ", "bold"), (case.code, "bold"), " ")
        title.append_text(literal(case.title))
        ids = [c.contact_id for c in self.recipients()]
        self.app.push_screen(
            NoteForm(title, self.contacts, ids, lambda body, to: self._post(case, body, to)),
            self._posted,
        )

    async def _post(self, case: Case, body: str, to: list[int]) -> notes.Posted:
        return await notes.add(self.context.db, self.context.actor, case.id, body, to)

    async def _posted(self, posted: object) -> None:
        if isinstance(posted, notes.Posted):
            self.say(_delivered("Note added", posted))
            await self.reload()
        self.focus_default()

    @work(exclusive=True, group="cases-act", exit_on_error=False, description="add a quick action")
    async def action_quick(self, kind: str) -> None:
        case = self.shown_case
        if case is None:
            return
        to = self.recipients()
        question = Text.assemble(
            (texts.SUBJECTS[kind], "bold"), f" on case {case.code} ", literal(case.title)
        )
        question.append("?\n\nTo: ").append_text(names(to))
        yes = await self.app.push_screen_wait(
            ConfirmScreen(question, yes_label=texts.SUBJECTS[kind], no_label="Not now")
        )
        if not yes:
            self.say(f"{texts.SUBJECTS[kind]} not sent")
            return
        posted = await notes.quick(
            self.context.db, self.context.actor, case.id, kind, [c.contact_id for c in to]
        )
        self.say(_delivered(texts.SUBJECTS[kind], posted))
        await self.reload()

    def action_recipients(self) -> None:
        case = self.shown_case
        if case is None:
            return
        ids = [c.contact_id for c in self.recipients()]
        self.app.push_screen(RecipientPicker(self.contacts, ids), self._picked)

    async def _picked(self, chosen: list[int] | None) -> None:
        if chosen is not None and self.shown_case is not None:
            self.chosen[self.shown_case.id] = chosen
            await self.show_case(self.shown_case)
        self.focus_default()

    # --- contacts -----------------------------------------------------------------

    def action_add_contact(self) -> None:
        case = self.shown_case
        if case is not None:
            title = Text(f"Add a contact to case {case.code}", style="bold")
            self.app.push_screen(ContactPicker(self.context, title), self._add_contact)

    @work(exclusive=True, group="cases-act", exit_on_error=False, description="add the contact")
    async def _add_contact(self, contact_id: int | None) -> None:
        case = self.shown_case
        if contact_id is None or case is None:
            self.focus_default()
            return
        added = await case_contacts.add(self.context.db, self.context.actor, case.id, contact_id)
        await self.reload()
        self.contact_table.select(added.contact_id)
        self.say(f"{added.name or 'The contact'} is on case {case.code} (SMS off: s turns it on)")
        self.focus_default()

    @work(exclusive=True, group="cases-act", exit_on_error=False, description="switch SMS")
    async def action_toggle_sms(self) -> None:
        case, contact = self.shown_case, self.selected_contact
        if case is None or contact is None:
            return
        who = contact.name or f"contact {contact.contact_id}"
        if contact.sms_enabled:
            question = Text.assemble("Stop texting ", literal(who), f" about case {case.code}?")
            label = "Stop texting"
        else:
            question = Text.assemble("Text ", literal(who), f" about case {case.code}?")
            if contact.invited_at is None:
                question.append(
                    "\n\nThis sends the invitation SMS now, with their link to the case page."
                )
            label = "Send invitation" if contact.invited_at is None else "Turn SMS on"
        if not await self.app.push_screen_wait(ConfirmScreen(question, yes_label=label)):
            return
        change = await case_contacts.set_sms(
            self.context.db,
            self.context.actor,
            case.id,
            contact.contact_id,
            not contact.sms_enabled,
        )
        await self.reload()
        if change.invitation is not None:
            self.say(f"SMS on for {who}: invitation sent")
        else:
            self.say(f"SMS {'on' if change.contact.sms_enabled else 'off'} for {who}")

    @work(exclusive=True, group="cases-act", exit_on_error=False, description="make the case link")
    async def action_link(self) -> None:
        case, contact = self.shown_case, self.selected_contact
        if case is None or contact is None:
            return
        url = await case_contacts.issue_link(
            self.context.db, self.context.actor, case.id, contact.contact_id
        )
        title = Text.assemble("Case page link for ", literal(contact.name), f" on case {case.code}")
        self.app.push_screen(LinkScreen(title, url))

    @work(exclusive=True, group="cases-act", exit_on_error=False, description="revoke links")
    async def action_revoke_links(self) -> None:
        case, contact = self.shown_case, self.selected_contact
        if case is None or contact is None:
            return
        question = Text.assemble(
            "Withdraw every link to case ",
            case.code,
            "'s page that ",
            literal(contact.name),
            " holds?",
        )
        question.append("\n\nTheir page stops at once; k makes them a new link.")
        if not await self.app.push_screen_wait(ConfirmScreen(question, yes_label="Revoke")):
            return
        revoked = await case_contacts.revoke_links(
            self.context.db, self.context.actor, case.id, contact.contact_id
        )
        self.say(
            f"{counted(revoked, 'link')} of {contact.name} revoked"
            if revoked
            else "No live link to revoke"
        )

    # --- cases and locations ----------------------------------------------------------

    @work(exclusive=True, group="cases-act", exit_on_error=False, description="list locations")
    async def action_new_case(self) -> None:
        found = await locations.list_locations(self.context.db, self.context.actor)

        async def create(title: str, location_id: int) -> Case:
            return await cases.create(self.context.db, self.context.actor, title, location_id)

        made = await self.app.push_screen_wait(CaseForm(found, create))
        if isinstance(made, Case):
            await self.reload()
            self.table.select(made.id)
            await self.show_case(made)
            self.say(f"Case {made.code} opened: a add contacts")
        self.focus_default()

    @work(exclusive=True, group="cases-act", exit_on_error=False, description="close the case")
    async def action_close_case(self) -> None:
        case = self.shown_case
        if case is None:
            return
        if case.is_open:
            question = Text.assemble(f"Close case {case.code} ", literal(case.title), "?")
            question.append("\n\nA closed case can be read but takes no notes until reopened.")
            if not await self.app.push_screen_wait(ConfirmScreen(question, yes_label="Close")):
                return
            done = await cases.close(self.context.db, self.context.actor, case.id)
        else:
            done = await cases.reopen(self.context.db, self.context.actor, case.id)
        await self.reload()
        self.say(f"Case {done.code} is {done.status}")

    def action_locations(self) -> None:
        self.app.push_screen(LocationsScreen(self.context), lambda _: self._refresh())


def _delivered(what: str, posted: notes.Posted) -> str:
    texted = sum(1 for d in posted.deliveries if d.message_id is not None)
    skipped = [d for d in posted.deliveries if d.skipped]
    line = f"{what}: {texted} texted"
    if skipped:
        line += ", not texted: " + ", ".join(
            f"{d.name or d.contact_id} ({d.skipped})" for d in skipped
        )
    return line
