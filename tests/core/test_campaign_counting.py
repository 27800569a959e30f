"""S1: a campaign text's values and segments per target, counted once per shape.

Dispatch and the estimate no longer render and count every target's text:
``fields.Reader`` has SQLite make only the values a template uses, and
``counting.Counter`` counts each shape of values once. Both must give exactly
what the full path gives: ``values_for`` and rendering then ``segments.count``.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.campaigns import counting, quiet_hours
from core.campaigns.fields import BUILT_IN, WHITESPACE, Reader, values_for
from core.clock import FakeClock
from core.db import SQL_FUNCTIONS, open_database
from core.errors import InvalidInput
from core.sms import outgoing, segments
from core.templates import Field, Fields, compile_template

_FIELDS = Fields((*BUILT_IN, Field("code", "Code", 12), Field("city", "City", 40)))
_NOTICE = "Reply STOP to opt out"

# Characters that count differently: GSM-7 basic, the escape table, UCS-2 only
# (accented, CJK, an emoji as a surrogate pair), blanks.
_chars = st.sampled_from(list("aZ09 .,-é£") + list("[]{}€^~|\\") + list("çł中") + ["😀", "\n"])
_values = st.lists(_chars, max_size=14).map("".join)
_short = st.lists(_chars, max_size=3).map("".join)
"""Short values: rows of one shape with different characters are many."""
_stored = st.lists(_chars | st.sampled_from(["\x00", "\t", "\u3000", "\xa0"]), max_size=14).map(
    "".join
)
"""What a contact or CSV row may hold, saved before contacts refused control characters:
a NUL ends a string in SQLite's JSON and text functions; Python strips more blanks."""
_keys = st.sampled_from(["Code", "code", "CODE ", "City", "job title", "First name", "!!", "Zip"])


@st.composite
def _targets(draw: st.DrawFn) -> tuple[dict[str, object] | None, str, str | None]:
    contact: dict[str, object] | None = None
    if draw(st.booleans()):
        custom = draw(st.dictionaries(_keys, _stored, max_size=4))
        contact = {
            "name": draw(st.one_of(st.none(), _stored)),
            "job_title": draw(st.one_of(st.none(), _stored)),
            "email": draw(st.one_of(st.none(), _stored)),
            "custom": json.dumps(custom),
        }
    csv = draw(st.dictionaries(st.sampled_from(["code", "first_name", "phone", "zip"]), _stored))
    merge = draw(st.sampled_from([None, "{}", json.dumps(csv)]))
    return contact, "+12025550147", merge


_names = st.lists(
    st.sampled_from(["name", "first_name", "last_name", "job_title", "email", "phone", "code",
                     "city", "zip"]),
    max_size=5,
)  # fmt: skip


@pytest.fixture(scope="module")
def sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    """The real schema, and the functions every connection registers (core.db)."""
    path = tmp_path_factory.mktemp("reader") / "switchboard.sqlite3"
    asyncio.run(_made(path))
    conn = sqlite3.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    for name, arguments, function in SQL_FUNCTIONS:
        conn.create_function(name, arguments, function, deterministic=True)
    conn.execute("PRAGMA foreign_keys = OFF")  # a target without its campaign row
    yield conn
    conn.close()


async def _made(path: Path) -> None:
    await (await open_database(path, FakeClock(datetime(2026, 3, 2, tzinfo=UTC)))).close()


def _read(conn: sqlite3.Connection, reader: Reader, target) -> dict[str, str]:
    """What ``reader`` reads for one target, as dispatch reads it: a row of its own."""
    contact, phone, merge = target
    conn.execute("BEGIN")
    try:
        contact_id = None
        if contact is not None:
            contact_id = conn.execute(
                "INSERT INTO contacts (name, job_title, email, custom, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, 0, 0)",
                [contact[k] or "" for k in ("name", "job_title", "email")] + [contact["custom"]],
            ).lastrowid
        conn.execute(
            "INSERT INTO campaign_targets (campaign_id, contact_id, phone, merge_values,"
            " created_at, updated_at) VALUES (1, ?, ?, ?, 0, 0)",
            (contact_id, phone, merge if merge is not None else "{}"),
        )
        row = conn.execute(
            f"SELECT t.id{reader.columns} FROM campaign_targets t"
            " LEFT JOIN contacts c ON c.id = t.contact_id"
        ).fetchone()
        return reader.values(row)
    finally:
        conn.execute("ROLLBACK")


@settings(deadline=None, max_examples=300)
@given(target=_targets(), names=_names)
def test_a_reader_gives_what_values_for_gives_for_the_fields_it_reads(
    sqlite, target, names
) -> None:
    contact, phone, merge = target
    everything = values_for(contact, phone, merge)
    reader = Reader(names)
    assert _read(sqlite, reader, target) == {n: everything.get(n, "") for n in names}


def test_the_first_custom_key_of_a_field_wins_and_a_csv_value_over_it(sqlite) -> None:
    contact = {"name": "Ann Lee", "job_title": None, "email": None,
               "custom": json.dumps({"Code": "first", "code": "second"})}  # fmt: skip
    reader = Reader(["code", "first_name"])
    phone = "+12025550147"
    assert _read(sqlite, reader, (contact, phone, None)) == {"code": "first", "first_name": "Ann"}
    csv = json.dumps({"code": "from the file"})
    assert _read(sqlite, reader, (contact, phone, csv))["code"] == "from the file"


def test_a_name_split_is_python_s_whitespace_and_all(sqlite) -> None:
    # str.strip() takes off more than SQL's trim() does by default: a no-break space,
    # an ideographic space; the split itself is at the first plain space only.
    contact = {"name": "Ann\u3000Marie  Lee\u00a0\u2003", "job_title": None, "email": None,
               "custom": "{}"}  # fmt: skip
    reader = Reader(["first_name", "last_name"])
    assert _read(sqlite, reader, (contact, "+12025550147", None)) == {
        "first_name": "Ann\u3000Marie",
        "last_name": "Lee",
    }


def test_the_whitespace_trimmed_is_all_that_python_strips() -> None:
    assert set(WHITESPACE) == {ch for ch in map(chr, range(0x110000)) if ch.isspace()}


def test_sqlite_tells_a_number_s_zone_key_as_python_does(sqlite) -> None:
    for phone in ("+12025550147", "+442071838750", "+8613800138000", "+1"):
        found = sqlite.execute(f"SELECT {quiet_hours.zone_key_sql('?1')}", (phone,)).fetchone()[0]
        assert found == quiet_hours.zone_key(phone)


def test_a_name_that_is_not_a_field_name_never_reaches_the_sql() -> None:
    with pytest.raises(ValueError, match="not a merge field name"):
        Reader(["code' OR 1 --"])


_TEMPLATES = [
    "Hi {{first_name}}, your code is {{code}}.",
    "{{code}}{{city}}!",
    "Tarif: {{city}} — {{code}}",  # UCS-2 whatever the values
    "{{first_name}} {{code}}",  # blank literals only: a text may render empty
]


@pytest.mark.parametrize("source", _TEMPLATES)
@settings(deadline=None, max_examples=150)
@given(st.lists(st.tuples(_short, _short, _short, st.booleans()), min_size=1, max_size=40))
def test_a_counter_counts_each_text_as_rendering_it_would(source, rows) -> None:
    template = compile_template(source, _FIELDS)
    # One counter for every row: a later row of an earlier row's shape is answered
    # from what the earlier one counted, and must still be its own text's count.
    counter = counting.Counter(template)
    for first, code, city, told in rows:
        values = {"first_name": first, "code": code, "city": city}
        line = None if told else _NOTICE
        try:
            text = template.render(values)
        except InvalidInput as refused:
            message = str(refused)
        else:
            message = None
        if message is not None:
            with pytest.raises(InvalidInput, match=f"^{re.escape(message)}$"):
                counter.count(values, line)
            continue
        expected = segments.count(outgoing.with_notice(text, line)) if text.strip() else None
        assert counter.count(values, line) == expected


@settings(deadline=None, max_examples=300)
@given(st.lists(_chars | st.characters(codec="utf-8"), max_size=8).map("".join))
def test_sqlite_tells_a_value_s_shape_as_python_does(sqlite, value) -> None:
    # The estimate groups a page's targets by shape in SQL.
    found = sqlite.execute(f"SELECT {counting.shape_sql('?1')}", (value,)).fetchone()[0]
    assert found == counting.shape_of(value)


def test_values_of_one_shape_share_a_count_and_others_do_not() -> None:
    counter = counting.Counter(compile_template("Code {{code}}", _FIELDS))
    # Same length, GSM-7 basic: one shape, one count.
    assert counting.shape_of("ABC123") == counting.shape_of("xyz789") == 6
    # An escape-table character costs two units; a UCS-2 one changes the encoding.
    assert counting.shape_of("AB[123") == "AB[123"
    assert counter.count({"code": "AB[123"}, None).units == 12
    assert counter.count({"code": "ABç123"}, None).encoding == "UCS-2"
    assert counter.count({"code": "ABC123"}, None).encoding == "GSM-7"


def test_a_value_too_long_is_refused_by_name_every_time() -> None:
    counter = counting.Counter(compile_template("Code {{code}}", _FIELDS))
    for value in ("x" * 13, "y" * 13):  # the second from the first's shape
        with pytest.raises(InvalidInput, match="code has 13 characters"):
            counter.count({"code": value}, None)
