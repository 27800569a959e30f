"""Adding a campaign's targets (t): contacts by id, a live filter, or a CSV file.

One of the three per save, as the CLI's ``targets add``. Core refuses a
wrong filter part or an unreadable file whole (shown under the form, what
was typed kept); a CSV's bad rows do not stop it: the good rows are added
and every bad cell is listed, by row and column, in a report after.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from console import files
from console.context import ConsoleContext
from console.screens.small_form import SmallForm, bindings
from console.text import literal
from core.campaigns import targets, targets_csv
from core.campaigns.campaigns import Campaign
from core.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class TargetsReport:
    summary: str
    problems: tuple[str, ...] = ()
    """The CSV's bad cells, "row 3, column phone: …" (already shown literally)."""

    def screen(self) -> ProblemsScreen:
        return ProblemsScreen(self)


def _ids(text: str) -> list[int]:
    ids: list[int] = []
    for part in text.replace(",", " ").split():
        if not part.isdigit():
            raise InvalidInput(f"contact ids are numbers separated by commas, not {part!r}")
        ids.append(int(part))
    return ids


def read_csv(raw: str) -> bytes:
    """The file at ``raw`` as typed (``~`` expanded)."""
    return files.read_csv(Path(raw.strip()).expanduser())


class TargetsForm(SmallForm):
    """Closes with a TargetsReport once core added what it could."""

    BINDINGS = bindings("campaign_targets", "the targets")
    DEFAULT_CSS = """
    TargetsForm { align: center middle; }
    TargetsForm > Vertical {
        width: 72; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    TargetsForm Label { margin-top: 1; }
    TargetsForm #targets-help { color: $text-muted; }
    TargetsForm .form-error { color: $error; height: auto; margin-top: 1; }
    TargetsForm Horizontal { height: auto; align-horizontal: right; }
    TargetsForm Button { margin-left: 1; }
    """

    def __init__(self, context: ConsoleContext, campaign: Campaign) -> None:
        super().__init__(id="campaign-targets")
        self.context = context
        self.campaign = campaign

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text.assemble(("Add targets to ", "bold"), literal(self.campaign.name)))
            yield Static("Fill one of the three.", id="targets-help")
            yield Label("Contacts (ids)")
            yield Input(placeholder="12, 15, 40", id="targets-contacts", compact=True)
            yield Label("Live filter (replaces the campaign's)")
            yield Input(
                placeholder="ready=true tag=vip custom.region=north",
                id="targets-filter",
                compact=True,
            )
            yield Label("CSV file (a phone column; other columns are merge fields)")
            yield Input(placeholder="~/people.csv", id="targets-csv", compact=True)
            yield from self.buttons()

    def on_mount(self) -> None:
        self.query_one("#targets-filter", Input).focus()

    def value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value.strip()

    async def save(self) -> TargetsReport:
        ids, flt, csv = (self.value(f"targets-{n}") for n in ("contacts", "filter", "csv"))
        if sum(1 for v in (ids, flt, csv) if v) != 1:
            raise InvalidInput("give contacts, a filter or a CSV file: one of the three")
        db, actor, c = self.context.db, self.context.actor, self.campaign.id
        if ids:
            added = await targets.add_contacts(db, actor, c, _ids(ids))
            summary = f"Added {added.added} target(s)"
            if added.already:
                summary += f"; {added.already} already targeted"
            if added.no_mobile:
                summary += f"; no mobile: contact(s) {', '.join(map(str, added.no_mobile))}"
            if added.unknown:
                summary += f"; no such contact: {', '.join(map(str, added.unknown))}"
            return TargetsReport(summary)
        if flt:
            found = await targets.add_filter(db, actor, c, flt)
            summary = f"Filter {found.filter}: added {found.added} target(s)"
            if found.no_mobile:
                summary += f"; {found.no_mobile} matching contact(s) have no mobile"
            return TargetsReport(summary)
        data = await asyncio.to_thread(read_csv, csv)
        return csv_report(await targets_csv.import_csv(db, actor, c, data))


def csv_report(added: targets_csv.CsvAdded) -> TargetsReport:
    """What a CSV added, and each refused cell."""
    summary = f"Added {added.added} target(s) from the CSV"
    if added.errors:
        summary += f"; refused {added.rejected_rows} row(s), listed"
    problems = tuple(f"row {e.row}, column {e.column}: {e.reason}" for e in added.errors)
    return TargetsReport(summary, problems)


class ProblemsScreen(ModalScreen[None]):
    """A CSV's refused cells, one a line, shown literally; Esc closes."""

    DEFAULT_CSS = """
    ProblemsScreen { align: center middle; }
    ProblemsScreen > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: round $warning; background: $surface; padding: 0 1;
    }
    ProblemsScreen VerticalScroll { height: auto; max-height: 16; }
    ProblemsScreen #problems-hint { color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape,enter", "close", "Close", id="campaign_problems.close", tooltip="Close"),
    ]

    def __init__(self, report: TargetsReport) -> None:
        super().__init__(id="campaign-problems")
        self.report = report

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(literal(self.report.summary, style="bold", one_line=False))
            with VerticalScroll():
                # Each line literal on its own: a CSV header can hold a line break.
                lines = Text("\n").join(literal(line) for line in self.report.problems)
                yield Static(lines, id="problems-list")
            yield Static("Esc close", id="problems-hint")

    def action_close(self) -> None:
        self.dismiss(None)
