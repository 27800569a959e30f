"""The template renderer: render, compile and the longest count, each next to a stdlib baseline.

What is measured, N times each, best of three:

- ``Template.render`` of an alert (P1's default SMS: caller's name, number
  and message) with its values, next to ``str.format_map`` of the same
  text written as a format string: the checks (length, GSM-7, surrogates)
  are what render adds.
- ``compile_template`` of that text (what saving a template costs), next to
  ``string.Formatter().parse`` of the format string, which finds the same
  fields and checks nothing.
- ``longest_count`` (what an editor shows as the template is typed), next to
  ``segments.count`` of one ordinary render: the longest render is a few
  hundred characters longer, so it costs more.
"""

from __future__ import annotations

import string
import time
from collections.abc import Callable

from bench.common import count_from_argv, print_table
from core.sms import segments
from core.templates import Field, Fields, compile_template, longest_count

DEFAULT, SMALL = 20_000, 500
RUNS = 3

FIELDS = Fields(
    [
        Field("first_name", "Caller first name", 50),
        Field("last_name", "Caller last name", 50),
        Field("caller_id", "Caller ID", 16, gsm7_only=True),
        Field("message", "Message", 300, phi=True),
    ]
)
SOURCE = "Call from {{first_name}} {{last_name}} ({{caller_id}}): {{message}}"
FORMAT = "Call from {first_name} {last_name} ({caller_id}): {message}"
VALUES = {
    "first_name": "Ann",
    "last_name": "Lee",
    "caller_id": "+12125550105",
    "message": "Please call me back about tomorrow's delivery, after 3pm if you can.",
}


def best_us(work: Callable[[], object], n: int) -> float:
    """Best of RUNS, microseconds per call."""
    best = float("inf")
    for _ in range(RUNS):
        start = time.perf_counter()
        for _ in range(n):
            work()
        best = min(best, time.perf_counter() - start)
    return best / n * 1e6


def main() -> None:
    n = count_from_argv("Template render/compile/longest count next to stdlib.", DEFAULT, SMALL)
    template = compile_template(SOURCE, FIELDS)
    assert template.render(VALUES) == FORMAT.format_map(VALUES)
    formatter = string.Formatter()
    rendered = template.render(VALUES)
    rows = []
    for what, ours, baseline, base_name in [
        (
            "render",
            lambda: template.render(VALUES),
            lambda: FORMAT.format_map(VALUES),
            "format_map",
        ),
        (
            "compile",
            lambda: compile_template(SOURCE, FIELDS),
            lambda: list(formatter.parse(FORMAT)),
            "Formatter.parse",
        ),
        (
            "longest_count",
            lambda: longest_count(template),
            lambda: segments.count(rendered),
            "segments.count (one render)",
        ),
    ]:
        mine, base = best_us(ours, n), best_us(baseline, n)
        rows.append((what, f"{mine:.2f}", base_name, f"{base:.2f}", f"{mine / base:.1f}x"))
    print_table(
        f"templates, {n:,} calls each, best of {RUNS} (µs per call)",
        ("operation", "µs", "baseline", "µs", "ratio"),
        rows,
    )
    worst = longest_count(template)
    print(
        f"longest render: {worst.segments} segments ({worst.encoding}, {worst.units} units);"
        f" this render: {segments.count(rendered).segments}"
    )


if __name__ == "__main__":
    main()
