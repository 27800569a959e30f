"""C1: enabling SMS for a case contact invites them once, from the location's number."""

from __future__ import annotations

import pytest

from core.cases import case_contacts, links, notes
from core.db import Database
from core.errors import NotMobile, OptedOut, WrongStatus
from core.people import contacts
from core.people.authz import SYSTEM
from core.people.contacts import ContactDraft
from core.sms import consent
from tests.core.cases.conftest import Scene, case_messages
from tests.core.conftest import CARL_MOBILE, DEFAULT_NUMBER, DORA_MOBILE


async def test_the_first_enabling_sends_one_invitation_with_a_link(
    db: Database, scene: Scene
) -> None:
    carl, alice = scene.team.carl, scene.team.alice
    changed = await case_contacts.set_sms(db, alice, scene.case.code, carl.id, True)
    assert changed.contact.sms_enabled
    assert changed.contact.phone == CARL_MOBILE
    assert changed.invitation is not None
    assert changed.invitation.skipped is None
    [(to, body)] = await case_messages(db)
    assert to == CARL_MOBILE
    first, url = body.split("\n")[0].rsplit(" ", 1)
    assert first == f"Depot: you are invited to follow case {scene.case.code} Brake pads by text."
    # Carl has no email: one more line asks for it (and the first SMS carries the STOP line).
    assert "Add your email address on that page" in body
    grant = await links.verify(db, url.rsplit("/", 1)[1])
    assert (grant.case_id, grant.contact_id) == (scene.case.id, carl.id)
    sender = await db.scalar("SELECT sender FROM messages WHERE case_id = ?", (scene.case.id,))
    assert sender == DEFAULT_NUMBER
    [note] = await notes.list_notes(db, alice, scene.case.code)
    assert (note.kind, note.author, [r.name for r in note.recipients]) == (
        "invitation",
        "Alice Moreau",
        ["Carl Mensah"],
    )
    assert grant.note_id == note.id
    # Off and on again: no second invitation.
    await case_contacts.set_sms(db, alice, scene.case.code, carl.id, False)
    again = await case_contacts.set_sms(db, alice, scene.case.code, carl.id, True)
    assert again.invitation is None
    assert len(await case_messages(db)) == 1


async def test_a_contact_with_an_email_is_not_asked_for_one(db: Database, scene: Scene) -> None:
    dora = scene.team.dora
    await contacts.update(
        db,
        SYSTEM,
        dora.id,
        ContactDraft(name=dora.name, email="dora@example.com", phones=[(DORA_MOBILE, "mobile")]),
    )
    await case_contacts.set_sms(db, scene.team.alice, scene.case.code, dora.id, True)
    [(_, body)] = await case_messages(db)
    assert "email" not in body


async def test_an_opted_out_number_or_no_mobile_is_refused_naming_the_rule(
    db: Database, scene: Scene
) -> None:
    alice, carl = scene.team.alice, scene.team.carl
    async with db.transaction() as tx:
        await consent.opt_out_in(tx, CARL_MOBILE, keyword="STOP")
    with pytest.raises(OptedOut, match=r"SMS cannot be enabled for Carl Mensah on case .*STOP"):
        await case_contacts.set_sms(db, alice, scene.case.code, carl.id, True)
    landline = await contacts.create(
        db, SYSTEM, ContactDraft(name="Lena", phones=[("+12125550199", "landline")])
    )
    await case_contacts.add(db, alice, scene.case.code, landline.id)
    with pytest.raises(NotMobile, match="Lena has no mobile number"):
        await case_contacts.set_sms(db, alice, scene.case.code, landline.id, True)
    assert await case_messages(db) == []
    assert not any(
        c.sms_enabled for c in await case_contacts.list_contacts(db, alice, scene.case.id)
    )


async def test_removing_a_contact_revokes_their_links(db: Database, scene: Scene) -> None:
    alice, carl = scene.team.alice, scene.team.carl
    await case_contacts.set_sms(db, alice, scene.case.code, carl.id, True)
    [(_, body)] = await case_messages(db)
    token = body.split("\n")[0].rsplit("/", 1)[1]
    assert await case_contacts.remove(db, alice, scene.case.code, carl.id) == 1
    with pytest.raises(links.LinkInvalid):
        await links.verify(db, token)
    names = [c.name for c in await case_contacts.list_contacts(db, alice, scene.case.code)]
    assert names == ["Dora Lindqvist"]


async def test_a_closed_case_takes_no_new_contacts(db: Database, scene: Scene) -> None:
    from core.cases import cases

    await cases.close(db, scene.team.alice, scene.case.code)
    with pytest.raises(WrongStatus, match="closed"):
        await case_contacts.add(db, scene.team.alice, scene.case.code, scene.team.erin.id)
