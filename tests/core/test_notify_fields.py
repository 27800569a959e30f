"""P2: collected fields, the merge fields of every notice, and the values a close collects."""

from __future__ import annotations

import pytest

from core import settings
from core.db import Database
from core.errors import InvalidInput, InvalidPhoneNumber, LimitExceeded, NotFound
from core.notify import fields
from core.people.authz import SYSTEM
from core.templates import compile_template
from tests.core.notify_setup import add_profile

BUILT_IN = (
    "first_name",
    "last_name",
    "phone",
    "message",
    "callback_time",
    "caller_id",
    "outcome",
    "agent_comment",
    "agent",
    "closed_at",
)


async def test_every_built_in_field_is_a_merge_field_system_ones_included(db: Database) -> None:
    declared = await fields.fields_in(db)
    assert declared.names == BUILT_IN
    assert declared["first_name"].phi
    assert not declared["caller_id"].phi
    # Phone numbers and times never turn a notice into UCS-2.
    assert declared["phone"].gsm7_only
    assert not declared["message"].gsm7_only
    editor = await fields.editor_fields(db, SYSTEM)
    assert editor[0].insert == "{{first_name}}"
    system = [f.name for f in await fields.all_in(db) if not f.collected]
    assert system == ["caller_id", "outcome", "agent_comment", "agent", "closed_at"]


async def test_a_custom_field_is_added_and_usable_in_a_template(db: Database) -> None:
    made = await fields.add(db, SYSTEM, "policy_no", "Policy number", "text", phi=True)
    assert (made.max_length, made.phi, made.builtin) == (200, True, False)
    template = compile_template("Policy {{policy_no}}", await fields.fields_in(db))
    assert template.phi_fields == {"policy_no"}


@pytest.mark.parametrize(
    ("name", "label", "kind", "length", "message"),
    [
        ("Policy", "Policy", "text", None, "lowercase letters"),
        ("policy", "", "text", None, "needs a label"),
        ("policy", "{{x}}", "text", None, "cannot hold {"),
        ("policy", "Policy", "colour", None, "type is one of"),
        ("policy", "Policy", "text", 0, "max_length must be between 1 and 100000"),
        ("first_name", "Again", "text", None, "exists already"),
    ],
)
async def test_a_bad_field_is_refused_naming_the_rule(
    db: Database, name: str, label: str, kind: str, length: int | None, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        await fields.add(db, SYSTEM, name, label, kind, max_length=length)


async def test_the_51st_custom_field_is_refused(db: Database) -> None:
    for i in range(fields.MAX_CUSTOM):
        await fields.add(db, SYSTEM, f"extra_{i}", f"Extra {i}")
    with pytest.raises(LimitExceeded, match="at most 50 custom collected fields"):
        await fields.add(db, SYSTEM, "one_more", "One more")


async def test_a_built_in_field_keeps_its_name_but_its_label_and_phi_change(db: Database) -> None:
    with pytest.raises(InvalidInput, match="built-in field and cannot be deleted"):
        await fields.delete(db, SYSTEM, "phone")
    with pytest.raises(InvalidInput, match="only its label and PHI flag"):
        await fields.edit(db, SYSTEM, "phone", rename="telephone")
    with pytest.raises(InvalidInput, match="only its label and PHI flag"):
        await fields.edit(db, SYSTEM, "phone", type="text")
    edited = await fields.edit(db, SYSTEM, "callback_time", label="Call back at", phi=True)
    assert (edited.name, edited.label, edited.phi) == ("callback_time", "Call back at", True)


async def test_a_field_a_saved_template_uses_cannot_be_renamed_or_deleted(db: Database) -> None:
    await fields.add(db, SYSTEM, "policy_no", "Policy number")
    await fields.add(db, SYSTEM, "unused", "Unused")
    await add_profile(db, "Dr Hale", sms_mode="custom", sms_body="Policy {{ policy_no }}")
    await add_profile(
        db, "Front desk", email_mode="custom", email_subject="{{policy_no}}", email_body="x"
    )
    with pytest.raises(InvalidInput) as caught:
        await fields.delete(db, SYSTEM, "policy_no")
    assert str(caught.value) == (
        "cannot delete field policy_no: saved templates use it:"
        " Dr Hale (sms_body), Front desk (email_subject)"
    )
    with pytest.raises(InvalidInput, match=r"cannot rename field policy_no.*Dr Hale"):
        await fields.edit(db, SYSTEM, "policy_no", rename="policy")
    await fields.edit(db, SYSTEM, "unused", rename="spare")
    await fields.delete(db, SYSTEM, "spare")
    with pytest.raises(NotFound):
        await fields.delete(db, SYSTEM, "spare")


async def test_in_hipaa_mode_a_used_field_cannot_become_phi(db: Database) -> None:
    await fields.add(db, SYSTEM, "policy_no", "Policy number")
    await add_profile(db, "Dr Hale", sms_mode="custom", sms_body="Policy {{policy_no}}")
    await settings.update(db, SYSTEM, hipaa_mode=True)
    with pytest.raises(InvalidInput, match=r"mark as PHI.*Dr Hale \(sms_body\)"):
        await fields.edit(db, SYSTEM, "policy_no", phi=True)


async def _field(db: Database, name: str) -> fields.CollectedField:
    return next(f for f in await fields.all_in(db) if f.name == name)


@pytest.mark.parametrize(
    ("kind", "value", "kept"),
    [
        ("phone", "(415) 555-0123", "+14155550123"),
        ("email", "Ada@Example.COM", "Ada@example.com"),
        ("datetime", "2026-03-01T14:30", "2026-03-01T14:30:00"),
        ("number", " 12.5 ", "12.5"),
        ("text", "  Ada  ", "Ada"),
        ("long_text", "line one\nline two", "line one\nline two"),
    ],
)
async def test_values_are_checked_and_kept_per_type(
    db: Database, kind: str, value: str, kept: str
) -> None:
    await fields.add(db, SYSTEM, "value", "Value", kind)
    assert fields.check_value(await _field(db, "value"), value) == kept


@pytest.mark.parametrize(
    ("kind", "value", "error", "message"),
    [
        ("phone", "12", InvalidPhoneNumber, "."),
        ("email", "not an address", InvalidInput, r"Value \(value\)"),
        ("datetime", "next tuesday", InvalidInput, "ISO-8601"),
        ("number", "nan", InvalidInput, "must be a number"),
        ("number", "twelve", InvalidInput, "must be a number"),
        ("text", "two\nlines", InvalidInput, r"holds a line break \(U\+000A\)"),
        ("text", "x" * 201, InvalidInput, "at most 200 characters, not 201"),
    ],
)
async def test_a_bad_value_is_refused_naming_the_field(
    db: Database, kind: str, value: str, error: type[Exception], message: str
) -> None:
    await fields.add(db, SYSTEM, "value", "Value", kind)
    with pytest.raises(error, match=message):
        fields.check_value(await _field(db, "value"), value)


async def test_closing_data_names_unknown_system_and_missing_required_fields(
    db: Database,
) -> None:
    await fields.add(db, SYSTEM, "policy_no", "Policy number", required=True)
    declared = await fields.all_in(db)
    with pytest.raises(InvalidInput, match="unknown field 'colour'"):
        fields.check_values(declared, {"colour": "red", "policy_no": "1"})
    with pytest.raises(InvalidInput, match="caller_id is filled by the system"):
        fields.check_values(declared, {"caller_id": "+14155550123", "policy_no": "1"})
    with pytest.raises(InvalidInput, match="required fields are empty: policy_no"):
        fields.check_values(declared, {"first_name": "Ada", "policy_no": "  "})
    assert fields.check_values(declared, {"policy_no": "P-1", "last_name": ""}) == {
        "policy_no": "P-1"
    }
