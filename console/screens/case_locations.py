"""Case locations (C3): the list, a new one, and "direct reply to SMS" on or off.

Shown only with MANAGE_LOCATIONS (the pane hides the key); core checks again.
A location's direct reply decides what a contact's SMS reply does: on, it
becomes a case note; off, the contact is told once that replies by SMS are
not taken here, with the case link.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from console.context import ConsoleContext
from console.failures import ReportsFailures
from console.screens.small_form import SmallForm, bindings
from console.text import literal
from console.widgets.editing import Input
from console.widgets.keyed_table import KeyedTable
from core.cases import locations
from core.cases.locations import Location
from core.sms.phones import display as phone_display


def _cells(loc: Location) -> dict[str, Text]:
    return {
        "name": literal(loc.name),
        "sender": Text(phone_display(loc.sender)),
        "reply": Text("on" if loc.direct_reply else "off", style="" if loc.direct_reply else "dim"),
    }


class LocationTable(KeyedTable[Location]):
    def __init__(self) -> None:
        super().__init__(
            (("Location", "name", 26), ("Texts from", "sender", 16), ("Direct reply", "reply", 12)),
            _cells,
            lambda loc: loc.id,
            id="location-list",
        )


class LocationForm(SmallForm):
    DEFAULT_CSS = """
    LocationForm { align: center middle; }
    LocationForm > Vertical {
        width: 64; max-width: 100%; height: auto;
        border: round $accent; background: $surface; padding: 0 1;
    }
    LocationForm .form-error { color: $error; height: auto; margin-top: 1; }
    LocationForm Horizontal { height: auto; align-horizontal: right; }
    LocationForm Button { margin-left: 1; }
    """
    BINDINGS = bindings("location_form", "the location")

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__()
        self.context = context

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("New case location", style="bold"))
            yield Label("Name")
            yield Input(id="location-name", compact=True, max_length=100)
            yield Label("Texts go from (one of our numbers)")
            yield Input(id="location-sender", compact=True, placeholder="+14155550100")
            yield from self.buttons()

    def on_mount(self) -> None:
        self.query_one("#location-name", Input).focus()

    async def save(self) -> object:
        return await locations.create(
            self.context.db,
            self.context.actor,
            self.query_one("#location-name", Input).value,
            self.query_one("#location-sender", Input).value,
        )


class LocationsScreen(ReportsFailures, ModalScreen[None]):
    DEFAULT_CSS = """
    LocationsScreen { align: center middle; }
    LocationsScreen > Vertical {
        width: 66; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    LocationsScreen #location-list { height: auto; max-height: 12; }
    LocationsScreen .form-hint { color: $text-muted; height: auto; }
    """
    BINDINGS = [
        Binding("n", "new", "New", id="locations.new", tooltip="A new case location"),
        Binding(
            "d",
            "direct_reply",
            "Direct reply",
            id="locations.direct_reply",
            tooltip="Turn 'direct reply to SMS' on or off for the selected location",
        ),
        Binding("escape", "close", "Close", id="locations.close", tooltip="Back to the cases"),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__()
        self.context = context

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Case locations", style="bold"))
            yield LocationTable()
            yield Static(id="locations-status", classes="form-hint")
            yield Static(
                "n new · d direct reply on/off · Esc close. Direct reply on: a contact's SMS"
                " reply becomes a case note; off: they are told once to use the link.",
                classes="form-hint",
            )

    async def on_mount(self) -> None:
        await self.reload()
        self.table.focus()

    @property
    def table(self) -> LocationTable:
        return self.query_one(LocationTable)

    async def reload(self) -> Sequence[Location]:
        found = await locations.list_locations(self.context.db, self.context.actor)
        self.table.show(found)
        return found

    def action_new(self) -> None:
        self.app.push_screen(LocationForm(self.context), self._added)

    async def _added(self, made: object) -> None:
        if isinstance(made, Location):
            await self.reload()
            self.table.select(made.id)
            self._say(f"Added location {made.name}")
        self.table.focus()

    @work(
        exclusive=True,
        group="locations",
        exit_on_error=False,
        description="change the location's direct reply",
    )
    async def action_direct_reply(self) -> None:
        loc = self.table.selected()
        if loc is None:
            return
        done = await locations.edit(
            self.context.db, self.context.actor, loc.id, direct_reply=not loc.direct_reply
        )
        await self.reload()
        self._say(f"Direct reply to SMS is {'on' if done.direct_reply else 'off'} for {done.name}")

    def _say(self, message: str) -> None:
        self.query_one("#locations-status", Static).update(literal(message))

    def action_close(self) -> None:
        self.dismiss(None)
