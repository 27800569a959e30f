"""The Switchboard console: the Textual app agents and managers use every day.

The app only shows and asks: every rule is in core. It runs the embedded
worker (unless another process holds the lease, which the status bar says)
and follows the change feed so what others do appears within a second.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.dom import DOMNode
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.signal import Signal
from textual.widgets import Header, TabbedContent, TabPane
from textual.worker import Worker as TextualWorker
from textual.worker import WorkerState

from console import heap
from console.context import ConsoleContext
from console.failures import parts_gone, what_failed
from console.live import Changes
from console.panes.campaigns import CampaignsPane
from console.panes.cases import CasesPane
from console.panes.contacts import ContactsPane
from console.panes.conversations import ConversationsPane
from console.panes.manager import ManagerPane
from console.panes.offers import OfferBar
from console.panes.statistics import StatisticsPane, may_view
from console.panes.thread import ThreadPane
from console.removal import gone
from console.safe_text import printable
from console.screens.error import ErrorScreen
from console.screens.help import HelpScreen
from console.screens.routing import activity_picker, profile_picker, transfer_picker
from console.widgets import bundle_use
from console.widgets.bundle_use import BundleWatch
from console.widgets.deferred_tab import DeferredTab, content_of
from console.widgets.status_bar import StatusBar
from console.widgets.steady import SteadyFooter
from core import events
from core.errors import SwitchboardError
from core.events import Event
from core.routing import activities
from core.scheduling import lease
from core.scheduling.worker import Worker
from core.sms.conversations import Conversation

log = logging.getLogger("switchboard.console")

_ACTIVITY_KINDS = ("agent.activity_changed", "permission_profile.")
"""Events that may change the activity shown (a profile switch changes what is offered)."""


class SwitchboardApp(App[None]):
    TITLE = "Switchboard"
    CSS_PATH = "switchboard.tcss"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("question_mark", "help", "Help", id="app.help", tooltip="Every key, explained"),
        # The tab keys are on the tabs themselves and the theme is in the palette:
        # at 80 columns the footer keeps room for the keys of the pane in use.
        Binding(
            "f1",
            "show_tab('conversations')",
            "Conversations",
            id="app.conversations",
            tooltip="The Conversations tab",
            show=False,
        ),
        Binding(
            "f2",
            "show_tab('contacts')",
            "Contacts",
            id="app.contacts",
            tooltip="The Contacts tab",
            show=False,
        ),
        Binding(
            "f3",
            "show_tab('manager')",
            "Manager",
            id="app.manager",
            tooltip="The Manager tab",
            show=False,
        ),
        Binding(
            "f4",
            "show_tab('statistics')",
            "Statistics",
            id="app.statistics",
            tooltip="The Statistics tab",
            show=False,
        ),
        # F9 is the thread's transfer while the thread has focus (its own key wins there).
        Binding(
            "f9",
            "show_tab('cases')",
            "Cases",
            id="app.cases",
            tooltip="The Cases tab",
            show=False,
        ),
        # F5 accepts an offer (F5-F10 are routing's): the Campaigns tab takes F12.
        Binding(
            "f12",
            "show_tab('campaigns')",
            "Campaigns",
            id="app.campaigns",
            tooltip="The Campaigns tab",
            show=False,
        ),
        Binding(
            "ctrl+t",
            "toggle_theme",
            "Light or dark theme",
            id="app.theme",
            tooltip="Switch between the dark and the light theme",
            show=False,
        ),
        # Routing: F-keys, never typed, so they work in the composer too.
        Binding(
            "f5",
            "accept_offer",
            "Accept offer",
            id="app.accept_offer",
            tooltip="Take the conversation offered to you (the current one, ▶ in the offer bar)",
            priority=True,
        ),
        Binding(
            "f6",
            "refuse_offer",
            "Refuse offer",
            id="app.refuse_offer",
            tooltip="Pass the current offer on to the next agent (shown when your permission"
            " profile may refuse)",
            priority=True,
        ),
        Binding(
            "f10",
            "next_offer",
            "Next offer",
            id="app.next_offer",
            tooltip="Several offers waiting: make the next one current (F5/F6 answer it)",
            priority=True,
        ),
        Binding(
            "f7",
            "pick_activity",
            "Activity",
            id="app.activity",
            tooltip="Choose your activity (Available, Away, Lunch…)",
            show=False,
        ),
        Binding(
            "f8",
            "pick_profile",
            "Permission profile",
            id="app.permission_profile",
            tooltip="Switch your active permission profile (among those you hold)",
            show=False,
        ),
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__()
        self.context = context
        self.changes: Signal[Changes] = Signal(self, "changes")
        self.worker_state = "worker: off (tests drive it)"
        self._feed_cursor = 0
        self._worker: Worker | None = None
        self._bundle = BundleWatch()
        self._offer_bar: OfferBar | None = None

    # --- layout -------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        # Kept: check_action asks it about the offer keys at every key and focus change.
        # Querying the whole app for it each time cost a manager 1 ms a check, most of
        # the bindings check (3.1 ms with Alerts open; 0.2 ms now).
        self._offer_bar = OfferBar(self.context)
        yield self._offer_bar
        # The first tab is made now, the others when first chosen (DeferredTab).
        with TabbedContent(initial="conversations", id="main-tabs"):
            with TabPane("F1 Conversations", id="conversations"):
                yield ConversationsPane(self.context)
            yield self._contacts_tab()
            if self.context.shows_manager:
                yield self._manager_tab()
            if may_view(self.context):
                yield self._statistics_tab()
            if self.context.shows_cases:
                yield self._cases_tab()
            if self.context.shows_campaigns:
                yield self._campaigns_tab()
        yield StatusBar()
        yield SteadyFooter()

    def _contacts_tab(self) -> TabPane:
        return DeferredTab("F2 Contacts", lambda: ContactsPane(self.context), id="contacts")

    def _manager_tab(self) -> TabPane:
        return DeferredTab("F3 Manager", lambda: ManagerPane(self.context), id="manager")

    def _statistics_tab(self) -> TabPane:
        return DeferredTab("F4 Statistics", lambda: StatisticsPane(self.context), id="statistics")

    def _cases_tab(self) -> TabPane:
        return DeferredTab("F9 Cases", lambda: CasesPane(self.context), id="cases")

    def _campaigns_tab(self) -> TabPane:
        return DeferredTab("F12 Campaigns", lambda: CampaignsPane(self.context), id="campaigns")

    async def on_load(self) -> None:
        # Before the panes are made: the first times they show are in it.
        await self.context.reload_zone()

    async def on_mount(self) -> None:
        self.theme = "textual-dark"
        self._show_who()
        # An agent opening the console is routable at once: no activity yet means
        # their profile's default (Available), set through core.
        await activities.start_session(self.context.db, self.context.actor)
        await self._show_activity()
        self._feed_cursor = await events.last_id(self.context.db)
        self.set_interval(self.context.feed_poll_seconds, self.poll_feed, name="feed")
        await self._show_bundle()
        self.set_interval(bundle_use.EVERY_SECONDS, self._show_bundle, name="bundle")
        if self.context.welcome:
            self.notify(self.context.welcome, title="Welcome", timeout=30)
        if self.context.embedded_worker:
            await self._start_worker()
        else:
            self._show_worker_state(self.worker_state)
        # Once the first screen is drawn: start-up's objects are then made.
        if self.context.settle_heap:
            self.call_after_refresh(heap.settle)

    def _show_who(self) -> None:
        actor = self.context.actor
        profile = actor.profile_name or "no permission profile"
        # A name saved before names refused control characters would reach the terminal.
        self.sub_title = printable(f"{actor.label} ({profile})")
        self.query_one(StatusBar).who = printable(f"{actor.label} · {profile}")

    async def _show_activity(self, events: Iterable[Event] = ()) -> None:
        """The activity in the status bar; when the missed-offer limit moved the agent, why."""
        actor = self.context.actor
        if actor.id is None:
            return
        now = await activities.current(self.context.db, actor)
        name = now.activity.name if now.activity is not None else "no activity"
        for bar in self.query(StatusBar):  # none left while the app closes
            bar.activity = name
        for event in events:
            if (
                event.kind == "agent.activity_changed"
                and event.entity_id == actor.id
                and event.data.get("reason") == activities.MISSED_OFFERS
            ):
                missed = event.data.get("missed", now.max_missed_offers)
                self.notify(
                    f"You missed {missed} offers in a row (the limit of permission profile"
                    f" {actor.profile_name!r}), so your activity is now {name}: no more"
                    " offers until you choose an available activity (F7)",
                    title="Activity changed",
                    severity="warning",
                    timeout=30,
                )

    async def _start_worker(self) -> None:
        self._worker = Worker(
            self.context.db,
            self.context.gateway,
            self.context.worker_options,
            on_lease_change=self._lease_changed,
            email_gateway=self.context.email_gateway,
        )
        self._worker.start()
        holder = await lease.current(self.context.db)
        if holder is not None and holder.holder != self._worker.holder:
            self._show_worker_state(
                f"worker: another process holds the lease (pid {holder.pid} on {holder.host});"
                " this console will take over if it stops"
            )
        else:
            self._show_worker_state("worker: starting")

    def _lease_changed(self, held: bool) -> None:
        self._show_worker_state(
            "worker: running here"
            if held
            else "worker: another process holds the lease; this console waits"
        )

    def _show_worker_state(self, state: str) -> None:
        self.worker_state = state
        # The worker stops after the screens close on quit: a lease change it
        # reports then has no status bar left to show it.
        for bar in self.query(StatusBar):
            bar.worker_state = state

    async def on_unmount(self) -> None:
        if self.context.settle_heap:
            heap.release()
        if self._worker is not None:
            await self._worker.stop()

    # --- live ---------------------------------------------------------------

    async def poll_feed(self) -> None:
        """Publish what was committed since the last look, by any process."""
        batch = await events.since(self.context.db, self._feed_cursor)
        if not batch.events:
            return
        self._feed_cursor = batch.events[-1].id
        missed = batch.missed
        if (missed or self.context.principal_touched(batch.events)) and (
            await self.context.reload_principal()
        ):
            # A manager changed what this user may do (or they switched
            # profile elsewhere): it applies now, without a new login.
            await self._principal_changed()
            missed = True  # every pane reloads what it shows under the new rules
        if any(e.kind == "settings.changed" for e in batch.events) and (
            await self.context.reload_zone()
        ):
            missed = True  # every pane shows its times again, in the new zone
        me = self.context.actor.id
        if missed or any(
            e.entity == "agent" and e.entity_id == me and e.kind.startswith(_ACTIVITY_KINDS)
            for e in batch.events
        ):
            await self._show_activity(batch.events)
        changes = Changes(batch.events, missed=missed)
        self._bundle.note(changes)
        self.changes.publish(changes)

    async def _show_bundle(self) -> None:
        """The bundle's use, read when the feed moved it: at most once a second, not per event."""
        shown = await self._bundle.read(self.context.db)
        if shown is not None:
            for bar in self.query(StatusBar):
                bar.bundle = shown

    async def _principal_changed(self) -> None:
        self._show_who()
        tabs = self.query_one("#main-tabs", TabbedContent)
        context = self.context
        await self._show_tab_if(tabs, "manager", context.shows_manager, self._manager_tab)
        await self._show_tab_if(tabs, "statistics", may_view(context), self._statistics_tab)
        await self._show_tab_if(tabs, "cases", context.shows_cases, self._cases_tab)
        await self._show_tab_if(tabs, "campaigns", context.shows_campaigns, self._campaigns_tab)
        self.refresh_bindings()

    async def _show_tab_if(
        self, tabs: TabbedContent, tab: str, shown: bool, make: Callable[[], TabPane]
    ) -> None:
        """Add or remove a tab that only some permission profiles get."""
        has_tab = bool(tabs.query(f"#{tab}"))
        if shown and not has_tab:
            await tabs.add_pane(make())
        elif has_tab and not shown:
            if tabs.active == tab:
                tabs.active = "conversations"
            try:
                await tabs.remove_pane(tab)
            except NoMatches:
                # The app closed while the tab went (its tab bar's parts were taken
                # first, console/removal.py): nothing is left to show it on.
                if not gone(tabs):
                    raise

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every notification (widgets' too) shows its text literally.

        Notifications often quote a contact's name or an error that does, so
        markup is always off (``markup`` is ignored: Widget.notify passes True)
        and control characters are made visible here, once, for all of them.
        """
        del markup
        super().notify(
            printable(message, keep_newlines=True),  # a line break moves no cursor in a toast
            title=printable(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    # --- failures -----------------------------------------------------------

    @on(TextualWorker.StateChanged)
    def _worker_failed(self, event: TextualWorker.StateChanged) -> None:
        """The one place background failures are told (panes forward theirs: ReportsFailures)."""
        if event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        what = what_failed(event.worker)
        if parts_gone(event.worker):  # a pane taken away mid-work: nothing failed
            log.debug("stopped %s: the pane went", what)
            return
        if isinstance(error, SwitchboardError):
            # A refusal names the rule that refused: the person can act on it.
            self.notify(str(error), title=f"Could not {what}", severity="error")
            return
        log.error("failed to %s", what, exc_info=error)
        where = str(self.context.log_path) if self.context.log_path else "the console's log"
        self.push_screen(ErrorScreen(what, error or RuntimeError("unknown error"), where))

    # --- actions ------------------------------------------------------------

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self._binding_rows(self.screen)))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Without a manager right there is no Manager tab: its key is neither shown nor live.
        if action == "show_tab" and parameters == ("manager",):
            return self.context.shows_manager
        if action == "show_tab" and parameters == ("statistics",):
            return may_view(self.context)
        if action == "show_tab" and parameters == ("cases",):
            return self.context.shows_cases
        if action == "show_tab" and parameters == ("campaigns",):
            return self.context.shows_campaigns
        if action in ("accept_offer", "refuse_offer", "next_offer"):
            # Shown (footer, palette) while an offer waits; core decides the answer.
            bar = self._offer_bar if self._offer_bar and self._offer_bar.is_attached else None
            offer = bar.current if bar is not None else None
            if bar is None or offer is None:
                return False
            if action == "refuse_offer":
                return bar.may_refuse(offer)  # core's rule; core refuses anyway
            if action == "next_offer":
                return len(bar.offers) > 1
            return True
        if action in ("pick_activity", "pick_profile"):
            return self.context.actor.id is not None
        return True

    def action_accept_offer(self) -> None:
        self.query_one(OfferBar).accept()

    def action_refuse_offer(self) -> None:
        self.query_one(OfferBar).refuse()

    def action_next_offer(self) -> None:
        self.query_one(OfferBar).next_offer()

    @work(exclusive=True, group="pickers", exit_on_error=False, description="list your activities")
    async def action_pick_activity(self) -> None:
        self.push_screen(await activity_picker(self.context), self._picked)

    @work(
        exclusive=True,
        group="pickers",
        exit_on_error=False,
        description="list your permission profiles",
    )
    async def action_pick_profile(self) -> None:
        self.push_screen(await profile_picker(self.context), self._picked)

    async def open_transfer(self, conversation: Conversation) -> None:
        """The transfer picker for ``conversation`` (the thread's F9)."""
        self.push_screen(await transfer_picker(self.context, conversation), self._picked)

    async def _picked(self, chosen: object) -> None:
        if chosen is None:
            return
        # Shown now, not at the next feed poll: the change is this console's own.
        if await self.context.reload_principal():
            await self._principal_changed()
        await self._show_activity()

    async def open_conversation(self, conversation_id: int) -> None:
        """Show a conversation in the thread (an accepted offer)."""
        self.query_one("#main-tabs", TabbedContent).active = "conversations"
        thread = self.query_one("#agent-thread", ThreadPane)
        # Focus leaves the list first, so the list follows the thread to it (rather
        # than the thread following the list's cursor back), and the reply is typed.
        thread.messages.focus()
        await thread.show(conversation_id)
        if not thread.composer.text_area.disabled:
            thread.composer.text_area.focus()

    def action_show_tab(self, tab: str) -> None:
        self.query_one("#main-tabs", TabbedContent).active = tab

    async def start_conversation(self, contact_id: int) -> None:
        """Open the composer to text a contact (from the contacts pane)."""
        self.query_one("#main-tabs", TabbedContent).active = "conversations"
        await self.query_one("#agent-thread", ThreadPane).compose_to(contact_id)

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    @on(TabbedContent.TabActivated)
    async def _focus_tab(self, event: TabbedContent.TabActivated) -> None:
        # Made now if it is the tab's first time; gone when the app is closing.
        pane = await content_of(event.pane)
        if pane is not None and hasattr(pane, "focus_default"):
            pane.focus_default()

    def _binding_rows(self, screen: Screen[object]) -> list[tuple[str, str, str]]:
        # Only Switchboard's own actions (they have ids); Textual's cursor and
        # focus keys work as everywhere else and would bury them.
        rows = [
            (self.get_key_display(active.binding), active.binding.description, active.binding.id)
            for active in screen.active_bindings.values()
            if active.binding.id and active.binding.description
        ]
        return sorted(rows, key=lambda row: row[2] or "")

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Every action that applies to what is on screen, once each.

        Not only the keys live where the focus is: Send while the list has
        focus and a message is written, Ready while the search box has focus
        (where space is typed). Each title once: a key pair ("e,enter") or a
        command Textual already offers ("Theme") is not listed twice.
        """
        titles: set[str] = set()
        for command in super().get_system_commands(screen):
            titles.add(command.title)
            yield command
        for node, binding in self._palette_bindings(screen):
            title = binding.description
            if title in titles or binding.action == "quit":
                continue
            if not self._check_action_state(binding.action, node):
                continue  # does not apply now (nothing to take, composer disabled…)
            titles.add(title)

            async def run(action: str = binding.action, target: DOMNode = node) -> None:
                await self.run_action(action, target)

            key = self.get_key_display(binding)
            help_text = f"{binding.tooltip} ({key})" if binding.tooltip else f"Key: {key}"
            yield SystemCommand(title, help_text, run)

    def _palette_bindings(self, screen: Screen[object]) -> Iterator[tuple[DOMNode, Binding]]:
        """Switchboard's bindings: the focused widget's first, then every widget on screen."""
        focused = screen.focused
        chain = focused.ancestors_with_self if focused else []
        nodes: list[DOMNode] = [node for node in chain if node is not self]
        nodes += [widget for widget in screen.query("*") if widget.region]
        # A dialog (modal screen) keeps the app's keys out, as Textual does for keys.
        nodes += [screen] if screen.is_modal else [screen, self]
        done: set[int] = set()
        for node in nodes:
            if id(node) in done:
                continue
            done.add(id(node))
            for bindings in node._bindings.key_to_bindings.values():
                for binding in bindings:
                    if binding.id and binding.description:
                        yield node, binding


def make_app(context: ConsoleContext) -> SwitchboardApp:
    """Build the app the same way for the CLI, the tests and the screenshots."""
    return SwitchboardApp(context)
