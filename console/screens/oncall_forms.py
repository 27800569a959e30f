"""The on-call section's two small forms: a schedule (name, time zone) and a slot
(from, to, who).

Each calls core itself, so a refusal (a taken name, an unknown time zone,
a slot overlapping another, a time not written 'mon 18:00') is shown under
the fields in core's words and what was typed is kept. Each closes with
what core returned, or None when cancelled.
"""

from __future__ import annotations

from zoneinfo import available_timezones

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.suggester import SuggestFromList
from textual.widgets import Label, Select, Static

from console.context import ConsoleContext
from console.screens.small_form import SmallForm, bindings
from console.text import literal
from console.widgets.editing import Input
from core.notify import groups, oncall, profiles
from core.notify.oncall import Schedule, SlotView

Who = tuple[str, str]
"""("profile", alias) or ("group", name): what a slot names, as core takes it."""

_FORM_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 64; max-width: 100%; height: auto; max-height: 100%;
    border: round $accent; background: $surface; padding: 0 1;
}}
{name} Label {{ margin-top: 1; }}
{name} .form-error {{ color: $error; height: auto; margin-top: 1; }}
{name} Horizontal {{ height: auto; align-horizontal: right; margin-top: 1; }}
{name} Button {{ margin-left: 1; }}
"""


class ScheduleForm(SmallForm):
    """A new schedule (``schedule`` None) or a change of name or time zone."""

    BINDINGS = bindings("oncall_form", "it")
    DEFAULT_CSS = _FORM_CSS.format(name="ScheduleForm")

    def __init__(self, context: ConsoleContext, schedule: Schedule | None = None) -> None:
        super().__init__(id="schedule-form")
        self.context = context
        self.schedule = schedule

    def compose(self) -> ComposeResult:
        zones = SuggestFromList(sorted(available_timezones()), case_sensitive=False)
        with Vertical():
            title = "New on-call schedule" if self.schedule is None else "On-call schedule "
            heading = Text(title, style="bold")
            if self.schedule is not None:
                heading.append_text(literal(self.schedule.name, style="bold"))
            yield Static(heading)
            yield Label("Name")
            yield Input(placeholder="e.g. Nights", id="schedule-name", compact=True)
            yield Label("Time zone (its slots are wall time there)")
            yield Input(
                placeholder="e.g. America/New_York",
                id="schedule-zone",
                suggester=zones,
                compact=True,
            )
            yield from self.buttons()

    def on_mount(self) -> None:
        if self.schedule is not None:
            self.query_one("#schedule-name", Input).value = self.schedule.name
            self.query_one("#schedule-zone", Input).value = self.schedule.time_zone
        self.query_one("#schedule-name", Input).focus()

    async def save(self) -> Schedule:
        name = self.query_one("#schedule-name", Input).value
        zone = self.query_one("#schedule-zone", Input).value
        db, actor = self.context.db, self.context.actor
        if self.schedule is None:
            return await oncall.add_schedule(db, actor, name, zone)
        old = self.schedule
        return await oncall.edit_schedule(
            db,
            actor,
            old.id,
            rename=None if name == old.name else name,
            time_zone=None if zone == old.time_zone else zone,
        )


class SlotForm(SmallForm):
    """A new slot (``slot`` None, from and to suggested by the grid's cursor) or a change."""

    BINDINGS = bindings("oncall_form", "it")
    DEFAULT_CSS = (
        _FORM_CSS.format(name="SlotForm")
        + """
    SlotForm #slot-times { height: auto; margin-top: 0; align-horizontal: left; }
    SlotForm #slot-times > Vertical { width: 1fr; height: auto; }
    """
    )

    def __init__(
        self,
        context: ConsoleContext,
        schedule: Schedule,
        slot: SlotView | None = None,
        *,
        start: str = "",
        end: str = "",
    ) -> None:
        super().__init__(id="slot-form")
        self.context = context
        self.schedule = schedule
        self.slot = slot
        self.start = start if slot is None else f"{slot.day} {slot.start}"
        self.end = end if slot is None else f"{slot.end_day} {slot.end}"
        self.was: Who | None = None
        if slot is not None:
            self.was = ("profile", slot.who) if slot.profile_id is not None else ("group", slot.who)

    def compose(self) -> ComposeResult:
        with Vertical():
            heading = Text("New slot on " if self.slot is None else "Slot on ", style="bold")
            heading.append_text(literal(self.schedule.name, style="bold"))
            heading.append(f"  ({self.schedule.time_zone} wall time)", style="dim")
            yield Static(heading)
            with Horizontal(id="slot-times"):
                with Vertical():
                    yield Label("From (day HH:MM)")
                    yield Input(self.start, placeholder="mon 18:00", id="slot-start", compact=True)
                with Vertical():
                    yield Label("To (not included)")
                    yield Input(self.end, placeholder="tue 08:00", id="slot-end", compact=True)
            yield Label("Who: a notification profile or a group")
            yield Select[Who]([], prompt="Choose…", id="slot-who", compact=True)
            yield from self.buttons()

    async def on_mount(self) -> None:
        self.query_one("#slot-start", Input).focus()
        db, actor = self.context.db, self.context.actor
        options: list[tuple[Text, Who]] = [
            (literal(p.alias), ("profile", p.alias))
            for p in await profiles.list_profiles(db, actor)
        ]
        options += [
            (Text.assemble(("group ", "dim"), literal(g.name)), ("group", g.name))
            for g in await groups.list_groups(db, actor)
        ]
        who = self.query_one("#slot-who", Select)
        who.set_options(options)
        if self.was is not None and any(value == self.was for _, value in options):
            who.value = self.was

    def chosen(self) -> Who | None:
        value = self.query_one("#slot-who", Select).value
        return value if isinstance(value, tuple) else None

    async def save(self) -> SlotView:
        start = self.query_one("#slot-start", Input).value
        end = self.query_one("#slot-end", Input).value
        who = self.chosen()
        db, actor = self.context.db, self.context.actor
        # Nothing chosen is passed on as nothing: core says a slot names one of them.
        profile = who[1] if who and who[0] == "profile" else None
        group = who[1] if who and who[0] == "group" else None
        if self.slot is None:
            return await oncall.add_slot(
                db, actor, self.schedule.id, start, end, profile=profile, group=group
            )
        if who == self.was:
            profile = group = None  # unchanged: not looked up again by name
        return await oncall.edit_slot(
            db,
            actor,
            self.schedule.id,
            self.slot.id,
            start=start,
            end=end,
            profile=profile,
            group=group,
        )
