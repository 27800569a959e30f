"""contacts import | export | list."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import TextIO, cast

import click

from console import files
from console.options import ROW_ID, db_option, emit_json, json_option, none_listed, with_db
from console.safe_text import clipped, printable
from core.db import Database
from core.people import contacts, contacts_csv
from core.people.authz import SYSTEM
from core.text import counted

OPERATOR = SYSTEM  # see console.commands.admin: the file's owner is the operator


@click.group("contacts")
def contacts_group() -> None:
    """Contacts: import, export, list, tag, delete."""


@contacts_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
@db_option
@with_db
async def contacts_import(db: Database, file: Path, as_json: bool) -> None:
    """Import contacts from a CSV FILE; bad rows are reported, good rows imported.

    Columns: name, job_title, email, ready, and one column per phone kind
    (mobile, landline, work, home, fax, other; several numbers separated by ;).
    Any other column becomes a custom field.
    """
    with files.open_csv_text(file) as stream:
        report = await contacts_csv.import_csv(db, OPERATOR, stream)
    if as_json:
        emit_json(
            {
                "imported": report.imported,
                "rejected_rows": report.rejected_rows,
                "already_known": report.already_known,
                "errors": [
                    {"row": e.row, "column": e.column, "reason": e.reason} for e in report.errors
                ],
            }
        )
    else:
        summary = f"imported {counted(report.imported, 'contact')}"
        if report.errors:
            summary += f", refused {counted(report.rejected_rows, 'row')}"
        if report.already_known:
            summary += (
                f" ({report.already_known} because a number in them already belongs to a contact)"
            )
        click.echo(summary)
        for error in report.errors:
            click.echo(
                f"row {error.row}, column {printable(error.column)}: {printable(error.reason)}",
                err=True,
            )
    if report.errors:
        sys.exit(1 if not report.imported else 0)


@contacts_group.command("export")
@click.argument(
    "file", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True), default="-"
)
@db_option
@with_db
async def contacts_export(db: Database, file: Path) -> None:
    """Export every contact as CSV to FILE (default: standard output).

    To a file or a pipe the CSV is exact; on a terminal control characters in
    the contacts' text are shown as visible escapes instead of acting.
    """
    if str(file) == "-":
        out = cast(TextIO, _TerminalSafe(sys.stdout)) if sys.stdout.isatty() else sys.stdout
        written = await contacts_csv.export_csv(db, OPERATOR, out)
    else:
        with file.open("w", encoding="utf-8", newline="") as stream:
            written = await contacts_csv.export_csv(db, OPERATOR, stream)
        click.echo(f"exported {counted(written, 'contact')} to {file}", err=True)


class _TerminalSafe(io.TextIOBase):
    """Writes to a terminal with every control character escaped (see printable)."""

    def __init__(self, terminal: TextIO) -> None:
        self._terminal = terminal

    def write(self, text: str) -> int:
        # The CSV line ends in \r\n; the \r would show as an escape on every line.
        self._terminal.write(printable(text.replace("\r\n", "\n"), keep_newlines=True))
        return len(text)


@contacts_group.command("list")
@click.option("--search", "-s", default=None, help="Name, job title, email or phone digits.")
@click.option(
    "--after", "after_id", type=ROW_ID, default=0, help="Start after this contact ID (paging)."
)
@click.option("--limit", type=click.IntRange(1, contacts.MAX_PAGE), default=50, show_default=True)
@json_option
@db_option
@with_db(reads_only=True)
async def contacts_list(
    db: Database, search: str | None, after_id: int, limit: int, as_json: bool
) -> None:
    """List contacts, a page at a time."""
    page = await contacts.list_page(db, OPERATOR, search=search, after_id=after_id, limit=limit)
    if as_json:
        emit_json(
            [
                {
                    "id": c.id,
                    "name": c.name,
                    "job_title": c.job_title,
                    "email": c.email,
                    "ready": c.ready,
                    "custom": c.custom,
                    "phones": [{"number": p.e164, "kind": p.kind} for p in c.phones],
                }
                for c in page
            ]
        )
        return
    if not page:
        if search:
            none_listed(f"contact matches {search!r}")
        elif after_id:
            none_listed(f"contacts after {after_id}")
        else:
            none_listed("contacts yet", "switchboard contacts import FILE adds them")
    for c in page:
        phones = ", ".join(f"{p.e164} ({p.kind})" for p in c.phones)
        ready = "ready" if c.ready else "not ready"
        click.echo(f"{c.id:>6} {clipped(c.name, 28):<28} {ready:<9} {phones}")
    if len(page) == limit:
        click.echo(f"more: --after {page[-1].id}", err=True)


@contacts_group.command("tag")
@click.argument("contact_id", metavar="CONTACT", type=ROW_ID)
@click.argument("tag_names", nargs=-1, required=True, metavar="TAG...")
@json_option
@db_option
@with_db
async def contacts_tag(
    db: Database, contact_id: int, tag_names: tuple[str, ...], as_json: bool
) -> None:
    """Give contact CONTACT (an ID) these tags, for campaign filters (tag=vip)."""
    from core.people import tags

    _show_tags(contact_id, await tags.tag(db, OPERATOR, contact_id, tag_names), as_json)


@contacts_group.command("untag")
@click.argument("contact_id", metavar="CONTACT", type=ROW_ID)
@click.argument("tag_names", nargs=-1, required=True, metavar="TAG...")
@json_option
@db_option
@with_db
async def contacts_untag(
    db: Database, contact_id: int, tag_names: tuple[str, ...], as_json: bool
) -> None:
    """Take these tags off contact CONTACT (any case)."""
    from core.people import tags

    _show_tags(contact_id, await tags.untag(db, OPERATOR, contact_id, tag_names), as_json)


@contacts_group.command("delete")
@click.argument("contact_id", metavar="CONTACT", type=ROW_ID)
@json_option
@db_option
@with_db
async def contacts_delete(db: Database, contact_id: int, as_json: bool) -> None:
    """Delete contact CONTACT (an ID): its conversations stay under their number, its
    campaign targets not yet sent are removed, its cases no longer list it."""
    done = await contacts.delete(db, OPERATOR, contact_id)
    if as_json:
        emit_json(
            {
                "contact": contact_id,
                "conversations_kept": done.conversations,
                "campaign_targets_removed": done.targets_removed,
                "cases": done.cases,
            }
        )
        return
    click.echo(
        f"deleted contact {contact_id} ({printable(done.contact.label)}):"
        f" {counted(done.conversations, 'conversation')} kept under their number,"
        f" {counted(done.targets_removed, 'campaign target')} removed,"
        f" {counted(done.cases, 'case')} no longer listing them"
    )


def _show_tags(contact_id: int, now: list[str], as_json: bool) -> None:
    if as_json:
        emit_json({"contact": contact_id, "tags": now})
        return
    shown = ", ".join(printable(t) for t in now) or "none"
    click.echo(f"contact {contact_id} tags: {shown}")
