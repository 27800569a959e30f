"""P6 HIPAA mode: refused at save, listed at switch-on, withheld at every render."""

from __future__ import annotations

import logging

import pytest

from core import settings
from core.db import Database
from core.delivery import emails
from core.errors import HipaaRefused, InvalidInput
from core.notify import closing, fields, hipaa, outcomes
from core.notify.hipaa import ProfileTemplates
from core.people.authz import SYSTEM
from core.sms import receiving
from tests.core.conftest import DEFAULT_NUMBER, STRANGER, Team
from tests.core.notify_setup import add_profile


async def test_switching_on_lists_every_template_that_must_change(db: Database) -> None:
    await add_profile(db, "A all data", sms=("+12125550160",), sms_mode="all_data")
    await add_profile(db, "B email", emails=("b@example.com",))
    await add_profile(db, "C custom", sms_mode="custom", sms_body="{{message}} {{outcome}}")
    await add_profile(db, "D clean", sms=("+12125550161",), sms_mode="non_message")
    problems = await hipaa.switch(db, SYSTEM, True)
    assert [(p.alias, p.part, p.fields) for p in problems] == [
        ("A all data", "sms_mode", ()),
        ("B email", "email_mode", ()),
        ("C custom", "sms_body", ("message",)),
    ]
    assert (await settings.load(db)).hipaa_mode
    assert await hipaa.check(db, SYSTEM) == problems
    assert await hipaa.switch(db, SYSTEM, False) == []


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        (ProfileTemplates("x", sms_mode="all_data", sms_on=True), "SMS mode all_data"),
        (ProfileTemplates("x", email_on=True), "email mode default"),
        (
            ProfileTemplates("x", sms_mode="custom", sms_body="{{phone}} {{first_name}}"),
            "sms_body uses PHI fields, which HIPAA mode refuses: first_name, phone",
        ),
        (
            ProfileTemplates(
                "x", email_mode="custom", email_subject="{{last_name}}", email_body="ok"
            ),
            "email_subject uses PHI fields, which HIPAA mode refuses: last_name",
        ),
    ],
)
async def test_saving_a_template_with_phi_is_refused_in_hipaa_mode(
    db: Database, profile: ProfileTemplates, message: str
) -> None:
    async with db.transaction() as tx:
        await hipaa.check_profile_templates(tx, profile)  # off: allowed
    await settings.update(db, SYSTEM, hipaa_mode=True)
    with pytest.raises(HipaaRefused, match=message):
        async with db.transaction() as tx:
            await hipaa.check_profile_templates(tx, profile)


async def test_an_unknown_field_is_refused_whatever_the_mode(db: Database) -> None:
    with pytest.raises(InvalidInput, match="unknown field 'colour'"):
        async with db.transaction() as tx:
            await hipaa.check_profile_templates(
                tx, ProfileTemplates("x", sms_mode="custom", sms_body="{{colour}}")
            )


async def test_emails_to_contacts_are_disabled_in_hipaa_mode(db: Database) -> None:
    async with db.transaction() as tx:
        await emails.queue_in(tx, "case", "ada@example.com", "Your case", "Hello")
    await settings.update(db, SYSTEM, hipaa_mode=True)
    with pytest.raises(HipaaRefused, match="emails to contacts are disabled"):
        async with db.transaction() as tx:
            await emails.queue_in(tx, "case", "ada@example.com", "Your case", "Hello")
    async with db.transaction() as tx:  # notices to the client's own people still go
        await emails.queue_in(tx, "notice", "staff@example.com", "Notice", "Hello")


async def test_no_phi_leaves_by_any_sms_or_email_mode_in_hipaa_mode(
    db: Database, team: Team, caplog: pytest.LogCaptureFixture
) -> None:
    # Our loggers at their most talkative; the root as console/logs.py or finer.
    # (aiosqlite's DEBUG lines print SQL parameters; the app keeps them at WARNING.)
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="switchboard")
    await fields.add(db, SYSTEM, "policy_no", "Policy number", phi=True)
    await fields.edit(db, SYSTEM, "callback_time", phi=True)
    everything = "{{" + "}} {{".join((await fields.fields_in(db)).names) + "}}"
    # Saved before the switch: the render withholds what the save can no longer refuse.
    modes = [
        {"sms_mode": "default"},
        {"sms_mode": "non_message"},
        {"sms_mode": "all_data"},
        {"sms_mode": "custom", "sms_body": everything},
        {"email_mode": "default"},
        {"email_mode": "custom", "email_subject": everything, "email_body": everything},
    ]
    for i, mode in enumerate(modes):
        sms = (f"+1212555017{i}",) if "sms_mode" in mode else ()
        mail = (f"p{i}@example.com",) if "email_mode" in mode else ()
        await add_profile(db, f"P{i}", sms=sms, emails=mail, **mode)
        await outcomes.switch(db, SYSTEM, "Urgent", f"P{i}")
    await hipaa.switch(db, SYSTEM, True)
    markers = {
        "first_name": "MARKERFIRST",
        "last_name": "MARKERLAST",
        "phone": "+14155550177",
        "message": "MARKERMESSAGE",
        "callback_time": "2031-07-04T11:22:33",
        "policy_no": "MARKERPOLICY",
    }
    await receiving.receive(db, STRANGER, DEFAULT_NUMBER, "Hello?")
    cid = await db.scalar("SELECT id FROM conversations WHERE phone = ?", (STRANGER,))
    closure = await closing.close(db, team.dana, cid, "Urgent", markers, comment="not PHI")
    assert len(closure.notices) == 6
    leaks = [
        ("messages", "SELECT body FROM messages WHERE purpose = 'notice'"),
        ("emails", "SELECT subject || body FROM emails"),
        ("events", "SELECT kind || data FROM events"),
    ]
    sent = {table: " ".join(r[0] for r in await db.fetchall(sql)) for table, sql in leaks}
    assert "[withheld]" in sent["messages"]
    assert "[withheld]" in sent["emails"]
    assert "not PHI" in sent["emails"]  # what is not PHI still goes
    for table, text in [*sent.items(), ("logs", caplog.text)]:
        for marker in (*markers.values(), "2031-07-04"):
            assert marker not in text, f"{marker} leaked into {table}"


async def test_saving_a_notification_profile_asks_hipaa_mode(db: Database) -> None:
    from core.notify import profiles

    await settings.update(db, SYSTEM, hipaa_mode=True)
    draft = profiles.ProfileDraft(
        "Dr Hale", sms_numbers=("+12125550160",), sms_on=True, sms_mode="all_data"
    )
    with pytest.raises(HipaaRefused, match="SMS mode all_data sends every collected field"):
        await profiles.add(db, SYSTEM, draft)
    safe = profiles.ProfileDraft(
        "Dr Hale", sms_numbers=("+12125550160",), sms_on=True, sms_mode="non_message"
    )
    await profiles.add(db, SYSTEM, safe)
