"""C2: notes and quick actions, each texted to chosen contacts of the case."""

from __future__ import annotations

import pytest

from core.cases import case_contacts, notes, texts
from core.db import Database
from core.errors import InvalidInput, WrongStatus
from core.sms import consent, segments
from tests.core.cases.conftest import Scene, case_messages
from tests.core.conftest import CARL_MOBILE, DORA_MOBILE


async def _texted(db: Database, scene: Scene) -> None:
    for contact in (scene.team.carl, scene.team.dora):
        await case_contacts.set_sms(db, scene.team.alice, scene.case.code, contact.id, True)


@pytest.mark.parametrize(
    ("kind", "subject"),
    [
        ("checked_in", "Checked in"),
        ("request_approval", "Approval requested"),
        ("asset_ready", "Ready for pickup"),
        ("asset_in_service", "In service"),
    ],
)
async def test_each_quick_action_texts_every_texted_contact(
    db: Database, scene: Scene, kind: str, subject: str
) -> None:
    await _texted(db, scene)
    posted = await notes.quick(db, scene.team.alice, scene.case.code, kind)
    assert [d.skipped for d in posted.deliveries] == [None, None]
    sent = (await case_messages(db))[2:]
    assert [to for to, _ in sent] == [CARL_MOBILE, DORA_MOBILE]
    for _, body in sent:
        assert body.startswith(f"{subject} - Case {scene.case.code}: {subject} http")
        assert segments.count(body).encoding == "GSM-7"
    [note, *_] = await notes.list_notes(db, scene.team.alice, scene.case.code)
    assert (note.kind, note.subject, note.source) == (kind, subject, "console")
    events = await db.fetchall("SELECT data FROM events WHERE kind = 'case.note'")
    assert len(events) == 3  # two invitations and this note


async def test_a_free_note_goes_to_the_chosen_and_quotes_60_characters(
    db: Database, scene: Scene
) -> None:
    await _texted(db, scene)
    body = "The front pads are worn to 2 mm; we recommend replacing the discs as well, today."
    posted = await notes.add(db, scene.team.bob, scene.case.code, body, [scene.team.dora.id])
    [(to, sms)] = (await case_messages(db))[2:]
    assert to == DORA_MOBILE
    assert sms.startswith(f"New note - Case {scene.case.code}: {body[:60].rstrip()}... http")
    assert segments.count(sms).segments <= 2
    [note, *_] = await notes.list_notes(db, scene.team.bob, scene.case.code)
    assert (note.id, note.body, note.author) == (posted.note_id, body, "Bob Achebe")
    assert [r.name for r in note.recipients] == ["Dora Lindqvist"]


async def test_a_note_to_a_contact_not_on_the_case_is_refused_naming_them(
    db: Database, scene: Scene
) -> None:
    with pytest.raises(InvalidInput, match="Erin Tanaka is not a contact on case"):
        await notes.add(db, scene.team.alice, scene.case.code, "Hi", [scene.team.erin.id])
    assert await db.scalar("SELECT count(*) FROM case_notes") == 0


async def test_an_opted_out_or_untexted_recipient_is_kept_with_the_reason(
    db: Database, scene: Scene
) -> None:
    alice, carl, dora = scene.team.alice, scene.team.carl, scene.team.dora
    await case_contacts.set_sms(db, alice, scene.case.code, carl.id, True)
    async with db.transaction() as tx:
        await consent.opt_out_in(tx, CARL_MOBILE, keyword="STOP")
    posted = await notes.add(db, alice, scene.case.code, "Parts arrived", [carl.id, dora.id])
    assert [(d.name, d.message_id, d.skipped) for d in posted.deliveries] == [
        ("Carl Mensah", None, f"not texted: {CARL_MOBILE} opted out of SMS (STOP)"),
        ("Dora Lindqvist", None, "not texted: SMS is off for this contact on the case"),
    ]
    [note, *_] = await notes.list_notes(db, alice, scene.case.code)
    assert [r.skipped is not None for r in note.recipients] == [True, True]


async def test_a_note_is_stored_and_texted_literally(db: Database, scene: Scene) -> None:
    await _texted(db, scene)
    script = "<script>alert('x')</script> [b]bold[/b] {{name}}"
    await notes.add(db, scene.team.alice, scene.case.code, script, [scene.team.carl.id])
    [note, *_] = await notes.list_notes(db, scene.team.alice, scene.case.code)
    assert note.body == script
    assert script in (await case_messages(db))[-1][1]


async def test_bodies_are_checked_and_a_closed_case_refuses_notes(
    db: Database, scene: Scene
) -> None:
    alice = scene.team.alice
    for bad, why in (("", "cannot be empty"), ("x" * 2001, "at most 2000"), ("a\x1bb", "control")):
        with pytest.raises(InvalidInput, match=why):
            await notes.add(db, alice, scene.case.code, bad)
    with pytest.raises(InvalidInput, match="quick action is one of"):
        await notes.quick(db, alice, scene.case.code, "note")
    from core.cases import cases

    await cases.close(db, alice, scene.case.code)
    with pytest.raises(WrongStatus, match="closed"):
        await notes.quick(db, alice, scene.case.code, texts.CHECKED_IN)


async def test_a_note_keeps_its_lines_whoever_writes_it(db: Database, scene: Scene) -> None:
    """A browser's textarea sends CR LF: the note keeps its line breaks and tabs, as an SMS does."""
    written = "Parts:\r\n\tpads\r\n\tdiscs\rTotal $420"
    await notes.add(db, scene.team.alice, scene.case.code, written)
    [note, *_] = await notes.list_notes(db, scene.team.alice, scene.case.code)
    assert note.body == "Parts:\n\tpads\n\tdiscs\nTotal $420"


async def test_a_reply_to_a_case_text_becomes_a_note_of_that_case(
    db: Database, scene: Scene
) -> None:
    # The contract with the reply hook: case texts are marked with their case.
    from core.sms import receiving

    await _texted(db, scene)
    await notes.quick(db, scene.team.alice, scene.case.code, texts.ASSET_READY)
    await receiving.receive(db, CARL_MOBILE, scene.case.sender, "On my way")
    [note, *_] = await notes.list_notes(db, scene.team.alice, scene.case.code)
    assert (note.source, note.author, note.body) == ("sms", "Carl Mensah", "On my way")
