"""S1: a campaign's merge fields and one target's values."""

from __future__ import annotations

import json

import pytest

from core.campaigns.fields import BUILT_IN, compiled, fields_for, fields_in, values_for
from core.db import Database
from core.errors import InvalidInput
from core.merging import field_name
from core.people import contacts
from core.people.authz import SYSTEM
from core.people.contacts import ContactDraft
from core.templates import compile_template
from tests.core import campaign_setup as cs


def test_keys_become_field_names():
    assert field_name("Account manager") == "account_manager"
    assert field_name("  2nd line ") == "f_2nd_line"
    assert field_name("!!!") is None


async def test_fields_are_built_ins_custom_fields_and_the_campaigns_csv_columns(db: Database):
    await contacts.create(
        db,
        SYSTEM,
        ContactDraft(name="Ada Lovelace", phones=[("+12125550140", "mobile")],
                     custom={"Account manager": "Bob"}),
    )  # fmt: skip
    fields = await fields_in(db)
    assert "account_manager" in fields
    assert "first_name" in fields
    template = compile_template("Hi {{first_name}}, {{account_manager}} here", fields)
    row = await db.fetchone("SELECT name, job_title, email, custom FROM contacts")
    values = values_for(row, "+12125550140", json.dumps({"account_manager": "Cleo"}))
    # The CSV row's value wins over the contact's own custom field.
    assert template.render(values) == "Hi Ada, Cleo here"
    assert values_for(None, "+12125550140", None) == {"phone": "+12125550140"}


async def test_a_template_s_fields_are_found_as_fields_in_finds_them(db: Database):
    """fields_for looks for the names a template uses, each until its first key: the
    same fields as fields_in declares, for those names; a refusal names them all."""
    for name, phone, custom in (
        ("Ada Lovelace", "+12125550140", {"Account manager": "Bob"}),
        ("Cleo Park", "+12125550142", {"Plan code": "A1", "account_manager": "Dan"}),
    ):
        await contacts.create(
            db, SYSTEM, ContactDraft(name=name, phones=[(phone, "mobile")], custom=custom)
        )
    cid = await cs.campaign(db, template="Hi")
    await cs.target(db, cid, "+12125550141", merge_values={"voucher": "V-1"})
    every = await fields_in(db, cid)
    asked = ("first_name", "plan_code", "voucher", "account_manager", "nowhere")
    found = await fields_for(db, cid, asked)
    built_in = {f.name for f in BUILT_IN}
    # The built-ins, then those asked that some key is merged as, in fields_in's order.
    assert found.names == tuple(n for n in every.names if n in asked or n in built_in)
    assert {"plan_code", "voucher", "account_manager"} <= set(found.names)
    assert "nowhere" not in found
    assert {f.name: f.max_length for f in found} == {
        f.name: f.max_length for f in every if f.name in found
    }
    template = await compiled(db, cid, "{{plan_code}} {{voucher}} {{phone}}")
    assert template.render({"plan_code": "A1", "voucher": "V", "phone": "+1"}) == "A1 V +1"
    with pytest.raises(InvalidInput) as refused:
        await compiled(db, cid, "{{plan_cod}}")
    # The refusal lists every field the campaign could use, not only those looked for.
    assert str(refused.value) == str(every.unknown("plan_cod"))
