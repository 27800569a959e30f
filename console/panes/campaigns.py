"""The Campaigns tab (S1): the campaigns this profile sees, and the selected one's progress.

The list (name, status with a scheduled start, targets, sent/delivered/
failed/skipped, the rate over the last minute) is a KeyedTable brought up
to date in place; under it the selected campaign's progress bar and counts
(``core.campaigns.progress``). The feed says when they may have moved (``campaign.*``,
``message.*``): they are read again at most once a second however busy the
feed, and every second while a campaign runs (its rate and time left follow
the clock).

Keys: n new, e edit, s start (now or at a time in the account's zone, then
the estimate in a dialog; Yes is the CLI's --yes), p pause, r resume, c
cancel (asks), t add targets, o the waiting pool, R results per target.
Each is shown only when the profile has its right; core checks again, per
campaign.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, ProgressBar, Static

from console.context import ConsoleContext
from console.failures import ReportsFailures
from console.live import Changes
from console.removal import gone
from console.screens.campaign_form import CampaignForm, SavedCampaign
from console.screens.campaign_pool import PoolScreen
from console.screens.campaign_results import ResultsScreen
from console.screens.campaign_start import StartScreen, StartWhen
from console.screens.campaign_targets import TargetsForm
from console.screens.confirm import ConfirmScreen
from console.screens.csv_problems import CsvReport
from console.text import literal
from console.widgets import steady
from console.widgets.keyed_table import KeyedTable
from console.widgets.status_line import StatusLine
from core.campaigns import campaigns, estimate, lifecycle, progress
from core.campaigns.campaigns import Campaign
from core.campaigns.progress import Progress
from core.people.authz import Action, CampaignAccess, allows
from core.text import counted, segment_rate

_FEED_KINDS = ("campaign.", "message.")
EVERY_SECONDS = 1.0
"""The list is read again at most this often, however busy the feed."""
HINT = (
    ("n new", "new"),
    ("e edit", "edit"),
    ("s start", "start"),
    ("p pause", "pause"),
    ("r resume", "resume"),
    ("c cancel", "cancel"),
    ("t add", "targets"),
    ("o pool", "pool"),
    ("R results", "results"),
)

_RIGHTS: dict[str, Action] = {
    "new": Action.MANAGE_CAMPAIGN,
    "edit": Action.MANAGE_CAMPAIGN,
    "start": Action.MANAGE_CAMPAIGN,
    "pause": Action.MANAGE_CAMPAIGN,
    "resume": Action.MANAGE_CAMPAIGN,
    "cancel": Action.MANAGE_CAMPAIGN,
    "targets": Action.MANAGE_CAMPAIGN,
    "pool": Action.VIEW_CAMPAIGN_POOL,
    "results": Action.VIEW_CAMPAIGN,
}
"""Each key's right: the key is shown when core would allow it on the selected campaign."""


@dataclass(frozen=True, slots=True)
class Row:
    campaign: Campaign
    progress: Progress
    zone: ZoneInfo
    """The account's: a scheduled start is shown in it."""

    @property
    def id(self) -> int:
        return self.campaign.id


def done(p: Progress) -> int:
    """Targets whose turn is over: handed to the provider (or failed), or skipped."""
    return p.queued - p.in_outbox + p.skipped


def rate_text(p: Progress) -> str:
    """Messages per second over the last minute."""
    return f"{p.rate_per_second:.2g}" if p.sent_last_minute else "-"


def left_text(seconds: float | None) -> str:
    if seconds is None:
        return "nothing left to send"
    minutes = round(seconds / 60)
    if minutes >= 60:
        return f"about {minutes // 60} h {minutes % 60:02d} min left"
    return f"about {max(minutes, 1)} min left"


def local(at: datetime, zone: ZoneInfo) -> str:
    return f"{at.astimezone(zone):%Y-%m-%d %H:%M}"


def status_text(c: Campaign, zone: ZoneInfo) -> str:
    """The status; a scheduled one with its start (month-day and time: the list is narrow)."""
    if c.status == campaigns.SCHEDULED and c.starts_at is not None:
        return f"scheduled {c.starts_at.astimezone(zone):%m-%d %H:%M}"
    return c.status


def _cells(row: Row) -> dict[str, Text]:
    c, p = row.campaign, row.progress
    return {
        "name": literal(c.name),
        "status": Text(status_text(c, row.zone)),
        "targets": Text(str(p.total - p.removed), justify="right"),
        "sent": Text(str(p.sent + p.delivered), justify="right"),
        "delivered": Text(str(p.delivered), justify="right"),
        "failed": Text(str(p.failed), justify="right", style="red" if p.failed else ""),
        "skipped": Text(str(p.skipped), justify="right"),
        "rate": Text(rate_text(p), justify="right"),
    }


class CampaignTable(KeyedTable[Row]):
    def __init__(self) -> None:
        super().__init__(
            (
                # 74 columns with the cells' padding: the list fits 80 without scrolling.
                # The sender is on the detail line, so a scheduled start fits in Status.
                ("Name", "name", 12),
                ("Status", "status", 21),
                ("Tgts", "targets", 4),
                ("Sent", "sent", 4),
                ("Dlvd", "delivered", 4),
                ("Fail", "failed", 4),
                ("Skip", "skipped", 4),
                ("Msg/s", "rate", 5),
            ),
            _cells,
            lambda row: row.id,
            id="campaign-list",
        )


def counts_text(p: Progress) -> Text:
    text = Text.assemble(
        (f"{p.sent + p.delivered} sent", "bold"),
        f" ({p.delivered} delivered) · ",
        (f"{p.failed} failed", "bold red" if p.failed else ""),
        f" · {p.skipped} skipped · {p.replied} replied · {p.opted_out} opted out",
    )
    rate = f" · {rate_text(p)} msg/s" if p.sent_last_minute else ""
    text.append(
        f"\n{p.waiting} waiting · {p.programmed} programmed · {p.in_outbox} in the outbox"
        f"{rate} · {left_text(p.seconds_left)}"
    )
    return text


class CampaignsPane(ReportsFailures, Vertical):
    DEFAULT_CSS = """
    CampaignsPane { height: 1fr; }
    CampaignsPane #campaign-list { height: 1fr; min-height: 4; }
    CampaignsPane #campaign-detail { height: auto; padding: 0 1; border-top: solid $primary; }
    CampaignsPane #campaign-title { height: auto; max-height: 2; }
    CampaignsPane #campaign-counts { height: 2; color: $text-muted; }
    CampaignsPane ProgressBar { height: 1; }
    """
    BINDINGS = [
        Binding("n", "new", "New", id="campaigns.new", tooltip="A new draft campaign"),
        Binding("e", "edit", "Edit", id="campaigns.edit", tooltip="Change the selected campaign"),
        Binding(
            "s",
            "start",
            "Start",
            id="campaigns.start",
            tooltip="Start the selected draft now or at a time: its estimate is shown first,"
            " Yes starts it",
        ),
        Binding("p", "pause", "Pause", id="campaigns.pause", tooltip="Pause sending"),
        Binding("r", "resume", "Resume", id="campaigns.resume", tooltip="Resume sending"),
        Binding(
            "c",
            "cancel",
            "Cancel",
            id="campaigns.cancel",
            tooltip="Cancel the campaign: targets not yet sent are skipped (asks first)",
        ),
        Binding(
            "t",
            "targets",
            "Targets",
            id="campaigns.targets",
            tooltip="Add targets: contacts by id, a live filter or a CSV file",
        ),
        Binding(
            "o",
            "pool",
            "Pool",
            id="campaigns.pool",
            tooltip="The waiting pool: program, reprogram, remove, back to the pool",
        ),
        Binding(
            "R",
            "results",
            "Results",
            id="campaigns.results",
            tooltip="Each target's state and result",
        ),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__(id="campaigns-pane")
        self.context = context
        self.due = True
        """The feed moved something since the list was last read."""

    def compose(self) -> ComposeResult:
        yield StatusLine(self._hint, wrapped=True, id="campaigns-status")
        yield CampaignTable()
        with Vertical(id="campaign-detail"):
            yield Static(id="campaign-title")
            yield ProgressBar(total=None, show_eta=False, id="campaign-progress")
            yield Static(id="campaign-counts")

    async def on_mount(self) -> None:
        if gone(self):
            return  # taken away before it composed: it has no parts
        self.app.changes.subscribe(self, self.on_changes)  # type: ignore[attr-defined]
        self.set_interval(EVERY_SECONDS, self._tick, name="campaigns")
        self.say(None)
        await self.reload()

    def focus_default(self) -> None:
        self.table.focus()

    @property
    def table(self) -> CampaignTable:
        return self.query_one(CampaignTable)

    @property
    def selected(self) -> Campaign | None:
        row = self.table.selected()
        return None if row is None else row.campaign

    async def reload(self) -> None:
        db, actor = self.context.db, self.context.actor
        self.due = False
        found = await campaigns.list_campaigns(db, actor)
        rows = [Row(c, await progress.progress(db, actor, c.id), self.context.zone) for c in found]
        if gone(self):
            return  # taken away while reading (see console/removal.py)
        self.table.show(rows)
        self._show_detail()
        self.refresh_bindings()

    def _show_detail(self) -> None:
        row = self.table.selected()
        title = self.query_one("#campaign-title", Static)
        bar = self.query_one(ProgressBar)
        counts = self.query_one("#campaign-counts", Static)
        if row is None:
            steady.update(
                title, Text("No campaign yet" + (": n makes one." if self._may("new") else "."))
            )
            bar.update(total=None, progress=0)
            steady.update(counts, "")
            return
        c, p = row.campaign, row.progress
        steady.update(
            title,
            Text.assemble(
                literal(c.name, style="bold"),
                f" · {status_text(c, self.context.zone)} · from ",
                literal(c.sender),
                f" · {counted(p.total - p.removed, 'target')} · {segment_rate(c.rate)}"
                f" · {c.window}",
            ),
        )
        bar.update(total=max(p.total - p.removed, 1), progress=done(p))
        steady.update(counts, counts_text(p))

    def _tick(self) -> None:
        running = any(r.campaign.status == "running" for r in self.table.shown)
        if self.due or running:
            self._refresh()

    @work(exclusive=True, group="campaigns-refresh", exit_on_error=False, description="refresh")
    async def _refresh(self) -> None:
        await self.reload()

    async def on_changes(self, changes: Changes) -> None:
        if changes.missed:
            # Also how a reloaded principal is published: rights may have changed.
            self.refresh_bindings()
            self.say(None)
        if changes.about(*_FEED_KINDS) or changes.about("permission_profile."):
            self.due = True

    @on(DataTable.RowHighlighted, "#campaign-list")
    def _moved(self) -> None:
        self._show_detail()
        self.refresh_bindings()

    def say(self, message: str | None, *, error: bool = False) -> None:
        self.query_one("#campaigns-status", StatusLine).say(message, error=error)

    def _hint(self) -> str:
        # The keys this profile has at all (which campaign: core, per row).
        actor = self.context.actor
        return "  ".join(k for k, action in HINT if allows(actor, _RIGHTS[action], None))

    def _may(self, action: str) -> bool:
        right = _RIGHTS[action]
        c = self.selected if action != "new" else None
        if action == "new":
            return allows(self.context.actor, right, None)
        # Without a selected campaign the key would have nothing to act on.
        return c is not None and allows(self.context.actor, right, CampaignAccess(c.id))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Hidden without the right: core refuses anyway, the footer need not offer it.
        if action in _RIGHTS:
            return self._may(action)
        return True

    # --- actions --------------------------------------------------------------------

    def action_new(self) -> None:
        self.app.push_screen(CampaignForm(self.context), self._saved)

    def action_edit(self) -> None:
        if self.selected is not None:
            self.app.push_screen(CampaignForm(self.context, self.selected), self._saved)

    async def _saved(self, saved: object) -> None:
        if isinstance(saved, SavedCampaign):
            c = saved.campaign
            # A new campaign is in the creator's profile: the principal reloads first.
            await self.context.reload_principal()
            await self.reload()
            self.table.select(c.id)
            self._show_detail()
            said = f"Saved campaign {c.name} ({c.status})"
            if saved.targets is not None:
                said += f". {saved.targets.summary}"
                if saved.targets.problems:
                    self.app.push_screen(saved.targets.screen())
            self.say(said)
        self.focus_default()

    @work(
        exclusive=True, group="campaigns-act", exit_on_error=False, description="start a campaign"
    )
    async def action_start(self) -> None:
        c = self.selected
        if c is None:
            return
        db, zone = self.context.db, self.context.zone
        when = await self.app.push_screen_wait(StartScreen(db, c.name, zone))
        if not isinstance(when, StartWhen):
            self.say(f"Campaign {c.name} not started")
            return
        found = await estimate.estimate(db, self.context.actor, c.id, when.at)
        at = "now" if when.at is None else f"at {local(when.at, zone)} ({zone.key})"
        question = Text.assemble("Start campaign ", literal(c.name, style="bold"), f" {at}?\n\n")
        question.append_text(literal("\n".join(estimate.describe(found)), one_line=False))
        if found.warnings:
            question.append("\n\nThe warnings above need your confirmation.", style="bold")
        yes = await self.app.push_screen_wait(ConfirmScreen(question, yes_label="Start"))
        if not yes:
            self.say(f"Campaign {c.name} not started")
            return
        # The person saw the estimate and its warnings: Yes is the CLI's --yes.
        started = await lifecycle.start(db, self.context.actor, c.id, when.at, confirm=True)
        await self.reload()
        done_ = started.campaign
        if done_.status == campaigns.SCHEDULED and done_.starts_at is not None:
            at = f"{local(done_.starts_at, self.context.zone)} ({self.context.zone.key})"
            self.say(f"Scheduled campaign {done_.name} for {at}")
        else:
            self.say(f"Started campaign {done_.name} ({done_.status})")

    @work(
        exclusive=True, group="campaigns-act", exit_on_error=False, description="pause a campaign"
    )
    async def action_pause(self) -> None:
        if (c := self.selected) is not None:
            done_ = await lifecycle.pause(self.context.db, self.context.actor, c.id)
            await self.reload()
            self.say(f"Paused campaign {done_.name}")

    @work(
        exclusive=True, group="campaigns-act", exit_on_error=False, description="resume a campaign"
    )
    async def action_resume(self) -> None:
        if (c := self.selected) is not None:
            done_ = await lifecycle.resume(self.context.db, self.context.actor, c.id)
            await self.reload()
            self.say(f"Resumed campaign {done_.name} ({done_.status})")

    @work(
        exclusive=True, group="campaigns-act", exit_on_error=False, description="cancel a campaign"
    )
    async def action_cancel(self) -> None:
        c = self.selected
        if c is None:
            return
        question = Text.assemble(
            "Cancel campaign ",
            literal(c.name, style="bold"),
            "? Targets not yet handed to the outbox are skipped; it cannot be started again.",
        )
        yes = await self.app.push_screen_wait(
            ConfirmScreen(question, yes_label="Cancel campaign", no_label="Keep it")
        )
        if yes:
            done_ = await lifecycle.cancel(self.context.db, self.context.actor, c.id)
            await self.reload()
            self.say(f"Cancelled campaign {done_.name}")

    def action_targets(self) -> None:
        if (c := self.selected) is not None:
            self.app.push_screen(TargetsForm(self.context, c), self._targets_added)

    async def _targets_added(self, report: object) -> None:
        if isinstance(report, CsvReport):
            self.say(report.summary)
            if report.problems:
                self.app.push_screen(report.screen())
            await self.reload()
        self.focus_default()

    def action_pool(self) -> None:
        if (c := self.selected) is not None:
            self.app.push_screen(PoolScreen(self.context, c), lambda _: self.focus_default())

    def action_results(self) -> None:
        if (c := self.selected) is not None:
            self.app.push_screen(ResultsScreen(self.context, c), lambda _: self.focus_default())
