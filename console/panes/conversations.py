"""The agent dashboard: conversations on the left, the open thread on the right (M7)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message as TextualMessage
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import DataTable, Static

from console.context import ConsoleContext
from console.failures import ReportsFailures
from console.live import Changes
from console.panes.thread import ThreadPane
from console.removal import gone
from console.screens.my_alerts import MyAlertsScreen
from console.text import literal
from console.times import wait_text
from console.widgets.alert_line import AlertReadinessLine
from console.widgets.steady_table import SteadyTable
from core.sms import conversations
from core.sms.conversations import Conversation, Filter

OPEN_AFTER = 0.08
"""Seconds the list's cursor rests on a row before its thread opens (key repeat is faster)."""

# Columns: unread mark, contact, wait, state, owner, last message. Wait and
# state come before owner so they stay visible at 80 columns.
COLUMNS = (
    ("", "unread", 1),
    ("Contact", "contact", 15),
    ("Wait", "wait", 5),
    ("State", "state", 6),
    ("Owner", "owner", 8),
    ("Last message", "last", None),
)


def filter_line(filters: list[tuple[str, str]], active: str) -> Text:
    """The filter keys and names, the active one highlighted.

    Tight and wrapping (a key stays with its name): at 80 columns the list is
    36 wide and every filter must stay readable.
    """
    line = Text()
    for index, (key, name) in enumerate(filters):
        if index:
            line.append(" ")
        chosen = name == active
        line.append(key, style="bold reverse" if chosen else "bold")
        line.append(f"\N{NO-BREAK SPACE}{name}", style="bold reverse" if chosen else "")
    return line


Fetch = Callable[..., Awaitable[list[Conversation]]]
"""``conversations.list_for`` for the pane's actor and filter: (after=, limit=, ids=)."""


def named_conversations(changes: Changes, shown: list[Conversation]) -> set[int]:
    """The conversations whose rows ``changes`` may have changed, by id.

    Events name them (a conversation's own, a message's ``conversation_id``);
    a contact's edit names the rows showing that contact.
    """
    ids: set[int] = set()
    contacts_changed: set[int] = set()
    for event in changes.events:
        if event.entity == "conversation" and event.entity_id is not None:
            ids.add(event.entity_id)
        elif isinstance(conversation_id := event.data.get("conversation_id"), int):
            ids.add(conversation_id)
        elif event.entity == "contact" and event.entity_id is not None:
            contacts_changed.add(event.entity_id)
    ids |= {c.id for c in shown if c.contact_id in contacts_changed}
    return ids


class ConversationList(SteadyTable):
    """Conversations, oldest-waiting first, in pages, refreshed in place from the change feed.

    The list holds what it has loaded (``shown``, in order) and loads the next
    page when the cursor reaches its end. A change re-reads only the rows it
    names: a row is updated in place, moved, added or removed; every other row,
    the cursor's conversation and the scroll stay as they were.
    """

    COLUMNS = COLUMNS
    BINDINGS = [
        Binding(
            "pagedown",
            "next_page",
            "Next page",
            id="conversations.next_page",
            tooltip="Move down a screen; loads more conversations at the end",
            show=False,
        ),
        # In a row table DataTable's home/end scroll sideways; in a list they
        # mean the first and last row (which then loads the page beyond).
        Binding(
            "end,ctrl+end",
            "scroll_bottom",
            "Last row",
            id="conversations.last_row",
            tooltip="Go to the last conversation loaded; loads the next page",
            show=False,
        ),
        Binding(
            "home,ctrl+home",
            "scroll_top",
            "First row",
            id="conversations.first_row",
            tooltip="Go to the first conversation",
            show=False,
        ),
    ]

    class AtEnd(TextualMessage):
        """The cursor is on the last row loaded and was asked to go further."""

    def __init__(self, *, id: str = "conversation-list") -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id=id)
        self.shown: list[Conversation] = []
        self.complete = True
        """Every conversation of the view is loaded (the last page was short)."""
        self.page_size = conversations.PAGE
        self.me: int | None = None
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)

    def on_mount(self) -> None:
        for label, key, width in self.COLUMNS:
            self.add_column(label, key=key, width=width)

    def cells(self, conversation: Conversation, me: int | None, now: datetime) -> dict[str, Text]:
        if conversation.closed_at is not None:
            # Until a new message from the contact opens it again (core clears closed_at).
            state = Text("closed", style="dim")
        elif conversation.is_public:
            state = Text("public", style="bold yellow")
        elif conversation.owner_id == me:
            state = Text("mine", style="green")
        else:
            state = Text("follow" if conversation.owner_id else "new")
        waiting = conversation.wait(now)
        return {
            "unread": Text("●" if conversation.unread else " ", style="bold $accent"),
            "contact": literal(conversation.contact_name or conversation.phone),
            "wait": Text(wait_text(waiting), style="bold red" if waiting else "dim"),
            "state": state,
            "owner": literal(conversation.owner or "—"),
            "last": literal(conversation.last_body),
        }

    def action_next_page(self) -> None:
        if self.at_end:
            self.post_message(self.AtEnd())  # no move, so no RowHighlighted: ask for more
        else:
            self.action_page_down()

    # --- loading ------------------------------------------------------------

    async def load(self, fetch: Fetch, open_id: int | None = None, *, rows: int = 0) -> None:
        """Load the first page (or ``rows``, when more were loaded) and lay the list anew.

        The cursor stays on the open conversation (``open_id``), else on the
        conversation it was on.
        """
        limit = max(self.page_size, rows)
        found = await fetch(after=None, limit=limit)
        selected = open_id or self.selected_id()
        self.clear()
        self.shown = []
        self.complete = len(found) < limit
        self._append(found)
        self.select_conversation(selected)

    async def load_more(self, fetch: Fetch) -> int:
        """Load the page after the last row; how many rows came."""
        if self.complete or not self.shown:
            return 0
        after = conversations.order_key(self.shown[-1])
        found = await fetch(after=after, limit=self.page_size)
        known = {c.id for c in self.shown}
        # A row that moved down past the end since (a change applied in place) is here already.
        found = [c for c in found if c.id not in known]
        self.complete = len(found) < self.page_size
        self._append(found)
        return len(found)

    async def refresh_rows(self, fetch: Fetch, ids: set[int]) -> None:
        """Re-read the conversations ``ids`` and put each where it now belongs."""
        if not ids:
            return
        fresh = {c.id: c for c in await fetch(ids=ids)}
        selected = self.selected_id()
        by_id = {c.id: c for c in self.shown}
        end = conversations.order_key(self.shown[-1]) if self.shown else None
        for conversation_id in ids:
            conversation = fresh.get(conversation_id)
            # A row past the loaded end comes with its page, unless the list is whole.
            belongs = conversation is not None and (
                self.complete or (end is not None and conversations.order_key(conversation) < end)
            )
            if conversation_id in by_id and not belongs:
                self.remove_row(str(conversation_id))
                del by_id[conversation_id]
            elif belongs and conversation is not None:
                self._put(conversation, conversation_id in by_id)
                by_id[conversation_id] = conversation
        ordered = sorted(by_id.values(), key=conversations.order_key)
        if [c.id for c in ordered] != [c.id for c in self.shown]:
            self._reorder(ordered)
        self.shown = ordered
        self.select_conversation(selected)

    def retime(self) -> None:
        """Wait times grow with nobody touching anything: redraw them from what is loaded."""
        now = self.now()
        for conversation in self.shown:
            self._update(conversation.id, "wait", self.cells(conversation, self.me, now)["wait"])

    # --- rows ---------------------------------------------------------------

    def _append(self, found: list[Conversation]) -> None:
        now = self.now()
        for conversation in found:
            cells = self.cells(conversation, self.me, now)
            self.append_row([cells[key] for _, key, _ in self.COLUMNS], key=str(conversation.id))
        self.shown = [*self.shown, *found]

    def _put(self, conversation: Conversation, present: bool) -> None:
        cells = self.cells(conversation, self.me, self.now())
        if not present:
            self.append_row([cells[key] for _, key, _ in self.COLUMNS], key=str(conversation.id))
            return
        for column, value in cells.items():
            self._update(conversation.id, column, value)

    def _update(self, conversation_id: int, column: str, value: Text) -> None:
        # A busy feed names many conversations whose rows look the same (a message
        # sent, delivered): those are left alone.
        key = str(conversation_id)
        old = self.get_cell(key, column)
        if (old.plain, old.style, old.spans) == (value.plain, value.style, value.spans):
            return
        self.update_in_place(key, column, value)

    def _reorder(self, ordered: list[Conversation]) -> None:
        self.reorder([str(c.id) for c in ordered])

    def select_conversation(self, conversation_id: int | None) -> None:
        keys = [c.id for c in self.shown]
        if conversation_id in keys and self.selected_id() != conversation_id:
            self.move_cursor(row=keys.index(conversation_id))

    def selected_id(self) -> int | None:
        if not self.shown or self.cursor_row is None or self.row_count == 0:
            return None
        row = min(self.cursor_row, self.row_count - 1)
        return int(self.coordinate_to_cell_key((row, 0)).row_key.value or 0) or None

    @property
    def at_end(self) -> bool:
        return self.row_count > 0 and self.cursor_row >= self.row_count - 1


class ConversationsPane(ReportsFailures, Horizontal):
    DEFAULT_CSS = """
    ConversationsPane { height: 1fr; }
    ConversationsPane > #conversation-side { width: 45%; min-width: 34; }
    ConversationsPane #filter-line { height: auto; padding: 0 0; color: $text-muted; }
    ConversationsPane ThreadPane { width: 1fr; border-left: solid $panel; }
    """
    BINDINGS = [
        Binding(
            "a",
            "filter('all')",
            "All",
            id="conversations.all",
            tooltip="Every conversation you may see",
        ),
        Binding(
            "m",
            "filter('mine')",
            "Mine",
            id="conversations.mine",
            tooltip="Conversations you own or follow",
        ),
        Binding(
            "p",
            "filter('public')",
            "Public",
            id="conversations.public",
            tooltip="Conversations any agent may take",
        ),
        Binding(
            "u",
            "filter('unanswered')",
            "Unanswered",
            id="conversations.unanswered",
            tooltip="Contacts waiting for an answer",
        ),
        Binding(
            "t",
            "take",
            "Take",
            id="conversations.take",
            tooltip="Take the selected public conversation",
        ),
        # The thread's key, from the list too: a canned reply is often the first
        # thing written, and the footer keeps its room for the list's own keys.
        Binding(
            "ctrl+l",
            "canned_reply",
            "Canned",
            id="conversations.canned_reply",
            tooltip="Insert one of your profile's canned replies in the open conversation",
            show=False,
        ),
        Binding(
            "ctrl+g",
            "close_conversation",
            "Close…",
            id="conversations.close",
            tooltip="Close the open conversation with an outcome (shown where you may close it)",
            show=False,
        ),
        Binding(
            "ctrl+y",
            "my_alerts",
            "My alerts",
            id="conversations.my_alerts",
            tooltip="Your mobile number, permission to SMS it and the New Chat alert (A2)",
            show=False,
        ),
    ]

    view: reactive[Filter] = reactive(Filter.ALL)

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__()
        self.context = context
        self._opening: Timer | None = None
        self._missed = False
        self._named: set[int] = set()

    def compose(self) -> ComposeResult:
        yield AlertReadinessLine(self.context)
        with Vertical(id="conversation-side"):
            yield Static(id="filter-line")
            yield ConversationList()
        yield ThreadPane(self.context, id="agent-thread")

    async def on_mount(self) -> None:
        if gone(self):
            return  # taken away before it composed: it has no parts
        self.app.changes.subscribe(self, self.on_changes)  # type: ignore[attr-defined]
        table = self.query_one(ConversationList)
        table.me, table.now = self.context.actor.id, self.context.clock.now
        self.set_interval(20, table.retime, name="wait-times")
        await self.reload()
        if not gone(self):
            self.focus_default()

    def focus_default(self) -> None:
        self.query_one(ConversationList).focus()

    def watch_view(self, view: Filter) -> None:
        if gone(self):
            return  # a watcher runs on mount, also for a pane taken away before it composed
        names = ("all", "mine", "public", "unanswered")
        line = filter_line([(name[0], name) for name in names], view)
        self.query_one("#filter-line", Static).update(line)

    async def fetch(self, **page: Any) -> list[Conversation]:
        return await conversations.list_for(self.context.db, self.context.actor, self.view, **page)

    async def reload(self, *, keep_loaded: bool = False) -> None:
        """Lay the list anew from its first page (a filter chosen, a feed missed)."""
        table = self.query_one(ConversationList)
        thread = self.query_one(ThreadPane)
        rows = len(table.shown) if keep_loaded else 0
        await table.load(self.fetch, thread.conversation_id, rows=rows)
        if thread.is_blank and table.shown:
            await self._open(table.selected_id())

    async def on_changes(self, changes: Changes) -> None:
        self._missed |= changes.missed
        self._named |= named_conversations(changes, self.query_one(ConversationList).shown)
        # While the agent runs along the list, rows do not move under the cursor
        # (nor does redrawing them slow the keys): they catch up when it rests.
        if self._opening is None:
            await self._catch_up()
        me = self.context.actor.id
        for event in changes.events:
            if event.kind == "message.received" and me in event.data.get("audience", ()):
                self._alert(event.entity_id)

    def _alert(self, conversation_id: int | None) -> None:
        shown = {c.id: c for c in self.query_one(ConversationList).shown}
        conversation = shown.get(conversation_id or 0)
        who = (conversation.contact_name or conversation.phone) if conversation else "a contact"
        # markup=False: the name is the contact's own text.
        self.notify(f"New SMS from {who}", title="Message", markup=False)

    async def action_filter(self, view: str) -> None:
        self.view = Filter(view)
        await self.reload()

    @on(DataTable.RowHighlighted, "#conversation-list")
    async def _highlighted(self) -> None:
        table = self.query_one(ConversationList)
        thread = self.query_one(ThreadPane)
        # Re-laying the list (the change feed, a take) moves its cursor too: only
        # the agent moving along the list may replace what the thread shows, such
        # as a message being written to a contact.
        if table.at_end:
            await table.load_more(self.fetch)
        if not table.has_focus and not thread.is_blank:
            return
        if thread.is_blank:
            await self._open_selected()
            return
        # Opening a thread costs more than a keystroke may: while the agent runs
        # down the list, only the row they stop on opens.
        if self._opening is not None:
            self._opening.stop()
        self._opening = self.set_timer(OPEN_AFTER, self._open_selected, name="open-selected")

    async def _catch_up(self) -> None:
        missed, named = self._missed, self._named
        self._missed, self._named = False, set()
        if missed:
            await self.reload(keep_loaded=True)
        else:
            await self.query_one(ConversationList).refresh_rows(self.fetch, named)

    async def _open_selected(self) -> None:
        self._opening = None
        await self._catch_up()
        # Read the cursor now, not from the event: a re-laid list may have moved it since.
        conversation_id = self.query_one(ConversationList).selected_id()
        if (
            conversation_id is not None
            and conversation_id != self.query_one(ThreadPane).conversation_id
        ):
            await self._open(conversation_id)

    @on(ConversationList.AtEnd)
    async def _at_end(self) -> None:
        await self.query_one(ConversationList).load_more(self.fetch)

    @on(ThreadPane.Opened)
    async def _opened(self, event: ThreadPane.Opened) -> None:
        """Keep the list's cursor on what the thread shows, and clear its unread mark."""
        event.stop()
        table = self.query_one(ConversationList)
        await table.refresh_rows(self.fetch, {event.conversation_id})
        # Opened from elsewhere (a contact, a take): the list follows. While the
        # agent moves along the list, the thread follows it instead: a slow
        # open finishing late must not pull the cursor back.
        if not table.has_focus:
            table.select_conversation(event.conversation_id)

    async def _open(self, conversation_id: int | None) -> None:
        await self.query_one(ThreadPane).show(conversation_id)

    def action_canned_reply(self) -> None:
        self.query_one(ThreadPane).action_canned_reply()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "my_alerts":
            return self.context.actor.id is not None  # the local operator has no phone
        if action == "close_conversation":
            threads = self.query(ThreadPane)
            return bool(threads) and threads.first().may_close  # core's answer, kept by the thread
        return True

    def action_my_alerts(self) -> None:
        self.app.push_screen(MyAlertsScreen(self.context))

    @on(AlertReadinessLine.Open)
    def _open_my_alerts(self) -> None:
        self.action_my_alerts()

    def action_close_conversation(self) -> None:
        self.query_one(ThreadPane).action_close_conversation()

    @work(exclusive=True, group="take", exit_on_error=False, description="take the conversation")
    async def action_take(self) -> None:
        conversation_id = self.query_one(ConversationList).selected_id()
        if conversation_id is None:
            return
        # A refusal (taken by someone else meanwhile) is told by the app's failure handler.
        taken = await conversations.take(self.context.db, self.context.actor, conversation_id)
        self.notify(
            f"You have the conversation with {taken.contact_name or taken.phone}", markup=False
        )
        thread = self.query_one(ThreadPane)
        if thread.conversation_id != taken.id:
            await thread.show(taken.id)
        # Taken, it is no longer public: under that filter it would vanish and the
        # cursor land on another one. Show every conversation, with it selected.
        if not await self.fetch(ids={taken.id}):
            self.view = Filter.ALL
            await self.reload()
        else:
            await self.query_one(ConversationList).refresh_rows(self.fetch, {taken.id})
