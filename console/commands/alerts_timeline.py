"""alerts preview / status: the alert timeline (A3) as a plan, a chart (A6) and counts."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import click

from console.options import db_option, emit_json, json_option, with_db
from console.times import zoned_stamp
from core.account_zone import account_zone
from core.people.authz import SYSTEM

if TYPE_CHECKING:
    from core.alerts.overview import PreviewReport
    from core.db import Database

# As the other set-up commands: the local operator, who can read the file anyway.
OPERATOR = SYSTEM

_EVERY = click.IntRange(0, 30)
_COUNT = click.IntRange(0, 5)
_STAFF = click.IntRange(0, 100_000)


def _settings_line(report: PreviewReport) -> str:
    if report.every == 0:
        cadence = "no reminders, no escalation"
    else:
        escalation = (
            f"escalation after {report.escalate_after} attempts"
            if report.escalate_after
            else "no escalation"
        )
        cadence = f"every {report.every} min, {report.reminders} reminders, {escalation}"
    return (
        f"Alerts: {cadence}; {report.normal_staff} on a normal shift, {report.oncall_staff} on call"
    )


def _print_preview(report: PreviewReport) -> None:
    p = report.preview
    click.echo(_settings_line(report))
    click.echo(f"{'minute':>6}  {'alert':<18} {'SMS':>5}")
    for step in p.steps:
        click.echo(f"{step.minute:>6}  {step.label:<18} {step.recipients:>5}")
    heard = (
        f"on-call staff hear after {p.escalation_wait} min"
        if p.escalation_wait is not None
        else "no escalation"
    )
    click.echo(
        f"One chat nobody takes: {p.alerts_per_chat} SMS; {heard};"
        f" alerts keep coming for {p.covered} min."
    )
    chart = report.chart
    click.echo("")
    click.echo(
        "Alerts to each person on a normal shift / minutes waited at the last alert"
        f" (escalation after {chart.escalate_after or 'never'}):"
    )
    click.echo("every  " + "".join(f"{f'{r} rem':>9}" for r in chart.reminders))
    for every, row in zip(chart.every, chart.rows, strict=True):
        cells = "".join(f"{f'{c.alerts}/{c.longest_wait}':>9}" for c in row)
        click.echo(f"{f'{every} min':<7}{cells}")


@click.command("preview")
@click.option("--every", type=_EVERY, default=None, help="Minutes between reminders (0: never).")
@click.option("--reminders", type=_COUNT, default=None, help="Reminders after the new-chat alert.")
@click.option(
    "--escalate-after", type=_COUNT, default=None, help="Attempts before the escalation (0: never)."
)
@click.option(
    "--normal-staff", type=_STAFF, default=None, help="Alertable staff on a normal shift."
)
@click.option("--oncall-staff", type=_STAFF, default=None, help="Alertable staff on call.")
@json_option
@db_option
@with_db(reads_only=True)
async def preview_command(
    db: Database,
    every: int | None,
    reminders: int | None,
    escalate_after: int | None,
    normal_staff: int | None,
    oncall_staff: int | None,
    as_json: bool,
) -> None:
    """What the alert settings do to a chat nobody takes, and the chart of the options.

    Without options: the current settings and the staff who may be alerted on
    shift now."""
    from core.alerts import overview

    report = await overview.preview(
        db,
        OPERATOR,
        every=every,
        reminders=reminders,
        escalate_after=escalate_after,
        normal_staff=normal_staff,
        oncall_staff=oncall_staff,
    )
    if as_json:
        emit_json(dataclasses.asdict(report))
        return
    _print_preview(report)


@click.command("status")
@json_option
@db_option
@with_db(reads_only=True)
async def status_command(db: Database, as_json: bool) -> None:
    """Alert timelines running, the next one due, and alerts sent today by kind."""
    from core.alerts import overview

    found = await overview.status(db, OPERATOR)
    if as_json:
        emit_json(
            {
                "on": found.on,
                "running": found.running,
                "next_due": None if found.next_due is None else found.next_due.isoformat(),
                "today": found.today,
            }
        )
        return
    due = ""
    if found.next_due is not None:
        due = f", next due {zoned_stamp(found.next_due, await account_zone(db))}"
    click.echo(f"Mobile alerts: {'on' if found.on else 'off'}")
    click.echo(f"Timelines running: {found.running}{due}")
    click.echo(
        "Alerts today: "
        + ", ".join(f"{kind.replace('_', ' ')} {n}" for kind, n in found.today.items())
    )
