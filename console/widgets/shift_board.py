"""Who is on shift now and until when, and who is next, in words: the shifts' board.

Core decides who is on (``core.shifts.on_shift.now_and_next``); this says it
on the viewer's clock, one line per kind: "Normal now: Alice until 17:00 ·
next: Bob Tue 08:00".
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rich.text import Text

from console.text import literal
from core.shifts.model import KINDS, ONCALL
from core.shifts.on_shift import OnShift, ShiftBoard

LABELS = {"normal": "Normal ", ONCALL: "On call"}


def moment(at: datetime, now: datetime, zone: ZoneInfo) -> str:
    """'17:00' today, 'Tue 08:00' within the week, else the date."""
    local, today = at.astimezone(zone), now.astimezone(zone)
    if local.date() == today.date():
        return f"{local:%H:%M}"
    if abs(local.date() - today.date()) < timedelta(days=6):
        return f"{local:%a %H:%M}"
    return f"{local:%Y-%m-%d %H:%M}"


def _people(found: list[OnShift], board: ShiftBoard, zone: ZoneInfo, *, now: bool) -> Text:
    if not found:
        return Text("nobody", style="dim")
    text = Text()
    for i, entry in enumerate(found):
        if i:
            text.append(", ")
        text.append_text(literal(entry.shift.name or entry.shift.username, style="bold"))
        if now:
            until = entry.ends_at
            text.append(" all week" if until is None else f" until {moment(until, board.at, zone)}")
        else:
            text.append(f" {moment(entry.starts_at, board.at, zone)}")
    return text


def board_text(board: ShiftBoard, zone: ZoneInfo) -> Text:
    """Two lines: each kind's people on now (until when) and next (from when)."""
    lines = []
    for kind in KINDS:
        on = [e for e in board.on_now if e.shift.kind == kind]
        upcoming = [e for e in board.next if e.shift.kind == kind]
        line = Text.assemble((f"{LABELS[kind]} now: ", "bold"))
        line.append_text(_people(on, board, zone, now=True))
        if upcoming:
            line.append(" · next: ", style="dim")
            line.append_text(_people(upcoming, board, zone, now=False))
        line.no_wrap, line.overflow = True, "ellipsis"
        lines.append(line)
    return Text("\n").join(lines)
