"""The line above a list: its keys until told something, a message shown literally."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.pilot import Pilot

from console.widgets.status_line import StatusLine

HOSTILE = "[@click=app.quit]quit[/] \x1b]0;owned\x07 \x1b[31mred"


class _Lines(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.keys = "a add  d delete"

    def compose(self) -> ComposeResult:
        yield StatusLine("n new  r rename", id="fixed")
        yield StatusLine(lambda: self.keys, wrapped=True, id="rights")


def _shown(line: StatusLine) -> str:
    return str(line.render())


async def _told(pilot: Pilot[None], line: StatusLine, message: str | None, **kw: bool) -> str:
    """What the line shows once told ``message``."""
    line.say(message, **kw)
    await pilot.pause()
    return _shown(line)


async def test_the_hint_is_shown_and_again_when_told_nothing():
    app = _Lines()
    async with app.run_test() as pilot:
        fixed = app.query_one("#fixed", StatusLine)
        assert _shown(fixed) == "n new  r rename"
        assert await _told(pilot, fixed, "profile saved") == "profile saved"
        assert await _told(pilot, fixed, None) == "n new  r rename"


async def test_a_hint_given_as_a_function_is_read_again_each_time():
    app = _Lines()
    async with app.run_test() as pilot:
        rights = app.query_one("#rights", StatusLine)
        # The owner's first say, once it knows the rights.
        assert await _told(pilot, rights, None) == "a add  d delete"
        app.keys = "a add"  # a right taken away
        assert await _told(pilot, rights, None) == "a add"


async def test_a_message_is_shown_literally_and_an_error_in_the_error_colour():
    app = _Lines()
    async with app.run_test() as pilot:
        fixed = app.query_one("#fixed", StatusLine)
        shown = await _told(pilot, fixed, HOSTILE, error=True)
        assert "[@click=app.quit]quit[/]" in shown  # markup is not read
        assert "\x1b" not in shown
        assert "\x07" not in shown
        assert "\\x1b]0;owned\\x07" in shown  # the escape is visible instead
        assert fixed.has_class("-error")
        await pilot.click("#fixed", offset=(3, 0))  # on the [@click]: it is text, it does nothing
        assert app.is_running
        await _told(pilot, fixed, "saved")
        assert not fixed.has_class("-error")


async def test_a_wrapped_line_keeps_the_message_s_own_line_breaks():
    app = _Lines()
    async with app.run_test() as pilot:
        fixed = app.query_one("#fixed", StatusLine)
        rights = app.query_one("#rights", StatusLine)
        fixed.say("row 3: bad phone\nrow 5: duplicate")
        rights.say("row 3: bad phone\nrow 5: duplicate")
        await pilot.pause()
        assert "\n" not in _shown(fixed)
        assert _shown(rights) == "row 3: bad phone\nrow 5: duplicate"
        assert rights.size.height == 2
        assert fixed.size.height == 1
