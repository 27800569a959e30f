"""A3, A6: the alert timeline of one waiting chat, and its preview. Pure: no database.

t0 is when the chat started to wait. The new-chat alert goes at t0;
reminder k (k = 1..R) at t0 + k·f; the escalation at t0 + N·f, once N
attempts (the new-chat alert and N-1 reminders) went unanswered for an
interval. f = 0 means neither reminders nor escalation: the settings refuse
R or N above 0 without f, and the plan ignores them if they come anyway.

A timeline's progress is the number of steps done (``conversations.alert_step``),
an index into the plan: the plan is made again from the current settings on
each sweep, so settings changed mid-timeline apply to the steps still to come.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from core.records import record

NEW_CHAT: Final = "new_chat"
REMINDER: Final = "reminder"
ESCALATION: Final = "escalation"
KINDS: Final = (NEW_CHAT, REMINDER, ESCALATION)

MINUTE_MS: Final = 60_000

CHART_EVERY: Final = (1, 2, 3, 5, 10, 15, 20, 30)
"""The frequencies the chart compares (the setting takes any whole minute, 1-30)."""
CHART_REMINDERS: Final = (0, 1, 2, 3, 4, 5)


@record
class Step:
    minute: int
    """Minutes after the chat started."""
    kind: str
    reminder: int = 0
    """k for reminder k (of ``of``); 0 for the other kinds."""
    of: int = 0
    """R, the number of reminders, for a reminder."""

    @property
    def label(self) -> str:
        if self.kind == REMINDER:
            return f"reminder {self.reminder} of {self.of}"
        return "new chat" if self.kind == NEW_CHAT else "escalation"


def plan(every: int, reminders: int, escalate_after: int) -> list[Step]:
    """The steps of a timeline, in the order they go (a reminder before an escalation
    due the same minute: the escalation reports the reminders already sent)."""
    if every < 0 or reminders < 0 or escalate_after < 0:
        raise ValueError("alert frequency, reminders and escalation cannot be negative")
    steps = [Step(0, NEW_CHAT)]
    if every == 0:
        return steps
    steps += [Step(k * every, REMINDER, k, reminders) for k in range(1, reminders + 1)]
    if escalate_after:
        steps.append(Step(escalate_after * every, ESCALATION))
    steps.sort(key=lambda s: (s.minute, s.kind == ESCALATION))
    return steps


def due_at(steps: Sequence[Step], started_at: int, done: int) -> int | None:
    """When step ``done`` (0-based: the next one) falls due, in ms; None when none is left."""
    if done >= len(steps):
        return None
    return started_at + steps[done].minute * MINUTE_MS


def due_now(steps: Sequence[Step], started_at: int, done: int, now: int) -> range:
    """Indices of the steps due at ``now`` that are not done: more than one after a pause."""
    end = done
    while end < len(steps) and started_at + steps[end].minute * MINUTE_MS <= now:
        end += 1
    return range(done, end)


def worth_sending(steps: Sequence[Step], due: range) -> list[int]:
    """Of the steps due together, those to send: after a pause (a worker that was down)
    a person gets the latest alert that fell due, not every one it missed, and the
    escalation if it fell due too."""
    last = max((i for i in due if steps[i].kind != ESCALATION), default=None)
    return [i for i in due if i == last or steps[i].kind == ESCALATION]


def attempts_before(steps: Sequence[Step], index: int) -> int:
    """The alerts to normal shifts (new chat, reminders) that went before step ``index``'s
    minute: those that went unanswered (a reminder due the same minute is not one)."""
    minute = steps[index].minute
    return sum(1 for s in steps if s.kind != ESCALATION and s.minute < minute)


@record
class PreviewStep:
    minute: int
    kind: str
    label: str
    recipients: int
    """Alerts this step sends: the staff on the shift it goes to."""


@record
class Preview:
    steps: tuple[PreviewStep, ...]
    alerts_per_chat: int
    """SMS one chat nobody takes sends, over its whole timeline."""
    escalation_wait: int | None
    """Minutes a visitor has waited when the on-call staff hear of it; None: never."""
    covered: int
    """Minutes from the chat's start to its last alert: how long alerts keep coming."""


def preview(
    every: int, reminders: int, escalate_after: int, normal_staff: int, oncall_staff: int
) -> Preview:
    """A6: what the settings do to one chat that nobody takes, given the staff on shift."""
    if normal_staff < 0 or oncall_staff < 0:
        raise ValueError("staff on shift cannot be negative")
    steps = plan(every, reminders, escalate_after)
    shown = tuple(
        PreviewStep(
            s.minute, s.kind, s.label, oncall_staff if s.kind == ESCALATION else normal_staff
        )
        for s in steps
    )
    escalation = next((s.minute for s in steps if s.kind == ESCALATION), None)
    return Preview(shown, sum(s.recipients for s in shown), escalation, steps[-1].minute)


@record
class ChartCell:
    every: int
    reminders: int
    alerts: int
    """Alerts each person on a normal shift gets for a chat nobody takes (the new-chat
    alert and the reminders)."""
    longest_wait: int
    """Minutes a visitor has waited when the last alert (or the escalation) goes."""


@record
class Chart:
    escalate_after: int
    every: tuple[int, ...]
    reminders: tuple[int, ...]
    rows: tuple[tuple[ChartCell, ...], ...]
    """One row per frequency, one cell per number of reminders."""


def chart(
    escalate_after: int = 0,
    every: Iterable[int] = CHART_EVERY,
    reminders: Iterable[int] = CHART_REMINDERS,
) -> Chart:
    """The seed's chart: for each frequency and number of reminders, the alerts sent and
    the longest wait, with the escalation setting given."""
    frequencies, counts = tuple(every), tuple(reminders)
    rows = []
    for f in frequencies:
        row = []
        for r in counts:
            steps = plan(f, r, escalate_after)
            alerts = sum(1 for s in steps if s.kind != ESCALATION)
            row.append(ChartCell(f, r, alerts, steps[-1].minute))
        rows.append(tuple(row))
    return Chart(escalate_after, frequencies, counts, tuple(rows))
