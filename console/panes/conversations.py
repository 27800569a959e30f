"""The agent dashboard: conversations on the left, the open thread on the right (M7)."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import DataTable, Static

from console.context import ConsoleContext
from console.failures import ReportsFailures
from console.live import Changes
from console.panes.thread import ThreadPane
from console.text import literal
from console.widgets.formatting import wait_text
from core import conversations
from core.conversations import Conversation, Filter

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


class ConversationList(DataTable[Text]):
    """Conversations, oldest-waiting first, refreshed in place from the change feed."""

    COLUMNS = COLUMNS

    def __init__(self, *, id: str = "conversation-list") -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id=id)
        self.shown: list[Conversation] = []

    def on_mount(self) -> None:
        for label, key, width in self.COLUMNS:
            self.add_column(label, key=key, width=width)

    def cells(self, conversation: Conversation, me: int | None, now) -> dict[str, Text]:
        if conversation.is_public:
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

    def show(
        self, found: list[Conversation], me: int | None, now, open_id: int | None = None
    ) -> None:
        """Update in place when the order is unchanged; otherwise re-lay the rows.

        The list holds at most a few hundred rows, so re-laying costs little.
        The cursor stays on the open conversation (``open_id``), else on the
        row it was on.
        """
        keys = [str(c.id) for c in found]
        if keys == [str(c.id) for c in self.shown]:
            for conversation in found:
                for column, value in self.cells(conversation, me, now).items():
                    self.update_cell(str(conversation.id), column, value)
        else:
            selected = open_id or self.selected_id()
            self.clear()
            for conversation in found:
                cells = self.cells(conversation, me, now)
                self.add_row(*(cells[key] for _, key, _ in self.COLUMNS), key=str(conversation.id))
            if selected is not None and str(selected) in keys:
                self.move_cursor(row=keys.index(str(selected)))
        self.shown = found
        if open_id is not None and str(open_id) in keys and self.selected_id() != open_id:
            self.move_cursor(row=keys.index(str(open_id)))

    def selected_id(self) -> int | None:
        if not self.shown or self.cursor_row is None or self.row_count == 0:
            return None
        row = min(self.cursor_row, self.row_count - 1)
        return int(self.coordinate_to_cell_key((row, 0)).row_key.value or 0) or None


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
    ]

    view: reactive[Filter] = reactive(Filter.ALL)

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__()
        self.context = context

    def compose(self) -> ComposeResult:
        with Vertical(id="conversation-side"):
            yield Static(id="filter-line")
            yield ConversationList()
        yield ThreadPane(self.context, id="agent-thread")

    async def on_mount(self) -> None:
        self.app.changes.subscribe(self, self.on_changes)  # type: ignore[attr-defined]
        self.set_interval(20, self.reload, name="wait-times")
        await self.reload()
        self.focus_default()

    def focus_default(self) -> None:
        self.query_one(ConversationList).focus()

    def watch_view(self, view: Filter) -> None:
        names = ("all", "mine", "public", "unanswered")
        line = filter_line([(name[0], name) for name in names], view)
        self.query_one("#filter-line", Static).update(line)

    async def reload(self) -> None:
        found = await conversations.list_for(self.context.db, self.context.actor, self.view)
        table = self.query_one(ConversationList)
        thread = self.query_one(ThreadPane)
        table.show(found, self.context.actor.id, self.context.clock.now(), thread.conversation_id)
        if thread.is_blank and found:
            await self._open(table.selected_id())

    async def on_changes(self, changes: Changes) -> None:
        if changes.about("message.", "conversation.", "contact.", "consent."):
            await self.reload()
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
        if not table.has_focus and not thread.is_blank:
            return
        # Read the cursor now, not from the event: a re-laid list may have moved it since.
        conversation_id = table.selected_id()
        if conversation_id is not None and conversation_id != thread.conversation_id:
            await self._open(conversation_id)

    @on(ThreadPane.Opened)
    async def _opened(self, event: ThreadPane.Opened) -> None:
        """Keep the list's cursor on what the thread shows, and clear its unread mark."""
        event.stop()
        await self.reload()

    async def _open(self, conversation_id: int | None) -> None:
        await self.query_one(ThreadPane).show(conversation_id)

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
        listed = await conversations.list_for(self.context.db, self.context.actor, self.view)
        if taken.id not in {c.id for c in listed}:
            self.view = Filter.ALL
        await self.reload()
