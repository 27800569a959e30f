"""S1: a campaign's targets from a CSV file, with per-recipient merge values.

The format
----------
* Comma-separated, quoted as spreadsheets do (RFC 4180), UTF-8; a byte-order
  mark at the start is ignored. The first row names the columns (any case,
  spaces trimmed); rows are numbered as a spreadsheet shows them (header 1).
* One phone column, named ``phone`` or ``mobile``: the number texted. Numbers
  without a country code are read in the account's default region.
* Every other column is a merge field of the campaign's template, named by
  ``templates.field_name`` of its header ("Account manager" is
  ``{{account_manager}}``); its values are stored per target. A row's value
  wins over the contact's field of the same name.
* A number that belongs to a contact makes that contact the target (its
  name, custom fields, Ready and opt-out then apply).

Unlike the contacts import, a bad row does not stop the others: every good
row is added and each bad one reported by row and column (a bad or
non-mobile number, a number or contact an earlier row or an earlier target
of the campaign has, a value too long, text that is not UTF-8 or holds
control characters). Only a file that cannot be read as CSV at all, or whose
header is unusable, is refused whole.

``create_with_csv`` makes a draft with a file's rows as its first targets, so its
text may use the columns from the start (``campaigns create --csv``).
"""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any, Final

from core import settings
from core.campaigns import campaigns
from core.campaigns.campaigns import Campaign
from core.campaigns.fields import MAX_PHONE
from core.campaigns.lookup import CampaignName, authorized_in, ensure_open
from core.campaigns.targets import merge_json
from core.db import Database, Tx
from core.errors import InvalidInput
from core.merging import field_name
from core.people.authz import Action, Actor, authorize
from core.people.contacts import MAX_CUSTOM_VALUE
from core.people.contacts_csv import RowError
from core.records import record
from core.sms.phones import may_be_mobile, normalise
from core.text import control_refusal, has_control_characters

PHONE_COLUMNS: Final = ("phone", "mobile")
MAX_ROWS: Final = 1_000_000
MAX_COLUMNS: Final = 50
_CHUNK: Final = 500
_BATCH: Final = 5_000


@record
class CsvAdded:
    added: int
    errors: tuple[RowError, ...]
    matched_contacts: int = 0
    """Added rows whose number belongs to a contact (targeted as that contact)."""

    @property
    def rejected_rows(self) -> int:
        return len({e.row for e in self.errors})


@record
class _Row:
    row: int
    phone: str
    values: dict[str, str]


async def import_csv(db: Database, actor: Actor, campaign: CampaignName, data: bytes) -> CsvAdded:
    """Add the file's good rows as targets (format in the module docstring)."""
    # Checked before the file is read: a refusal must not depend on the file.
    ref = await authorized_in(db, actor, Action.MANAGE_CAMPAIGN, campaign)
    ensure_open(ref)
    region = (await settings.load(db)).default_region
    # Reading numbers costs tens of microseconds each: off the event loop, outside the lock.
    rows, errors, phone_title = await asyncio.to_thread(_parse, data, region)
    async with db.transaction() as tx:
        ref = await authorized_in(tx, actor, Action.MANAGE_CAMPAIGN, ref.id)
        ensure_open(ref)
        return await _add_in(tx, actor, ref.id, rows, errors, phone_title)


async def create_with_csv(
    db: Database,
    actor: Actor,
    name: str,
    sender: str,
    template: str,
    data: bytes,
    **options: Any,
) -> tuple[Campaign, CsvAdded]:
    """A new draft (``campaigns.create``, with its ``options``) with the file's good rows
    as its targets, whose text may use the file's columns: one transaction, so a text
    they do not make good leaves neither the draft nor its targets."""
    authorize(actor, Action.MANAGE_CAMPAIGN, None)
    region = (await settings.load(db)).default_region
    rows, errors, phone_title = await asyncio.to_thread(_parse, data, region)
    added: list[CsvAdded] = []

    async def targets(tx: Tx, campaign_id: int) -> None:
        added.append(await _add_in(tx, actor, campaign_id, rows, errors, phone_title))

    made = await campaigns.create(db, actor, name, sender, template, targets=targets, **options)
    return made, added[0]


async def _add_in(
    tx: Tx,
    actor: Actor,
    campaign_id: int,
    rows: list[_Row],
    errors: list[RowError],
    phone_title: str,
) -> CsvAdded:
    """Add ``rows`` not refused against the campaign; ``errors`` are the file's own."""
    good, matched, refused = await _against_campaign(tx, campaign_id, rows, phone_title)
    errors = sorted([*errors, *refused], key=lambda e: e.row)
    for start in range(0, len(good), _BATCH):
        await tx.executemany(
            "INSERT INTO campaign_targets (campaign_id, contact_id, phone, merge_values,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (campaign_id, contact, r.phone, merge_json(r.values), tx.now_ms, tx.now_ms)
                for r, contact in good[start : start + _BATCH]
            ],
        )
    if good:
        await tx.emit(
            "campaign.targets_added",
            "campaign",
            campaign_id,
            actor_id=actor.id,
            added=len(good),
            rejected_rows=len({e.row for e in errors}),
        )
    return CsvAdded(len(good), tuple(errors), matched)


async def _against_campaign(
    tx: Tx, campaign_id: int, rows: list[_Row], phone_title: str
) -> tuple[list[tuple[_Row, int | None]], int, list[RowError]]:
    """The rows whose number is no target yet, each with the contact it leads to."""
    good: list[tuple[_Row, int | None]] = []
    errors: list[RowError] = []
    matched = 0
    taken = {
        r[0]: r[1]
        for r in await tx.fetchall(
            "SELECT phone, contact_id FROM campaign_targets WHERE campaign_id = ?", (campaign_id,)
        )
    }
    targeted_contacts = {c for c in taken.values() if c is not None}
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        owners: dict[str, tuple[int, str]] = {}
        for r in await tx.fetchall(
            "SELECT e164, contact_id, kind FROM contact_phones"
            f" WHERE e164 IN ({', '.join('?' * len(chunk))}) ORDER BY contact_id DESC",
            tuple(r.phone for r in chunk),
        ):
            owners[r[0]] = (r[1], r[2])  # the lowest contact id wins, as find_by_phone
        for row in chunk:
            if row.phone in taken:
                why = f"{row.phone} is already a target of this campaign"
                errors.append(RowError(row.row, phone_title, why))
                continue
            owner = owners.get(row.phone)
            if owner is not None and owner[1] != "mobile":
                errors.append(
                    RowError(
                        row.row,
                        phone_title,
                        f"{row.phone} is contact {owner[0]}'s {owner[1]} number; SMS goes to"
                        " mobiles only",
                    )
                )
                continue
            contact = owner[0] if owner is not None else None
            if contact is not None and contact in targeted_contacts:
                errors.append(
                    RowError(
                        row.row,
                        phone_title,
                        f"{row.phone} belongs to contact {contact}, already a target of this"
                        " campaign (a contact is texted once)",
                    )
                )
                continue
            if contact is not None:
                targeted_contacts.add(contact)
                matched += 1
            taken[row.phone] = contact
            good.append((row, contact))
    return good, matched, errors


_CSV_HINTS: Final = {
    "unexpected end of data": 'a quote (") opened in this row is never closed',
    "expected after": 'a quote (") closes this cell before its end: quote the whole cell'
    ' and double every quote inside it ("")',
    "field larger than field limit": f"a cell is longer than {csv.field_size_limit():,} characters",
}


def _parse(data: bytes, region: str) -> tuple[list[_Row], list[RowError], str]:
    """The good rows, one RowError per bad cell, and the phone column's title."""
    # surrogateescape: a byte that is not UTF-8 becomes a marker in its cell, so
    # that cell (row and column) is refused and the other rows are kept.
    text = data.decode("utf-8", "surrogateescape").removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[_Row] = []
    errors: list[RowError] = []
    first_row: dict[str, int] = {}
    row_number = 0
    try:
        header = next(reader, None)
        titles, names, phone_at = _header(header)
        row_number = 1
        for row_number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) + len({e.row for e in errors}) >= MAX_ROWS:
                raise InvalidInput(f"the file has more than {MAX_ROWS:,} rows; split it")
            row, bad = _row(row_number, titles, names, phone_at, cells, region)
            if row is not None and row.phone in first_row:
                bad = [
                    RowError(
                        row_number,
                        titles[phone_at],
                        f"{row.phone} is already in row {first_row[row.phone]}",
                    )
                ]
            if bad:
                errors.extend(bad)
            elif row is not None:
                first_row[row.phone] = row_number
                rows.append(row)
    except csv.Error as exc:
        hint = next((h for key, h in _CSV_HINTS.items() if key in str(exc)), str(exc))
        raise InvalidInput(
            f"the file cannot be read as CSV at row {row_number + 1}: {hint}. Nothing was added."
        ) from None
    return rows, errors, titles[phone_at]


def _header(cells: list[str] | None) -> tuple[list[str], list[str], int]:
    if not cells or not any(cell.strip() for cell in cells):
        raise InvalidInput(
            "the file is empty: its first row must name the columns, for example phone,name"
        )
    if len(cells) > MAX_COLUMNS:
        raise InvalidInput(f"the file has {len(cells)} columns; at most {MAX_COLUMNS}")
    titles = [cell.strip() for cell in cells]
    for position, title in enumerate(titles, start=1):
        if _not_text(title):
            raise InvalidInput(
                f"the name of column {position} is not UTF-8 text or holds control characters"
            )
    keys = [t.lower() for t in titles]
    phones = [i for i, k in enumerate(keys) if k in PHONE_COLUMNS]
    if len(phones) != 1:
        found = ", ".join(repr(t) for t in titles if t)
        raise InvalidInput(
            f"the header row needs exactly one phone column, named phone or mobile; it has {found}"
        )
    names: list[str] = []
    seen: dict[str, str] = {}
    for position, title in enumerate(titles):
        if position == phones[0]:
            names.append("phone")
            continue
        name = field_name(title)
        if name is None:
            raise InvalidInput(
                f"column {position + 1} ({title!r}) has no name a merge field can take;"
                " name it with letters or digits"
            )
        if name in seen or name == "phone":
            raise InvalidInput(
                f"columns {seen.get(name, titles[phones[0]])!r} and {title!r} are the same"
                f" merge field {{{{{name}}}}}; rename one"
            )
        seen[name] = title
        names.append(name)
    return titles, names, phones[0]


def _not_text(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value) or has_control_characters(value)


def _row(
    row: int, titles: list[str], names: list[str], phone_at: int, cells: list[str], region: str
) -> tuple[_Row | None, list[RowError]]:
    errors: list[RowError] = []
    phone = ""
    values: dict[str, str] = {}
    if len(cells) > len(titles) and any(c.strip() for c in cells[len(titles) :]):
        errors.append(RowError(row, f"column {len(titles) + 1}", "this cell has no column name"))
    for position, title in enumerate(titles):
        value = cells[position].strip() if position < len(cells) else ""
        if any("\udc80" <= ch <= "\udcff" for ch in value):
            errors.append(RowError(row, title, "the text is not UTF-8; save the file as UTF-8 CSV"))
        elif (refusal := control_refusal("the text", value)) is not None:
            errors.append(RowError(row, title, refusal))
        elif position == phone_at:
            try:
                phone = _mobile(value, region)
            except InvalidInput as exc:
                errors.append(RowError(row, title, str(exc)))
        elif len(value) > MAX_CUSTOM_VALUE:
            errors.append(
                RowError(row, title, f"the value is longer than {MAX_CUSTOM_VALUE} characters")
            )
        elif value:
            values[names[position]] = value
    if errors:
        return None, errors
    return _Row(row, phone, values), []


def _mobile(value: str, region: str) -> str:
    if not value:
        raise InvalidInput("the phone number is missing")
    if len(value) > 4 * MAX_PHONE:
        raise InvalidInput("this is too long to be a phone number")
    e164 = normalise(value, region)
    if not may_be_mobile(e164):
        raise InvalidInput(f"{e164} is not a mobile number; SMS goes to mobiles only")
    return e164
