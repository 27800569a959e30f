"""A6 drawn: one chat's alert timeline and the chart of every frequency × reminders.

Pure drawing of what core computed (``core.alerts.overview.preview``): the
timeline's steps with how many SMS each sends, and the seed's chart, alerts to
each person on a normal shift and the minutes a visitor has waited at the last
alert, with the chosen cell highlighted.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from core.alerts import timeline
from core.alerts.overview import PreviewReport
from core.text import counted

CHOSEN = "bold reverse"


def _staff(count: int) -> str:
    return counted(count, "staff member")


def timeline_table(report: PreviewReport) -> Table:
    """Minute, what is sent, to how many."""
    table = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold")
    table.add_column("Minute", justify="right")
    table.add_column("Sent")
    table.add_column("To")
    for step in report.preview.steps:
        shift = "on call" if step.kind == timeline.ESCALATION else "on shift"
        table.add_row(str(step.minute), step.label, f"{_staff(step.recipients)} {shift}")
    return table


def summary(report: PreviewReport) -> Text:
    """What the settings cost and when the on-call staff hear of a chat nobody takes."""
    preview = report.preview
    sms = f"{preview.alerts_per_chat:,} SMS" if preview.alerts_per_chat != 1 else "1 SMS"
    text = Text(f"A chat nobody takes: {sms}")
    if preview.escalation_wait is None:
        text.append("; no escalation")
    else:
        text.append(f"; on call hear at minute {preview.escalation_wait}")
    if preview.covered:
        text.append(f"; alerts for {preview.covered} min")
    return text.append(".")


def chart_for(report: PreviewReport) -> timeline.Chart:
    """The seed's chart, with a row for the chosen frequency when it is not one of its own."""
    every = set(timeline.CHART_EVERY) | ({report.every} if report.every else set())
    return timeline.chart(report.escalate_after, sorted(every))


def chart_table(report: PreviewReport) -> Table:
    """Alerts per person / longest wait (min), per frequency (rows) × reminders (columns)."""
    chart = chart_for(report)
    table = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold")
    table.add_column("Every", justify="right")
    for count in chart.reminders:
        table.add_column(f"{count} rem." if count else "none", justify="right")
    for row in chart.rows:
        cells = [Text(f"{row[0].every} min")]
        for cell in row:
            chosen = cell.every == report.every and cell.reminders == report.reminders
            shown = f"{cell.alerts}/{cell.longest_wait}m"
            cells.append(Text(shown, style=CHOSEN if chosen else ""))
        table.add_row(*cells)
    return table
