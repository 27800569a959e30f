"""The Shifts sub-tab's two forms: a shift (person, kind, weekly span or one-off
from/to, zone) and an .ics import (file, person, kind, zone).

Each calls core itself, so a refusal (an overlap, an unknown zone, a span
not written 'mon 18:00 to tue 08:00') is shown under the fields in core's
words and what was typed stays. An import with problems saves nothing:
they are listed by event in a dialog over the form, which stays open.
"""

from __future__ import annotations

from zoneinfo import available_timezones

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.suggester import SuggestFromList
from textual.widgets import Label, Select, Static

from console import files
from console.context import ConsoleContext
from console.screens.ics_problems import IcsProblems
from console.screens.small_form import SmallForm, bindings
from console.text import literal
from console.widgets.editing import Input
from core.errors import InvalidInput
from core.people import agents
from core.shifts import shifts
from core.shifts.ics import MAX_BYTES, IcsReport, import_ics
from core.shifts.model import KINDS, NORMAL, Shift
from core.text import counted

KIND_LABELS = {NORMAL: "normal (messaging)", "oncall": "on call (support)"}

_FORM_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 70; max-width: 100%; height: auto; max-height: 100%;
    border: round $accent; background: $surface; padding: 0 1;
}}
{name} .form-row {{ height: auto; margin-top: 1; }}
{name} .form-row > Vertical {{ width: 1fr; height: auto; padding-right: 1; }}
{name} .form-error {{ color: $error; height: auto; margin-top: 1; }}
{name} Horizontal {{ height: auto; align-horizontal: right; }}
{name} Button {{ margin-left: 1; }}
"""


def field(label: str, widget: Input | Select[str]) -> Vertical:
    return Vertical(Label(label), widget)


def kind_select() -> Select[str]:
    options = [(KIND_LABELS[kind], kind) for kind in KINDS]
    return Select(options, value=NORMAL, allow_blank=False, id="shift-kind", compact=True)


def zone_input(zone: str) -> Input:
    zones = SuggestFromList(sorted(available_timezones()), case_sensitive=False)
    return Input(
        zone, placeholder="e.g. Europe/Paris", id="shift-zone", suggester=zones, compact=True
    )


class PersonForm(SmallForm):
    """A form naming one active staff member and a kind of shift."""

    def __init__(self, context: ConsoleContext, zone: str, *, id: str) -> None:
        super().__init__(id=id)
        self.context = context
        self.zone = zone

    def person_select(self) -> Select[str]:
        return Select[str]([], prompt="Choose…", id="shift-person", compact=True)

    async def on_mount(self) -> None:
        people = [a for a in await agents.list_agents(self.context.db) if a.active]
        options = [
            (Text.assemble(literal(a.name), (f" {a.username}", "dim")), a.username) for a in people
        ]
        self.query_one("#shift-person", Select).set_options(options)

    def value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value

    @property
    def person(self) -> str:
        # Nothing chosen goes to core as nothing: core says a username is needed.
        chosen = self.query_one("#shift-person", Select).value
        return chosen if isinstance(chosen, str) else ""

    @property
    def kind(self) -> str:
        chosen = self.query_one("#shift-kind", Select).value
        return chosen if isinstance(chosen, str) else NORMAL


class ShiftForm(PersonForm):
    """A new shift: weekly (a span) or one-off (from and to), in a zone."""

    BINDINGS = bindings("shift_form", "the shift")
    DEFAULT_CSS = _FORM_CSS.format(name="ShiftForm")

    def __init__(self, context: ConsoleContext, zone: str) -> None:
        super().__init__(context, zone, id="shift-form")

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("New shift", style="bold"))
            with Horizontal(classes="form-row"):
                yield field("Person", self.person_select())
                yield field("Kind", kind_select())
            with Horizontal(classes="form-row"):
                yield field(
                    "Weekly (day HH:MM to day HH:MM)",
                    Input(placeholder="mon 18:00 to tue 08:00", id="shift-span", compact=True),
                )
            with Horizontal(classes="form-row"):
                yield field(
                    "Or once, from",
                    Input(placeholder="2026-03-08T18:00", id="shift-from", compact=True),
                )
                yield field(
                    "to", Input(placeholder="2026-03-09T08:00", id="shift-to", compact=True)
                )
            with Horizontal(classes="form-row"):
                yield field("Time zone (the times are wall time there)", zone_input(self.zone))
            yield from self.buttons()

    async def on_mount(self) -> None:
        await super().on_mount()
        self.query_one("#shift-person", Select).focus()

    async def save(self) -> Shift:
        span, start, end = (self.value(f"shift-{n}").strip() for n in ("span", "from", "to"))
        zone = self.value("shift-zone").strip() or None
        db, actor = self.context.db, self.context.actor
        if start or end:
            if span:
                raise InvalidInput("give a weekly span or a one-off from and to, not both")
            return await shifts.add_once(db, actor, self.person, self.kind, start, end, zone)
        return await shifts.add_weekly(db, actor, self.person, self.kind, span, zone)


def read_calendar(raw: str) -> bytes:
    """The file at ``raw`` (typed: ``~`` expanded), at most one byte past what core takes."""
    return files.read_at_most(files.typed_path(raw, "an .ics file"), MAX_BYTES)


class ImportForm(PersonForm):
    """One person's shifts from an .ics file; closes with core's report once saved."""

    BINDINGS = bindings("shift_import", "import the file")
    DEFAULT_CSS = _FORM_CSS.format(name="ImportForm")

    def __init__(self, context: ConsoleContext, zone: str) -> None:
        super().__init__(context, zone, id="shift-import")

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Import shifts from an .ics file", style="bold"))
            with Horizontal(classes="form-row"):
                yield field(
                    "File",
                    Input(placeholder="~/alice.ics", id="shift-path", compact=True),
                )
            with Horizontal(classes="form-row"):
                yield field("Whose shifts", self.person_select())
                yield field("Kind (CATEGORIES on-call wins)", kind_select())
            with Horizontal(classes="form-row"):
                yield field("Time zone of floating times", zone_input(self.zone))
            yield from self.buttons()

    async def on_mount(self) -> None:
        await super().on_mount()
        self.query_one("#shift-path", Input).focus()

    async def save(self) -> IcsReport:
        data = read_calendar(self.value("shift-path"))
        zone = self.value("shift-zone").strip() or None
        db, actor = self.context.db, self.context.actor
        return await import_ics(db, actor, self.person, data, kind=self.kind, time_zone=zone)

    def done(self, saved: object) -> bool:
        if not isinstance(saved, IcsReport) or saved.saved:
            return True
        # Nothing saved: the form stays, with what was typed, under the list.
        self.show_error(
            f"Nothing imported: {counted(len(saved.problems), 'problem')}, listed by event."
        )
        self.app.push_screen(IcsProblems(saved))
        return False
