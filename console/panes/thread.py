"""The open conversation: its messages, who it is with, and the composer (M2-M6, M9).

The thread shows the latest 200 messages and loads 200 earlier on a key, so
a conversation of 10,000 messages opens as fast as one of ten. It follows
the change feed: statuses move queued → sent → delivered in place, new
messages appear at the bottom, and an opt-out anywhere disables the composer.
Every rule is core's: the pane asks, and shows core's refusal as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message as TextualMessage
from textual.widgets import Select, Static

from console.context import ConsoleContext
from console.failures import ReportsFailures
from console.live import Changes
from console.removal import gone
from console.screens.canned_replies import canned_reply_picker, no_replies
from console.screens.close_form import close_form
from console.text import literal
from console.times import stamp
from console.widgets import steady
from console.widgets.closure_notices import ClosureNotices
from console.widgets.composer import Composer
from console.widgets.editing import Input, TextArea
from console.widgets.message_list import MessageList
from console.widgets.transfer_history import TransferHistory
from core import settings
from core.errors import SwitchboardError
from core.notify import history
from core.notify.closing import Closure
from core.people import contacts
from core.people.contacts import Contact
from core.sms import consent, conversations, mms, outgoing, receiving, sending
from core.sms.conversations import Conversation, Message

PAGE = 200
"""Messages loaded at a time: enough to read back, never the whole thread."""
NOTHING_OPEN = "Select a conversation"


class ThreadPane(ReportsFailures, Vertical):
    """One conversation (or a new message to a contact) and, unless read-only, the composer."""

    DEFAULT_CSS = """
    ThreadPane { height: 1fr; }
    ThreadPane #thread-header { height: auto; padding: 0 1; background: $panel; }
    ThreadPane #thread-banner {
        height: auto; padding: 0 1; background: $error-muted; color: $text-error;
        text-style: bold;
    }
    ThreadPane #thread-placeholder {
        height: 1fr; content-align: center middle; color: $text-muted;
    }
    """
    BINDINGS = [
        Binding(
            "left_square_bracket",
            "earlier",
            "Earlier",
            id="thread.earlier",
            tooltip=f"Load the {PAGE} messages before the first one shown",
        ),
        Binding(
            "o",
            "resolve_optout(True)",
            "Confirm opt-out",
            id="thread.confirm_optout",
            tooltip="The flagged message asks to stop: opt the number out (one confirmation SMS)",
        ),
        Binding(
            "x",
            "resolve_optout(False)",
            "Not an opt-out",
            id="thread.dismiss_optout",
            tooltip="The flagged message is not an opt-out: keep texting this number",
        ),
        Binding(
            "ctrl+l",
            "canned_reply",
            "Canned",
            id="thread.canned_reply",
            tooltip="Insert one of your profile's canned replies, filled in for this contact",
        ),
        Binding(
            "f9",
            "transfer",
            "Transfer",
            id="thread.transfer",
            tooltip="Hand this conversation to a queue or to another agent",
        ),
        # Ctrl+G: Ctrl+K deletes to the end of the line in the composer, and F11
        # is the terminal's full screen in many emulators.
        Binding(
            "ctrl+g",
            "close_conversation",
            "Close…",
            id="thread.close",
            tooltip="Close this conversation with an outcome: the collected data, then its"
            " notices go out",
        ),
    ]

    @dataclass
    class Opened(TextualMessage):
        """A conversation is now shown (lets the list keep its cursor on it)."""

        thread: ThreadPane
        conversation_id: int

    def __init__(
        self, context: ConsoleContext, *, read_only: bool = False, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.context = context
        self.read_only = read_only
        self.conversation_id: int | None = None
        self._offered: tuple[bool, int | None, bool] | None = None
        self.conversation: Conversation | None = None
        self.contact: Contact | None = None
        """The contact being written to with no conversation open (``compose_to``)."""
        self.opted_out = False
        self.has_earlier = False
        self.may_close = False
        """The open conversation is open and core lets this principal close it."""
        self._generation = 0
        """Bumped by every show/compose_to, so a slow load never lands on the wrong thread."""
        self._drafts: dict[int, str] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="thread-header")
        yield Static(id="thread-banner")
        yield TransferHistory(self.context)
        yield Static(NOTHING_OPEN, id="thread-placeholder")
        yield MessageList(now=self.context.now, can_decide=not self.read_only, id="thread-messages")
        yield ClosureNotices(self.context)
        if not self.read_only:
            yield Composer(id="thread-composer")

    async def on_mount(self) -> None:
        if gone(self):
            return  # taken away before it composed: it has no parts
        self._set_visible(placeholder=True)
        self.query_one("#thread-banner").display = False
        self.app.changes.subscribe(self, self.on_changes)  # type: ignore[attr-defined]
        if not self.read_only:
            config = await settings.load(self.context.db)
            if not gone(self):
                self.composer.set_price(config.cost_per_segment, config.currency)

    # --- parts ------------------------------------------------------------

    @property
    def messages(self) -> MessageList:
        return self.query_one(MessageList)

    @property
    def composer(self) -> Composer:
        return self.query_one(Composer)

    @property
    def is_blank(self) -> bool:
        """Nothing open: no conversation and no message being written to a contact."""
        return self.conversation_id is None and self.contact is None

    def _set_visible(self, *, placeholder: bool) -> None:
        self.query_one("#thread-placeholder").display = placeholder
        self.query_one("#thread-header").display = not placeholder
        self.messages.display = not placeholder
        if not self.read_only:
            self.composer.display = not placeholder

    # --- opening ----------------------------------------------------------

    async def _load(self, conversation_id: int) -> tuple[Conversation, list[Message], bool]:
        """The conversation, its latest page of messages, and whether its number opted out."""
        db, actor = self.context.db, self.context.actor
        conversation = await conversations.get(db, actor, conversation_id)
        page = await conversations.thread(db, actor, conversation_id, limit=PAGE)
        return conversation, page, await consent.is_opted_out(db, conversation.phone)

    async def _follow_closure(self, conversation: Conversation | None) -> None:
        """The last closure under the messages, and whether Close… is offered (core's rule)."""
        if gone(self):
            return  # taken away while reading (see console/removal.py)
        closed = conversation is not None and conversation.closed_at is not None
        self.query_one(ClosureNotices).follow(
            None if conversation is None else conversation.id, closed=closed
        )
        generation = self._generation
        may = (
            not self.read_only
            and conversation is not None
            and not closed
            and await history.may_close(self.context.db, self.context.actor, conversation.id)
        )
        if generation == self._generation:  # not another thread opened meanwhile
            self.may_close = may

    async def show(self, conversation_id: int | None) -> None:
        """Open a conversation (its latest messages, scrolled to the end), or nothing."""
        self._generation += 1
        generation = self._generation
        self.contact = None
        if conversation_id is not None and conversation_id == self.conversation_id:
            # The list re-lays its rows and highlights the same one: update, keep the scroll.
            await self.refresh_thread()
            await conversations.mark_read(self.context.db, self.context.actor, conversation_id)
            return
        self._keep_draft()
        if conversation_id is None:
            self.conversation_id = None
            self.conversation = None
            self.messages.clear()
            self.query_one("#thread-placeholder", Static).update(NOTHING_OPEN)
            self._set_visible(placeholder=True)
            self.query_one("#thread-banner").display = False
            self.query_one(TransferHistory).follow(None)
            await self._follow_closure(None)
            self._refresh_keys()
            return
        try:
            conversation, page, opted_out = await self._load(conversation_id)
        except SwitchboardError as exc:
            # Kept here, not in the app's handler: the refusal (not visible, not
            # found) replaces the thread itself, where the person is looking.
            if generation == self._generation and not gone(self):
                self.conversation_id = None
                self.conversation = None
                self.query_one("#thread-placeholder", Static).update(literal(str(exc)))
                self._set_visible(placeholder=True)
                await self._follow_closure(None)
                self._refresh_keys()
            return
        if generation != self._generation or gone(self):
            return  # another thread opened meanwhile, or the pane taken away
        self.conversation_id = conversation_id
        self.conversation = conversation
        self.has_earlier = len(page) == PAGE
        self._set_visible(placeholder=False)
        self._show_header()
        self.messages.set_messages(page, contact=self._contact_label())
        if not self.read_only:
            self.composer.set_recipients(None)
            self.composer.clear(draft=self._drafts.pop(conversation_id, ""))
        await self._show_consent(conversation.phone, opted_out)
        await self._follow_closure(conversation)
        await conversations.mark_read(self.context.db, self.context.actor, conversation_id)
        if gone(self):  # the console closed while the read was marked
            return
        self._refresh_keys()
        self.post_message(self.Opened(self, conversation_id))

    async def compose_to(self, contact_id: int) -> None:
        """Start writing to a contact, choosing which of their mobiles to text."""
        if self.read_only:
            return
        self._generation += 1
        generation = self._generation
        # Raises NotFound (deleted meanwhile) to the caller's worker, which reports it.
        contact = await contacts.get(self.context.db, contact_id)
        if generation != self._generation or gone(self):
            return
        self._keep_draft()
        self.conversation_id = None
        self.conversation = None
        self.contact = contact
        self.has_earlier = False
        await self._follow_closure(None)
        self._set_visible(placeholder=False)
        self._show_header()
        self.messages.set_messages([], contact=contact.label)
        composer = self.composer
        composer.clear()
        mobiles = [phone.e164 for phone in contact.mobiles]
        composer.set_recipients(mobiles)
        if mobiles:
            await self._check_recipient(mobiles[0])
        else:
            reason = f"{contact.label} has no mobile number: SMS can only go to a mobile number"
            self._show_banner(reason)
            composer.block(reason)
        self.refresh_bindings()
        self.call_after_refresh(self._focus_composer)

    def _keep_draft(self) -> None:
        """What was being written to the conversation being left waits for the agent's return."""
        if self.read_only or self.conversation_id is None:
            return
        text = self.composer.text
        if text.strip():
            self._drafts[self.conversation_id] = text

    def _focus_composer(self) -> None:
        if self.read_only:
            return
        area = self.composer.text_area
        if not area.disabled:
            area.focus()
        else:
            self.messages.focus()

    def _contact_label(self) -> str:
        if self.conversation is not None:
            return self.conversation.contact_name or self.conversation.phone
        return self.contact.label if self.contact is not None else ""

    def _show_header(self) -> None:
        self.query_one(TransferHistory).follow(self.conversation_id)
        header = Text()
        if self.conversation is not None:
            c = self.conversation
            header.append_text(literal(c.contact_name or c.phone, style="bold"))
            if c.contact_name:
                header.append(f" {c.phone}")
            header.append(f"  via {c.number}", style="dim")
            header.append("  owner: ", style="dim")
            header.append_text(literal(c.owner or "nobody"))
            if c.is_public:
                header.append("  public", style="bold yellow")
        elif self.contact is not None:
            header.append("New message to ", style="dim")
            header.append_text(literal(self.contact.label, style="bold"))
        if self.opted_out:
            header.append("  opted out", style="bold red")
        steady.update(self.query_one("#thread-header", Static), header)

    def _show_banner(self, reason: str | None) -> None:
        banner = self.query_one("#thread-banner", Static)
        steady.update(banner, literal(reason or "", one_line=False))
        banner.display = reason is not None

    async def _show_consent(self, phone: str, opted_out: bool) -> None:
        """M5: an opted-out number gets a banner and a disabled composer."""
        self.opted_out = opted_out
        reason = None
        if opted_out:
            history = await consent.history(self.context.db, phone)
            if gone(self):
                return
            last = next((change for change in history if change.opted_out), None)
            if last is None:
                reason = "Opted out — nothing can be sent until they text START"
            else:
                how = last.keyword or "confirmed by an agent"
                reason = (
                    f"Opted out ({how}) on {stamp(last.at, self.context.zone)} — nothing"
                    " can be sent until they text START"
                )
        self._show_banner(reason)
        self._show_header()
        if not self.read_only:
            self.composer.block(reason)
            notice = None if opted_out else await outgoing.notice_for(self.context.db, phone)
            if not gone(self):
                self.composer.set_notice(notice)

    async def _check_recipient(self, phone: str) -> None:
        opted_out = await consent.is_opted_out(self.context.db, phone)
        await self._show_consent(phone, opted_out)

    @on(Select.Changed, "#composer-to")
    async def _recipient_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and self.contact is not None:
            await self._check_recipient(event.value)

    # --- live -------------------------------------------------------------

    async def on_changes(self, changes: Changes) -> None:
        if not self.read_only and changes.about("settings."):
            config = await settings.load(self.context.db)
            if gone(self):
                return
            self.composer.set_price(config.cost_per_segment, config.currency)
        # The opt-out line the counter counts changes with the notice setting, and
        # once any SMS (another conversation's, another console's, a close's notice,
        # announced as notice.queued) reaches the number.
        notice_counted = not self.read_only and self.composer.counter.notice is not None
        recheck = changes.about("consent.", "settings.") or (
            notice_counted and changes.about("message.", "notice.")
        )
        if self.conversation_id is not None and changes.touches_conversation(self.conversation_id):
            await self.refresh_thread()
        elif recheck:
            if self.conversation is not None:
                await self._check_recipient(self.conversation.phone)
            elif self.contact is not None and not self.read_only:
                to = self.composer.recipient
                if to is not None:
                    await self._check_recipient(to)

    async def refresh_thread(self) -> None:
        """Fetch the latest page again and merge it: changed messages update in place."""
        conversation_id = self.conversation_id
        if conversation_id is None:
            return
        generation = self._generation
        try:
            conversation, page, opted_out = await self._load(conversation_id)
        except SwitchboardError:
            # Kept here: a refresh nobody asked for (live changes) must stay quiet.
            return  # e.g. no longer visible to this agent; the list will move on
        if generation != self._generation or gone(self):
            return
        self.conversation = conversation
        self._show_header()
        added = self.messages.merge(page)
        await self._show_consent(conversation.phone, opted_out)
        await self._follow_closure(conversation)
        if any(m.direction == "in" for m in added):
            await conversations.mark_read(self.context.db, self.context.actor, conversation_id)
        self._refresh_keys()

    def _refresh_keys(self) -> None:
        """Refresh the footer's keys when the thread's own would change.

        Every refresh rebuilds the footer, the costliest part of opening a
        thread: moving along the list, most threads offer the same keys.
        """
        pending = self._pending_optout()
        offered = (
            self.conversation_id is not None and self.has_earlier,
            None if pending is None else pending.id,
            self.may_close,
        )
        if offered != self._offered:
            self._offered = offered
            self.refresh_bindings()

    # --- actions ----------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        focused = self.screen.focused if self.is_attached else None
        typing = isinstance(focused, TextArea | Input)
        if action == "earlier":
            return self.conversation_id is not None and self.has_earlier and not typing
        if action == "transfer":
            return not self.read_only and self.conversation is not None
        if action == "close_conversation":
            # Hidden where core would refuse: not this agent's, or closed already.
            return self.may_close and self.conversation is not None
        if action == "resolve_optout":
            return not self.read_only and not typing and self._pending_optout() is not None
        return True

    def _pending_optout(self) -> Message | None:
        if self.conversation_id is None:
            return None
        return next(
            (
                m
                for m in reversed(self.messages.messages)
                if m.direction == "in" and m.optout_flag == "pending"
            ),
            None,
        )

    @work(
        exclusive=True,
        group="thread-earlier",
        exit_on_error=False,
        description="load earlier messages",
    )
    async def action_earlier(self) -> None:
        conversation_id = self.conversation_id
        shown = self.messages.messages
        if conversation_id is None or not shown:
            return
        generation = self._generation
        page = await conversations.thread(
            self.context.db,
            self.context.actor,
            conversation_id,
            before_id=shown[0].id,
            limit=PAGE,
        )
        if generation != self._generation or gone(self):
            return
        self.has_earlier = len(page) == PAGE
        self.messages.prepend(page)
        if not self.has_earlier:
            self.notify("This is the start of the conversation.", markup=False)
        self.refresh_bindings()

    @work(
        exclusive=True,
        group="thread-close",
        exit_on_error=False,
        description="open the close form",
    )
    async def action_close_conversation(self) -> None:
        conversation = self.conversation
        if conversation is None or not self.may_close:
            return
        form = await close_form(self.context, conversation)
        self.app.push_screen(form, self._after_close)

    async def _after_close(self, closure: Closure | None) -> None:
        if closure is None:
            return
        queued = sum(1 for n in closure.notices if n.status != "skipped")
        skipped = len(closure.notices) - queued
        told = f"{queued} notice{'s' if queued != 1 else ''} queued"
        if skipped:
            told += f", {skipped} skipped"
        self.notify(f"Closed with {closure.outcome}: {told}", title="Closed", markup=False)
        if closure.conversation_id == self.conversation_id:
            await self.refresh_thread()

    async def action_transfer(self) -> None:
        if self.conversation is not None and not self.read_only:
            await self.app.open_transfer(self.conversation)  # type: ignore[attr-defined]

    def _why_no_canned_reply(self) -> str | None:
        """Why a canned reply cannot go in now, or None: the key says it rather than do nothing."""
        if self.read_only:
            return (
                "This thread is read-only: canned replies go into the composer of a"
                " conversation in your Conversations tab (F1)"
            )
        if self.contact is not None:
            return (
                f"A canned reply is filled in from a conversation: write this first message"
                f" to {self.contact.label} yourself"
            )
        if self.conversation is None:
            return "Open a conversation first: a canned reply is filled in for its contact"
        if self.composer.blocked:
            return f"The composer is off: {self.composer.blocked}"
        if self.composer.sending:
            return "A message is being sent: try again in a moment"
        return None

    @work(
        exclusive=True,
        group="thread-canned",
        exit_on_error=False,
        description="list your canned replies",
    )
    async def action_canned_reply(self) -> None:
        why = self._why_no_canned_reply()
        conversation = self.conversation
        if why is not None or conversation is None:
            self.notify(why or "", severity="warning", markup=False)
            return

        def insert(text: str) -> bool:
            # The picker is modal, but an accepted offer (F5) may open another thread.
            if self.conversation_id != conversation.id:
                return False
            self.composer.insert_text(text)
            return True

        picker = await canned_reply_picker(self.context, conversation, insert)
        if picker is None:
            self.notify(no_replies(self.context), severity="warning", markup=False)
            return
        self.app.push_screen(picker, self._canned_reply_closed)

    def _canned_reply_closed(self, chosen: int | None) -> None:
        if chosen is not None:
            # After the screen gives focus back to where the key was pressed (the list,
            # maybe): the agent reads the reply over and edits it before sending.
            self.call_after_refresh(self._focus_composer)

    @work(
        exclusive=True,
        group="thread-optout",
        exit_on_error=False,
        description="record the opt-out decision",
    )
    async def action_resolve_optout(self, confirm: bool) -> None:
        if self.read_only:
            return
        flagged = self._pending_optout()
        if flagged is None or self.conversation is None:
            self.notify("No message here is waiting for an opt-out decision.", markup=False)
            return
        phone = self.conversation.phone
        await receiving.resolve_possible_optout(
            self.context.db, self.context.actor, flagged.id, confirm=confirm
        )
        if confirm:
            self.notify(
                f"{phone} is opted out: one confirmation SMS is queued, then nothing more"
                " until they text START",
                title="Opt-out confirmed",
                markup=False,
            )
        else:
            self.notify(
                f"Not an opt-out: {phone} can still be texted", title="Dismissed", markup=False
            )
        await self.refresh_thread()

    @on(Composer.Submitted)
    def _submitted(self, event: Composer.Submitted) -> None:
        event.stop()
        self._send(event.body, event.attachment, event.to)

    @work(exclusive=True, group="thread-send", exit_on_error=False, description="send the message")
    async def _send(self, body: str, attachment: Path | None, to: str | None) -> None:
        composer = self.composer
        conversation = self.conversation
        if conversation is not None:
            to, sender = conversation.phone, conversation.number
        elif self.contact is not None and to is not None:
            sender = None  # the agent's own number, or the account's default
        else:
            self.notify("Pick a number to send to.", severity="warning", markup=False)
            return
        composer.sending = True
        composer.refresh_bindings()
        try:
            media = [mms.media_from_file(attachment)] if attachment is not None else []
            result = await sending.send(
                self.context.db,
                self.context.actor,
                to,
                body,
                sender=sender,
                media=media,
                mms_limits=self.context.gateway.mms_limits,
            )
        finally:
            composer.sending = False
            composer.refresh_bindings()
        if gone(self):
            return  # sent; the app closed meanwhile (see console/removal.py)
        composer.clear()
        if result.ready_changed:
            self.notify(
                "Contact was Ready; sending this SMS set it to not ready",
                title="Ready status",
                markup=False,
            )
        if result.conversation_id == self.conversation_id:
            await self.refresh_thread()
        else:
            await self.show(result.conversation_id)
            self._focus_composer()
