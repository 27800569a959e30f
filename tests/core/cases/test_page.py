"""C4: the mobile page's services, acting as the contact a link names."""

from __future__ import annotations

import re

import pytest

from core.cases import case_contacts, cases, links, notes, page
from core.cases.links import Grant
from core.db import Database
from core.errors import InvalidInput, NotFound, WrongStatus
from core.people import contacts
from tests.core.cases.conftest import Scene, case_messages
from tests.core.conftest import DORA_MOBILE


async def _grant(db: Database, scene: Scene, contact_id: int, note_id: int) -> Grant:
    [(body,)] = await db.fetchall(
        "SELECT m.body FROM case_note_recipients r JOIN messages m ON m.id = r.message_id"
        " WHERE r.note_id = ? AND r.contact_id = ?",
        (note_id, contact_id),
    )
    found = re.search(r"/c/(\S+)", body)
    assert found is not None
    return await links.verify(db, found[1])


async def _scene_with_notes(db: Database, scene: Scene) -> tuple[Grant, int, int]:
    """Carl and Dora texted; a note to both, then one to Dora only. Carl's grant."""
    t = scene.team
    for c in (t.carl, t.dora):
        await case_contacts.set_sms(db, t.alice, scene.case.code, c.id, True)
    both = await notes.add(db, t.alice, scene.case.code, "Pads fitted", [t.carl.id, t.dora.id])
    dora_only = await notes.add(db, t.alice, scene.case.code, "Your invoice", [t.dora.id])
    return await _grant(db, scene, t.carl.id, both.note_id), both.note_id, dora_only.note_id


async def test_a_contact_sees_only_notes_they_sent_or_received(db: Database, scene: Scene) -> None:
    grant, both, dora_only = await _scene_with_notes(db, scene)
    shown = await page.view(db, grant)
    assert (shown.title, shown.code, shown.location, shown.status) == (
        "Brake pads",
        scene.case.code,
        "Depot",
        "open",
    )
    ids = [n.id for n in shown.notes]
    assert dora_only not in ids
    assert ids[0] == both  # newest first; then Carl's invitation
    [original] = [n for n in shown.notes if n.is_original]
    assert (original.body, original.author) == ("Pads fitted", "Alice Moreau")
    assert original.recipients == ("Carl Mensah", "Dora Lindqvist")


async def test_a_contact_writes_replies_and_replies_to_all(db: Database, scene: Scene) -> None:
    grant, both, dora_only = await _scene_with_notes(db, scene)
    assert await page.reply_all_recipients(db, grant, both) == [scene.team.dora.id]
    with pytest.raises(NotFound):
        await page.reply_all_recipients(db, grant, dora_only)
    posted = await page.add_note(db, grant, "Thanks!", [scene.team.dora.id], reply_to=both)
    [note, *_] = await notes.list_notes(db, scene.team.alice, scene.case.code)
    assert (note.id, note.source, note.author, note.reply_to) == (
        posted.note_id,
        "page",
        "Carl Mensah",
        both,
    )
    assert (await case_messages(db))[-1][0] == DORA_MOBILE
    assert (await page.view(db, grant)).notes[0].mine
    # Refused without naming Erin: a link's holder must not learn the contact book.
    with pytest.raises(InvalidInput, match="a note goes only to this case's contacts") as refused:
        await page.add_note(db, grant, "Hi", [scene.team.erin.id])
    assert "Erin" not in str(refused.value)
    with pytest.raises(NotFound):
        await page.add_note(db, grant, "Hi", [], reply_to=dora_only)


async def test_search_finds_the_case_contacts_by_name_job_email_or_phone(
    db: Database, scene: Scene
) -> None:
    grant, _, _ = await _scene_with_notes(db, scene)
    await _give_dora_an_email(db, scene)
    found = await page.search_recipients(db, grant, "lindq")
    assert [c.name for c in found] == ["Dora Lindqvist"]
    # The number (+12125550120) typed whole, with or without its country code.
    for whole in ("(212) 555-0120", "+1 212 555 0120", "12125550120"):
        assert [c.name for c in await page.search_recipients(db, grant, whole)] == [
            "Dora Lindqvist"
        ], whole
    assert [c.name for c in await page.search_recipients(db, grant, " Dora@Fleet.example")] == [
        "Dora Lindqvist"
    ]
    assert await page.search_recipients(db, grant, "erin") == []
    assert await page.search_recipients(db, grant, "carl") == []  # not oneself


async def _give_dora_an_email(db: Database, scene: Scene) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE contacts SET email = 'dora@fleet.example' WHERE id = ?", (scene.team.dora.id,)
        )


async def test_search_never_matches_part_of_an_email_or_a_phone(db: Database, scene: Scene) -> None:
    """The page shows the others' names and job titles only: a search that matched part of
    a number or an address would let a link's holder read it a few characters at a time."""
    grant, _, _ = await _scene_with_notes(db, scene)
    await _give_dora_an_email(db, scene)
    for part in ("5550120", "212555012", "2125550", "+1212", "dora@", "fleet.example", "@"):
        assert await page.search_recipients(db, grant, part) == [], part
    # The console's picker (staff, who see the numbers) still finds a part.
    dora = next(
        c for c in await case_contacts.list_in(db, grant.case_id) if c.name.startswith("Dora")
    )
    assert dora.matches("5550120")
    assert dora.matches("fleet.example")


async def test_add_email_checks_the_address(db: Database, scene: Scene) -> None:
    grant, _, _ = await _scene_with_notes(db, scene)
    assert await page.add_email(db, grant, " carl@example.com ") == "carl@example.com"
    assert (await contacts.get(db, scene.team.carl.id)).email == "carl@example.com"
    with pytest.raises(InvalidInput, match="is not an email address"):
        await page.add_email(db, grant, "carl@")


async def test_a_closed_case_is_read_but_not_written(db: Database, scene: Scene) -> None:
    grant, _both, _ = await _scene_with_notes(db, scene)
    await cases.close(db, scene.team.alice, scene.case.code)
    assert (await page.view(db, grant)).status == "closed"
    with pytest.raises(WrongStatus, match="closed"):
        await page.add_note(db, grant, "Hello?", [scene.team.dora.id])
    with pytest.raises(WrongStatus, match="closed"):
        await page.add_email(db, grant, "carl@example.com")
