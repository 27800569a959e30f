"""Contact search over the FTS5 index (console contacts pane, C4 recipients)."""

from __future__ import annotations

import pytest

from core.db import Database
from core.people import contacts
from core.people.authz import Actor
from core.people.contacts import ContactDraft, NewContact, Phone


@pytest.fixture
async def people(db: Database, system: Actor) -> dict[str, int]:
    drafts = {
        "zoe": ContactDraft(
            name="Zoë Ångström",
            job_title="Charge nurse",
            email="zoe.angstrom@clinic.example",
            phones=[("+12125550105", "mobile"), ("+14155550177", "work")],
        ),
        "raj": ContactDraft(
            name="Raj Patel",
            job_title="Plumber",
            email="raj@pipes.example",
            phones=[("+13105550142", "mobile")],
        ),
        "ana": ContactDraft(
            name="Ana-Maria O'Brien",
            job_title="Night porter",
            email="amob@clinic.example",
            phones=[("+442079460018", "landline")],
        ),
    }
    return {k: (await contacts.create(db, system, d)).id for k, d in drafts.items()}


async def _ids(db: Database, actor: Actor, text: str) -> set[int]:
    return {c.id for c in await contacts.search_page(db, actor, text)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("zo", {"zoe"}),  # name prefix
        ("zoe", {"zoe"}),  # accents ignored
        ("ZOË angst", {"zoe"}),  # every word, any case
        ("zoe raj", set()),  # words are ANDed
        ("clinic", {"zoe", "ana"}),  # email part
        ("pipes.example", {"raj"}),
        ("plumb", {"raj"}),  # job title
        ("night port", {"ana"}),
        ("o'brien", {"ana"}),
        ("ana-maria", {"ana"}),
        ("12125550105", {"zoe"}),  # E.164 digits
        ("+1 212 555 0105", {"zoe"}),
        ("2125550105", {"zoe"}),  # national
        ("0105", {"zoe"}),  # last four
        ("5550142", {"raj"}),  # last seven
        ("(212) 555-01", {"zoe"}),  # formatted, partly typed
        ("(212) 555-0105", {"zoe"}),
        ("555", {"zoe", "raj"}),  # prefix of the last seven
        ("+44 20 7946", {"ana"}),
        ("Room 0105", set()),  # digits in a text search are not phone numbers
        ("nobody", set()),
    ],
)
async def test_search_finds(
    db: Database, system: Actor, people: dict[str, int], text: str, expected: set[str]
) -> None:
    assert await _ids(db, system, text) == {people[k] for k in expected}


async def test_blank_search_lists_everyone(
    db: Database, system: Actor, people: dict[str, int]
) -> None:
    assert await _ids(db, system, "   ") == set(people.values())
    assert await contacts.search_page(db, system, "") == await contacts.list_page(db, system)


async def test_list_page_search_is_the_same_search(
    db: Database, system: Actor, people: dict[str, int]
) -> None:
    assert [c.id for c in await contacts.list_page(db, system, search="zoe")] == [people["zoe"]]


async def test_results_come_with_their_phones(
    db: Database, system: Actor, people: dict[str, int]
) -> None:
    (zoe,) = await contacts.search_page(db, system, "zoe")
    assert zoe.phones == (Phone("+12125550105", "mobile"), Phone("+14155550177", "work"))


@pytest.mark.parametrize(
    "text",
    [
        '"',
        '""',
        "*",
        "zo*",
        "AND",
        "OR",
        "NOT",
        "zoe OR raj",
        "NEAR(",
        "NEAR(zoe raj, 2)",
        "-",
        "-zoe",
        "+",
        "^zoe",
        "name:zoe",
        "{name}: zoe",
        "(",
        ")",
        "\\",
        "'",
        "😀",
        "zoe 😀",
        "x" * 200,
        "zoe " * 50,
        "1" * 200,
        "\x00\x1b[31m",
        "_",
        "%",
    ],
)
async def test_hostile_text_never_raises(
    db: Database, system: Actor, people: dict[str, int], text: str
) -> None:
    found = await contacts.search_page(db, system, text)
    assert {c.id for c in found} <= set(people.values())


async def test_fts_words_are_not_operators(
    db: Database, system: Actor, people: dict[str, int]
) -> None:
    # "OR" is a word to look for, not an operator: nobody has a word starting "or".
    assert await _ids(db, system, "zoe OR raj") == set()
    assert await _ids(db, system, "zo*") == {people["zoe"]}


async def _bulk(db: Database, n: int, *, phone_every: int = 1) -> None:
    news = [
        NewContact(
            f"Person{i:06d} Smith",
            "Porter" if i % 2 else "Nurse",
            f"p{i}@example.com",
            True,
            (Phone(f"+1415{i:07d}", "mobile"),) if i % phone_every == 0 else (),
            {},
        )
        for i in range(n)
    ]
    async with db.transaction() as tx:
        await contacts.create_many_in(tx, news)


async def test_paging_returns_each_match_once_in_order(db: Database, system: Actor) -> None:
    await _bulk(db, 300)
    seen: list[int] = []
    after = 0
    while page := await contacts.search_page(db, system, "porter smi", after_id=after, limit=40):
        assert len(page) <= 40
        seen += [c.id for c in page]
        after = page[-1].id
    expected = [
        r["id"] for r in await db.fetchall("SELECT id FROM contacts WHERE job_title = 'Porter'")
    ]
    assert seen == sorted(expected)
    assert len(seen) == 150


async def test_changes_reach_the_index(db: Database, system: Actor, people: dict[str, int]) -> None:
    raj = await contacts.get(db, people["raj"])
    draft = contacts.draft_from(raj)
    draft.name = "Rajesh Kumar"
    draft.phones = [("+16175550199", "mobile")]
    await contacts.update(db, system, raj.id, draft)

    assert await _ids(db, system, "patel") == set()
    assert await _ids(db, system, "kumar") == {raj.id}
    assert await _ids(db, system, "5550142") == set()
    assert await _ids(db, system, "6175550199") == {raj.id}
    assert await _ids(db, system, "0199") == {raj.id}

    async with db.transaction() as tx:
        await tx.execute("DELETE FROM contact_phones WHERE contact_id = ?", (raj.id,))
        await tx.execute("DELETE FROM contacts WHERE id = ?", (raj.id,))
    assert await _ids(db, system, "kumar") == set()
    assert await _ids(db, system, "") == {people["zoe"], people["ana"]}


async def test_search_over_20k_contacts_finds_the_right_pages(db: Database, system: Actor) -> None:
    # Search speed over 10^6 contacts is measured by bench/console.py; this
    # proves that each kind of query finds what it should at a size where an
    # index mistake would show as wrong pages, not as a slow test.
    await _bulk(db, 20_000, phone_every=10)
    expectations = {
        "person001999": {1999},
        "person01999": set(range(19_990, 20_000)),  # words match as prefixes
        "smith porter": None,  # every odd id
        "nurse": None,  # every even id
        "4150012": {i for i in range(12_000, 13_000) if i % 10 == 0},
        "0040": {40, 10_040},  # the last four digits
        "(415) 001-": {i for i in range(10_000, 20_000) if i % 10 == 0},
        "p1234@": {1234, *range(12_340, 12_350)},
    }
    for text, ids in expectations.items():
        page = await contacts.search_page(db, system, text)
        after = await contacts.search_page(db, system, text, after_id=15_000)
        assert page, text
        assert all(c.id > 15_000 for c in after), text
        found = [c.id - 1 for c in page]  # contact i has id i + 1
        assert found == sorted(found), text
        if ids is not None:
            assert set(found) == set(sorted(ids)[:50]), text
    odd = [c.id - 1 for c in await contacts.search_page(db, system, "smith porter")]
    assert odd == list(range(1, 100, 2))


async def test_paging_backwards_with_before_id(db: Database, system: Actor) -> None:
    await _bulk(db, 300)
    porters = [
        r["id"] for r in await db.fetchall("SELECT id FROM contacts WHERE job_title = 'Porter'")
    ]
    page = await contacts.search_page(db, system, "porter", before_id=porters[100], limit=40)
    assert [c.id for c in page] == porters[60:100]
    page = await contacts.search_page(db, system, "", before_id=11, limit=5)
    assert [c.id for c in page] == [6, 7, 8, 9, 10]
