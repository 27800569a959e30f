"""Each notification profile's SMS and email by mode, through the one template renderer."""

from __future__ import annotations

import pytest

from core.db import Database
from core.errors import InvalidInput
from core.notify import fields, rendering
from core.notify.hipaa import ProfileTemplates
from core.people.authz import SYSTEM
from core.templates import WITHHELD, Fields

VALUES = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "phone": "+14155550123",
    "message": "Please call back about the invoice",
    "callback_time": "2026-03-01T14:30:00",
    "caller_id": "+14155550199",
    "outcome": "Urgent",
    "agent_comment": "sounded worried",
    "agent": "Alice Moreau",
    "closed_at": "2026-03-01T14:00+00:00",
}


@pytest.fixture
async def declared(db: Database) -> Fields:
    return await fields.fields_in(db)


def _sms(
    declared: Fields, mode: str, body: str | None = None, withhold: frozenset[str] = frozenset()
) -> str:
    profile = ProfileTemplates("Dr Hale", sms_mode=mode, sms_body=body, sms_on=True)
    return rendering.render_sms(rendering.sms_template(profile, declared), VALUES, withhold)


def test_sms_default_is_the_callers_name_phone_and_message(declared: Fields) -> None:
    assert _sms(declared, "default") == (
        "Ada Lovelace, +14155550123: Please call back about the invoice"
    )


def test_sms_non_message_is_the_classification_comment_and_caller_id(declared: Fields) -> None:
    assert _sms(declared, "non_message") == "Urgent: sounded worried (caller ID +14155550199)"


def test_sms_all_data_is_every_collected_field_then_caller_id_and_outcome(
    declared: Fields,
) -> None:
    assert _sms(declared, "all_data").splitlines() == [
        "First name: Ada",
        "Last name: Lovelace",
        "Phone: +14155550123",
        "Message: Please call back about the invoice",
        "Callback time: 2026-03-01T14:30:00",
        "Caller ID: +14155550199",
        "Outcome: Urgent",
    ]


async def test_all_data_lists_a_custom_field_by_its_label(db: Database) -> None:
    await fields.add(db, SYSTEM, "policy_no", "Policy number")
    text = _sms(await fields.fields_in(db), "all_data")
    assert "Policy number: \n" in text  # no value given: empty, not an error


def test_sms_custom_is_its_template_and_values_are_never_parsed_again(declared: Fields) -> None:
    values = VALUES | {"first_name": "{{caller_id}}"}
    profile = ProfileTemplates("x", sms_mode="custom", sms_body="Hi {{first_name}}", sms_on=True)
    assert rendering.render_sms(rendering.sms_template(profile, declared), values, ()) == (
        "Hi {{caller_id}}"
    )


def test_a_custom_mode_without_its_template_is_refused(declared: Fields) -> None:
    with pytest.raises(InvalidInput, match="has no custom SMS template"):
        _sms(declared, "custom")
    with pytest.raises(InvalidInput, match="unknown field 'colour'"):
        _sms(declared, "custom", "{{colour}}")


def test_a_withheld_field_renders_as_withheld_in_every_mode(declared: Fields) -> None:
    phi = frozenset(f.name for f in declared if f.phi)
    for mode in ("default", "all_data"):
        text = _sms(declared, mode, withhold=phi)
        assert "Ada" not in text
        assert WITHHELD in text


def test_email_default_names_the_outcome_and_holds_all_the_data(declared: Fields) -> None:
    profile = ProfileTemplates("x", email_on=True)
    subject, body = rendering.render_email(rendering.email_templates(profile, declared), VALUES, ())
    assert subject == "Urgent: a conversation closed"
    assert body.splitlines()[0] == "First name: Ada"
    assert "Agent comment: sounded worried" in body
    assert body.splitlines()[-1] == "Closed at: 2026-03-01T14:00+00:00"


def test_email_custom_subject_is_one_line_cut_to_fit(declared: Fields) -> None:
    profile = ProfileTemplates(
        "x",
        email_mode="custom",
        email_subject="{{outcome}} {{message}}",
        email_body="{{message}}",
        email_on=True,
    )
    values = VALUES | {"message": "line one\nline two " + "x" * 400}
    subject, body = rendering.render_email(rendering.email_templates(profile, declared), values, ())
    assert subject.startswith("Urgent line one line two x")
    assert len(subject) == rendering.MAX_SUBJECT
    assert body == values["message"]


def test_the_preview_renders_samples_and_counts_the_longest_render(declared: Fields) -> None:
    profile = ProfileTemplates("x", sms_on=True)
    shown = rendering.preview(rendering.sms_template(profile, declared), declared)
    assert shown.text == "<First name> <Last name>, <Phone>: <Message>"
    # A 1000-character message of emoji: UCS-2, many parts; no real render takes more.
    assert shown.encoding == "UCS-2"
    assert shown.segments == 35
    phi = frozenset(f.name for f in declared if f.phi)
    withheld = rendering.preview(rendering.sms_template(profile, declared), declared, phi)
    assert withheld.segments == 1
    assert withheld.text == f"{WITHHELD} {WITHHELD}, {WITHHELD}: {WITHHELD}"


async def test_the_preview_service_withholds_phi_in_hipaa_mode(db: Database) -> None:
    from core import settings

    await settings.update(db, SYSTEM, hipaa_mode=True)
    shown = await rendering.preview_sms(db, SYSTEM, ProfileTemplates("x", sms_mode="non_message"))
    assert shown.text == "<Outcome>: <Agent comment> (caller ID <Caller ID>)"
