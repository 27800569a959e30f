"""Contacts in and out of CSV files (needs Action.IMPORT_CONTACTS).

The format
----------
* Comma-separated, one contact per row, fields quoted as spreadsheets do
  (RFC 4180). Open files with ``newline=""`` so quoted line breaks survive.
  A UTF-8 byte-order mark at the start is ignored.
* The first row is a header naming the columns, in any order. Names are
  matched case-insensitively with surrounding spaces trimmed; the same name
  twice is refused. The header must have a ``name`` column or a phone column.
* Known columns:

  - ``name``, ``job_title``, ``email``
  - ``ready``: true/false, yes/no or 1/0 (any case); empty means true.
  - ``tags``: the contact's tags (campaign filters' ``tag=``), separated by
    ``;``; each 1-40 characters, any case one tag (``core.people.tags``).
  - Phone columns, one per kind: ``mobile``, ``landline``, ``work``,
    ``home``, ``fax``, ``other``. A cell may hold several numbers separated
    by ``;``. Numbers without a country code are read in the account's
    default region (setting ``default_region``). Only mobiles can be texted.

* Any other column is a custom field named by its header (as written, trimmed);
  empty cells are skipped. A header that names a phone without its kind
  (``phone``, ``number``, ``telephone``, ``cell``…) refuses the file: as a custom
  field its numbers could never be texted, and which kind they are is the
  user's to say.
* Rows are numbered as a spreadsheet shows them: the header is row 1.
  Entirely empty rows are skipped.

Import checks every row first. A row with any bad cell is skipped whole and
reported, one ``RowError`` per bad cell (row, column as written in the
header, reason); so is a row with neither a name nor a phone number, a row
with a number an earlier row of the file has, and a row with a number that
already belongs to a contact (a number leads to one contact: replies would
reach the wrong one). So importing the same file twice adds nobody the
second time; every row is reported instead. The good rows are then stored
in one transaction, in batches.

The file is read strictly as CSV: a quote that is never closed, or text
after a closing quote, refuses the whole file naming the row (a lenient
reader would swallow the rows after it into one cell). So does a cell
longer than ``csv.field_size_limit()`` (131,072 characters) and text that
is not UTF-8. A name, job title or email spanning lines is refused for the
row, since it nearly always means a quote lost its pair; any other control
character is refused as a contact refuses it (``contacts.prepare``).

Export writes the same format: the known columns, then one column per custom
field name in use (sorted). It reads the contacts in keyset pages, never all
at once. Text that a spreadsheet would run as a formula (starting with
``= + - @``, tab or carriage return) is written with a leading ``'``, and a
text starting with ``'`` gets one more, in the header (custom field names)
as in the cells; import removes that one quote again, so export then import
gives back the same contacts.
"""

from __future__ import annotations

import asyncio
import csv
from itertools import zip_longest
from typing import TextIO

from core import settings
from core.db import Database
from core.errors import InvalidInput
from core.people import contacts, tags
from core.people.authz import Action, Actor, authorize
from core.people.contacts import PHONE_KINDS, Contact, NewContact, Phone
from core.records import record
from core.sms.phones import normalise

TEXT_COLUMNS = ("name", "job_title", "email")
KNOWN_COLUMNS = (*TEXT_COLUMNS, "ready", *PHONE_KINDS, "tags")
BATCH_SIZE = 5_000
EXPORT_PAGE = 500

# Headers people give a phone column; the kind (mobile or not) decides whether it is texted.
_PHONE_WITHOUT_KIND = frozenset(
    {
        "phone", "phones", "phone number", "phone_number", "phone numbers", "phonenumber",
        "number", "telephone", "tel", "cell", "cellphone", "cell phone", "mobile phone",
        "mobile_phone", "mobile number", "mobile_number", "msisdn", "e164",
    }
)  # fmt: skip
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})
# Characters that make a spreadsheet read a cell as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@record
class RowError:
    row: int
    """The row as a spreadsheet numbers it: the header is row 1."""
    column: str
    reason: str


@record
class ImportReport:
    imported: int
    errors: tuple[RowError, ...]
    already_known: int = 0
    """Rows refused because a number in them already belongs to a contact."""

    @property
    def rejected_rows(self) -> int:
        """How many rows were not imported."""
        return len({e.row for e in self.errors})


@record
class _Column:
    title: str  # as written in the header, trimmed
    key: str  # lower case: a known column name, or the custom field's key in lower case

    @property
    def is_custom(self) -> bool:
        return self.key not in KNOWN_COLUMNS


# --- import ----------------------------------------------------------------


async def import_csv(db: Database, actor: Actor, stream: TextIO) -> ImportReport:
    """Import contacts from CSV text (format in the module docstring).

    Returns how many were imported and one RowError per bad cell; rows whose
    number already belongs to a contact are counted in ``already_known``.
    Raises NotAllowed, or InvalidInput when the file is empty, has no usable
    header row, or cannot be read as CSV or as UTF-8 (nothing is imported then).
    """
    authorize(actor, Action.IMPORT_CONTACTS)
    region = (await settings.load(db)).default_region
    # Checking numbers costs tens of microseconds each: do it off the event
    # loop, and before the transaction so the write lock is held only to write.
    parsed, errors, columns = await asyncio.to_thread(_parse, stream, region)
    known = 0
    if parsed:
        async with db.transaction() as tx:
            # Checked inside the transaction: nobody can add the number in between.
            owners = await contacts.owners_in(tx, [p.e164 for _, c in parsed for p in c.phones])
            good: list[NewContact] = []
            for row, contact in parsed:
                taken = [p for p in contact.phones if p.e164 in owners]
                if not taken:
                    good.append(contact)
                    continue
                known += 1
                errors.extend(
                    RowError(
                        row,
                        _title_of(columns, p.kind),
                        f"{p.e164} already belongs to contact {owners[p.e164]}; a number"
                        " leads to one contact, so edit that contact instead",
                    )
                    for p in taken
                )
            for start in range(0, len(good), BATCH_SIZE):
                await contacts.create_many_in(tx, good[start : start + BATCH_SIZE])
            if good:
                await tx.emit(
                    "contacts.imported",
                    "contact",
                    actor_id=actor.id,
                    imported=len(good),
                    rejected_rows=len({e.row for e in errors}),
                )
        errors.sort(key=lambda e: e.row)
        return ImportReport(len(good), tuple(errors), known)
    return ImportReport(0, tuple(errors))


# What the csv module's complaints mean for a person fixing the file.
_CSV_HINTS = {
    "unexpected end of data": 'a quote (") opened in this row is never closed',
    "expected after": 'a quote (") closes this cell before its end: quote the whole cell'
    ' and double every quote inside it ("")',
    "field larger than field limit": f"a cell is longer than {csv.field_size_limit():,} characters",
}


def _parse(
    stream: TextIO, region: str
) -> tuple[list[tuple[int, NewContact]], list[RowError], list[_Column]]:
    """Every good row (its number and the contact), the errors of the bad ones, the columns."""
    # strict: a stray quote is an error, not the start of a cell that runs on
    # to the next quote, swallowing the rows in between.
    reader = csv.reader(stream, strict=True)
    good: list[tuple[int, NewContact]] = []
    errors: list[RowError] = []
    first_row: dict[str, int] = {}  # e164 -> the good row that has it
    row_number = 0  # the last row read whole; a csv.Error is in the next one
    try:
        columns = _header(next(reader, None))
        row_number = 1
        for row_number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            contact, row_errors = _parse_row(row_number, columns, cells, region)
            if contact is not None:
                row_errors = [
                    RowError(
                        row_number,
                        _title_of(columns, p.kind),
                        f"{p.e164} is already in row {first_row[p.e164]}; a number belongs"
                        " to one contact",
                    )
                    for p in contact.phones
                    if p.e164 in first_row
                ]
            if row_errors:
                errors.extend(row_errors)
            else:
                assert contact is not None
                first_row.update(dict.fromkeys((p.e164 for p in contact.phones), row_number))
                good.append((row_number, contact))
    except csv.Error as exc:
        hint = next((h for key, h in _CSV_HINTS.items() if key in str(exc)), str(exc))
        raise InvalidInput(
            f"the file cannot be read as CSV at row {row_number + 1}: {hint}. Nothing was imported."
        ) from None
    except UnicodeDecodeError:
        # The text is decoded a block ahead of the rows read, so the row is a lower bound.
        raise InvalidInput(
            f"the file is not UTF-8 text (a byte UTF-8 does not allow is in row {row_number + 1}"
            " or after it); save it as UTF-8 CSV. Nothing was imported."
        ) from None
    return good, errors, columns


def _header(cells: list[str] | None) -> list[_Column]:
    """The columns named by the header row; InvalidInput if there is no usable one."""
    if cells and cells[0].startswith("\ufeff"):
        cells = [cells[0][1:], *cells[1:]]  # a byte-order mark, as Excel writes
    if not cells or not any(cell.strip() for cell in cells):
        raise InvalidInput(
            "the file is empty: its first row must name the columns, for example name,mobile,email"
        )
    titles = [_unescape(cell.strip()) for cell in cells]  # export escapes names like cells
    columns = [_Column(title, title.lower()) for title in titles]
    seen: set[str] = set()
    for column in columns:
        if column.key and column.key in seen:
            raise InvalidInput(
                f"the header row names the column {column.title!r} twice; "
                "rename or remove one of them"
            )
        seen.add(column.key)
        if column.key in _PHONE_WITHOUT_KIND:
            raise InvalidInput(
                f"the column {column.title!r} does not say which kind of phone it holds:"
                f" name it {', '.join(PHONE_KINDS[:-1])} or {PHONE_KINDS[-1]} (only mobiles"
                " can be texted)"
            )
        if column.key and column.is_custom:
            contacts.check_custom_key(column.title)
    if not seen & {"name", *PHONE_KINDS}:
        found = ", ".join(repr(c.title) for c in columns if c.title)
        raise InvalidInput(
            "the first row must be a header naming the columns, with a name column or a "
            f"phone column ({', '.join(PHONE_KINDS)}); it has {found}"
        )
    return columns


def _parse_row(
    row: int, columns: list[_Column], cells: list[str], region: str
) -> tuple[NewContact | None, list[RowError]]:
    """The row as a NewContact, or None and one RowError per bad cell."""
    errors: list[RowError] = []
    text = dict.fromkeys(TEXT_COLUMNS, "")
    ready = True
    phones: list[Phone] = []
    phone_columns: dict[str, str] = {}  # e164 -> the column it was first seen in
    custom: dict[str, str] = {}
    tag_names: list[str] = []
    for position, (column, raw) in enumerate(zip_longest(columns, cells), start=1):
        value = (raw or "").strip()
        if not value:
            continue
        try:
            if column is None or not column.key:
                raise InvalidInput("this cell has no column name in the header row")
            if column.key in TEXT_COLUMNS:
                if "\n" in value or "\r" in value:
                    raise InvalidInput(
                        f'the {column.key.replace("_", " ")} spans lines: a quote (") in this'
                        " row is probably missing its pair"
                    )
                text[column.key] = _check_text(column.key, _unescape(value))
            elif column.key == "ready":
                ready = _parse_ready(value)
            elif column.key in PHONE_KINDS:
                phones += _parse_phones(value, column, region, phone_columns)
            elif column.key == "tags":
                tag_names = tags.check_tags(_unescape(t) for t in value.split(";") if t.strip())
            else:
                custom[column.title] = contacts.check_custom_value(column.title, _unescape(value))
        except InvalidInput as exc:
            title = column.title if column is not None and column.title else f"column {position}"
            errors.append(RowError(row, title, str(exc)))
    if not text["name"] and not phones and not _has_any(columns, cells, {"name", *PHONE_KINDS}):
        errors.append(
            RowError(row, _title_of(columns, "name"), "a contact needs a name or a phone number")
        )
    if errors:
        return None, errors
    return NewContact(
        text["name"],
        text["job_title"],
        text["email"],
        ready,
        tuple(phones),
        custom,
        tuple(tag_names),
    ), []


def _check_text(key: str, value: str) -> str:
    if key == "name":
        return contacts.check_name(value)
    if key == "job_title":
        return contacts.check_job_title(value)
    return contacts.check_email(value)


def _parse_ready(value: str) -> bool:
    word = value.lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise InvalidInput(f"ready must be true or false (or yes/no, 1/0), not {value!r}")


def _parse_phones(value: str, column: _Column, region: str, seen: dict[str, str]) -> list[Phone]:
    """The numbers in one cell (separated by ;), refusing a number the row already has."""
    found = []
    for part in value.split(";"):
        number = part.strip()
        if not number:
            continue
        e164 = normalise(number, region)
        if e164 in seen:
            where = "this cell" if seen[e164] == column.title else f"column {seen[e164]!r}"
            raise InvalidInput(f"{number!r} ({e164}) is already in {where} of this row")
        seen[e164] = column.title
        found.append(Phone(e164, column.key))
    return found


def _has_any(columns: list[_Column], cells: list[str], keys: set[str]) -> bool:
    """Whether any cell of these columns holds something (even something invalid)."""
    return any(
        column.key in keys and cell.strip() for column, cell in zip(columns, cells, strict=False)
    )


def _title_of(columns: list[_Column], key: str) -> str:
    return next((c.title for c in columns if c.key == key), key)


def _unescape(value: str) -> str:
    """Undo ``_escape``: drop the quote export put before a formula-like text."""
    if value.startswith("'") and value[1:].startswith((*_FORMULA_START, "'")):
        return value[1:]
    return value


# --- export ----------------------------------------------------------------


async def export_csv(db: Database, actor: Actor, stream: TextIO) -> int:
    """Write every contact to ``stream`` as CSV; return how many were written.

    Columns: name, job_title, email, ready, the phone kinds, then the custom
    field names in use, sorted. Raises NotAllowed.
    """
    authorize(actor, Action.IMPORT_CONTACTS)
    keys = await _custom_keys(db)
    writer = csv.writer(stream)
    writer.writerow([*KNOWN_COLUMNS, *(_escape(key) for key in keys)])
    written, after_id = 0, 0
    while page := await contacts.list_page(db, actor, after_id=after_id, limit=EXPORT_PAGE):
        tagged = await _tags_of(db, [c.id for c in page])
        writer.writerows(_export_row(contact, keys, tagged.get(contact.id, "")) for contact in page)
        written += len(page)
        after_id = page[-1].id
    return written


async def _custom_keys(db: Database) -> list[str]:
    rows = await db.fetchall("SELECT DISTINCT j.key FROM contacts AS c, json_each(c.custom) AS j")
    return sorted(r[0] for r in rows)


async def _tags_of(db: Database, ids: list[int]) -> dict[int, str]:
    """Each contact's tags as the tags column writes them (sorted, ;-separated)."""
    rows = await db.fetchall(
        "SELECT contact_id, group_concat(tag, ';') FROM"
        " (SELECT contact_id, tag FROM contact_tags"
        f"  WHERE contact_id IN ({', '.join('?' * len(ids))}) ORDER BY contact_id, tag)"
        " GROUP BY contact_id",
        tuple(ids),
    )
    return {r[0]: r[1] for r in rows}


def _export_row(contact: Contact, keys: list[str], tag_text: str) -> list[str]:
    by_kind: dict[str, list[str]] = {kind: [] for kind in PHONE_KINDS}
    for phone in contact.phones:
        by_kind.setdefault(phone.kind, []).append(phone.e164)
    return [
        _escape(contact.name),
        _escape(contact.job_title),
        _escape(contact.email),
        "true" if contact.ready else "false",
        *(";".join(by_kind[kind]) for kind in PHONE_KINDS),
        ";".join(_escape(t) for t in tag_text.split(";")) if tag_text else "",
        *(_escape(contact.custom.get(key, "")) for key in keys),
    ]


def _escape(value: str) -> str:
    """Keep a spreadsheet from running the text as a formula (see module docstring)."""
    if value.startswith((*_FORMULA_START, "'")):
        return "'" + value
    return value
