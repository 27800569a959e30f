"""The README's demo snippet works when pasted into bash, as a new user would."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.processes import TIMEOUT, cli_env, switchboard

ROOT = Path(__file__).resolve().parent.parent


def _demo_snippet() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Trying it on the demo", 1)[1]
    found = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert found is not None, "the demo section has no sh block"
    return found.group(1)


def test_the_demo_snippet_runs_in_bash_against_the_demo_database(tmp_path: Path) -> None:
    # Where `make run` puts the demo: $HOME/.local/share when XDG_DATA_HOME is unset.
    env = cli_env(tmp_path, {"HOME": str(tmp_path)})
    del env["XDG_DATA_HOME"]
    seeded = switchboard("demo", "--seed-only", "--contacts", "20", db=None, home=tmp_path, env={})
    assert seeded.returncode == 0, seeded.stderr
    demo_db = tmp_path / "xdg-data" / "switchboard" / "demo.sqlite3"
    home_db = tmp_path / ".local" / "share" / "switchboard" / "demo.sqlite3"
    home_db.parent.mkdir(parents=True)
    demo_db.replace(home_db)

    result = subprocess.run(
        ["bash", "-c", _demo_snippet()],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=TIMEOUT * 3,
        check=False,
    )

    errors = [line for line in result.stderr.splitlines() if line.strip()]
    # Exactly one refusal, the one the snippet announces: the number opted out.
    assert len(errors) == 1, result.stderr
    assert "opted out" in errors[0]
    assert "Traceback" not in result.stderr
    assert result.returncode == 0, result.stderr  # the last line (segments) succeeds
    assert '"segments": 1' in result.stdout
