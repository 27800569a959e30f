"""Contacts: the people we text (M1 numbers by kind, M9 Ready status).

A contact has a name, job title, email, a Ready flag, phone numbers in E.164
(each of a kind: only mobiles can be texted) and free custom fields. Every
change a function here commits also appends one change-feed event. Reading
functions go through the database's reader; lists load in keyset pages.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from core import settings
from core.clock import from_ms
from core.db import Database, Tx
from core.errors import InvalidInput, InvalidPhoneNumber, NotFound
from core.people.authz import Action, Actor, authorize
from core.records import record
from core.sms import phones as phone_numbers
from core.text import LAYOUT, is_utf8, refuse_control_characters

PHONE_KINDS = ("mobile", "landline", "work", "home", "fax", "other")
BUILTIN_FIELDS = ("name", "job_title", "email", "ready")
"""Contact fields that are columns of their own; custom fields may not reuse these names."""
MAX_NAME = 200
MAX_JOB_TITLE = 200
MAX_EMAIL = 254  # RFC 5321's limit for a whole address
MAX_CUSTOM_KEY = 100
MAX_CUSTOM_VALUE = 2000
MAX_PAGE = 1000
MAX_REASON = 500

# "tags" is the contacts CSV file's tags column (core.people.tags).
_RESERVED_KEYS = frozenset((*BUILTIN_FIELDS, *PHONE_KINDS, "tags"))
# A search made only of these characters is read as (part of) a phone number.
_PHONEISH = re.compile(r"[\d\s+()./-]+")


@record
class Phone:
    e164: str
    kind: str


@record
class Contact:
    id: int
    name: str
    job_title: str
    email: str
    ready: bool
    phones: tuple[Phone, ...]
    custom: dict[str, str]

    @property
    def mobiles(self) -> tuple[Phone, ...]:
        """The numbers that can be texted (M1: SMS goes to mobiles only)."""
        return tuple(p for p in self.phones if p.kind == "mobile")

    @property
    def label(self) -> str:
        """How to name the contact on screen: name, else first phone, else its id."""
        if self.name:
            return self.name
        if self.phones:
            return self.phones[0].e164
        return f"contact {self.id}"


@dataclass(slots=True)
class ContactDraft:
    """What a person typed (or a CSV row held), before validation."""

    name: str = ""
    job_title: str = ""
    email: str = ""
    ready: bool = True
    phones: list[tuple[str, str]] = field(default_factory=list)  # (raw number, kind)
    custom: dict[str, str] = field(default_factory=dict)


@record
class NewContact:
    """A validated contact, ready to be stored (see ``prepare`` and ``create_many_in``)."""

    name: str
    job_title: str
    email: str
    ready: bool
    phones: tuple[Phone, ...]
    custom: dict[str, str]
    tags: tuple[str, ...] = ()
    """Checked by ``core.people.tags.check_tags`` (a CSV import's tags column)."""


@record
class ReadyChange:
    at: datetime
    ready: bool
    reason: str
    agent_id: int | None
    message_id: int | None


# --- validation (pure) -----------------------------------------------------


def check_name(value: str) -> str:
    """The name trimmed; InvalidInput if longer than MAX_NAME."""
    return _check_length("name", value.strip(), MAX_NAME)


def check_job_title(value: str) -> str:
    """The job title trimmed; InvalidInput if longer than MAX_JOB_TITLE."""
    return _check_length("job title", value.strip(), MAX_JOB_TITLE)


def check_email(value: str) -> str:
    """The email trimmed ('' is allowed); InvalidInput if it is not an address."""
    email = value.strip()
    if not email:
        return ""
    _check_length("email", email, MAX_EMAIL)
    problem = None
    if email.count("@") != 1:
        problem = "it needs exactly one @"
    elif any(ch.isspace() for ch in email):
        problem = "it cannot contain spaces"
    else:
        local, domain = email.split("@")
        if not local:
            problem = "there is nothing before the @"
        elif "." not in domain or domain.startswith(".") or domain.endswith("."):
            problem = "the part after @ needs a dot, as in example.com"
        elif ".." in domain:
            problem = "the part after @ has two dots in a row"
    if problem:
        raise InvalidInput(f"email {email!r} is not a valid address: {problem}")
    return email


def check_kind(value: str) -> str:
    """The phone kind in lower case; InvalidInput listing the allowed kinds."""
    kind = value.strip().lower()
    if kind not in PHONE_KINDS:
        raise InvalidInput(
            f"{value.strip()!r} is not a kind of phone number; use one of {', '.join(PHONE_KINDS)}"
        )
    return kind


def check_custom_key(value: str) -> str:
    """A custom field name trimmed; refused when empty, too long or a built-in name."""
    key = value.strip()
    if not key:
        raise InvalidInput("a custom field needs a name")
    _check_length(f"custom field name {key[:20]!r}…", key, MAX_CUSTOM_KEY)
    if key.lower() in _RESERVED_KEYS:
        raise InvalidInput(
            f"custom field {key!r} has the name of a built-in field; choose another name"
        )
    return key


def check_custom_value(key: str, value: str) -> str:
    """A custom field's value trimmed; InvalidInput if longer than MAX_CUSTOM_VALUE or
    holding a control character other than a line break or a tab."""
    # A value may run over lines (an address): it is put into texts as it is.
    return _check_length(f"custom field {key!r}", value.strip(), MAX_CUSTOM_VALUE, LAYOUT)


def check_custom(custom: dict[str, str]) -> dict[str, str]:
    """Custom fields with trimmed names and values; empty values are dropped.

    Raises InvalidInput for an empty or built-in name, or two names that differ
    only in case (they would be one column in a CSV file).
    """
    cleaned: dict[str, str] = {}
    seen: dict[str, str] = {}
    for raw_key, raw_value in custom.items():
        key = check_custom_key(str(raw_key))
        if key.lower() in seen:
            raise InvalidInput(
                f"custom fields {seen[key.lower()]!r} and {key!r} differ only in case; use one name"
            )
        seen[key.lower()] = key
        value = check_custom_value(key, str(raw_value))
        if value:
            cleaned[key] = value
    return cleaned


def check_phones(raw_phones: Iterable[tuple[str, str]], region: str) -> list[Phone]:
    """Normalise (raw, kind) pairs to Phones in order.

    Raises InvalidPhoneNumber naming the number, or InvalidInput for an unknown
    kind or a number listed twice; each message says which phone (1, 2, …).
    """
    result: list[Phone] = []
    for position, (raw, kind_text) in enumerate(raw_phones, start=1):
        try:
            e164 = phone_numbers.normalise(raw, region)
        except InvalidPhoneNumber as exc:
            raise InvalidPhoneNumber(f"phone {position}: {exc}") from None
        try:
            kind = check_kind(kind_text)
        except InvalidInput as exc:
            raise InvalidInput(f"phone {position} ({e164}): {exc}") from None
        for earlier, phone in enumerate(result, start=1):
            if phone.e164 == e164:
                raise InvalidInput(f"phone {position}: {e164} is already listed as phone {earlier}")
        result.append(Phone(e164, kind))
    return result


def validate(draft: ContactDraft, region: str) -> tuple[str, str, str, list[Phone]]:
    """Check a draft; return (name, job_title, email, phones), trimmed and normalised.

    Phone numbers written without a country code are read in ``region``.
    Raises InvalidPhoneNumber or InvalidInput naming the field: a name or job
    title too long, a malformed email, a bad number, an unknown phone kind, a
    number listed twice, a bad custom field name, or a contact with neither a
    name nor a phone number (nobody could tell who it is).
    """
    new = prepare(draft, region)
    return new.name, new.job_title, new.email, list(new.phones)


def prepare(draft: ContactDraft, region: str) -> NewContact:
    """``validate`` the draft and return all of it ready for ``create_many_in``.

    Custom fields come back with trimmed names and values, empty ones dropped.
    Raises what ``validate`` raises.
    """
    name = check_name(draft.name)
    job_title = check_job_title(draft.job_title)
    email = check_email(draft.email)
    phones = check_phones(draft.phones, region)
    custom = check_custom(draft.custom)
    if not name and not phones:
        raise InvalidInput("a contact needs a name or a phone number")
    return NewContact(name, job_title, email, bool(draft.ready), tuple(phones), custom)


def draft_from(contact: Contact) -> ContactDraft:
    """A draft holding the contact as it is, to edit and pass to ``update``."""
    return ContactDraft(
        name=contact.name,
        job_title=contact.job_title,
        email=contact.email,
        ready=contact.ready,
        phones=[(p.e164, p.kind) for p in contact.phones],
        custom=dict(contact.custom),
    )


def _check_length(what: str, value: str, most: int, allowed: str = "") -> str:
    """``value`` if it fits ``most`` characters and is text a person wrote: a control
    character (other than ``allowed``) is refused, since the value is shown on screens
    and put into SMS and email (a NUL, which C code reading the text stops at, included);
    so is text that is not UTF-8, which SQLite could not give back."""
    if len(value) > most:
        raise InvalidInput(f"{what} is too long: {len(value)} characters, the most is {most}")
    refuse_control_characters(what, value, allowed)
    if not is_utf8(value):
        raise InvalidInput(f"{what} is not valid text (a lone surrogate)")
    return value


# --- rows -> dataclasses ---------------------------------------------------


def _contact(row: sqlite3.Row, phones: Sequence[Phone]) -> Contact:
    return Contact(
        id=row["id"],
        name=row["name"],
        job_title=row["job_title"],
        email=row["email"],
        ready=bool(row["ready"]),
        phones=tuple(phones),
        custom=json.loads(row["custom"]),
    )


def _ready_change(row: sqlite3.Row) -> ReadyChange:
    return ReadyChange(
        from_ms(row["at"]), bool(row["ready"]), row["reason"], row["agent_id"], row["message_id"]
    )


async def _with_phones(db: Database | Tx, rows: list[sqlite3.Row]) -> list[Contact]:
    """Contacts for ``rows``, their phones loaded in one query."""
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    by_contact: dict[int, list[Phone]] = {i: [] for i in ids}
    phone_rows = await db.fetchall(
        "SELECT contact_id, e164, kind FROM contact_phones"
        f" WHERE contact_id IN ({','.join('?' * len(ids))})"
        " ORDER BY contact_id, position, id",
        ids,
    )
    for p in phone_rows:
        by_contact[p["contact_id"]].append(Phone(p["e164"], p["kind"]))
    return [_contact(r, by_contact[r["id"]]) for r in rows]


# --- reading ---------------------------------------------------------------


async def get(db: Database, contact_id: int) -> Contact:
    """The contact with this id; NotFound if there is none."""
    row = await db.fetchone("SELECT * FROM contacts WHERE id = ?", (contact_id,))
    if row is None:
        raise NotFound(f"no contact with id {contact_id}")
    return (await _with_phones(db, [row]))[0]


async def has_phone(db: Database | Tx, e164: str) -> bool:
    """Does a contact have exactly this number (E.164, as stored)?"""
    found = await db.scalar("SELECT 1 FROM contact_phones WHERE e164 = ? LIMIT 1", (e164,))
    return found is not None


async def find_by_phone(db: Database | Tx, e164: str) -> Contact | None:
    """The oldest (lowest id) contact having this E.164 number, or None.

    Works inside a transaction too (pass the Tx), as sending and receiving do.
    """
    row = await db.fetchone(
        "SELECT * FROM contacts WHERE id ="
        " (SELECT min(contact_id) FROM contact_phones WHERE e164 = ?)",
        (e164,),
    )
    return None if row is None else (await _with_phones(db, [row]))[0]


_LOOKUP_CHUNK = 500  # bound parameters per query, well under SQLite's limit


async def owners_in(tx: Database | Tx, numbers: Sequence[str]) -> dict[str, int]:
    """Which of ``numbers`` already belong to a contact, and to which (the oldest)."""
    found: dict[str, int] = {}
    for start in range(0, len(numbers), _LOOKUP_CHUNK):
        chunk = list(numbers[start : start + _LOOKUP_CHUNK])
        rows = await tx.fetchall(
            "SELECT e164, min(contact_id) FROM contact_phones"
            f" WHERE e164 IN ({','.join('?' * len(chunk))}) GROUP BY e164",
            chunk,
        )
        found.update((r[0], r[1]) for r in rows)
    return found


async def _ensure_numbers_free(tx: Tx, phones: Sequence[Phone], contact_id: int | None) -> None:
    """A number leads to one contact: replies must not reach the wrong person."""
    owners = await owners_in(tx, [p.e164 for p in phones])
    for phone in phones:
        owner = owners.get(phone.e164)
        if owner is not None and owner != contact_id:
            other = await _get_in(tx, owner)
            raise InvalidInput(
                f"{phone.e164} already belongs to {other.label} (contact {owner}); a number"
                " leads to one contact, so remove it there first"
            )


async def count(db: Database) -> int:
    """How many contacts there are."""
    return int(await db.scalar("SELECT count(*) FROM contacts"))


async def list_page(
    db: Database,
    actor: Actor,
    *,
    search: str | None = None,
    after_id: int = 0,
    limit: int = 50,
) -> list[Contact]:
    """Up to ``limit`` contacts with id > ``after_id``, in id order.

    Pass the last id of a page as ``after_id`` to get the next one (keyset
    paging: every page costs the same however deep). A ``search`` is done by
    ``search_page`` (one search for the console, the CLI and exports).
    Raises NotAllowed, or InvalidInput for a limit outside 1..MAX_PAGE.
    """
    return await search_page(db, actor, search or "", after_id=after_id, limit=limit)


async def search_page(
    db: Database,
    actor: Actor,
    text: str,
    *,
    after_id: int = 0,
    limit: int = 50,
    before_id: int | None = None,
) -> list[Contact]:
    """Contacts matching ``text``, id > ``after_id``, in id order, at most ``limit``.

    Each word of ``text`` must begin a word of the name, job title or email
    (any case, accents ignored: "zoe" finds "Zoë"); every word must match.
    A search that looks like a phone number ("(212) 555-0105", "+44 20 7946",
    "0105") is read as its digits, which begin a stored number's E.164 digits,
    its last 10, 7 or 4 digits, or the number it reads as in the default
    region. Blank text lists every contact. FTS syntax in ``text`` is never
    obeyed (quotes, *, AND, NEAR…): odd input finds nothing rather than
    failing. Served by the contacts_fts index, so a page costs about the same
    over 10^6 contacts.

    With ``before_id`` the page is instead the last ``limit`` matches with id
    < ``before_id`` (still in id order): a list scrolled back up pages by
    keyset too. Raises NotAllowed, or InvalidInput for a limit outside
    1..MAX_PAGE.
    """
    authorize(actor, Action.VIEW_CONTACTS)
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"a page holds 1 to {MAX_PAGE} contacts, not {limit}")
    text = (text or "").strip()
    # Forwards: the next ids after after_id; backwards: the ids just before before_id.
    if before_id is None:
        bound, order = "> ?", "ASC"
        edge = after_id
    else:
        bound, order = "< ?", "DESC"
        edge = before_id
    if not text:
        rows = await db.fetchall(
            f"SELECT * FROM contacts WHERE id {bound} ORDER BY id {order} LIMIT ?", (edge, limit)
        )
        return await _with_phones(db, sorted(rows, key=lambda r: r["id"]))
    query = await _fts_query(db, text)
    if query is None:
        return []
    # The FTS index picks the page (rowid = contacts.id, rowid range and order
    # are free for FTS5); the outer query only reads those rows.
    try:
        rows = await db.fetchall(
            "SELECT * FROM contacts WHERE id IN ("
            f" SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ? AND rowid {bound}"
            f" ORDER BY rowid {order} LIMIT ?) ORDER BY id",
            (query, edge, limit),
        )
    except sqlite3.OperationalError as exc:
        # _fts_query quotes every word, so this should not happen; if some
        # input still trips the FTS parser, a search box finds nothing.
        if not str(exc).startswith("fts5:"):
            raise
        return []
    return await _with_phones(db, rows)


# Words are runs of letters, digits and combining marks, as for unicode61;
# everything else (quotes, *, :, ^, parentheses, -, +, emoji…) separates them.
_WORD = re.compile(r"[^\W_]+")
_MAX_WORDS = 12  # a search box, not a document: bounds the cost of a query
_MAX_WORD = 64
_TEXT_COLUMNS = "{name job_title email}"


async def _fts_query(db: Database, text: str) -> str | None:
    """An FTS5 MATCH expression for what a person typed, or None if nothing to find.

    Every word becomes a quoted prefix phrase ("word"*), so no character the
    user types can be read as FTS syntax.
    """
    text = unicodedata.normalize("NFKC", text)[:MAX_NAME]
    digits = re.sub(r"\D", "", text)
    if digits and _PHONEISH.fullmatch(text):
        # "(212) 555-0105" is one number, not three words.
        numbers = {digits[:20]}
        # A national form ("020 7946 0018") shares no prefix with the E.164
        # digits the index holds ("442079460018"), so add the number it reads as.
        region = (await settings.load(db)).default_region
        with contextlib.suppress(InvalidPhoneNumber):
            numbers.add(phone_numbers.normalise(text, region).lstrip("+"))
        phones = " OR ".join(f'"{n}"*' for n in sorted(numbers))
        # Digits may also be part of an email ("bob2024@…").
        return f'(phones : ({phones})) OR ({_TEXT_COLUMNS} : "{digits[:20]}"*)'
    words = [w[:_MAX_WORD] for w in _WORD.findall(text)[:_MAX_WORDS]]
    if not words:
        return None
    # Words with digits in a text search ("Room 0101") look at the text
    # columns only, not at phone numbers.
    return f"{_TEXT_COLUMNS} : (" + " AND ".join(f'"{w}"*' for w in words) + ")"


async def ready_history(db: Database, contact_id: int, *, limit: int = 100) -> list[ReadyChange]:
    """The latest ``limit`` changes of the contact's Ready flag, newest first.

    Raises NotFound if there is no such contact.
    """
    if not await db.fetchone("SELECT 1 FROM contacts WHERE id = ?", (contact_id,)):
        raise NotFound(f"no contact with id {contact_id}")
    rows = await db.fetchall(
        "SELECT * FROM ready_changes WHERE contact_id = ? ORDER BY id DESC LIMIT ?",
        (contact_id, limit),
    )
    return [_ready_change(r) for r in rows]


# --- writing ---------------------------------------------------------------


async def create(db: Database, actor: Actor, draft: ContactDraft) -> Contact:
    """Create a contact from a draft; phones are read in the default region.

    Raises NotAllowed, or InvalidInput / InvalidPhoneNumber (see ``validate``).
    """
    authorize(actor, Action.EDIT_CONTACTS)
    region = (await settings.load(db)).default_region
    new = prepare(draft, region)
    async with db.transaction() as tx:
        await _ensure_numbers_free(tx, new.phones, None)
        contact_id = await _insert_many(tx, [new])
        await tx.emit("contact.created", "contact", contact_id, actor_id=actor.id)
    return Contact(
        contact_id, new.name, new.job_title, new.email, new.ready, new.phones, new.custom
    )


async def update(db: Database, actor: Actor, contact_id: int, draft: ContactDraft) -> Contact:
    """Replace the contact's fields and phones with the draft's.

    A change of Ready is recorded in its history as "changed by <actor>".
    Nothing is written (and no event sent) when the draft equals the contact.
    Raises NotAllowed, NotFound, or InvalidInput / InvalidPhoneNumber.
    """
    authorize(actor, Action.EDIT_CONTACTS)
    region = (await settings.load(db)).default_region
    new = prepare(draft, region)
    async with db.transaction() as tx:
        old = await _get_in(tx, contact_id)
        changed = _changed_fields(old, new)
        if changed:
            await _ensure_numbers_free(tx, new.phones, contact_id)
            await _write(tx, contact_id, new)
            event: dict[str, object] = {"fields": changed}
            if old.ready != new.ready:
                reason = f"changed by {actor.label}"
                await _record_ready(tx, contact_id, new.ready, reason, actor.id, None)
                event.update(ready=new.ready)
            await tx.emit("contact.updated", "contact", contact_id, actor_id=actor.id, **event)
    return Contact(
        contact_id, new.name, new.job_title, new.email, new.ready, new.phones, new.custom
    )


@record
class Deleted:
    """A contact deleted, and what that did to what referred to it."""

    contact: Contact
    conversations: int
    """Conversations kept (their history), under the number alone."""
    targets_removed: int
    """Campaign targets not yet sent, taken out of their campaigns."""
    cases: int
    """Cases that listed the contact and no longer do."""


DELETED_REASON = "the contact was deleted"


async def delete(db: Database, actor: Actor, contact_id: int) -> Deleted:
    """Delete a contact: its fields, numbers, tags, Ready history and case places.

    Its conversations stay, under the number that texted (a new text from it makes
    a new contact); consent and opt-outs stay with the numbers. Campaign targets of
    the contact not yet sent are removed from their campaigns (the move recorded)
    first: a target without a contact would otherwise be sent as a CSV row is. A
    message already queued (to it, in a conversation, a case or a campaign batch)
    still goes: it was sent as far as the sender knows.
    """
    authorize(actor, Action.DELETE_CONTACTS)
    async with db.transaction() as tx:
        contact = await _get_in(tx, contact_id)
        [[conversations, cases]] = await tx.fetchall(
            "SELECT (SELECT count(*) FROM conversations WHERE contact_id = :id),"
            " (SELECT count(*) FROM case_contacts WHERE contact_id = :id)",
            {"id": contact_id},
        )
        # Here, not at the top: core.campaigns reads contacts' fields from this module.
        from core.campaigns import pool

        removed = await pool.remove_contacts_in(tx, contact_id, actor.id, DELETED_REASON)
        await tx.execute("DELETE FROM contacts WHERE id = ?", (contact_id,))
        await tx.emit("contact.deleted", "contact", contact_id, actor_id=actor.id)
    return Deleted(contact, int(conversations), removed, int(cases))


async def set_ready(
    db: Database,
    actor: Actor,
    contact_id: int,
    ready: bool,
    reason: str,
    *,
    message_id: int | None = None,
) -> Contact:
    """Set the contact's Ready flag (M9), recording why; a no-op when unchanged.

    An empty reason becomes "changed by <actor>". Raises NotAllowed, NotFound,
    or InvalidInput for a reason longer than MAX_REASON.
    """
    authorize(actor, Action.EDIT_CONTACTS)
    reason = reason.strip() or f"changed by {actor.label}"
    async with db.transaction() as tx:
        await set_ready_in(tx, contact_id, ready, reason, agent_id=actor.id, message_id=message_id)
    return await get(db, contact_id)


async def set_ready_in(
    tx: Tx,
    contact_id: int,
    ready: bool,
    reason: str,
    *,
    agent_id: int | None,
    message_id: int | None = None,
) -> bool:
    """``set_ready`` inside an open transaction (an SMS sent flips Ready, M9).

    Records the history row and a "contact.ready_changed" event only when the
    value changes; returns whether it did. The caller has authorised the
    action. Raises NotFound, or InvalidInput for an empty or too long reason.
    """
    reason = _check_length("reason", reason.strip(), MAX_REASON)
    if not reason:
        raise InvalidInput("say why Ready changed")
    cur = await tx.execute(
        "UPDATE contacts SET ready = ?, updated_at = ? WHERE id = ? AND ready != ?",
        (int(ready), tx.now_ms, contact_id, int(ready)),
    )
    if cur.rowcount == 0:
        if not await tx.fetchone("SELECT 1 FROM contacts WHERE id = ?", (contact_id,)):
            raise NotFound(f"no contact with id {contact_id}")
        return False
    await _record_ready(tx, contact_id, ready, reason, agent_id, message_id)
    await tx.emit(
        "contact.ready_changed",
        "contact",
        contact_id,
        actor_id=agent_id,
        ready=ready,
        message_id=message_id,
    )
    return True


async def create_many_in(tx: Tx, contacts: Sequence[NewContact]) -> int:
    """Insert validated contacts in bulk inside ``tx``; returns how many.

    Built for imports and demo data: two executemany calls whatever the
    number, so 100k contacts take a few seconds. The caller emits the event
    (one for the whole batch, e.g. "contacts.imported").
    """
    if contacts:
        await _insert_many(tx, contacts)
    return len(contacts)


async def _insert_many(tx: Tx, contacts: Sequence[NewContact]) -> int:
    """Insert and return the id of the first; the rest follow consecutively."""
    # The transaction holds the write lock, so nobody else can take these ids;
    # choosing them here lets the phones go in one executemany too.
    row = await tx.fetchone("SELECT coalesce(max(id), 0) + 1 FROM contacts")
    assert row is not None  # an aggregate always returns a row
    first = int(row[0])
    now = tx.now_ms
    # Phones first, then contacts: the contacts' insert trigger then builds
    # each search-index row once, with its phones, instead of rewriting it
    # once per phone (3x faster for a big import). The foreign key from
    # phone to contact is checked at commit.
    await tx.execute("PRAGMA defer_foreign_keys = ON")
    await tx.executemany(
        "INSERT INTO contact_phones (contact_id, e164, kind, position) VALUES (?, ?, ?, ?)",
        [
            (first + i, p.e164, p.kind, position)
            for i, c in enumerate(contacts)
            for position, p in enumerate(c.phones)
        ],
    )
    await tx.executemany(
        "INSERT INTO contacts"
        " (id, name, job_title, email, ready, custom, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                first + i,
                c.name,
                c.job_title,
                c.email,
                int(c.ready),
                _custom_json(c.custom),
                now,
                now,
            )
            for i, c in enumerate(contacts)
        ],
    )
    await tx.executemany(
        "INSERT OR IGNORE INTO contact_tags (contact_id, tag) VALUES (?, ?)",
        [(first + i, tag) for i, c in enumerate(contacts) for tag in c.tags],
    )
    return first


def _custom_json(custom: dict[str, str]) -> str:
    # ensure_ascii=False keeps names readable in the file and the JSON compact.
    return json.dumps(custom, ensure_ascii=False, separators=(",", ":"))


async def _get_in(tx: Tx, contact_id: int) -> Contact:
    row = await tx.fetchone("SELECT * FROM contacts WHERE id = ?", (contact_id,))
    if row is None:
        raise NotFound(f"no contact with id {contact_id}")
    phone_rows = await tx.fetchall(
        "SELECT e164, kind FROM contact_phones WHERE contact_id = ? ORDER BY position, id",
        (contact_id,),
    )
    return _contact(row, [Phone(p["e164"], p["kind"]) for p in phone_rows])


def _changed_fields(old: Contact, new: NewContact) -> list[str]:
    names = ("name", "job_title", "email", "ready", "phones", "custom")
    return [n for n in names if getattr(old, n) != getattr(new, n)]


async def _write(tx: Tx, contact_id: int, new: NewContact) -> None:
    await tx.execute(
        "UPDATE contacts SET name = ?, job_title = ?, email = ?, ready = ?, custom = ?,"
        " updated_at = ? WHERE id = ?",
        (
            new.name,
            new.job_title,
            new.email,
            int(new.ready),
            _custom_json(new.custom),
            tx.now_ms,
            contact_id,
        ),
    )
    await tx.execute("DELETE FROM contact_phones WHERE contact_id = ?", (contact_id,))
    await tx.executemany(
        "INSERT INTO contact_phones (contact_id, e164, kind, position) VALUES (?, ?, ?, ?)",
        [(contact_id, p.e164, p.kind, i) for i, p in enumerate(new.phones)],
    )


async def _record_ready(
    tx: Tx,
    contact_id: int,
    ready: bool,
    reason: str,
    agent_id: int | None,
    message_id: int | None,
) -> None:
    await tx.execute(
        "INSERT INTO ready_changes (contact_id, at, ready, reason, agent_id, message_id)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (contact_id, tx.now_ms, int(ready), reason, agent_id, message_id),
    )


async def create_for_phone_in(tx: Tx, e164: str, *, agent_id: int | None) -> int:
    """A nameless contact for a number we text, or that texts us, for the first time.

    The number is stored as a mobile: it sends or receives SMS.
    """
    first = await _insert_many(tx, [NewContact("", "", "", True, (Phone(e164, "mobile"),), {})])
    await tx.emit("contact.created", "contact", first, actor_id=agent_id)
    return first
