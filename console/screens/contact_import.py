"""Import contacts from a CSV file (i in the contacts tab), as ``switchboard contacts
import FILE`` does: the same columns, core's checks, good rows imported and each
refused cell listed by row and column after (``csv_problems``).

A file that cannot be read, or that core refuses whole (empty, no usable header,
not UTF-8), is shown under the form with the path kept.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Static

from console import files
from console.context import ConsoleContext
from console.screens.csv_problems import CsvReport, problem_lines
from console.screens.small_form import SmallForm, bindings
from console.widgets.editing import Input
from core.people import contacts_csv
from core.text import counted

COLUMNS_HELP = (
    "Columns: name, job_title, email, ready, tags, one per phone kind (mobile, landline,"
    " work, home, fax, other; several numbers separated by ;); any other column is a"
    " custom field."
)


class ContactImportForm(SmallForm):
    """Closes with a CsvReport once core imported what it could."""

    BINDINGS = bindings("contact_import", "import the file")
    DEFAULT_CSS = """
    ContactImportForm { align: center middle; }
    ContactImportForm > Vertical {
        width: 72; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
        overflow-y: auto;
    }
    ContactImportForm Label { margin-top: 1; }
    ContactImportForm #import-help { color: $text-muted; }
    ContactImportForm .form-error { color: $error; height: auto; margin-top: 1; }
    ContactImportForm Horizontal { height: auto; align-horizontal: right; }
    ContactImportForm Button { margin-left: 1; }
    """

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__(id="contact-import")
        self.context = context

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Import contacts from a CSV file", style="bold"))
            yield Static(COLUMNS_HELP, id="import-help")
            yield Label("CSV file")
            yield Input(placeholder="~/contacts.csv", id="import-path", compact=True)
            yield from self.buttons("Import")

    def on_mount(self) -> None:
        self.query_one("#import-path", Input).focus()

    async def save(self) -> CsvReport:
        path = files.typed_path(self.query_one("#import-path", Input).value, "a CSV file")
        with files.open_csv_text(path) as stream:
            report = await contacts_csv.import_csv(self.context.db, self.context.actor, stream)
        summary = f"Imported {counted(report.imported, 'contact')}"
        if report.errors:
            summary += f"; refused {counted(report.rejected_rows, 'row')}, listed"
        return CsvReport(summary, problem_lines(report.errors))
