from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from core import settings
from core.clock import FakeClock
from core.db import Database, open_database
from core.errors import InvalidInput, NotAllowed
from core.people import agents, contacts, contacts_csv
from core.people.authz import Actor
from core.people.contacts import Contact, ContactDraft, Phone
from core.people.contacts_csv import export_csv, import_csv


def text(*lines: str) -> io.StringIO:
    return io.StringIO("\n".join(lines) + "\n")


async def everyone(db: Database, actor: Actor) -> list[Contact]:
    found, after = [], 0
    while page := await contacts.list_page(db, actor, after_id=after, limit=200):
        found += page
        after = page[-1].id
    return found


def comparable(c: Contact) -> tuple[object, ...]:
    return (c.name, c.job_title, c.email, c.ready, c.phones, c.custom)


# --- permissions ---------------------------------------------------------------


async def test_an_agent_may_not_import_or_export(db: Database, system: Actor) -> None:
    agent = (await agents.add(db, system, "alice", "Alice")).as_actor()
    assert agent.profile_name == "Agent"
    with pytest.raises(NotAllowed, match="import or export contacts"):
        await import_csv(db, agent, text("name,mobile", "Ann,+14155550101"))
    with pytest.raises(NotAllowed):
        await export_csv(db, agent, io.StringIO())
    assert await contacts.count(db) == 0


# --- import ----------------------------------------------------------------------


async def test_good_rows_are_imported_and_each_bad_cell_reported(
    db: Database, system: Actor
) -> None:
    stream = text(
        "name,mobile,email,ready,Team,Notes",
        "Ann,+14155550101,ann@example.com,yes,Blue,",  # 2 good
        "Bob,555,bob@example.com,,,",  # 3 bad number
        "Cat,+14155550103,not-an-email,maybe,,",  # 4 bad email and ready
        ",,,,Red,",  # 5 neither name nor phone
        "",  # 6 blank: skipped
        'Dan,(415) 555-0104,,0,Green,"two',  # 7 good; a quoted cell over two lines...
        'lines"',
        "Eve,+1415555010,,,,",  # 8 ...is still one row; too short a number
        "Fay,+14155550106,,true,,,extra",  # 9 a cell beyond the header
        "x" * 201 + ",,,,,",  # 10 name too long (and no phone: only one error)
    )

    report = await import_csv(db, system, stream)

    assert {(e.row, e.column) for e in report.errors} == {
        (3, "mobile"),
        (4, "email"),
        (4, "ready"),
        (5, "name"),
        (8, "mobile"),
        (9, "column 7"),
        (10, "name"),
    }
    assert len(report.errors) == 7
    assert report.imported == 2
    assert report.rejected_rows == 6
    reasons = {(e.row, e.column): e.reason for e in report.errors}
    assert "'555'" in reasons[(3, "mobile")]
    assert "'maybe'" in reasons[(4, "ready")]
    assert "needs a name or a phone" in reasons[(5, "name")]
    stored = await everyone(db, system)
    assert [(c.name, c.ready, c.phones, c.custom) for c in stored] == [
        ("Ann", True, (Phone("+14155550101", "mobile"),), {"Team": "Blue"}),
        (
            "Dan",
            False,
            (Phone("+14155550104", "mobile"),),
            {"Team": "Green", "Notes": "two\nlines"},
        ),
    ]
    events = await db.fetchall("SELECT kind, data FROM events WHERE kind LIKE 'contact%'")
    assert [e["kind"] for e in events] == ["contacts.imported"]
    assert '"imported": 2' in events[0]["data"]


async def test_a_cell_may_hold_several_numbers(db: Database, system: Actor) -> None:
    report = await import_csv(
        db,
        system,
        text(
            "name,mobile,work,fax",
            'Ann,"+14155550101; (415) 555-0102 ;",+12125550103,',
            "Bob,+14155550104;+14155550104,,",
            "Cat,+14155550105,,(415) 555-0105",
        ),
    )

    assert [(e.row, e.column) for e in report.errors] == [(3, "mobile"), (4, "fax")]
    assert "this cell" in report.errors[0].reason
    assert "column 'mobile'" in report.errors[1].reason
    [ann] = await everyone(db, system)
    assert ann.phones == (
        Phone("+14155550101", "mobile"),
        Phone("+14155550102", "mobile"),
        Phone("+12125550103", "work"),
    )


async def test_headers_match_any_case_and_spacing_and_custom_names_keep_theirs(
    db: Database, system: Actor
) -> None:
    report = await import_csv(
        db,
        system,
        text(
            "\ufeff NAME , Job_Title,EMAIL, Mobile ,  Site Code ,Floor",
            "Ann,Nurse,ann@example.com,+14155550101,N-1,",
            "Bob,,,+14155550102,,2",
        ),
    )

    assert report.errors == ()
    ann, bob = await everyone(db, system)
    assert (ann.name, ann.job_title, ann.email) == ("Ann", "Nurse", "ann@example.com")
    assert ann.custom == {"Site Code": "N-1"}
    assert bob.custom == {"Floor": "2"}  # empty cells are not stored


async def test_national_numbers_are_read_in_the_default_region(db: Database, system: Actor) -> None:
    await settings.update(db, system, default_region="GB")
    await import_csv(db, system, text("name,mobile", "Ann,07911 123456"))
    [ann] = await everyone(db, system)
    assert ann.phones == (Phone("+447911123456", "mobile"),)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty"),
        ("\n\n", "the file is empty"),
        (" , ,\nAnn,+14155550101\n", "the file is empty"),
        ("Ann,+14155550101\nBob,+14155550102\n", "must be a header"),
        ("name,Mobile,NAME\n", "names the column 'NAME' twice"),
        ("name,Team,team \n", "twice"),
        # As a custom field, its numbers could never be texted: the kind is the user's to say.
        (
            "name,Phone\nAnn,+14155550101\n",
            "the column 'Phone' does not say which kind of phone it holds: name it mobile,"
            " landline, work, home, fax or other",
        ),
        ("name, phone number \n", "'phone number' does not say which kind"),
    ],
)
async def test_a_file_without_a_usable_header_is_refused(
    db: Database, system: Actor, content: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        await import_csv(db, system, io.StringIO(content))
    assert await contacts.count(db) == 0


async def test_a_file_that_is_not_csv_imports_nothing(db: Database, system: Actor) -> None:
    # An unclosed quote swallows the rest of the file into one huge cell.
    stream = text("name,mobile", "Ann,+14155550101", 'Bob,"+1415', *["x" * 1000] * 200)
    with pytest.raises(InvalidInput, match="cannot be read as CSV at row 3: a cell is longer than"):
        await import_csv(db, system, stream)
    assert await contacts.count(db) == 0


async def test_ready_accepts_the_usual_spellings(db: Database, system: Actor) -> None:
    rows = ["TRUE", "false", "Yes", "NO", "1", "0", ""]
    stream = text("name,ready", *(f"P{i},{v}" for i, v in enumerate(rows)))
    report = await import_csv(db, system, stream)
    assert report.errors == ()
    assert [c.ready for c in await everyone(db, system)] == [
        True,
        False,
        True,
        False,
        True,
        False,
        True,
    ]


async def test_import_of_a_large_file_keeps_every_row(db: Database, system: Actor) -> None:
    # Import speed is measured by bench/contacts.py; this proves what lands.
    lines = ["name,mobile,email,Team"]
    lines += [
        f"Person {i},+1415{200 + i // 10000}{i % 10000:04d},p{i}@example.com,T{i % 7}"
        for i in range(12_000)
    ]
    report = await import_csv(db, system, text(*lines))

    assert report.errors == ()
    assert report.imported == 12_000
    assert await contacts.count(db) == 12_000
    last = await contacts.find_by_phone(db, "+14152011999")
    assert last is not None
    assert (last.name, last.email, last.custom) == (
        "Person 11999",
        "p11999@example.com",
        {"Team": "T1"},
    )


# --- export ----------------------------------------------------------------------


@pytest.fixture
async def sample(db: Database, system: Actor) -> list[Contact]:
    drafts = [
        ContactDraft(
            name="Ann Archer",
            job_title="Nurse, night shift",
            email="ann@example.com",
            phones=[
                ("+14155550101", "mobile"),
                ("+14155550102", "mobile"),
                ("+12125550103", "work"),
                ("+12125550104", "fax"),
            ],
            custom={"Team": "Blue", "Notes": 'said "call after 5"\nthen hung up'},
        ),
        ContactDraft(
            name='=HYPERLINK("http://evil.example")',
            ready=False,
            phones=[("+14155550105", "home")],
            custom={"Badge": "-42"},
        ),
        ContactDraft(
            name="'quoted",
            job_title="@lead",
            phones=[("+14155550106", "landline"), ("+14155550107", "other")],
        ),
        ContactDraft(phones=[("+447911123456", "mobile")], custom={"Ünïcode": "ça va"}),
    ]
    return [await contacts.create(db, system, d) for d in drafts]


async def test_export_writes_known_columns_then_sorted_custom_ones(
    db: Database, system: Actor, sample: list[Contact]
) -> None:
    out = io.StringIO()
    assert await export_csv(db, system, out) == 4

    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == [
        "name",
        "job_title",
        "email",
        "ready",
        "mobile",
        "landline",
        "work",
        "home",
        "fax",
        "other",
        "tags",
        "Badge",
        "Notes",
        "Team",
        "Ünïcode",
    ]
    assert len(rows) == 5
    assert rows[1][:10] == [
        "Ann Archer",
        "Nurse, night shift",
        "ann@example.com",
        "true",
        "+14155550101;+14155550102",
        "",
        "+12125550103",
        "",
        "+12125550104",
        "",
    ]
    # text a spreadsheet would run as a formula is written as text
    assert rows[2][0] == '\'=HYPERLINK("http://evil.example")'
    assert rows[2][3] == "false"
    assert rows[2][11] == "'-42"
    assert rows[3][:2] == ["''quoted", "'@lead"]


async def test_export_then_import_round_trips(
    db: Database, system: Actor, sample: list[Contact], tmp_path: Path, clock: FakeClock
) -> None:
    out = io.StringIO()
    await export_csv(db, system, out)

    other: Database = await open_database(tmp_path / "other.sqlite3", clock)
    try:
        report = await import_csv(other, system, io.StringIO(out.getvalue()))
        assert report.errors == ()
        assert report.imported == 4
        copied = await everyone(other, system)
    finally:
        await other.close()

    assert [comparable(c) for c in copied] == [comparable(c) for c in sample]


async def test_export_reads_in_pages(
    db: Database, system: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = text("name,mobile", *(f"P{i},+1415555{i:04d}" for i in range(20)))
    await import_csv(db, system, stream)
    limits: list[int] = []
    real = contacts.list_page

    async def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        limits.append(kwargs["limit"])
        return await real(*args, **kwargs)

    monkeypatch.setattr(contacts_csv, "EXPORT_PAGE", 7)
    monkeypatch.setattr(contacts, "list_page", spy)
    out = io.StringIO()

    assert await export_csv(db, system, out) == 20
    assert limits == [7, 7, 7, 7]  # 7 + 7 + 6, then an empty page
    assert out.getvalue().count("\n") == 21


async def test_export_of_no_contacts_is_just_the_header(db: Database, system: Actor) -> None:
    out = io.StringIO()
    assert await export_csv(db, system, out) == 0
    assert out.getvalue().strip() == ",".join(contacts_csv.KNOWN_COLUMNS)


# --- hostile and repeated files (issue #8, item 10) ----------------------------------------


async def test_a_stray_quote_refuses_the_file_naming_its_row(db: Database, system: Actor) -> None:
    # A lenient reader took everything after the quote as one name and dropped the rows.
    unclosed = text("name,mobile", "Ann,+14155550101", '"Bob,+14155550102', "Cid,+14155550103")
    with pytest.raises(InvalidInput, match='at row 3: a quote \\("\\) opened in this row is never'):
        await import_csv(db, system, unclosed)
    closed_early = text("name,mobile", "Ann,+14155550101", '"Bob" Jr,+14155550102')
    with pytest.raises(InvalidInput, match=r"at row 3: a quote .* closes this cell before its end"):
        await import_csv(db, system, closed_early)
    assert await contacts.count(db) == 0


async def test_a_quote_that_happens_to_pair_up_is_caught_by_the_line_break(
    db: Database, system: Actor
) -> None:
    stream = text(
        "name,mobile,Notes", '"Ann,+14155550101,x', 'Bob",+14155550102,y', "Cid,+14155550103,"
    )
    report = await import_csv(db, system, stream)
    assert report.imported == 1
    assert [(e.row, e.column) for e in report.errors] == [(2, "name")]
    assert "spans lines" in report.errors[0].reason
    assert [c.name for c in await everyone(db, system)] == ["Cid"]


async def test_a_number_already_stored_is_reported_and_not_attached_again(
    db: Database, system: Actor
) -> None:
    ann = await contacts.create(
        db,
        system,
        ContactDraft(name="Ann", phones=[("+14155550101", "mobile"), ("+14155550109", "work")]),
    )
    stream = text("name,mobile,work", "Impostor,+14155550101,", "Bob,+14155550102,+14155550109")
    report = await import_csv(db, system, stream)

    assert report.imported == 0
    assert report.already_known == 2
    assert [(e.row, e.column) for e in report.errors] == [(2, "mobile"), (3, "work")]
    assert f"already belongs to contact {ann.id}" in report.errors[0].reason
    assert await contacts.count(db) == 1
    assert (await contacts.find_by_phone(db, "+14155550101")) == ann


async def test_importing_the_same_file_twice_adds_nobody_the_second_time(
    db: Database, system: Actor
) -> None:
    lines = ("name,mobile", "Ann,+14155550101", "Bob,+14155550102", "Nameless only,")
    first = await import_csv(db, system, text(*lines))
    assert (first.imported, first.errors) == (3, ())

    second = await import_csv(db, system, text(*lines[:3]))
    assert second.imported == 0
    assert second.already_known == 2
    assert second.rejected_rows == 2
    assert await contacts.count(db) == 3


async def test_a_number_repeated_in_the_file_is_refused_in_the_later_row(
    db: Database, system: Actor
) -> None:
    stream = text("name,mobile", "Ann,+14155550101", "Ann again,(415) 555-0101", "Bob,+14155550102")
    report = await import_csv(db, system, stream)
    assert report.imported == 2
    assert [(e.row, e.column) for e in report.errors] == [(3, "mobile")]
    assert "already in row 2" in report.errors[0].reason
    assert [c.name for c in await everyone(db, system)] == ["Ann", "Bob"]


async def test_a_bom_is_ignored_and_a_nul_refuses_its_row(db: Database, system: Actor) -> None:
    stream = text("\ufeffname,mobile", "A\x00nn,+14155550101", "Bob,+14155550102")
    report = await import_csv(db, system, stream)
    assert report.imported == 1
    assert [(e.row, e.column) for e in report.errors] == [(2, "name")]
    assert report.errors[0].reason == "name holds a control character (U+0000)"
    assert [c.name for c in await everyone(db, system)] == ["Bob"]


async def test_text_that_is_not_utf8_refuses_the_file(db: Database, system: Actor) -> None:
    raw = io.BytesIO("name,mobile\nAnn,+14155550101\nZoë,+14155550102\n".encode("latin-1"))
    stream = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    with pytest.raises(InvalidInput, match=r"not UTF-8 text .* Nothing was imported"):
        await import_csv(db, system, stream)
    assert await contacts.count(db) == 0


async def test_custom_field_names_are_escaped_in_the_header_and_round_trip(
    db: Database, system: Actor, tmp_path: Path, clock: FakeClock
) -> None:
    await contacts.create(db, system, ContactDraft(name="Ann", custom={"=cmd|' /C calc'!A0": "x"}))
    out = io.StringIO()
    await export_csv(db, system, out)
    header = next(csv.reader(io.StringIO(out.getvalue())))
    assert header[-1] == "'=cmd|' /C calc'!A0"

    other = await open_database(tmp_path / "other.sqlite3", clock)
    try:
        assert (await import_csv(other, system, io.StringIO(out.getvalue()))).imported == 1
        assert [c.custom for c in await everyone(other, system)] == [{"=cmd|' /C calc'!A0": "x"}]
    finally:
        await other.close()
