"""contacts import | export | list."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from console.cli import db_option, emit_json, json_option, with_db
from console.safe_text import printable
from core import contacts, contacts_csv
from core.authz import SYSTEM
from core.db import Database
from core.errors import InvalidInput

OPERATOR = SYSTEM  # see console.commands.admin: the file's owner is the operator


@click.group("contacts")
def contacts_group() -> None:
    """Contacts: import, export, list."""


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
    try:
        with file.open(encoding="utf-8-sig", newline="") as stream:
            report = await contacts_csv.import_csv(db, OPERATOR, stream)
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"{file} is not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV"
        ) from None
    if as_json:
        emit_json(
            {
                "imported": report.imported,
                "errors": [
                    {"row": e.row, "column": e.column, "reason": e.reason} for e in report.errors
                ],
            }
        )
    else:
        click.echo(f"imported {report.imported} contact(s)")
        for error in report.errors:
            click.echo(
                f"row {error.row}, column {error.column}: {printable(error.reason)}", err=True
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
    """Export every contact as CSV to FILE (default: standard output)."""
    if str(file) == "-":
        written = await contacts_csv.export_csv(db, OPERATOR, sys.stdout)
    else:
        with file.open("w", encoding="utf-8", newline="") as stream:
            written = await contacts_csv.export_csv(db, OPERATOR, stream)
        click.echo(f"exported {written} contact(s) to {file}", err=True)


@contacts_group.command("list")
@click.option("--search", "-s", default=None, help="Name, job title, email or phone digits.")
@click.option("--after", "after_id", default=0, help="Start after this contact ID (paging).")
@click.option("--limit", default=50, show_default=True)
@json_option
@db_option
@with_db
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
    for c in page:
        phones = ", ".join(f"{p.e164} ({p.kind})" for p in c.phones)
        ready = "ready" if c.ready else "not ready"
        click.echo(f"{c.id:>6} {printable(c.name)[:28]:<28} {ready:<9} {phones}")
    if len(page) == limit:
        click.echo(f"more: --after {page[-1].id}", err=True)


def register(group: click.Group) -> None:
    group.add_command(contacts_group)
