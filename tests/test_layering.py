"""Dependencies point one way: console -> providers -> core.

Each check imports every module of a package in a fresh interpreter (so
nothing the test run already imported can hide a dependency) and looks at
what ended up in sys.modules.
"""

from __future__ import annotations

import getpass
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import cli_env

PROBE = """
import importlib, json, pkgutil, sys
package = importlib.import_module({package!r})
names = [package.__name__]
for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
    importlib.import_module(info.name)
    names.append(info.name)
print(json.dumps({{"imported": names, "modules": sorted(sys.modules)}}))
"""


def _import_everything(package: str) -> tuple[list[str], set[str]]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(package=package)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    return found["imported"], {name.split(".")[0] for name in found["modules"]}


@pytest.mark.parametrize(
    ("package", "forbidden", "expected_modules"),
    [
        (
            "core",
            {
                "textual",
                "rich",
                "click",
                "sinch",
                "httpx",
                "aiohttp",
                "aiosmtplib",
                "prometheus_client",
                "providers",
                "console",
            },
            {
                "core.db",
                "core.scheduling.worker",
                "core.scheduling.lease",
                "core.delivery.outbox",
                "core.sms.sending",
            },
        ),
        ("providers", {"console", "textual", "click"}, {"providers.sandbox", "providers.wiring"}),
    ],
)
def test_a_lower_layer_never_imports_a_higher_one(
    package: str, forbidden: set[str], expected_modules: set[str]
):
    imported, top_level = _import_everything(package)
    assert expected_modules <= set(imported), "the walk found the package's modules"
    assert not forbidden & top_level, f"{package} pulls in {sorted(forbidden & top_level)}"


def test_the_probe_sees_what_a_package_imports():
    imported, top_level = _import_everything("console")
    assert "console.commands.worker" in imported
    assert {"click", "core", "providers", "aiosqlite", "apscheduler"} <= top_level


def test_the_console_starts_without_loading_the_provider_sdks():
    """The Sinch SDK (pydantic), aiohttp and aiosmtplib load only when a provider needs them."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys, console.cli, console.app, providers.wiring;"
            " print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stdout))
    assert "textual" in loaded, "the probe imported the console"
    assert not {"sinch", "aiohttp", "aiosmtplib", "pydantic"} & loaded


# --- a fast CLI (issue #9): a command loads what it uses, nothing more ------------------------

COMMAND_PROBE = """
import atexit, json, sys
_out = sys.argv[1]
def _dump():
    with open(_out, "w", encoding="utf-8") as out:
        json.dump(sorted(sys.modules), out)
atexit.register(_dump)  # runs after the command, however it exits
from console.cli import main
sys.argv = ["switchboard", *sys.argv[2:]]
main()
"""

UI_AND_SDKS = {
    "textual",
    "rich",
    "sinch",
    "pydantic",  # what the Sinch SDK is built on
    "httpx",
    "aiohttp",
    "aiosmtplib",
    "apscheduler",
    "prometheus_client",
}
"""What no command but the console, the worker and the providers' checks may load."""


def _modules_after(tmp_path: Path, *args: str) -> set[str]:
    """Every module loaded by `switchboard ARGS`, run as the console script runs it."""
    out = tmp_path / f"modules-{len(list(tmp_path.glob('modules-*')))}.json"
    result = subprocess.run(
        [sys.executable, "-c", COMMAND_PROBE, str(out), *args],
        capture_output=True,
        text=True,
        env=cli_env(tmp_path),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return set(json.loads(out.read_text(encoding="utf-8")))


def _top_level(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


@pytest.fixture
def installed_db(tmp_path: Path) -> Path:
    """A database with me as a manager and a default number, so `send` works."""
    db = tmp_path / "switchboard.sqlite3"
    for args in (
        ("agents", "add", getpass.getuser(), "--role", "manager"),
        ("numbers", "add", "+14155550100", "--default"),
    ):
        _modules_after(tmp_path, *args, "--db", str(db))
    return db


@pytest.mark.parametrize(
    ("args", "ran"),
    [
        (("status",), {"console.commands.status", "core.status"}),
        (("status", "--json"), {"console.commands.status", "core.status"}),
        (("send", "--to", "+12125550105", "Hello"), {"core.sms.sending", "core.delivery.outbox"}),
        (("send", "--to", "+12125550105", "Hello", "--json"), {"core.sms.sending"}),
        (("sandbox", "inbox"), {"providers.sandbox"}),
        (("sandbox", "reply", "--from", "+12125550105", "Hi"), {"providers.sandbox"}),
        (("segments", "Hello"), {"core.sms.segments"}),
        (("agents", "list"), {"core.people.agents"}),
        (("numbers", "list"), {"core.sms.numbers"}),
        (("settings", "list"), {"core.settings"}),
        (("contacts", "list"), {"core.people.contacts"}),
        (("conversations", "list"), {"core.sms.conversations"}),
        (("stats", "--json"), {"console.commands.stats", "core.statistics"}),
    ],
    ids=lambda a: " ".join(a) if isinstance(a, tuple) else "",
)
def test_a_command_loads_neither_the_console_nor_a_provider_sdk(
    tmp_path: Path, installed_db: Path, args: tuple[str, ...], ran: set[str]
):
    modules = _modules_after(tmp_path, "--db", str(installed_db), *args)
    # The control: what the command imported on demand is there, so the probe sees the
    # modules loaded while it ran (and test_the_console_starts_... sees Textual load).
    assert ran <= modules, "the probe saw the command run"
    loaded = UI_AND_SDKS & _top_level(modules)
    assert not loaded, f"`switchboard {' '.join(args)}` loads {sorted(loaded)}"
    assert "console.cli" in modules
    assert not {"console.app", "core.scheduling.worker"} & modules


def test_send_loads_no_receiving_machinery(tmp_path: Path, installed_db: Path):
    """A script that sends in a loop pays for sending only: the inbound rules stay unloaded."""
    modules = _modules_after(
        tmp_path, "send", "--to", "+12125550105", "Hello", "--db", str(installed_db)
    )
    assert "core.sms.sending" in modules
    assert not {"core.sms.receiving", "core.sms.inbound"} & modules


def test_send_to_a_number_we_hold_loads_no_phonenumbers(tmp_path: Path, installed_db: Path):
    """A number a contact has, written as stored, is not read again: phonenumbers
    (some 25 ms of a script's start-up) is loaded only for a number that is new."""
    send = ("send", "--to", "+12125550105", "Hello", "--db", str(installed_db))
    assert "phonenumbers" in _modules_after(tmp_path, *send), "a new number is read and checked"
    again = _modules_after(tmp_path, *send)
    assert "core.sms.sending" in again
    assert "phonenumbers" not in again


QUICK_EXIT_PROBE = """
import atexit, pathlib, sys
_out = pathlib.Path(sys.argv[1])
atexit.register(lambda: (_out / "exit-handlers-ran").touch())
class _Torn:
    def __del__(self):  # runs only when the interpreter tears its modules down
        (_out / "torn-down").touch()
_torn = _Torn()
from console.cli import main
sys.argv = ["switchboard", *sys.argv[2:]]
main()
"""


@pytest.mark.parametrize(("args", "quick"), [(("status",), True), (("agents", "list"), False)])
def test_send_and_status_end_without_the_teardown_but_with_the_exit_handlers(
    tmp_path: Path, installed_db: Path, args: tuple[str, ...], quick: bool
):
    """A one-shot command ends its process without freeing every module (some 10 ms);
    what sys.exit would run (atexit: logging's flush) still runs, and the output is whole."""
    out = tmp_path / "marks"
    out.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", QUICK_EXIT_PROBE, str(out), *args, "--db", str(installed_db)],
        capture_output=True,
        text=True,
        env=cli_env(tmp_path),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), "the output was flushed"
    assert (out / "exit-handlers-ran").exists()
    assert (out / "torn-down").exists() is not quick


def test_status_loads_no_sending_machinery(tmp_path: Path, installed_db: Path):
    """`status` reads counts: the outbox, the settings and phonenumbers stay unloaded."""
    modules = _modules_after(tmp_path, "status", "--db", str(installed_db))
    assert "core.status" in modules
    assert (
        not {"core.delivery.outbox", "core.settings", "core.sms.sending", "phonenumbers"} & modules
    )


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("--version",),
        ("send", "--help"),
        ("status", "--help"),
        ("demo", "--help"),
        ("worker", "--help"),
    ],
    ids=" ".join,
)
def test_help_and_version_load_neither_the_console_nor_a_provider_sdk(
    tmp_path: Path, args: tuple[str, ...]
):
    # The scheduler too: `worker --help` shows the worker's defaults from a plain module.
    loaded = UI_AND_SDKS & _top_level(_modules_after(tmp_path, *args))
    assert not loaded, f"`switchboard {' '.join(args)}` loads {sorted(loaded)}"


def test_the_command_list_loads_no_command(tmp_path: Path):
    """`switchboard --help` lists the commands from cli.SUMMARIES, not by importing each."""
    modules = _modules_after(tmp_path, "--help")
    assert "console.cli" in modules
    assert not {m for m in modules if m.startswith("console.commands.")}
    assert not {"apscheduler", "core.scheduling.worker", "aiosqlite", "phonenumbers"} & _top_level(
        modules
    )


def test_a_command_given_its_database_does_not_look_for_the_default_one(
    tmp_path: Path, installed_db: Path
):
    """Finding the default database file loads platformdirs; --db makes it unneeded."""
    given = _modules_after(
        tmp_path, "send", "--to", "+12125550105", "Hi", "--db", str(installed_db)
    )
    assert "core.sms.sending" in given
    assert "platformdirs" not in _top_level(given)
    env_db = _modules_after(tmp_path, "send", "--help")
    assert "platformdirs" in _top_level(env_db), "the help names the default file"


@pytest.mark.parametrize("width", [80, 60, 120])
def test_the_command_list_reads_as_clicks_own(width: int):
    """cli.SUMMARIES stands in for each command's help: a summary out of date shows here."""
    import click

    from console.cli import main

    ctx = click.Context(main, info_name="switchboard")
    ours, clicks = click.HelpFormatter(width=width), click.HelpFormatter(width=width)
    main.format_commands(ctx, ours)
    click.Group.format_commands(main, ctx, clicks)
    assert ours.getvalue() == clicks.getvalue()


def test_no_command_module_imports_the_cli_module():
    """The commands share console/options.py; console/cli.py only registers them."""
    probe = (
        "import importlib, json, pkgutil, sys, console.commands as c\n"
        "for i in pkgutil.iter_modules(c.__path__, 'console.commands.'):\n"
        "    importlib.import_module(i.name)\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    modules = set(json.loads(result.stdout))
    assert "console.commands.status" in modules
    assert "console.options" in modules
    assert "console.cli" not in modules
