"""Hostile input to the real `switchboard` command (issue #8, items 11, 13, 14).

Each refusal is one line on stderr ("error: ..."), exit 1 (a rule) or 2 (a
bad argument), never the "unexpected ... (a bug)" exit or a traceback, and
the database is byte-for-byte the same dump afterwards.
"""

from __future__ import annotations

import getpass
import os
import pty
import select
import subprocess
from pathlib import Path

import pytest

from core.sms.sending import MAX_MMS_TEXT
from tests.hostile.conftest import Run
from tests.processes import (
    SWITCHBOARD,
    TIMEOUT,
    cli_env,
    dump,
    refused,
    saved_before_the_rule,
    switchboard,
)

ME = getpass.getuser()
OUR_NUMBER = "+14155550100"
ANN = "+12125550105"
BEN = "+12125550106"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 100


@pytest.fixture
def installed(sb: Run, tmp_path: Path) -> Run:
    """Me as a manager, our default number (MMS), two contacts."""
    for args in (
        ("agents", "add", ME, "--role", "manager"),
        ("numbers", "add", OUR_NUMBER, "--default", "--mms"),
    ):
        assert sb(*args).returncode == 0
    source = tmp_path / "people.csv"
    source.write_text(f"name,mobile\nAnn,{ANN}\nBen,{BEN}\n", encoding="utf-8")
    assert sb("contacts", "import", source).returncode == 0
    return sb


HUGE = "9" * 30  # beyond any integer SQLite or a socket takes

BAD_ARGUMENTS = [
    (("contacts", "list", "--limit", HUGE), "--limit"),
    (("contacts", "list", "--limit", "0"), "--limit"),
    (("contacts", "list", "--after", HUGE), "--after"),
    (("contacts", "list", "--after", "-1"), "--after"),
    (("conversations", "list", "--limit", HUGE), "--limit"),
    (("conversations", "list", "--limit", "-1"), "--limit"),
    (("sandbox", "inbox", "--limit", HUGE), "--limit"),
    (("status", "--errors", HUGE), "--errors"),
    (("status", "--errors", "-5"), "--errors"),
    (("worker", "--port", "99999"), "--port"),
    (("worker", "--port", "-1"), "--port"),
    # Bytes that are not UTF-8 arrive as lone surrogates (surrogateescape).
    (("contacts", "list", "--search", "caf\udce9"), "not valid UTF-8"),
    (("send", "--to", ANN, "caf\udce9"), "not valid UTF-8"),
    (("agents", "add", "eve", "--name", "\udcff\udcfe"), "not valid UTF-8"),
    (("contacts", "lst"), "No such command"),
    (("sendd", "--to", ANN, "hi"), "No such command"),  # the top group finds commands on demand
    (("demo", "--seed-only", "--contacts", HUGE), "--contacts"),
    (("demo", "--seed-only", "--contacts", "0"), "--contacts"),
]


@pytest.mark.parametrize(("args", "fragment"), BAD_ARGUMENTS, ids=lambda a: str(a)[:40])
def test_a_bad_argument_is_one_line_exit_2(
    installed: Run, db_file: Path, args: tuple[str, ...], fragment: str
):
    before = dump(db_file)
    line = refused(installed(*args), fragment, code=2)
    assert "--help" in line, "says where to look"
    assert dump(db_file) == before


BROKEN_RULES = [
    (("send", "--to", OUR_NUMBER, "hello me"), "one of our own numbers"),
    (("send", "--to", "(415) 555-0100", "hello me"), "one of our own numbers"),
    (("conversations", "list", "--answered", "--unanswered"), "cannot be combined"),
    (("conversations", "list", "--mine", "--public", "--json"), "cannot be combined"),
    (("agents", "add", "eve", "--name", "E" * 201), "name is too long"),
]


@pytest.mark.parametrize(("args", "fragment"), BROKEN_RULES, ids=lambda a: str(a)[:40])
def test_a_refused_request_is_one_line_exit_1_before_anything_is_queued(
    installed: Run, db_file: Path, args: tuple[str, ...], fragment: str
):
    before = dump(db_file)
    refused(installed(*args), fragment)
    assert dump(db_file) == before


# --- attachments (item 11) ---------------------------------------------------------------------


def test_a_file_that_is_a_fifo_or_too_big_is_refused_unread(
    installed: Run, db_file: Path, tmp_path: Path
):
    fifo = tmp_path / "photo.png"
    os.mkfifo(fifo)  # reading it would wait for a writer forever
    big = tmp_path / "big.png"
    with big.open("wb") as f:
        f.truncate(512 * 1024 * 1024)  # sparse: no disk, but reading it would take 512 MiB
    before = dump(db_file)

    refused(installed("send", "--to", ANN, "hi", "--attach", fifo), "not a regular file")
    refused(installed("send", "--to", ANN, "hi", "--attach", big), "at most 1024 KiB")
    refused(installed("contacts", "import", fifo), "not a regular file")
    refused(installed("shifts", "import", fifo, "--user", ME), "not a regular file")
    refused(
        installed(
            "campaigns", "create", "Spring", "--from", OUR_NUMBER, "--text", "Hi", "--csv", fifo
        ),
        "not a regular file",
    )
    # A calendar far past core's limit is refused having read one byte past it.
    refused(
        installed("shifts", "import", big, "--user", ME), "calendar file is larger than 1,000,000"
    )
    assert dump(db_file) == before


def test_an_mms_the_configured_provider_cannot_send_is_refused_before_queueing(
    installed: Run, db_file: Path, tmp_path: Path
):
    png = tmp_path / "map.png"
    png.write_bytes(PNG)
    config = tmp_path / "config.toml"
    config.write_text('[sinch]\nservice_plan_id = "plan"\n')
    env = {"SWITCHBOARD_CONFIG": str(config), "SWITCHBOARD_SINCH_API_TOKEN": "tok"}
    before = dump(db_file)

    refused(
        installed("send", "--to", ANN, "map", "--attach", png, env=env),
        "needs [webhooks] public_url",
    )
    config.write_text(
        '[sinch]\nservice_plan_id = "plan"\n[webhooks]\npublic_url = "https://sb.example"\n'
    )
    env["SWITCHBOARD_SINCH_WEBHOOK_SECRET"] = "s" * 32
    refused(
        installed("send", "--to", ANN, "maps", "--attach", png, "--attach", png, env=env),
        "at most 1 file per MMS",
    )
    refused(
        installed("send", "--to", ANN, "x" * (MAX_MMS_TEXT + 1), "--attach", png, env=env),
        f"at most {MAX_MMS_TEXT} characters",
    )
    assert dump(db_file) == before


# --- terminal output (item 13) -----------------------------------------------------------------


def test_a_name_with_a_control_character_is_refused_inertly(installed: Run, tmp_path: Path):
    source = tmp_path / "red.csv"
    source.write_text('name,mobile\n"Eve\x1b[31mred",+12125550107\n', encoding="utf-8")
    result = installed("contacts", "import", source)
    assert result.returncode == 1
    assert result.stderr.startswith(
        "row 2, column name: name holds a control character (U+001B)"
    ), result.stderr
    assert "\x1b" not in result.stderr
    refused(installed("agents", "add", "eve", "--name", "Eve\x1b[31m"), "(U+001B)")


def test_contacts_list_cuts_a_long_name_after_escaping_it(installed: Run, db_file: Path):
    saved_before_the_rule(
        db_file, "UPDATE contacts SET name = ? WHERE name = 'Ann'", ("x" * 25 + "\x1b[31mred",)
    )
    listed = installed("contacts", "list").stdout
    assert "x" * 25 + "… " in listed, listed
    assert "\\x1 " not in listed, "never half an escape"
    assert "\x1b" not in listed, "never raw"


def test_a_closed_pipe_ends_the_command_quietly(installed: Run, tmp_path: Path, db_file: Path):
    source = tmp_path / "many.csv"
    rows = "".join(f"Person {i},+1415555{i:04d}\n" for i in range(2000))
    source.write_text("name,mobile\n" + rows, encoding="utf-8")
    assert installed("contacts", "import", source).returncode == 0

    for args in (("contacts", "export"), ("contacts", "list", "--limit", "1000")):
        # `switchboard ... | head -1`: the reader goes away after the first line.
        process = subprocess.Popen(
            [str(SWITCHBOARD), *args, "--db", str(db_file)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=cli_env(tmp_path),
            cwd=tmp_path,
        )
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.readline()
        process.stdout.close()
        stderr = process.stderr.read().decode()
        assert process.wait(timeout=TIMEOUT) != 0
        assert stderr.strip() == "", stderr


def _on_a_terminal(args: list[str], home: Path) -> str:
    """Run switchboard with its stdout on a pseudo-terminal; everything it wrote there."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [str(SWITCHBOARD), *args],
        stdout=follower,
        stderr=subprocess.DEVNULL,
        env=cli_env(home),
        cwd=home,
    )
    os.close(follower)
    out = b""
    try:
        while True:
            ready, _, _ = select.select([leader], [], [], TIMEOUT)
            if not ready:
                break
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(leader)
        process.wait(timeout=TIMEOUT)
    return out.decode("utf-8")


def test_contacts_export_escapes_on_a_terminal_and_is_exact_to_a_file(
    installed: Run, tmp_path: Path, db_file: Path
):
    hostile = "Eve \x1b]52;c;aGk=\x07\x9b2J"
    saved_before_the_rule(db_file, "UPDATE contacts SET name = ? WHERE name = 'Ann'", (hostile,))

    shown = _on_a_terminal(["contacts", "export", "--db", str(db_file)], tmp_path)
    assert "Eve \\x1b]52;c;aGk=\\x07\\x9b2J" in shown, shown
    for raw in ("\x1b", "\x07", "\x9b"):
        assert raw not in shown

    exported = tmp_path / "out.csv"
    assert installed("contacts", "export", exported).returncode == 0
    assert hostile in exported.read_text(encoding="utf-8"), "a file keeps the bytes"
    piped = installed("contacts", "export").stdout
    assert piped == exported.read_text(encoding="utf-8")


def test_a_group_without_a_command_still_shows_its_help(tmp_path: Path):
    result = switchboard("contacts", db=None, home=tmp_path)
    assert "Traceback" not in result.stderr
    shown = result.stdout + result.stderr
    assert shown.startswith("Usage: switchboard contacts"), shown
    assert "\\x0a" not in shown, "the help is not squeezed into one escaped line"


def test_stored_agent_names_never_reach_the_terminal_raw(installed: Run, db_file: Path):
    # C1 controls and bidirectional overrides are not refused; C0 ones were, once, not.
    added = installed("agents", "add", "eve", "--name", "Eve \x9b2J\u202e")
    saved_before_the_rule(
        db_file,
        "UPDATE agents SET name = ? WHERE username = 'eve'",
        ("Eve \x1b]52;c;aGk=\x07\x9b2J\u202e",),
    )
    listed = installed("agents", "list")
    for shown in (added, listed):
        assert shown.returncode == 0, shown.stderr
        for raw in ("\x1b", "\x07", "\x9b", "\u202e"):
            assert raw not in shown.stdout, shown.stdout
    assert "Eve \\x1b]52;c;aGk=\\x07\\x9b2J\\u202e" in listed.stdout
