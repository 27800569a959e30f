"""Hostile CSV files through the real `switchboard contacts import` (issue #8, item 10).

A file that cannot be read whole is refused in one line naming the row, and
nothing is imported; a bad row is reported as "row N, column C: reason" and
skipped. Either way no traceback and no "unexpected" exit.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from tests.hostile.conftest import Run
from tests.processes import dump, refused, switchboard

ANN = "+12125550105"
BEN = "+12125550106"


@pytest.fixture
def write(tmp_path: Path) -> Callable[[bytes], Path]:
    def make(content: bytes) -> Path:
        path = tmp_path / "contacts.csv"
        path.write_bytes(content)
        return path

    return make


def contacts(db_file: Path) -> list[tuple[str, str]]:
    """(name, number) of every contact, in id order."""
    conn = sqlite3.connect(db_file)
    try:
        return list(
            conn.execute(
                "SELECT c.name, coalesce(p.e164, '') FROM contacts c"
                " LEFT JOIN contact_phones p ON p.contact_id = c.id ORDER BY c.id, p.position"
            )
        )
    finally:
        conn.close()


def clean(result: CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr
    assert "unexpected" not in result.stderr


def refused_whole(result: CompletedProcess[str], *fragments: str) -> str:
    """The whole file refused: one line naming each fragment, and nothing imported."""
    return refused(result, *fragments, "Nothing was imported")


@pytest.fixture
def existing(sb: Run, write: Callable[[bytes], Path], db_file: Path) -> list[str]:
    """One contact in the database, and its dump."""
    result = sb("contacts", "import", write(b"name,mobile\nZed,+12125550199\n"))
    assert result.returncode == 0, result.stderr
    return dump(db_file)


WHOLE_FILE = [
    pytest.param(
        f'name,mobile\nAnn,{ANN}\n"Bob,+12125550106\nCid,+12125550107\n'.encode(),
        'at row 3: a quote (") opened in this row is never closed',
        id="unclosed quote",
    ),
    pytest.param(
        f'name,mobile\nAnn,{ANN}\n"Bob" Jr,{BEN}\n'.encode(),
        'at row 3: a quote (") closes this cell before its end',
        id="text after a closing quote",
    ),
    pytest.param(
        f"name,mobile,Notes\nAnn,{ANN},{'n' * 200_000}\n".encode(),
        "at row 2: a cell is longer than 131,072 characters",
        id="huge field",
    ),
    pytest.param(
        f"name,mobile\nAnn,{ANN}\nZo\xeb,{BEN}\n".encode("latin-1"),
        "not UTF-8 text",
        id="latin-1 file",
    ),
    pytest.param(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\xff\xfe", "not UTF-8 text", id="binary file"),
]


@pytest.mark.parametrize(("content", "fragment"), WHOLE_FILE)
def test_a_file_that_cannot_be_read_whole_is_refused_naming_the_row(
    sb: Run, write: Callable[[bytes], Path], db_file: Path, existing: list[str], content, fragment
):
    refused_whole(sb("contacts", "import", write(content)), fragment)
    assert dump(db_file) == existing


def test_a_nul_byte_refuses_its_row_only(sb: Run, write: Callable[[bytes], Path], db_file: Path):
    result = sb("contacts", "import", write(f"name,mobile\nA\0nn,{ANN}\nBen,{BEN}\n".encode()))
    clean(result)
    assert result.returncode == 0, "some rows were imported"
    assert result.stdout.strip() == "imported 1 contact, refused 1 row"
    assert result.stderr.startswith("row 2, column name: name holds a control character (U+0000)")
    assert contacts(db_file) == [("Ben", BEN)]


def test_a_bom_is_read_as_excel_writes_it(sb: Run, write: Callable[[bytes], Path], db_file: Path):
    result = sb("contacts", "import", write(f"\ufeffname,mobile\nAnn,{ANN}\n".encode()))
    clean(result)
    assert result.stdout.strip() == "imported 1 contact"
    assert contacts(db_file) == [("Ann", ANN)]


def test_a_number_twice_in_the_file_goes_to_the_first_row_only(
    sb: Run, write: Callable[[bytes], Path], db_file: Path
):
    content = f"name,mobile\nAnn,{ANN}\nImpostor,(212) 555-0105\nBen,{BEN}\n".encode()
    result = sb("contacts", "import", write(content))
    clean(result)
    assert result.stdout.strip() == "imported 2 contacts, refused 1 row"
    assert result.stderr.strip() == (
        f"row 3, column mobile: {ANN} is already in row 2; a number belongs to one contact"
    )
    assert contacts(db_file) == [("Ann", ANN), ("Ben", BEN)]


def test_importing_the_same_file_twice_adds_nobody_and_says_how_many(
    sb: Run, write: Callable[[bytes], Path], db_file: Path
):
    source = write(f"name,mobile\nAnn,{ANN}\nBen,{BEN}\n".encode())
    assert sb("contacts", "import", source).returncode == 0
    before = dump(db_file)

    again = sb("contacts", "import", source)
    clean(again)
    assert again.returncode == 1, "nothing imported"
    assert again.stdout.strip() == (
        "imported 0 contacts, refused 2 rows"
        " (2 because a number in them already belongs to a contact)"
    )
    errors = again.stderr.strip().splitlines()
    assert errors == [
        f"row 2, column mobile: {ANN} already belongs to contact 1; a number leads to one"
        " contact, so edit that contact instead",
        f"row 3, column mobile: {BEN} already belongs to contact 2; a number leads to one"
        " contact, so edit that contact instead",
    ]
    assert dump(db_file) == before


def test_header_names_are_escaped_on_export_like_cells(
    sb: Run, write: Callable[[bytes], Path], db_file: Path, tmp_path: Path
):
    formula = '=HYPERLINK("http://evil.example")'
    cell = f'"{formula.replace(chr(34), chr(34) * 2)}"'
    assert (
        sb("contacts", "import", write(f"name,mobile,{cell}\nAnn,{ANN},x\n".encode())).returncode
        == 0
    )

    exported = sb("contacts", "export").stdout
    header = next(csv.reader(io.StringIO(exported)))
    assert header[-1] == "'" + formula, "a spreadsheet reads it as text"

    other = tmp_path / "other.sqlite3"
    copy = tmp_path / "copy.csv"
    copy.write_text(exported, encoding="utf-8", newline="")
    assert switchboard("contacts", "import", copy, db=other, home=tmp_path).returncode == 0
    listed = switchboard("contacts", "list", "--json", db=other, home=tmp_path).stdout
    assert '"=HYPERLINK(\\"http://evil.example\\")": "x"' in listed
