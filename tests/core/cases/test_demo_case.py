"""The demo has a case to look at: a location, one open case, two texted contacts, notes."""

from __future__ import annotations

from core import demo
from core.cases import case_contacts, cases, notes
from core.db import Database
from core.people.authz import SYSTEM
from providers.sandbox import SandboxGateway


async def test_the_demo_seeds_one_open_case_with_two_contacts_and_notes(db: Database) -> None:
    await demo.seed(db, SandboxGateway(db), contacts_count=20, login="you", notifications=False)
    [case] = await cases.list_cases(db, SYSTEM)
    assert (case.status, case.location, case.owner) == ("open", "Main workshop", "Alice Moreau")
    people = await case_contacts.list_contacts(db, SYSTEM, case.code)
    assert [p.sms_enabled for p in people] == [True, True]
    written = await notes.list_notes(db, SYSTEM, case.code)
    assert [n.kind for n in written] == [
        "note",
        "request_approval",
        "checked_in",
        "invitation",
        "invitation",
    ]
    assert written[0].source == "page"
    sent = await db.scalar("SELECT count(*) FROM messages WHERE case_id = ?", (case.id,))
    assert sent == 7  # two invitations, two check-ins, two approval requests, one answer
