"""Inputs and text areas draw control characters visible, never to the terminal.

Textual's own Input and TextArea put their value in the lines they draw as it is:
an ESC from a contact saved before contacts refused control characters, or from
pasted text, went to the terminal, which acts on it.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from rich.segment import Segment
from rich.style import Style
from textual.app import App, ComposeResult
from textual.strip import Strip
from textual.widget import Widget

from console.safe_text import is_unsafe
from console.widgets.editing import Input, TextArea, _visible_strip, visible

HOSTILE = "Eve\x1b]0;owned\x07\x1b[31mRED\u202eabc"


def drawn(widget: Widget) -> str:
    """The characters ``widget`` hands the terminal, line after line."""
    return "\n".join(
        "".join(s.text for s in widget.render_line(y)) for y in range(widget.size.height)
    )


class _Form(App[None]):
    def compose(self) -> ComposeResult:
        yield Input(HOSTILE, id="one-line")
        yield TextArea(HOSTILE + "\nsecond\x1b line", id="area")


def test_each_unsafe_character_becomes_one_visible_one() -> None:
    shown = visible(HOSTILE)
    assert shown == "Eve␛]0;owned␇␛[31mRED\ufffdabc"
    assert len(shown) == len(HOSTILE)  # the cursor's positions still hold
    assert visible("plain, \u00e9t\u00e9 👩\u200d💻") == "plain, \u00e9t\u00e9 👩\u200d💻"


@given(st.text())
def test_any_text_is_drawn_with_nothing_unsafe_and_its_length_kept(text: str) -> None:
    shown = visible(text)
    assert len(shown) == len(text)
    assert not [ch for ch in shown if is_unsafe(ch)]
    assert [a for a, b in zip(text, shown, strict=True) if a != b] == [
        ch for ch in text if is_unsafe(ch)
    ]  # only the unsafe ones change


@given(st.lists(st.text(), max_size=4), st.integers(min_value=0, max_value=40))
def test_any_line_is_drawn_with_nothing_unsafe_and_no_wider(texts: list[str], pad: int) -> None:
    line = Strip([Segment(t, Style(bold=True)) for t in texts] + [Segment(" " * pad)])
    shown = _visible_strip(line)
    assert not [ch for s in shown for ch in s.text if is_unsafe(ch)]
    assert shown.cell_length <= line.cell_length


async def test_an_input_and_a_text_area_draw_no_control_character() -> None:
    app = _Form()
    async with app.run_test(size=(60, 10)) as pilot:
        await pilot.pause()
        one_line = app.query_one("#one-line", Input)
        area = app.query_one("#area", TextArea)
        for widget in (one_line, area):
            lines = drawn(widget)
            assert not [ch for ch in lines if ch != "\n" and is_unsafe(ch)]
            # (Rich drops a BEL itself; an ESC it leaves.)
            assert "Eve␛]0;owned" in lines
            assert "␛[31mRED�abc" in lines
        assert "second␛ line" in drawn(area)
        # The values are left as they are: saving them is core's to refuse.
        assert one_line.value == HOSTILE
        assert area.text == HOSTILE + "\nsecond\x1b line"
        # Typed or pasted, the same.
        one_line.value = ""
        one_line.focus()
        await pilot.press("x")
        one_line.insert_text_at_cursor("\x1b[2J")
        await pilot.pause()
        assert "x␛[2J" in drawn(one_line)
        assert "\x1b" not in drawn(one_line)
        # Those Rich would drop (a CSV's CR, a BEL) are drawn too: they can be seen and
        # deleted where they are.
        one_line.value = "Ann\r\x07"
        await pilot.pause()
        assert "Ann␍␇" in drawn(one_line)
