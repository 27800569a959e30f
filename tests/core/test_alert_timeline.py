"""A3, A6: the alert timeline's plan and its preview, pure."""

from __future__ import annotations

import pytest

from core.alerts import texts, timeline
from core.alerts.timeline import ESCALATION, NEW_CHAT, REMINDER, Step


def kinds(steps: list[Step]) -> list[tuple[int, str]]:
    return [(s.minute, s.kind) for s in steps]


def test_the_new_chat_alert_then_reminders_then_the_escalation() -> None:
    steps = timeline.plan(5, 3, 3)
    assert kinds(steps) == [
        (0, NEW_CHAT),
        (5, REMINDER),
        (10, REMINDER),
        (15, REMINDER),
        (15, ESCALATION),
    ]
    assert [s.label for s in steps] == [
        "new chat",
        "reminder 1 of 3",
        "reminder 2 of 3",
        "reminder 3 of 3",
        "escalation",
    ]


def test_the_escalation_comes_after_n_attempts_even_with_fewer_reminders() -> None:
    # N = 4: the new-chat alert and 3 reminders would be the attempts; with one reminder
    # the escalation still waits for the fourth interval.
    assert kinds(timeline.plan(10, 1, 4)) == [(0, NEW_CHAT), (10, REMINDER), (40, ESCALATION)]


def test_an_escalation_before_the_last_reminder_goes_in_its_minute() -> None:
    assert kinds(timeline.plan(5, 4, 2)) == [
        (0, NEW_CHAT),
        (5, REMINDER),
        (10, REMINDER),
        (10, ESCALATION),
        (15, REMINDER),
        (20, REMINDER),
    ]


@pytest.mark.parametrize(("reminders", "escalate"), [(0, 0), (3, 0), (0, 2), (5, 5)])
def test_no_frequency_means_only_the_new_chat_alert(reminders: int, escalate: int) -> None:
    assert kinds(timeline.plan(0, reminders, escalate)) == [(0, NEW_CHAT)]


def test_negative_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        timeline.plan(-1, 0, 0)


def test_due_times_and_the_steps_due_now() -> None:
    steps = timeline.plan(5, 2, 0)
    t0 = 1_000_000
    assert timeline.due_at(steps, t0, 0) == t0
    assert timeline.due_at(steps, t0, 1) == t0 + 5 * 60_000
    assert timeline.due_at(steps, t0, 3) is None
    assert timeline.due_now(steps, t0, 1, t0 + 5 * 60_000 - 1) == range(1, 1)
    assert timeline.due_now(steps, t0, 1, t0 + 5 * 60_000) == range(1, 2)
    # After a pause (a worker that was down) every step that fell due goes, in order.
    assert timeline.due_now(steps, t0, 0, t0 + 60 * 60_000) == range(0, 3)


def test_attempts_count_the_alerts_to_normal_shifts_before_a_step() -> None:
    steps = timeline.plan(5, 3, 3)
    # The escalation at 15 min follows three unanswered alerts (0, 5, 10); the third
    # reminder goes in the same minute and is not one of them.
    assert timeline.attempts_before(steps, 4) == 3
    assert timeline.attempts_before(steps, 2) == 2
    assert timeline.attempts_before(timeline.plan(5, 1, 3), 2) == 2


def test_the_preview_counts_alerts_and_the_wait_before_escalation() -> None:
    p = timeline.preview(5, 3, 3, normal_staff=4, oncall_staff=2)
    assert [(s.minute, s.label, s.recipients) for s in p.steps] == [
        (0, "new chat", 4),
        (5, "reminder 1 of 3", 4),
        (10, "reminder 2 of 3", 4),
        (15, "reminder 3 of 3", 4),
        (15, "escalation", 2),
    ]
    assert p.alerts_per_chat == 4 * 4 + 2
    assert p.escalation_wait == 15
    assert p.covered == 15


def test_the_preview_without_escalation() -> None:
    p = timeline.preview(10, 2, 0, normal_staff=3, oncall_staff=5)
    assert p.escalation_wait is None
    assert p.alerts_per_chat == 9
    assert p.covered == 20


def test_the_chart_has_a_cell_per_frequency_and_number_of_reminders() -> None:
    c = timeline.chart(escalate_after=0)
    assert c.every == timeline.CHART_EVERY
    assert c.reminders == (0, 1, 2, 3, 4, 5)
    cell = c.rows[c.every.index(10)][3]
    assert (cell.every, cell.reminders, cell.alerts, cell.longest_wait) == (10, 3, 4, 30)
    with_escalation = timeline.chart(escalate_after=2).rows[c.every.index(10)][3]
    assert (with_escalation.alerts, with_escalation.longest_wait) == (4, 30)
    assert timeline.chart(escalate_after=2).rows[c.every.index(10)][0].longest_wait == 20
    assert timeline.chart(escalate_after=5).rows[c.every.index(30)][0].longest_wait == 150


def test_texts_say_which_reminder_and_how_long() -> None:
    steps = timeline.plan(5, 3, 3)
    common = {"conversation_id": 42, "our_number": "+14155550100", "body": None, "hipaa": False}
    assert texts.render(steps[0], waited_minutes=0, attempts=0, **common) == (  # type: ignore[arg-type]
        "Switchboard: new chat #42 waiting on +14155550100."
    )
    assert "reminder 2 of 3, chat #42 on +14155550100 waiting 10 min" in texts.render(
        steps[2],
        waited_minutes=10,
        attempts=2,
        **common,  # type: ignore[arg-type]
    )
    assert "unanswered for 15 min after 3 alerts" in texts.render(
        steps[4],
        waited_minutes=15,
        attempts=3,
        **common,  # type: ignore[arg-type]
    )


def test_the_body_excerpt_is_one_line_and_short() -> None:
    body = "line one\nline\ttwo \x1b[31m" + "x" * 200
    shown = texts.excerpt(body)
    assert "\n" not in shown
    assert "\x1b" not in shown
    assert len(shown) == texts.EXCERPT_LENGTH
    assert shown.endswith("...")
    step = timeline.plan(0, 0, 0)[0]
    common = {"conversation_id": 1, "our_number": "+1", "waited_minutes": 0, "attempts": 0}
    with_body = texts.render(step, body="Hi", hipaa=False, **common)
    assert with_body.endswith('"Hi"')
    hipaa = texts.render(step, body="Hi", hipaa=True, **common)
    assert "Hi" not in hipaa


def test_after_a_pause_only_the_latest_alert_and_the_escalation_go() -> None:
    steps = timeline.plan(5, 3, 3)
    assert timeline.worth_sending(steps, range(0, 5)) == [3, 4]
    assert timeline.worth_sending(steps, range(1, 3)) == [2]
    assert timeline.worth_sending(steps, range(0, 1)) == [0]
