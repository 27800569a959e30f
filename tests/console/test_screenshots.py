"""Snapshots: the main screens, drawn from demo data, match screenshots/*.svg.

When the console changes on purpose, run `switchboard screenshots`, look at
the pictures, and commit them with the change.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from console.screenshots import SCENES, take

COMMITTED = Path(__file__).resolve().parents[2] / "screenshots"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import asyncio

    out = tmp_path_factory.mktemp("screenshots")
    asyncio.run(take(out))
    return out


@pytest.mark.parametrize("name", [scene[0] for scene in SCENES])
def test_screen_matches_its_snapshot(fresh: Path, name: str):
    drawn = (fresh / f"{name}.svg").read_text(encoding="utf-8")
    committed = (COMMITTED / f"{name}.svg").read_text(encoding="utf-8")
    assert drawn == committed, (
        f"{name} differs from screenshots/{name}.svg: run `switchboard screenshots`, "
        "look at the result, and commit it if the change is intended"
    )
