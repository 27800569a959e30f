"""The statistics pane (issue #10, item 8): a table and a bar chart per agent or queue.

The figures come from core.statistics, which checks the right again; this
pane only shows them. The chart is textual-plotext (plotext drawn in a
Textual widget); it renders plotext's ANSI output, so every name put in it
goes through ``printable`` first and no escape sequence from a name reaches
the terminal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from console.context import ConsoleContext
from console.failures import ReportsFailures
from console.figures import COLUMNS, cell, days_ending
from console.removal import gone
from console.safe_text import clipped
from console.text import literal
from core import statistics
from core.people.authz import Action
from core.statistics import By, Report


@dataclass(frozen=True, slots=True)
class Period:
    key: str
    label: str
    days: int


PERIODS = (Period("t", "today", 1), Period("w", "7 days", 7), Period("m", "30 days", 30))
DEFAULT_PERIOD = "w"
CHART_SERIES = (
    ("Offered", "offered", "blue"),
    ("Accepted", "accepted", "green"),
    ("Missed", "missed", "red"),
    ("Handled", "handled", "cyan"),
)
"""Each series of the chart: its name, the row's figure, its colour (plotext's name for
an ANSI colour, which Rich reads alike for the legend above the chart)."""
CHART_LABEL = 10
"""Characters of a name under its bars: the chart must fit 80 columns."""


def may_view(context: ConsoleContext) -> bool:
    """Whether the pane is shown: the principal's statistics right (core checks it too)."""
    return context.may(Action.VIEW_STATISTICS)


def _legend(by: str) -> Text:
    """The chart's title and what each colour is, on one line."""
    legend = Text(f"Conversations by {by}: ", style="bold")
    for label, _, colour in CHART_SERIES:
        legend.append("■ ", style=colour)
        legend.append(f"{label}  ")
    return legend


class StatisticsTable(DataTable[Text]):
    pass


class StatisticsPane(ReportsFailures, Vertical):
    """Per agent or queue: offers, handled, first-response times and SMS sent."""

    DEFAULT_CSS = """
    StatisticsPane { height: 1fr; }
    StatisticsPane #statistics-period { height: auto; color: $text-muted; padding: 0 1; }
    StatisticsPane StatisticsTable { height: auto; max-height: 45%; }
    StatisticsPane #statistics-legend { height: 1; padding: 0 1; }
    StatisticsPane PlotextPlot { height: 1fr; min-height: 8; }
    """
    BINDINGS = [
        *(
            Binding(
                p.key,
                f"period('{p.key}')",
                p.label.capitalize(),
                id=f"statistics.period_{p.days}",
                tooltip=f"Statistics for {p.label}",
            )
            for p in PERIODS
        ),
        Binding(
            "b",
            "toggle_by",
            "By agent / queue",
            id="statistics.by",
            tooltip="One row per agent, or one per queue",
        ),
    ]

    period: reactive[str] = reactive(DEFAULT_PERIOD, init=False)
    by: reactive[By] = reactive(By.AGENT, init=False)

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__(id="statistics-pane")
        self.context = context
        self.report: Report | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="statistics-period")
        yield StatisticsTable(id="statistics-table", cursor_type="row", zebra_stripes=True)
        # The legend is a line of its own: plotext draws its legend inside the plot,
        # where at 80 columns it covered the first bars.
        yield Static(id="statistics-legend")
        yield PlotextPlot(id="statistics-chart")

    async def on_mount(self) -> None:
        if gone(self):
            return  # taken away before it composed: it has no parts
        table = self.query_one(StatisticsTable)
        table.add_column("Agent", key="name", width=18)
        for heading, attribute in COLUMNS:
            table.add_column(heading, key=attribute)
        self.load()

    def focus_default(self) -> None:
        self.query_one(StatisticsTable).focus()
        self.load()  # figures move on while another tab is shown

    def action_period(self, key: str) -> None:
        self.period = key

    def action_toggle_by(self) -> None:
        self.by = By.QUEUE if self.by is By.AGENT else By.AGENT

    def watch_period(self) -> None:
        self.load()

    def watch_by(self) -> None:
        self.load()

    @work(exclusive=True, group="statistics", exit_on_error=False, description="load statistics")
    async def load(self) -> None:
        chosen = next(p for p in PERIODS if p.key == self.period)
        today = self.context.now().date()
        start, end = days_ending(today, chosen.days, self.context.zone)
        report = await statistics.report(self.context.db, self.context.actor, start, end, self.by)
        if not gone(self):  # the tab taken away while reading (see console/removal.py)
            self.show(report, chosen)

    def show(self, report: Report, chosen: Period) -> None:
        self.report = report
        zone = self.context.zone
        self.query_one("#statistics-period", Static).update(
            Text.assemble(
                (f"{chosen.label.capitalize()}", "bold"),
                f" · {report.start.astimezone(zone):%Y-%m-%d}"
                f" to {report.end.astimezone(zone) - timedelta(days=1):%Y-%m-%d}",
                # The keys (t, w, m, b) are in the footer: this fits 80 columns.
                f" · by {report.by.value}",
            )
        )
        table = self.query_one(StatisticsTable)
        table.clear()
        table.columns["name"].label = Text(report.by.value.capitalize())
        for row in report.rows:
            table.add_row(
                literal(row.name),
                # Figures right-aligned under their headings, as numbers are read.
                *(Text(cell(row, attr).rjust(len(heading))) for heading, attr in COLUMNS),
                key=str(row.id),
            )
        self._chart(report)

    def _chart(self, report: Report) -> None:
        chart = self.query_one(PlotextPlot)
        plt = chart.plt
        plt.clear_data()
        plt.clear_figure()
        # plotext draws text as it is, and the widget reads its output as ANSI.
        names = [clipped(row.name, CHART_LABEL) for row in report.rows]
        series = [[getattr(row, attr) for row in report.rows] for _, attr, _ in CHART_SERIES]
        if names:
            plt.multiple_bar(names, series, color=[colour for _, _, colour in CHART_SERIES])
            # Whole numbers on the axis: these are counts.
            top = max(1, *(max(values) for values in series))
            step = max(1, -(-top // 5))
            plt.yticks(range(0, top + step, step))
        self.query_one("#statistics-legend", Static).update(_legend(report.by.value))
        chart.refresh()
