"""S1: a campaign's merge fields and one target's values."""

from __future__ import annotations

import json

from core.campaigns.fields import fields_in, values_for
from core.db import Database
from core.merging import field_name
from core.people import contacts
from core.people.authz import SYSTEM
from core.people.contacts import ContactDraft
from core.templates import compile_template


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
