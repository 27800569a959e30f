"""Snapshots: the main screens, drawn from demo data, match screenshots/*.svg.

When the console changes on purpose, run `switchboard screenshots`, look at
the pictures, and commit them with the change.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Static

from console import screenshots
from console.app import SwitchboardApp
from console.screens.confirm import ConfirmScreen
from console.screenshots import SCENES, take
from core.db import Database

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


def test_no_screen_hands_the_terminal_a_control_character(fresh: Path):
    """The demo holds an SMS with markup and an escape sequence (a prize offer in
    red): in every scene that shows it, it is drawn as visible text."""
    for drawn in sorted(fresh.glob("*.svg")):
        text = drawn.read_text(encoding="utf-8")
        controls = {ch for ch in text if ch not in "\n\t" and (ord(ch) < 0x20 or ord(ch) == 0x7F)}
        assert not controls, f"{drawn.name} draws {sorted(map(hex, map(ord, controls)))}"


async def test_a_scene_left_waiting_on_a_dialog_is_named_instead_of_hanging(
    demo_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """As the contacts' import once did: background work that awaits a dialog never
    completes, and the screenshots command waited for it forever."""

    async def asks(app: SwitchboardApp, pilot: Pilot[None]) -> None:
        async def ask() -> None:
            await app.push_screen_wait(ConfirmScreen(Text("Delete it?")))

        app.run_worker(ask())
        await pilot.pause()

    monkeypatch.setattr(screenshots, "SCENE_SECONDS", 1)  # the work never completes
    with pytest.raises(RuntimeError, match="scene 'asks' did not finish in 1 s"):
        await screenshots._shoot(demo_db, tmp_path, "asks", "alice", asks, (80, 24))
    assert not (tmp_path / "asks.svg").exists()


def _drawn(app: App[None]) -> str:
    """The text of the app's picture (an SVG writes a space as &#160;)."""
    return app.export_screenshot().replace("&#160;", " ")


class _UnderADialog(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("the list as first drawn", id="under")


async def test_a_screen_under_a_dialog_is_drawn_as_it_is_now_not_as_last_laid_out():
    """As CI once drew the contacts under the import form, their columns not yet measured:
    the screen under a dialog lays itself out on its own timer, which may come round after
    the picture is taken. Here it never comes round."""
    app = _UnderADialog()
    async with app.run_test(size=(80, 24)) as pilot:
        under = app.screen
        app.push_screen(ConfirmScreen(Text("Delete it?")))
        await pilot.pause()
        under._update_timer.resume = lambda: None  # type: ignore[method-assign]
        under._update_timer.pause()
        app.query_one("#under", Static).update("the list with its rows")
        await pilot.pause()
        assert "the list as first drawn" in _drawn(app)  # the picture it would be

        screenshots._under_dialogs_laid_out(app)
        await pilot.pause()

        picture = _drawn(app)
        assert "the list with its rows" in picture
        assert "the list as first drawn" not in picture
