"""Dependencies point one way: console -> providers -> core.

Each check imports every module of a package in a fresh interpreter (so
nothing the test run already imported can hide a dependency) and looks at
what ended up in sys.modules.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

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
            {"core.db", "core.worker", "core.lease", "core.outbox", "core.messaging"},
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
