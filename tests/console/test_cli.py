"""End to end: the `switchboard` command run in subprocesses, as a user runs it.

Every test asserts on the exit status, what was printed and what the
database holds afterwards. Nothing sleeps for a due time: the only waits are
polls for something due now (a worker picking up a queued message).
"""

from __future__ import annotations

import csv
import getpass
import io
import json
import os
import sqlite3
import unicodedata
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from subprocess import CompletedProcess
from zoneinfo import ZoneInfo

import click
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from console.cli import COMMANDS, main
from console.safe_text import json_printable
from tests.processes import (
    ok,
    query,
    refused,
    running,
    saved_before_the_rule,
    scalar,
    switchboard,
    wait_for,
    worker,
)

ME = getpass.getuser()
OUR_NUMBER = "+14155550100"
ANN = "+12125550105"
BEN = "+12125550106"
CARL = "+12125550107"

Run = Callable[..., CompletedProcess[str]]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "switchboard.sqlite3"


@pytest.fixture
def sb(tmp_path: Path, db: Path) -> Run:
    """`sb("send", "--to", ...)` runs switchboard on the test's database."""

    def run(*args: str | Path, on: Path | None = db, env: dict[str, str] | None = None):
        return switchboard(*args, db=on, home=tmp_path, env=env)

    return run


def as_json(result: CompletedProcess[str]):
    return json.loads(ok(result).stdout)


@pytest.fixture
def fresh(sb: Run) -> Run:
    """A fresh installation: me as a manager, our default number (MMS)."""
    assert ok(sb("agents", "add", ME, "--role", "manager")).stdout.endswith(
        "with permission profile Manager\n"
    )
    assert "(default)" in ok(sb("numbers", "add", OUR_NUMBER, "--default", "--mms")).stdout
    return sb


def test_an_empty_list_says_so_and_how_to_add_on_stderr_only(fresh: Run):
    for args, said in (
        (("contacts", "list"), "no contacts yet; switchboard contacts import FILE adds them"),
        (("contacts", "list", "--search", "Zoë\u202e"), "no contact matches 'Zoë\\u202e'"),
        (("campaigns", "list"), "no campaigns you may see; switchboard campaigns create NAME"),
        (("cases", "list"), "no cases yet; switchboard cases create TITLE --location NAME"),
        (("shifts", "list"), "no shifts; switchboard shifts add USERNAME KIND"),
        (("notify", "profiles", "list"), "no notification profiles yet; switchboard notify"),
        (("conversations", "list"), "no conversations"),
        (("sandbox", "inbox"), "no texts in the sandbox yet\n"),
    ):
        result = ok(fresh(*args))
        # A script reading the list reads no line; a person reads why.
        assert result.stdout == "", args
        assert result.stderr.startswith(said), (args, result.stderr)
        assert ok(fresh(*args, "--json")).stdout == "[]\n", args
    ok(fresh("send", "--to", ANN, "hello"))
    assert ok(fresh("sandbox", "inbox")).stderr == (
        "no texts in the sandbox yet; 1 queued: a worker hands them over (switchboard worker,"
        " or the console)\n"
    )


@pytest.fixture
def worker_on(tmp_path: Path, db: Path) -> Iterator[Callable[[], None]]:
    """Start a background `switchboard worker` on the test database, on demand."""
    started = []

    def start() -> None:
        started.append(worker(db, tmp_path, str(len(started)), "--lease-seconds", "2"))

    yield start
    with running(*started):
        pass


# --- segments ------------------------------------------------------------------------------


def test_segments_counts_gsm7_in_one_segment(sb: Run):
    found = as_json(sb("segments", "hello", "--json", on=None))
    assert found["encoding"] == "GSM-7"
    assert found["segments"] == 1
    assert found["characters"] == 5
    assert found["smart_encoding"] is None


def test_segments_161_characters_take_two(sb: Run):
    assert as_json(sb("segments", "x" * 161, "--json", on=None))["segments"] == 2
    assert as_json(sb("segments", "x" * 160, "--json", on=None))["segments"] == 1


def test_segments_an_emoji_makes_it_ucs2(sb: Run):
    found = as_json(sb("segments", "See you soon 🙂", "--json", on=None))
    assert found["encoding"] == "UCS-2"
    assert found["units"] == 15  # the emoji is two UTF-16 units


def test_segments_offers_a_gsm7_rewrite_only_when_it_saves_a_segment(sb: Run):
    text = "“" + "Your appointment is confirmed for tomorrow " * 2 + "”"  # 88 chars, UCS-2
    found = as_json(sb("segments", text, "--json", on=None))
    assert (found["encoding"], found["segments"]) == ("UCS-2", 2)
    offer = found["smart_encoding"]
    assert offer is not None
    assert offer["segments"] == 1
    assert offer["segments_saved"] == 1
    assert offer["replaced"] == 2
    assert offer["text"].startswith('"')
    assert offer["text"].endswith('"')
    plain = ok(sb("segments", text, on=None)).stdout
    assert "saving 1" in plain

    short = as_json(sb("segments", "Curly “quotes”", "--json", on=None))
    assert short["segments"] == 1
    assert short["smart_encoding"] is None, "no saving, no offer"


# --- set-up and contacts ---------------------------------------------------------------------

CONTACTS_CSV = """\
name,job_title,email,ready,mobile,landline,customer_since
Ann Okafor,Buyer,ann@example.com,true,+12125550105,,2019
Ben Lindqvist,,ben@example.com,no,(212) 555-0106,+13125550100;+13125550101,
Bad Phone,,,,not-a-phone,,
Bad Email,,nobody-at-example,,+12125550120,,
Carl García,Chef,,,2125550107,,2021
,,,,,,
Bad Ready,,,maybe,+12125550121,,
"""


def test_set_up_a_fresh_install_and_import_contacts(fresh: Run, tmp_path: Path, db: Path):
    agents = as_json(fresh("agents", "list", "--json"))
    assert [(a["username"], a["permission_profile"], a["active"]) for a in agents] == [
        (ME, "Manager", True)
    ]
    numbers = as_json(fresh("numbers", "list", "--json"))
    assert [(n["number"], n["mms"], n["default"]) for n in numbers] == [(OUR_NUMBER, True, True)]

    source = tmp_path / "contacts.csv"
    source.write_text(CONTACTS_CSV, encoding="utf-8")
    result = ok(fresh("contacts", "import", source))
    assert result.stdout.strip() == "imported 3 contacts, refused 3 rows"
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 3, result.stderr
    assert errors[0].startswith("row 4, column mobile: ")
    assert errors[1].startswith("row 5, column email: ")
    assert errors[2].startswith("row 8, column ready: ")
    assert scalar(db, "SELECT count(*) FROM contacts") == 3

    listed = as_json(fresh("contacts", "list", "--json"))
    by_name = {c["name"]: c for c in listed}
    assert set(by_name) == {"Ann Okafor", "Ben Lindqvist", "Carl García"}
    assert by_name["Ann Okafor"]["custom"] == {"customer_since": "2019"}
    assert by_name["Ben Lindqvist"]["ready"] is False
    assert by_name["Ben Lindqvist"]["phones"] == [
        {"number": BEN, "kind": "mobile"},
        {"number": "+13125550100", "kind": "landline"},
        {"number": "+13125550101", "kind": "landline"},
    ]
    assert by_name["Carl García"]["phones"] == [{"number": CARL, "kind": "mobile"}]

    found = as_json(fresh("contacts", "list", "--search", "lindq", "--json"))
    assert [c["name"] for c in found] == ["Ben Lindqvist"]
    found = as_json(fresh("contacts", "list", "--search", "5550107", "--json"))
    assert [c["name"] for c in found] == ["Carl García"]
    assert as_json(fresh("contacts", "list", "--search", "nobody-like-this", "--json")) == []
    text = ok(fresh("contacts", "list")).stdout
    assert "Ann Okafor" in text
    assert "Carl García" in text


def test_a_number_added_without_a_use_is_given_one_later(sb: Run):
    ok(sb("agents", "add", ME, "--role", "manager"))
    ok(sb("numbers", "add", OUR_NUMBER))
    refused(
        sb("send", "--to", BEN, "Hello"),
        "none of ours is the default sender; make one the default with switchboard numbers"
        " assign NUMBER --default",
    )
    refused(
        sb("numbers", "assign", OUR_NUMBER),
        "give one of --default, --agent USER or --none",
        code=2,
    )
    assert ok(sb("numbers", "assign", OUR_NUMBER, "--default")).stdout == (
        f"{OUR_NUMBER} is now the default sender\n"
    )
    ok(sb("send", "--to", BEN, "Hello"))
    assert ok(sb("numbers", "assign", OUR_NUMBER, "--agent", ME)).stdout == (
        f"{OUR_NUMBER} is now {ME}'s caller ID\n"
    )
    numbers = as_json(sb("numbers", "list", "--json"))
    assert [(n["number"], n["agent"], n["default"]) for n in numbers] == [(OUR_NUMBER, ME, False)]
    ok(sb("numbers", "assign", OUR_NUMBER, "--none"))
    assert as_json(sb("numbers", "list", "--json"))[0]["agent"] is None


def test_an_agent_is_deactivated_and_reactivated(sb: Run):
    ok(sb("agents", "add", ME, "--role", "manager"))
    ok(sb("agents", "add", "pat", "--role", "agent", "--name", "Pat Quinn"))
    assert ok(sb("agents", "deactivate", "pat")).stdout == "deactivated pat\n"
    active = {a["username"]: a["active"] for a in as_json(sb("agents", "list", "--json"))}
    assert active == {ME: True, "pat": False}
    assert ok(sb("agents", "reactivate", "pat")).stdout == "reactivated pat\n"
    assert as_json(sb("agents", "list", "--json"))[1]["active"] is True
    refused(sb("agents", "deactivate", ME), "would leave no active user who can manage users")
    refused(sb("agents", "reactivate", "nobody"), "no agent with username 'nobody'")


def test_a_number_is_changed_and_removed_only_when_nothing_uses_it(sb: Run):
    ok(sb("agents", "add", ME, "--role", "manager"))
    ok(sb("numbers", "add", OUR_NUMBER, "--default"))
    spare = "+14155550109"
    ok(sb("numbers", "add", spare))
    refused(sb("numbers", "change", spare), "give --mms or --no-mms", code=2)
    assert ok(sb("numbers", "change", spare, "--mms")).stdout == f"{spare} now sends SMS and MMS\n"
    assert [n["mms"] for n in as_json(sb("numbers", "list", "--json"))] == [False, True]
    assert ok(sb("numbers", "remove", spare)).stdout == f"removed {spare}\n"
    assert [n["number"] for n in as_json(sb("numbers", "list", "--json"))] == [OUR_NUMBER]
    ok(sb("send", "--to", BEN, "Hello"))
    refused(
        sb("numbers", "remove", OUR_NUMBER),
        f"{OUR_NUMBER} cannot be removed: 1 conversation on it, kept as history (give it no use"
        f" instead: switchboard numbers assign {OUR_NUMBER} --none); 1 message still to send"
        " from it",
    )
    refused(sb("numbers", "remove", spare), f"{spare} is not one of our numbers")


def test_a_usage_error_found_by_a_command_is_a_usage_error(fresh: Run):
    # Found once the command runs, not by click's parser: still exit 2, in click's words.
    both = fresh("agents", "add", "newbie", "--permission-profile", "Manager", "--role", "agent")
    refused(both, "give --permission-profile or --role, not both", code=2)
    refused(fresh("send", "Hello"), "give --to NUMBER and TEXT, or --batch FILE", code=2)


def test_an_import_with_no_good_row_exits_1(fresh: Run, tmp_path: Path, db: Path):
    source = tmp_path / "bad.csv"
    source.write_text("name,mobile\nX,not-a-phone\n", encoding="utf-8")
    result = fresh("contacts", "import", source)
    assert result.returncode == 1
    assert result.stdout.strip() == "imported 0 contacts, refused 1 row"
    assert result.stderr.startswith("row 2, column mobile: ")
    assert "Traceback" not in result.stderr
    assert scalar(db, "SELECT count(*) FROM contacts") == 0


def test_contacts_export_then_import_gives_the_same_contacts(fresh: Run, sb: Run, tmp_path: Path):
    source = tmp_path / "contacts.csv"
    source.write_text(CONTACTS_CSV, encoding="utf-8")
    ok(fresh("contacts", "import", source))
    exported = tmp_path / "exported.csv"
    result = ok(fresh("contacts", "export", exported))
    assert "exported 3 contacts" in result.stderr
    to_stdout = ok(fresh("contacts", "export")).stdout
    assert to_stdout == exported.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(to_stdout)))
    assert {r["name"] for r in rows} == {"Ann Okafor", "Ben Lindqvist", "Carl García"}

    other = tmp_path / "other.sqlite3"
    ok(sb("contacts", "import", exported, on=other))

    def comparable(found):
        return sorted(({k: v for k, v in c.items() if k != "id"} for c in found), key=str)

    assert comparable(as_json(sb("contacts", "list", "--json", on=other))) == comparable(
        as_json(fresh("contacts", "list", "--json"))
    )


# --- sending, the worker, opt-out ----------------------------------------------------------------


def test_send_queues_with_the_optout_notice_and_a_worker_delivers_it(
    fresh: Run, db: Path, worker_on
):
    ok(fresh("settings", "set", "sandbox_delivery_seconds", "0"))
    sent = as_json(fresh("send", "--to", ANN, "hi", "--json"))
    assert sent["status"] == "queued"
    assert sent["body"] == "hi\nReply STOP to unsubscribe."
    assert sent["segments"] == 1
    row = query(
        db, "SELECT status, direction, body FROM messages WHERE id = ?", (sent["message_id"],)
    )
    assert [tuple(r) for r in row] == [("queued", "out", sent["body"])]

    worker_on()
    wait_for(
        lambda: (
            scalar(db, "SELECT status FROM messages WHERE id = ?", (sent["message_id"],))
            == "delivered"
        ),
        timeout=15,
        what="the worker to deliver the message",
    )
    inbox = as_json(fresh("sandbox", "inbox", "--to", ANN, "--json"))
    assert [(m["message_id"], m["from"], m["to"], m["body"]) for m in inbox] == [
        (sent["message_id"], OUR_NUMBER, ANN, sent["body"])
    ]
    assert inbox[0]["delivered"] is True

    again = as_json(fresh("send", "--to", ANN, "second", "--json"))
    assert again["body"] == "second", "only the first SMS to a number carries the notice"


def _outbound(db: Path) -> list[tuple[str, str]]:
    rows = query(
        db,
        "SELECT c.phone, m.body FROM messages m"
        " JOIN conversations c ON c.id = m.conversation_id WHERE m.direction = 'out' ORDER BY m.id",
    )
    return [(r[0], r[1].removesuffix("\nReply STOP to unsubscribe.")) for r in rows]


def test_send_batch_sends_every_line_and_names_the_one_refused(fresh: Run, db: Path, tmp_path):
    # One process for many texts (a script pays one start-up); every line is accounted for.
    lines = [
        {"to": ANN, "text": "one"},
        {"to": "+1 099 555 0100", "text": "no such number"},
        {"to": BEN, "text": 'two, with "quotes"\nand a second line'},
        {"to": CARL, "text": "three", "from": OUR_NUMBER},
    ]
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    result = fresh("send", "--batch", path)
    assert result.returncode == 1, result.stderr
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == [
        "line 1",
        "line 3",
        "line 4",
    ]
    refusals = result.stderr.splitlines()
    assert refusals[0].startswith("error: line 2: '+1 099 555 0100' is not a valid phone number")
    assert refusals[1] == (
        "error: 1 of 4 messages refused (see the lines above); the others are queued"
    )
    assert _outbound(db) == [(ANN, "one"), (BEN, lines[2]["text"]), (CARL, "three")]

    path.write_text(json.dumps({"to": ANN, "text": "four"}), encoding="utf-8")
    [sent] = as_json(fresh("send", "--batch", path, "--json"))
    assert (sent["line"], sent["status"], sent["body"]) == (1, "queued", "four")
    assert _outbound(db)[-1] == (ANN, "four")


def test_a_malformed_batch_line_refuses_the_batch_before_anything_is_sent(
    fresh: Run, db: Path, tmp_path
):
    path = tmp_path / "batch.jsonl"
    path.write_text(
        json.dumps({"to": ANN, "text": "fine"}) + "\n\n" + '{"to": "+12125550106", text}\n',
        encoding="utf-8",
    )
    refused(fresh("send", "--batch", path), "line 3 is not JSON")
    assert _outbound(db) == []
    refused(fresh("send", "--batch", path, "--to", ANN), "--batch", code=2)


def test_stop_opts_out_and_the_next_send_is_refused_in_one_line(fresh: Run, db: Path):
    ok(fresh("send", "--to", ANN, "hi"))
    replied = as_json(fresh("sandbox", "reply", "--from", ANN, "STOP", "--json"))
    assert replied["intent"] == "opt-out"
    assert len(replied["automatic_replies"]) == 1, "one confirmation"

    result = fresh("send", "--to", ANN, "are you there?")
    refused(result, "opted out")
    assert result.stdout == ""
    assert scalar(db, "SELECT opted_out FROM phone_consent WHERE phone = ?", (ANN,)) == 1
    bodies = [r[0] for r in query(db, "SELECT body FROM messages WHERE direction = 'out'")]
    assert "are you there?" not in bodies
    # The message queued before STOP is failed, not sent; the confirmation is queued.
    statuses = query(db, "SELECT kind, status FROM messages WHERE direction = 'out' ORDER BY id")
    assert [tuple(r) for r in statuses] == [
        ("chat", "failed"),
        ("optout_confirmation", "queued"),
    ]
    assert scalar(db, "SELECT count(*) FROM consent_changes WHERE keyword = 'STOP'") == 1


def test_conversations_list_filters(fresh: Run, db: Path):
    ok(fresh("send", "--to", ANN, "your order is ready"))  # answered: nobody is waiting
    ok(fresh("send", "--to", BEN, "your order is ready"))
    # An ordinary message is received; a keyword says how it was read.
    said = ok(fresh("sandbox", "reply", "--from", BEN, "thanks, when?")).stdout  # unanswered
    assert said == "received as message 3 in conversation 2\n"
    ok(fresh("sandbox", "reply", "--from", CARL, "hello?"))  # unanswered, nobody's: public
    helped = ok(fresh("sandbox", "reply", "--from", CARL, "HELP")).stdout
    assert helped.startswith("received as message 5 in conversation 3 (read as help)\n")

    everything = as_json(fresh("conversations", "list", "--json"))
    assert {c["phone"] for c in everything} == {ANN, BEN, CARL}

    unanswered = as_json(fresh("conversations", "list", "--unanswered", "--json"))
    assert {c["phone"] for c in unanswered} == {BEN, CARL}
    assert all(c["wait_seconds"] is not None and c["wait_seconds"] >= 0 for c in unanswered)
    assert {c["phone"]: c["owner"] for c in unanswered} == {BEN: ME, CARL: None}

    answered = as_json(fresh("conversations", "list", "--answered", "--json"))
    assert [c["phone"] for c in answered] == [ANN]
    assert answered[0]["wait_seconds"] is None

    public = as_json(fresh("conversations", "list", "--public", "--json"))
    assert [(c["phone"], c["public"]) for c in public] == [(CARL, True)]

    mine = as_json(fresh("conversations", "list", "--mine", "--json"))
    assert {c["phone"] for c in mine} == {ANN, BEN}

    text = ok(fresh("conversations", "list", "--unanswered")).stdout
    assert "waiting 0 min" in text
    assert "public" in text


def test_a_conversation_is_shown_with_its_messages_literally(fresh: Run, db: Path):
    ok(fresh("send", "--to", BEN, "your order is ready"))
    ok(fresh("sandbox", "reply", "--from", BEN, "thanks,\nwhen? \x1b[31mnow\x1b]0;t\x07"))
    text = ok(fresh("conversations", "show", "1")).stdout
    lines = text.splitlines()
    assert lines[0] == (f"conversation 1: {BEN} to {OUR_NUMBER}, owner {ME}, waiting 0 min")
    assert lines[1].startswith("#1 ")
    assert lines[1].endswith(f" UTC  out {ME}, queued")
    # The first text to a number carries the opt-out line (M5), indented as its body.
    assert lines[2:4] == ["      your order is ready", "      Reply STOP to unsubscribe."]
    assert lines[4].endswith(" UTC  in")
    # The reply's line break is kept, indented; its escape sequences are shown, not run.
    assert lines[5:7] == ["      thanks,", "      when? \\x1b[31mnow\\x1b]0;t\\x07"]
    assert "\x1b" not in text

    shown = as_json(fresh("conversations", "show", "1", "--limit", "1", "--json"))
    assert (shown["phone"], shown["owner"], shown["answered"]) == (BEN, ME, False)
    [latest] = shown["messages"]
    assert (latest["direction"], latest["body"]) == ("in", "thanks,\nwhen? \x1b[31mnow\x1b]0;t\x07")
    refused(fresh("conversations", "show", "9"), "no conversation with id 9")
    # In the account's time zone once one is set (the messages were written just now).
    ok(fresh("settings", "set", "time_zone", "Asia/Kolkata"))
    created = scalar(db, "SELECT created_at FROM messages WHERE id = 1")
    there = datetime.fromtimestamp(created / 1000, ZoneInfo("Asia/Kolkata"))
    first = ok(fresh("conversations", "show", "1")).stdout.splitlines()[1]
    assert first == f"#1 {there:%Y-%m-%d %H:%M} IST  out {ME}, queued"


def test_a_contact_is_deleted_and_its_conversation_kept(fresh: Run, db: Path):
    ok(fresh("send", "--to", BEN, "your order is ready"))
    ben = scalar(db, "SELECT contact_id FROM contact_phones WHERE e164 = ?", (BEN,))
    said = ok(fresh("contacts", "delete", str(ben))).stdout
    assert said == (
        f"deleted contact {ben} ({BEN}): 1 conversation kept under their number,"
        " 0 campaign targets removed, 0 cases no longer listing them\n"
    )
    assert scalar(db, "SELECT count(*) FROM contacts WHERE id = ?", (ben,)) == 0
    assert scalar(db, "SELECT count(*) FROM conversations WHERE phone = ?", (BEN,)) == 1
    refused(fresh("contacts", "delete", str(ben)), f"no contact with id {ben}")


def test_as_is_refused_on_a_real_database(fresh: Run, db: Path):
    refused(fresh("send", "--as", "alice", "--to", ANN, "hi"), "demo database")
    refused(fresh("conversations", "list", "--as", "alice"), "demo database")
    assert scalar(db, "SELECT count(*) FROM messages") == 0


def test_an_unknown_login_is_told_how_to_be_added(fresh: Run, db: Path):
    stranger = {name: "nobody-here" for name in ("LOGNAME", "USER", "LNAME", "USERNAME")}
    line = refused(fresh("send", "--to", ANN, "hi", env=stranger), "nobody-here")
    assert "switchboard agents add nobody-here" in line
    refused(fresh("conversations", "list", "--mine", env=stranger), "switchboard agents add")
    assert scalar(db, "SELECT count(*) FROM messages") == 0


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("12345", "too short"),
        ("not-a-phone", "not a phone number"),
        ("+1212555010599999", "not a valid phone number"),
    ],
)
def test_an_invalid_phone_number_is_refused_with_the_reason(
    fresh: Run, db: Path, number: str, reason: str
):
    refused(fresh("send", "--to", number, "hi"), repr(number), reason)
    assert scalar(db, "SELECT count(*) FROM messages") == 0


def test_an_empty_message_is_refused(fresh: Run):
    refused(fresh("send", "--to", ANN, "   "), "empty")


def test_a_message_with_a_control_character_is_refused(fresh: Run, db: Path):
    # No phone shows one, and in GSM-7 an ESC would start an extension character.
    said = refused(fresh("send", "--to", ANN, "red\x1b[31m alert"), "control character (U+001B)")
    assert "\x1b" not in said
    ok(fresh("send", "--to", ANN, "two\nlines\tand a tab"))
    assert scalar(db, "SELECT count(*) FROM messages") == 1


def _sqlite_file(path: Path, *statements: str) -> Path:
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()
    return path


def _files_next_to(path: Path) -> set[str]:
    return {p.name for p in path.parent.iterdir() if p.name.startswith(path.name)}


def test_a_text_file_is_not_opened_as_a_database(sb: Run, tmp_path: Path):
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"shopping list\nmilk\n")
    for args in (("contacts", "list"), ("send", "--to", ANN, "hi"), ("worker",)):
        refused(sb(*args, on=notes), "cannot be opened as a database", "not changed")
    assert notes.read_bytes() == b"shopping list\nmilk\n"
    assert _files_next_to(notes) == {"notes.txt"}


@pytest.mark.parametrize(
    ("statements", "message"),
    [
        (("CREATE TABLE t (x)", "PRAGMA user_version = 999"), "newer Switchboard"),
        (("CREATE TABLE foo (x)", "INSERT INTO foo VALUES (1)"), "not a Switchboard database"),
    ],
    ids=["newer-schema", "foreign-sqlite"],
)
def test_a_database_switchboard_cannot_use_is_refused(
    sb: Run, tmp_path: Path, statements: tuple[str, ...], message: str
):
    path = _sqlite_file(tmp_path / "other.sqlite3", *statements)
    tables = [r[0] for r in query(path, "SELECT name FROM sqlite_master ORDER BY name")]
    for args in (("contacts", "list"), ("agents", "add", "x")):
        refused(sb(*args, on=path), message, "not changed")
    assert [r[0] for r in query(path, "SELECT name FROM sqlite_master ORDER BY name")] == tables
    assert scalar(path, "PRAGMA user_version") == (999 if "newer" in message else 0)


@pytest.mark.parametrize(
    "statements",
    [("CREATE TABLE t (x)", "PRAGMA user_version = 999"), ("CREATE TABLE foo (x)",)],
    ids=["newer-schema", "foreign-sqlite"],
)
def test_a_refused_sqlite_file_is_left_byte_for_byte_unchanged(
    sb: Run, tmp_path: Path, statements: tuple[str, ...]
):
    path = _sqlite_file(tmp_path / "other.sqlite3", *statements)
    before = path.read_bytes()
    assert sb("contacts", "list", on=path).returncode == 1
    assert _files_next_to(path) == {"other.sqlite3"}
    assert path.read_bytes() == before


# --- the demo ------------------------------------------------------------------------------------


def test_demo_seed_only_creates_the_demo_data_once(sb: Run, tmp_path: Path):
    demo = tmp_path / "demo.sqlite3"
    result = ok(sb("demo", "--seed-only", on=demo))
    assert f"demo data is in {demo}" in result.stdout
    # Only what it does: the seed's deliberate failed message is not a warning.
    assert result.stderr.strip().splitlines() == [f"creating demo data in {demo} ..."]

    def counts() -> dict[str, int]:
        return {
            table: scalar(demo, f"SELECT count(*) FROM {table}")
            for table in ("agents", "contacts", "conversations", "messages", "events")
        }

    usernames = {r[0] for r in query(demo, "SELECT username FROM agents")}
    assert {"alice", "bob", "carol", "dana", ME} <= usernames
    assert (
        scalar(
            demo,
            "SELECT p.name FROM agents a JOIN permission_profiles p ON p.id = a.active_profile_id"
            " WHERE a.username = 'dana'",
        )
        == "Manager"
    )
    assert scalar(demo, "SELECT count(*) FROM contacts") >= 300
    assert scalar(demo, "SELECT count(*) FROM conversations WHERE waiting_since IS NULL") > 0
    assert scalar(demo, "SELECT count(*) FROM conversations WHERE waiting_since IS NOT NULL") > 0
    assert scalar(demo, "SELECT count(*) FROM conversations WHERE is_public = 1") > 0
    assert scalar(demo, "SELECT count(*) FROM phone_consent WHERE opted_out = 1") == 1
    assert scalar(demo, "SELECT count(*) FROM messages WHERE status = 'failed'") == 1
    assert scalar(demo, "SELECT count(*) FROM messages WHERE optout_flag = 'pending'") == 1
    assert scalar(demo, "SELECT count(*) FROM messages WHERE status = 'delivered'") > 0
    assert scalar(demo, "SELECT count(*) FROM demo_marker") == 1
    assert not (tmp_path / "demo.sqlite3.partial").exists()
    before = counts()

    again = ok(sb("demo", "--seed-only", on=demo))
    assert "creating demo data" not in again.stderr
    assert counts() == before, "a second run adds nothing"

    sent = as_json(
        sb("send", "--as", "alice", "--to", ANN, "Hello from the demo", "--json", on=demo)
    )
    assert sent["status"] == "queued"
    author = scalar(
        demo,
        "SELECT a.username FROM messages m JOIN agents a ON a.id = m.author_id WHERE m.id = ?",
        (sent["message_id"],),
    )
    assert author == "alice"
    unanswered = as_json(
        sb("conversations", "list", "--unanswered", "--as", "bob", "--json", on=demo)
    )
    assert unanswered, "the demo has conversations waiting for an answer"
    refused(sb("send", "--as", "nobody", "--to", ANN, "hi", on=demo), "switchboard agents add")


def test_demo_refuses_a_database_with_real_data(fresh: Run, db: Path):
    result = fresh("demo", "--seed-only")
    assert result.returncode == 1
    assert "not a demo" in result.stderr
    assert "Traceback" not in result.stderr
    assert scalar(db, "SELECT count(*) FROM contacts") == 0


# --- help ---------------------------------------------------------------------------------------


def _subcommand(group: click.Command, name: str) -> click.Command:
    # Through get_command, as click does: the top group imports a command's module on demand.
    assert isinstance(group, click.Group)
    command = group.get_command(click.Context(group), name)
    assert command is not None, name
    return command


def _command_paths(group: click.Command, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    if isinstance(group, click.Group):
        for name in group.list_commands(click.Context(group)):
            paths += _command_paths(_subcommand(group, name), (*prefix, name))
    return paths


COMMAND_PATHS = _command_paths(main)


def test_the_command_tree_is_what_the_readme_lists():
    top = {path[0] for path in COMMAND_PATHS if path}
    assert {
        "worker",
        "demo",
        "send",
        "sandbox",
        "segments",
        "contacts",
        "conversations",
        "agents",
        "numbers",
        "settings",
    } <= top
    assert len(COMMAND_PATHS) > 15


def test_every_command_is_found_under_the_name_it_is_registered_as():
    """console/cli.py names each command's module; the command there answers to that name."""
    for name in COMMANDS:
        assert _subcommand(main, name).name == name
    assert set(main.list_commands(click.Context(main))) == set(COMMANDS)


@pytest.mark.parametrize("path", COMMAND_PATHS, ids=lambda p: " ".join(p) or "switchboard")
def test_help_works_for_every_command(path: tuple[str, ...]):
    result = CliRunner().invoke(main, [*path, "--help"], prog_name="switchboard")
    assert result.exit_code == 0, result.output
    assert result.exception is None
    assert "<member " not in result.output, "a default shown as a Python object"
    assert " object at 0x" not in result.output, "a default shown as a Python object"
    assert f"Usage: switchboard {' '.join(path)}".rstrip() in result.output
    command: click.Command = main
    for name in path:
        command = _subcommand(command, name)
    if command.help:
        assert command.help.splitlines()[0].strip()[:30] in result.output


def test_the_installed_script_answers_help(sb: Run):
    result = ok(sb("--help", on=None))
    assert result.stdout.startswith("Usage: switchboard")
    assert "--version" in result.stdout


# --- untrusted text -----------------------------------------------------------------------------

HOSTILE = "\x1b]52;c;aGk=\x07 \x1b[31mred [bold]x \x9b2J \u202eevil"
RAW_CONTROLS = ("\x1b", "\x07", "\x9b", "\u202e")


def _assert_inert(output: str) -> None:
    for byte in RAW_CONTROLS:
        assert byte not in output, repr(output)


@given(st.recursive(st.text(), lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)))
def test_json_output_escapes_every_control_character_and_decodes_the_same(value):
    encoded = json_printable(json.dumps(value, indent=2, ensure_ascii=False))
    assert json.loads(encoded) == value
    for ch in encoded:
        if ch != "\n":
            assert unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp") or ch in (
                "\u200d\u200c"
            ), repr(ch)


def test_untrusted_text_never_reaches_the_terminal_raw(
    fresh: Run, db: Path, tmp_path: Path, worker_on
):
    source = tmp_path / "hostile.csv"
    source.write_text(f'name,mobile\n"{HOSTILE}",{BEN}\n', encoding="utf-8")
    # A name is refused its controls (the row, inertly); one saved before that is shown.
    said = fresh("contacts", "import", source)
    assert (said.returncode, said.stderr) == (
        1,
        "row 2, column name: name holds a control character (U+001B)\n",
    )
    source.write_text(f"name,mobile\nBen,{BEN}\n", encoding="utf-8")
    ok(fresh("contacts", "import", source))
    saved_before_the_rule(db, "UPDATE contacts SET name = ?", (HOSTILE,))
    ok(fresh("settings", "set", "sandbox_delivery_seconds", "0"))

    ok(fresh("sandbox", "reply", "--from", ANN, HOSTILE))
    assert scalar(db, "SELECT body FROM messages WHERE direction = 'in'") == HOSTILE, "kept as is"
    # A text to send with C0 controls is refused, its refusal inert; the rest is sent.
    refused(fresh("send", "--to", BEN, HOSTILE), "control character (U+001B)")
    sendable = HOSTILE.replace("\x1b", "").replace("\x07", "")
    sent = as_json(fresh("send", "--to", BEN, sendable, "--json"))
    worker_on()
    wait_for(
        lambda: scalar(
            db, "SELECT count(*) FROM sandbox_messages WHERE message_id = ?", (sent["message_id"],)
        ),
        timeout=15,
        what="the worker to hand the message to the sandbox",
    )

    for args in (
        ("sandbox", "inbox"),
        ("sandbox", "inbox", "--json"),
        ("conversations", "list"),
        ("conversations", "list", "--json"),
        ("contacts", "list"),
        ("contacts", "list", "--json"),
    ):
        result = ok(fresh(*args))
        _assert_inert(result.stdout)
        _assert_inert(result.stderr)
    inbox = ok(fresh("sandbox", "inbox")).stdout
    assert "[31mred [bold]x \\x9b2J \\u202eevil" in inbox, "shown literally, escapes visible"

    bad = fresh("send", "--to", HOSTILE, "hi")
    assert bad.returncode == 1
    _assert_inert(bad.stderr)


# --- status and config (W5) -------------------------------------------------------------


def test_status_says_nobody_acts_and_what_waits(fresh: Run, db: Path):
    ok(fresh("send", "--to", ANN, "first"))
    ok(fresh("send", "--to", CARL, "second"))
    text = ok(fresh("status")).stdout
    assert "nobody holds the lease" in text
    assert "2 queued, 0 sending" in text
    [first] = query(db, "SELECT id FROM messages WHERE body LIKE 'first%'")
    assert f"oldest   message {first['id']} to {ANN}" in text

    found = as_json(fresh("status", "--json"))
    assert (found["worker"], found["queued"], found["sending"]) == (None, 2, 0)
    assert found["oldest_queued"]["message_id"] == first["id"]
    assert found["last_errors"] == []


def test_status_names_the_acting_worker_and_lists_failures_with_reasons(
    fresh: Run, db: Path, tmp_path: Path
):
    ok(fresh("send", "--to", "+12125550199", "to the number the sandbox never reaches"))
    background = worker(db, tmp_path, "a", "--lease-seconds", "2", "--no-webhooks")
    with running(background):
        wait_for(
            lambda: scalar(db, "SELECT status FROM messages") == "failed",
            timeout=20,
            what="the worker to try the message",
        )
        acting = as_json(fresh("status", "--json"))
        assert acting["worker"]["pid"] == background.pid
        assert f"pid {background.pid} on " in ok(fresh("status")).stdout
    text = ok(fresh("status")).stdout
    assert "recent problems (newest first):" in text
    assert "failed    message 1: sandbox: +12125550199 is unreachable" in text


def test_config_check_with_nothing_configured_says_sandbox_and_no_email(sb: Run):
    result = ok(sb("config", "check", on=None))
    assert "no such file" in result.stdout
    assert "SMS (sandbox)" in result.stdout
    assert "email (SMTP)   not configured" in result.stdout


def test_a_broken_configuration_is_one_line_naming_the_fix(sb: Run, tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_text('[sinch]\nservice_plan_id = "plan"\napi_token = "oops"\n')
    line = refused(sb("config", "check", on=None, env={"SWITCHBOARD_CONFIG": str(config)}))
    assert "SWITCHBOARD_SINCH_API_TOKEN" in line
    # The worker refuses to start on it the same way, before touching anything.
    refused(sb("worker", "--port", "0", env={"SWITCHBOARD_CONFIG": str(config)}), "api_token")


def test_config_show_never_prints_a_secret(sb: Run, tmp_path: Path):
    token = tmp_path / "token"
    token.write_text("tok-123-secret\n")
    os.chmod(token, 0o600)
    config = tmp_path / "config.toml"
    config.write_text(f'[sinch]\nservice_plan_id = "plan"\napi_token_file = "{token}"\n')
    shown = ok(sb("config", "show", on=None, env={"SWITCHBOARD_CONFIG": str(config)})).stdout
    assert 'service_plan_id = "plan"' in shown
    assert "# api_token: set" in shown
    assert "tok-123" not in shown


def test_demo_says_how_to_try_the_cli_before_the_console_opens(tmp_path: Path, monkeypatch):
    import console.app

    opened: list[str | None] = []

    class FakeConsole:
        def __init__(self, context) -> None:
            self.context = context

        async def run_async(self) -> None:
            opened.append(self.context.welcome)
            click.echo("<the console runs>", err=True)

    monkeypatch.setattr(console.app, "make_app", FakeConsole)
    path = tmp_path / "demo.sqlite3"
    runner = CliRunner()
    seeded = runner.invoke(main, ["demo", "--seed-only", "--contacts", "5", "--db", str(path)])
    assert seeded.exit_code == 0, seeded.output

    result = runner.invoke(main, ["demo", "--db", str(path)])

    assert result.exit_code == 0, result.output
    hint = result.stderr.index("Try, in another terminal")
    assert hint < result.stderr.index("<the console runs>")
    assert f"export SWITCHBOARD_DB={path}" in result.stderr
    [welcome] = opened
    assert welcome is not None
    assert "switchboard sandbox reply" in welcome
