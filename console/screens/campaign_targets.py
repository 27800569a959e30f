"""Adding a campaign's targets (t): contacts by id, a live filter, or a CSV file.

One of the three per save, as the CLI's ``targets add``. Core refuses a
wrong filter part or an unreadable file whole (shown under the form, what
was typed kept); a CSV's bad rows do not stop it: the good rows are added
and every bad cell is listed, by row and column, after (``csv_problems``).
"""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Static

from console import files
from console.context import ConsoleContext
from console.screens.csv_problems import CsvReport, problem_lines
from console.screens.small_form import SmallForm, bindings
from console.text import literal
from console.widgets.editing import Input
from core.campaigns import targets, targets_csv
from core.campaigns.campaigns import Campaign
from core.errors import InvalidInput
from core.text import counted


def _ids(text: str) -> list[int]:
    ids: list[int] = []
    for part in text.replace(",", " ").split():
        if not part.isdigit():
            raise InvalidInput(f"contact ids are numbers separated by commas, not {part!r}")
        ids.append(int(part))
    return ids


def read_csv(raw: str) -> bytes:
    """The file at ``raw`` as typed (``~`` expanded)."""
    return files.read_csv(files.typed_path(raw, "a CSV file"))


class TargetsForm(SmallForm):
    """Closes with a CsvReport once core added what it could."""

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

    async def save(self) -> CsvReport:
        ids, flt, csv = (self.value(f"targets-{n}") for n in ("contacts", "filter", "csv"))
        if sum(1 for v in (ids, flt, csv) if v) != 1:
            raise InvalidInput("give contacts, a filter or a CSV file: one of the three")
        db, actor, c = self.context.db, self.context.actor, self.campaign.id
        if ids:
            added = await targets.add_contacts(db, actor, c, _ids(ids))
            summary = f"Added {counted(added.added, 'target')}"
            if added.already:
                summary += f"; {added.already} already targeted"
            if added.no_mobile:
                summary += (
                    f"; no mobile: {'contact' if len(added.no_mobile) == 1 else 'contacts'}"
                    f" {', '.join(map(str, added.no_mobile))}"
                )
            if added.unknown:
                summary += f"; no such contact: {', '.join(map(str, added.unknown))}"
            return CsvReport(summary)
        if flt:
            found = await targets.add_filter(db, actor, c, flt)
            summary = f"Filter {found.filter}: added {counted(found.added, 'target')}"
            if found.no_mobile:
                summary += (
                    f"; {counted(found.no_mobile, 'matching contact')}"
                    f" {'has' if found.no_mobile == 1 else 'have'} no mobile"
                )
            return CsvReport(summary)
        data = await asyncio.to_thread(read_csv, csv)
        return csv_report(await targets_csv.import_csv(db, actor, c, data))


def csv_report(added: targets_csv.CsvAdded) -> CsvReport:
    """What a CSV added, and each refused cell."""
    summary = f"Added {counted(added.added, 'target')} from the CSV"
    if added.errors:
        summary += f"; refused {counted(added.rejected_rows, 'row')}, listed"
    return CsvReport(summary, problem_lines(added.errors))
