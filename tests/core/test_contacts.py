from __future__ import annotations

import pytest

from core import settings
from core.db import Database
from core.errors import InvalidInput, InvalidPhoneNumber, NotFound
from core.people import agents, contacts
from core.people.authz import Actor
from core.people.contacts import Contact, ContactDraft, NewContact, Phone

ANN_MOBILE = "+14155550101"


async def _events(db: Database) -> list[tuple[str, int | None]]:
    rows = await db.fetchall("SELECT kind, entity_id FROM events ORDER BY id")
    return [(r["kind"], r["entity_id"]) for r in rows]


@pytest.fixture
async def agent(db: Database, system: Actor) -> Actor:
    return (await agents.add(db, system, "alice", "Alice Agent")).as_actor()


def ann() -> ContactDraft:
    return ContactDraft(
        name="  Ann Archer ",
        job_title="Site manager",
        email="ann@example.com",
        phones=[("+1 415 555 0101", "mobile"), ("(212) 555-0102", "Work")],
        custom={" Site ": "North", "Empty": "  "},
    )


# --- create / get / update -------------------------------------------------


async def test_create_normalises_and_get_reads_it_back(db: Database, system: Actor) -> None:
    created = await contacts.create(db, system, ann())

    fetched = await contacts.get(db, created.id)
    assert fetched == created
    assert fetched.name == "Ann Archer"
    assert fetched.phones == (Phone(ANN_MOBILE, "mobile"), Phone("+12125550102", "work"))
    assert fetched.custom == {"Site": "North"}  # trimmed key, empty value dropped
    assert fetched.ready is True
    assert fetched.mobiles == (Phone(ANN_MOBILE, "mobile"),)
    assert await _events(db) == [("contact.created", created.id)]


async def test_get_missing_contact_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound, match="no contact with id 42"):
        await contacts.get(db, 42)


async def test_update_replaces_fields_and_phones(db: Database, agent: Actor) -> None:
    created = await contacts.create(db, agent, ann())
    draft = contacts.draft_from(created)
    draft.name = "Ann Baker"
    draft.email = ""
    draft.phones = [("+44 7911 123456", "mobile")]
    draft.custom = {"Floor": "3"}

    updated = await contacts.update(db, agent, created.id, draft)

    assert await contacts.get(db, created.id) == updated
    assert updated.name == "Ann Baker"
    assert updated.email == ""
    assert updated.job_title == "Site manager"
    assert updated.phones == (Phone("+447911123456", "mobile"),)
    assert updated.custom == {"Floor": "3"}
    assert await contacts.find_by_phone(db, ANN_MOBILE) is None
    assert await contacts.ready_history(db, created.id) == []  # Ready did not change
    rows = await db.fetchall("SELECT kind, data FROM events WHERE kind = 'contact.updated'")
    assert len(rows) == 1
    assert '"name"' in rows[0]["data"]
    assert '"phones"' in rows[0]["data"]


async def test_update_that_changes_ready_records_who_changed_it(db: Database, agent: Actor) -> None:
    created = await contacts.create(db, agent, ann())
    draft = contacts.draft_from(created)
    draft.ready = False

    await contacts.update(db, agent, created.id, draft)

    [change] = await contacts.ready_history(db, created.id)
    assert change.ready is False
    assert change.reason == "changed by Alice Agent"
    assert change.agent_id == agent.id
    assert (await contacts.get(db, created.id)).ready is False


async def test_update_with_nothing_changed_writes_no_event(db: Database, system: Actor) -> None:
    created = await contacts.create(db, system, ann())
    await contacts.update(db, system, created.id, contacts.draft_from(created))
    assert [kind for kind, _ in await _events(db)] == ["contact.created"]


async def test_update_missing_contact_is_not_found(db: Database, system: Actor) -> None:
    with pytest.raises(NotFound):
        await contacts.update(db, system, 7, ann())


# --- validation --------------------------------------------------------------


async def test_invalid_phone_is_refused_naming_the_number(db: Database, system: Actor) -> None:
    draft = ContactDraft(name="Bob", phones=[(ANN_MOBILE, "mobile"), ("555-01", "mobile")])
    with pytest.raises(InvalidPhoneNumber, match=r"phone 2: '555-01' is not a valid phone number"):
        await contacts.create(db, system, draft)
    assert await contacts.count(db) == 0


async def test_unknown_phone_kind_is_refused_listing_the_allowed_ones(
    db: Database, system: Actor
) -> None:
    draft = ContactDraft(name="Bob", phones=[(ANN_MOBILE, "pager")])
    with pytest.raises(InvalidInput, match="'pager'") as info:
        await contacts.create(db, system, draft)
    assert "mobile, landline, work, home, fax, other" in str(info.value)
    assert await contacts.count(db) == 0


def test_the_same_number_twice_in_one_contact_is_refused() -> None:
    draft = ContactDraft(name="Bob", phones=[(ANN_MOBILE, "mobile"), ("(415) 555-0101", "work")])
    with pytest.raises(InvalidInput, match=r"phone 2: \+14155550101 is already listed as phone 1"):
        contacts.validate(draft, "US")


async def test_national_number_is_read_in_the_default_region(db: Database, system: Actor) -> None:
    us = await contacts.create(db, system, ContactDraft(phones=[("(415) 555-0123", "mobile")]))
    assert us.phones == (Phone("+14155550123", "mobile"),)

    await settings.update(db, system, default_region="GB")
    uk = await contacts.create(db, system, ContactDraft(phones=[("07911 123456", "mobile")]))

    assert uk.phones == (Phone("+447911123456", "mobile"),)
    assert (await contacts.get(db, uk.id)).phones[0].e164 == "+447911123456"


@pytest.mark.parametrize(
    "email",
    [
        "ann",
        "ann@example",
        "ann@@example.com",
        "a@b@example.com",
        "@example.com",
        "ann@.com",
        "ann@example.",
        "ann smith@example.com",
        "ann@example..com",
    ],
)
def test_malformed_email_is_refused(email: str) -> None:
    with pytest.raises(InvalidInput, match="email"):
        contacts.validate(ContactDraft(name="Ann", email=email), "US")


@pytest.mark.parametrize("email", ["", "ann@example.com", " a.b+c@mail.example.co.uk "])
def test_good_email_is_accepted_trimmed(email: str) -> None:
    _, _, cleaned, _ = contacts.validate(ContactDraft(name="Ann", email=email), "US")
    assert cleaned == email.strip()


def test_name_is_limited_to_200_characters() -> None:
    assert contacts.validate(ContactDraft(name="x" * 200), "US")[0] == "x" * 200
    with pytest.raises(InvalidInput, match="name is too long: 201 characters, the most is 200"):
        contacts.validate(ContactDraft(name="x" * 201), "US")


@pytest.mark.parametrize(
    ("custom", "message"),
    [
        ({"": "x"}, "needs a name"),
        ({"  ": "x"}, "needs a name"),
        ({"Email": "x"}, "built-in"),
        ({"Mobile": "x"}, "built-in"),
        ({"Team": "a", "team": "b"}, "differ only in case"),
    ],
)
def test_bad_custom_field_names_are_refused(custom: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        contacts.validate(ContactDraft(name="Ann", custom=custom), "US")


@pytest.mark.parametrize(
    ("draft", "message"),
    [
        (ContactDraft(name="Eve\x1b[31m"), r"name holds a control character \(U\+001B\)$"),
        (ContactDraft(name="Ann", job_title="Boss\x07"), r"job title holds .*\(U\+0007\)$"),
        (ContactDraft(name="Ann", email="a\x7f@example.com"), r"email holds .*\(U\+007F\)$"),
        (ContactDraft(name="Ann", custom={"Te\tam": "x"}), r"name .* holds a tab \(U\+0009\)$"),
        (
            ContactDraft(name="Ann", custom={"Note": "see\x1b]52;c;aGk=\x07"}),
            r"custom field 'Note' holds a control character \(U\+001B\); it may hold line"
            " breaks and tabs, and no other",
        ),
        (ContactDraft(name="Ann\ud800"), "name is not valid text"),
    ],
)
def test_a_control_character_in_a_contact_is_refused_naming_the_field(
    draft: ContactDraft, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        contacts.validate(draft, "US")


def test_a_custom_value_may_run_over_lines() -> None:
    new = contacts.prepare(
        ContactDraft(name="Ann", custom={"Address": "1 Main St\r\n\tApt 2"}), "US"
    )
    assert new.custom == {"Address": "1 Main St\r\n\tApt 2"}


def test_a_contact_needs_a_name_or_a_phone() -> None:
    with pytest.raises(InvalidInput, match="needs a name or a phone number"):
        contacts.validate(ContactDraft(email="ann@example.com"), "US")


def test_label_falls_back_to_first_phone_then_id() -> None:
    phone = Phone(ANN_MOBILE, "work")
    assert Contact(1, "Ann", "", "", True, (phone,), {}).label == "Ann"
    assert Contact(1, "", "", "", True, (phone,), {}).label == ANN_MOBILE
    assert Contact(9, "", "", "", True, (), {}).label == "contact 9"


# --- finding and listing -----------------------------------------------------


async def test_find_by_phone_returns_the_lowest_id(db: Database, system: Actor) -> None:
    # Databases from before "a number leads to one contact" may share a number.
    first = await contacts.create(db, system, ContactDraft(name="A", phones=[(ANN_MOBILE, "work")]))
    second = await contacts.create(db, system, ContactDraft(name="B"))
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO contact_phones (contact_id, e164, kind) VALUES (?, ?, 'mobile')",
            (second.id, ANN_MOBILE),
        )

    found = await contacts.find_by_phone(db, ANN_MOBILE)

    assert found is not None
    assert found.id == first.id
    assert await contacts.find_by_phone(db, "+14155550199") is None


async def _bulk(db: Database, n: int) -> list[int]:
    news = [
        NewContact(f"Person {i:03d}", "", "", True, (Phone(f"+1415555{i:04d}", "mobile"),), {})
        for i in range(n)
    ]
    async with db.transaction() as tx:
        assert await contacts.create_many_in(tx, news) == n
    return [r["id"] for r in await db.fetchall("SELECT id FROM contacts ORDER BY id")]


async def test_keyset_paging_returns_every_contact_once_in_order(
    db: Database, agent: Actor
) -> None:
    ids = await _bulk(db, 120)
    seen: list[Contact] = []
    after = 0
    while page := await contacts.list_page(db, agent, after_id=after, limit=50):
        assert len(page) <= 50
        seen += page
        after = page[-1].id

    assert [c.id for c in seen] == ids
    assert len(seen) == 120
    # each contact came with its own phone
    assert all(c.phones == (Phone(f"+1415555{int(c.name[-3:]):04d}", "mobile"),) for c in seen)


async def test_list_page_loads_phones_in_one_extra_query(
    db: Database, system: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _bulk(db, 30)
    calls: list[str] = []
    real = db.fetchall

    async def counting(sql: str, params=()):  # type: ignore[no-untyped-def]
        calls.append(sql)
        return await real(sql, params)

    monkeypatch.setattr(db, "fetchall", counting)
    page = await contacts.list_page(db, system, limit=30)

    assert len(page) == 30
    assert all(len(c.phones) == 1 for c in page)
    assert len(calls) == 2


async def test_list_page_refuses_a_silly_limit(db: Database, system: Actor) -> None:
    with pytest.raises(InvalidInput, match="1 to 1000"):
        await contacts.list_page(db, system, limit=0)


@pytest.fixture
async def people(db: Database, system: Actor) -> dict[str, int]:
    drafts = {
        "ann": ContactDraft(
            name="Ann Archer",
            job_title="Nurse",
            email="ann@north.example",
            phones=[("+14155550101", "mobile")],
        ),
        "bob": ContactDraft(
            name="Bob Baker",
            job_title="Head NURSE",
            email="bob@south.example",
            phones=[("+442079460018", "work")],
        ),
        "cat": ContactDraft(
            name="Cat 50% Off",
            job_title="Porter",
            email="cat@north.example",
            phones=[("+14155550199", "mobile")],
        ),
    }
    return {k: (await contacts.create(db, system, d)).id for k, d in drafts.items()}


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("archer", {"ann"}),  # name, any case
        ("NURSE", {"ann", "bob"}),  # job title
        ("@north.", {"ann", "cat"}),  # email
        ("555 0199", {"cat"}),  # phone digits, written with a space
        ("0101", {"ann"}),
        ("020 7946 0018", set()),  # national UK form, default region is US
        ("+44 20 7946", {"bob"}),
        ("50%", {"cat"}),  # % is a character, not a wildcard
        ("_", set()),
        ("zzz", set()),
    ],
)
async def test_search(
    db: Database, system: Actor, people: dict[str, int], search: str, expected: set[str]
) -> None:
    found = await contacts.list_page(db, system, search=search)
    assert {c.id for c in found} == {people[k] for k in expected}


async def test_search_with_a_national_number_uses_the_default_region(
    db: Database, system: Actor, people: dict[str, int]
) -> None:
    await settings.update(db, system, default_region="GB")
    found = await contacts.list_page(db, system, search="020 7946 0018")
    assert [c.id for c in found] == [people["bob"]]


async def test_text_search_with_digits_does_not_match_phone_numbers(
    db: Database, system: Actor, people: dict[str, int]
) -> None:
    assert await contacts.list_page(db, system, search="Room 0101") == []


async def test_search_pages_by_keyset_too(db: Database, system: Actor) -> None:
    await _bulk(db, 30)  # Person 000 .. Person 029
    first = await contacts.list_page(db, system, search="person 01", limit=4)
    rest = await contacts.list_page(db, system, search="person 01", after_id=first[-1].id)
    assert [c.name for c in first + rest] == [f"Person 01{i}" for i in range(10)]


async def test_count(db: Database, system: Actor) -> None:
    assert await contacts.count(db) == 0
    await _bulk(db, 3)
    assert await contacts.count(db) == 3


# --- Ready (M9) ---------------------------------------------------------------


async def test_set_ready_records_history_and_ignores_no_change(
    db: Database, agent: Actor, clock
) -> None:
    c = await contacts.create(db, agent, ann())

    unchanged = await contacts.set_ready(db, agent, c.id, True, "nothing to do")
    assert unchanged.ready is True
    assert await contacts.ready_history(db, c.id) == []

    off = await contacts.set_ready(db, agent, c.id, False, "SMS sent", message_id=77)
    clock.advance(minutes=5)
    again = await contacts.set_ready(db, agent, c.id, False, "SMS sent again")
    clock.advance(minutes=5)
    await contacts.set_ready(db, agent, c.id, True, " ")

    assert off.ready is False
    assert again.ready is False
    history = await contacts.ready_history(db, c.id)
    assert [(h.ready, h.reason, h.message_id) for h in history] == [
        (True, "changed by Alice Agent", None),
        (False, "SMS sent", 77),
    ]
    assert history[0].at > history[1].at
    assert all(h.agent_id == agent.id for h in history)
    kinds = [k for k, _ in await _events(db)]
    assert kinds.count("contact.ready_changed") == 2


async def test_set_ready_in_joins_the_callers_transaction(db: Database, system: Actor) -> None:
    c = await contacts.create(db, system, ann())

    async with db.transaction() as tx:
        assert await contacts.set_ready_in(tx, c.id, False, "texted", agent_id=None) is True
        assert await contacts.set_ready_in(tx, c.id, False, "texted", agent_id=None) is False

    assert (await contacts.get(db, c.id)).ready is False
    assert [h.reason for h in await contacts.ready_history(db, c.id)] == ["texted"]


async def test_set_ready_in_rolls_back_with_the_transaction(db: Database, system: Actor) -> None:
    c = await contacts.create(db, system, ann())

    async def send_that_fails() -> None:
        async with db.transaction() as tx:
            await contacts.set_ready_in(tx, c.id, False, "texted", agent_id=None)
            raise RuntimeError("the send failed")

    with pytest.raises(RuntimeError):
        await send_that_fails()
    assert (await contacts.get(db, c.id)).ready is True
    assert await contacts.ready_history(db, c.id) == []


async def test_set_ready_on_missing_contact_is_not_found(db: Database, system: Actor) -> None:
    with pytest.raises(NotFound):
        await contacts.set_ready(db, system, 5, False, "x")
    with pytest.raises(NotFound):
        await contacts.ready_history(db, 5)


# --- bulk --------------------------------------------------------------------


async def test_create_many_in_inserts_every_contact_with_its_phone_and_fields(
    db: Database,
) -> None:
    # How fast is bench/contacts.py's business; this proves what lands.
    news = [
        NewContact(
            f"P{i}",
            "",
            "",
            i % 2 == 0,
            (Phone(f"+1415{200 + i // 10000}{i % 10000:04d}", "mobile"),),
            {"n": str(i)},
        )
        for i in range(12_000)
    ]
    async with db.transaction() as tx:
        assert await contacts.create_many_in(tx, news) == 12_000

    assert await contacts.count(db) == 12_000
    assert await db.scalar("SELECT count(*) FROM contact_phones") == 12_000
    last = await contacts.find_by_phone(db, "+14152011999")
    assert last is not None
    assert (last.name, last.ready, last.custom) == ("P11999", False, {"n": "11999"})


async def test_a_number_leads_to_one_contact_in_the_form_too(db: Database, system: Actor) -> None:
    ann = await contacts.create(
        db, system, ContactDraft(name="Ann", phones=[(ANN_MOBILE, "mobile")])
    )
    bob = await contacts.create(db, system, ContactDraft(name="Bob"))

    with pytest.raises(InvalidInput, match=r"already belongs to Ann \(contact 1\)"):
        await contacts.create(db, system, ContactDraft(name="Eve", phones=[(ANN_MOBILE, "work")]))
    with pytest.raises(InvalidInput, match="already belongs to Ann"):
        await contacts.update(
            db, system, bob.id, ContactDraft(name="Bob", phones=[(ANN_MOBILE, "mobile")])
        )
    # Ann keeps her own number through an edit, and nobody else got it.
    await contacts.update(
        db, system, ann.id, ContactDraft(name="Ann B", phones=[(ANN_MOBILE, "mobile")])
    )
    assert await db.scalar("SELECT count(*) FROM contact_phones WHERE e164 = ?", (ANN_MOBILE,)) == 1
    assert await contacts.count(db) == 2
