"""The customer's people on a case (existing contacts), and whether each is texted.

Enabling SMS for a contact picks their first mobile (SMS goes to mobiles
only) and, the first time only, sends the invitation (C1). A number that
opted out cannot be enabled: the refusal says so rather than letting the
outbox refuse it later. Removing a contact revokes every link they hold on
the case, so a forwarded text stops opening the page.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Final

from core.cases import cases, invitations, links, sending
from core.cases.cases import Case
from core.cases.sending import Delivery
from core.clock import from_ms_or_none
from core.db import Database, Tx
from core.errors import InvalidInput, NotFound, NotMobile, OptedOut
from core.people.authz import Action, Actor, authorize
from core.records import record
from core.sms import consent

CONSOLE: Final = "console"


@record
class CaseContact:
    contact_id: int
    name: str
    job_title: str
    email: str
    sms_enabled: bool
    phone: str | None
    invited_at: datetime | None

    def matches(self, needle: str, *, whole_only: bool = False) -> bool:
        """C4's recipient search, for the page and the console alike: ``needle`` (casefolded)
        in the name, job title, email or phone, or its digits (three or more) in the phone,
        so "(212) 555" finds +1212555….

        ``whole_only`` (the page: a link's holder is shown the others' names and job
        titles, never their email or phone): the email and the phone match only when
        typed whole, the number with or without its country code. A part would let
        the holder read them a few characters at a time.
        """
        if not needle:
            return True
        if any(needle in v.casefold() for v in (self.name, self.job_title)):
            return True
        phone = self.phone or ""
        digits = "".join(ch for ch in needle if ch.isdigit())
        if whole_only:
            number = phone.lstrip("+")
            whole_number = (
                len(digits) >= MIN_WHOLE_DIGITS
                and number.endswith(digits)
                and len(number) - len(digits) <= MAX_COUNTRY_CODE_DIGITS
            )
            return needle == self.email.casefold() or whole_number
        return (
            needle in self.email.casefold()
            or needle in phone
            or (len(digits) >= 3 and digits in phone)
        )


MIN_WHOLE_DIGITS = 7
"""The shortest national number a whole-number search takes."""
MAX_COUNTRY_CODE_DIGITS = 3
"""E.164 country codes have one to three digits."""


@record
class SmsChange:
    contact: CaseContact
    invitation: Delivery | None
    """The invitation sent now (the first time SMS is enabled); None otherwise."""


def _contact(row: sqlite3.Row) -> CaseContact:
    return CaseContact(
        row["contact_id"],
        row["name"],
        row["job_title"],
        row["email"],
        bool(row["sms_enabled"]),
        row["phone"],
        from_ms_or_none(row["invited_at"]),
    )


_SELECT: Final = (
    "SELECT cc.*, c.name, c.job_title, c.email FROM case_contacts cc"
    " JOIN contacts c ON c.id = cc.contact_id"
)


async def list_in(q: Database | Tx, case_id: int) -> list[CaseContact]:
    rows = await q.fetchall(
        _SELECT + " WHERE cc.case_id = ? ORDER BY c.name COLLATE NOCASE, c.id", (case_id,)
    )
    return [_contact(r) for r in rows]


async def list_contacts(db: Database, actor: Actor, ref: str | int) -> list[CaseContact]:
    authorize(actor, Action.VIEW_CASES)
    return await list_in(db, (await cases.find(db, ref)).id)


async def _one(tx: Tx, case: Case, contact_id: int) -> CaseContact:
    row = await tx.fetchone(
        _SELECT + " WHERE cc.case_id = ? AND cc.contact_id = ?", (case.id, contact_id)
    )
    if row is None:
        raise NotFound(f"contact {contact_id} is not on case {case.code}")
    return _contact(row)


async def _open_case(tx: Tx, ref: str | int) -> Case:
    case = await cases.find(tx, ref)
    cases.ensure_open(case)
    return case


async def add(db: Database, actor: Actor, ref: str | int, contact_id: int) -> CaseContact:
    """Put an existing contact on the case (not texted until SMS is enabled for them)."""
    authorize(actor, Action.WORK_CASE)
    async with db.transaction() as tx:
        case = await _open_case(tx, ref)
        if not await tx.fetchone("SELECT 1 FROM contacts WHERE id = ?", (contact_id,)):
            raise NotFound(f"no contact with id {contact_id}")
        done = await tx.execute(
            "INSERT INTO case_contacts (case_id, contact_id, added_by, added_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (case.id, contact_id, actor.id, tx.now_ms),
        )
        if done.rowcount == 0:
            raise InvalidInput(f"contact {contact_id} is already on case {case.code}")
        await cases.touch_in(tx, case.id)
        return await _one(tx, case, contact_id)


async def remove(db: Database, actor: Actor, ref: str | int, contact_id: int) -> int:
    """Take a contact off the case and revoke their links; how many links were revoked."""
    authorize(actor, Action.WORK_CASE)
    async with db.transaction() as tx:
        case = await _open_case(tx, ref)
        await _one(tx, case, contact_id)
        revoked = await links.revoke_in(
            tx, case_id=case.id, contact_id=contact_id, actor_id=actor.id
        )
        await tx.execute(
            "DELETE FROM case_contacts WHERE case_id = ? AND contact_id = ?",
            (case.id, contact_id),
        )
        await cases.touch_in(tx, case.id)
        return revoked


async def _first_mobile(tx: Tx, contact_id: int, name: str) -> str:
    phone = await tx.scalar(
        "SELECT e164 FROM contact_phones WHERE contact_id = ? AND kind = 'mobile'"
        " ORDER BY position, id LIMIT 1",
        (contact_id,),
    )
    if phone is None:
        raise NotMobile(
            f"{name or f'contact {contact_id}'} has no mobile number: case texts go to a"
            " mobile only; add one to the contact first"
        )
    return str(phone)


async def set_sms(
    db: Database,
    actor: Actor,
    ref: str | int,
    contact_id: int,
    enabled: bool,
    *,
    source: str = CONSOLE,
) -> SmsChange:
    """Text this contact about the case, or stop; the first enabling sends the invitation."""
    authorize(actor, Action.WORK_CASE)
    async with db.transaction() as tx:
        case = await _open_case(tx, ref)
        before = await _one(tx, case, contact_id)
        if not enabled:
            await tx.execute(
                "UPDATE case_contacts SET sms_enabled = 0 WHERE case_id = ? AND contact_id = ?",
                (case.id, contact_id),
            )
            await cases.touch_in(tx, case.id)
            return SmsChange(await _one(tx, case, contact_id), None)
        phone = await _first_mobile(tx, contact_id, before.name)
        try:
            await consent.ensure_may_text(tx, phone)
        except OptedOut as exc:
            raise OptedOut(
                f"SMS cannot be enabled for {before.name or phone} on case {case.code}: {exc}"
            ) from None
        await tx.execute(
            "UPDATE case_contacts SET sms_enabled = 1, phone = ?"
            " WHERE case_id = ? AND contact_id = ?",
            (phone, case.id, contact_id),
        )
        invitation = None
        if before.invited_at is None:
            [recipient] = await sending.recipients_in(tx, case, [contact_id])
            invitation = await invitations.invite_in(
                tx, case, recipient, author_agent_id=actor.id, source=source
            )
        await cases.touch_in(tx, case.id)
        return SmsChange(await _one(tx, case, contact_id), invitation)


async def issue_link(db: Database, actor: Actor, ref: str | int, contact_id: int) -> str:
    """A new link to the case page for a contact on the case (to pass on by hand): its URL."""
    authorize(actor, Action.WORK_CASE)
    async with db.transaction() as tx:
        case = await cases.find(tx, ref)
        await _one(tx, case, contact_id)
        return await links.issue_in(tx, case.id, contact_id)


async def revoke_links(
    db: Database, actor: Actor, ref: str | int, contact_id: int, link_id: int | None = None
) -> int:
    """Withdraw one link (``link_id``) or all of a contact's links on the case; how many."""
    authorize(actor, Action.WORK_CASE)
    async with db.transaction() as tx:
        case = await cases.find(tx, ref)
        revoked = await links.revoke_in(
            tx, case_id=case.id, contact_id=contact_id, link_id=link_id, actor_id=actor.id
        )
        if link_id is not None and revoked == 0:
            raise NotFound(
                f"link {link_id} is not a live link of contact {contact_id} on case {case.code}"
            )
        return revoked
