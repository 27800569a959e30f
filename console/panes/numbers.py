"""Our numbers (M1), under the agents in the Manager's Agents section: each number,
what it sends (SMS, MMS) and what it is for (the default sender, an agent's caller
ID, nothing yet). With ``manage_numbers``: ``a`` adds one, ``u`` changes what the
selected one sends and is for (``NumberForm``), ``r`` removes it after asking;
core checks each, and says what keeps a number in use."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from console.context import ConsoleContext
from console.failures import ReportsFailures
from console.live import Changes
from console.removal import gone
from console.screens.confirm import ConfirmScreen
from console.screens.number_form import NumberForm
from console.text import literal
from console.widgets.keyed_table import Column, KeyedTable
from core.people import agents
from core.people.authz import Action, allows
from core.records import record
from core.sms import numbers
from core.sms.numbers import Number


@record
class Shown:
    number: Number
    use: str
    """"default", "caller ID of USERNAME" or "none yet"."""


COLUMNS: tuple[Column, ...] = (("Number", "e164", 16), ("Sends", "kind", 9), ("Use", "use", None))


def _cells(s: Shown) -> dict[str, Text]:
    return {
        "e164": literal(s.number.e164),
        "kind": Text("SMS+MMS" if s.number.mms else "SMS"),
        "use": literal(s.use) if s.use != "none yet" else Text(s.use, style="dim"),
    }


def _use(n: Number, usernames: dict[int, str]) -> str:
    if n.is_default:
        return "default"
    if n.agent_id is not None:
        return f"caller ID of {usernames.get(n.agent_id, '?')}"
    return "none yet"


class NumberTable(KeyedTable[Shown]):
    def __init__(self) -> None:
        super().__init__(COLUMNS, _cells, lambda s: s.number.id, id="number-list")


class OurNumbers(ReportsFailures, Vertical):
    DEFAULT_CSS = """
    OurNumbers { height: auto; max-height: 12; }
    OurNumbers #numbers-title { height: 1; padding: 0 1; text-style: bold; }
    OurNumbers NumberTable { height: auto; max-height: 10; }
    """
    BINDINGS = [
        Binding(
            "a", "add", "Add number", id="manager.add_number", tooltip="Add one of our numbers"
        ),
        Binding(
            "u",
            "use",
            "Change number",
            id="manager.number_use",
            tooltip="What the selected number sends, and whether it is the default, an agent's"
            " caller ID, or neither",
        ),
        Binding(
            "r",
            "remove",
            "Remove number",
            id="manager.number_remove",
            tooltip="Remove the selected number, when nothing uses it",
        ),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__(id="our-numbers")
        self.context = context

    def compose(self) -> ComposeResult:
        yield Static("Our numbers", id="numbers-title")
        yield NumberTable()

    async def on_mount(self) -> None:
        if gone(self):
            return
        self.app.changes.subscribe(self, self.on_changes)  # type: ignore[attr-defined]
        await self.reload()

    @property
    def table(self) -> NumberTable:
        return self.query_one(NumberTable)

    async def reload(self) -> None:
        found = await numbers.list_numbers(self.context.db)
        names = {a.id: a.username for a in await agents.list_agents(self.context.db)}
        shown = [Shown(n, _use(n, names)) for n in found]
        if not gone(self):
            self.table.show(shown)
            title = "Our numbers" if shown else "Our numbers: none yet (a adds one)"
            self.query_one("#numbers-title", Static).update(title)

    async def on_changes(self, changes: Changes) -> None:
        if changes.about("number.") or changes.about("agent."):
            await self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Hidden without the right: core refuses anyway, the footer need not offer it.
        if action in ("add", "use", "remove"):
            return allows(self.context.actor, Action.MANAGE_NUMBERS, None)
        return True

    def action_add(self) -> None:
        self.app.push_screen(NumberForm(self.context), self._saved)

    def action_use(self) -> None:
        chosen = self.table.selected()
        if chosen is not None:
            self.app.push_screen(NumberForm(self.context, chosen.number), self._saved)

    @work(exclusive=True, exit_on_error=False, description="remove a number")
    async def action_remove(self) -> None:
        chosen = self.table.selected()
        if chosen is None:
            return
        question = Text.assemble(
            "Remove ",
            literal(chosen.number.e164, style="bold"),
            "? It stops being one of ours here: texts to it are then ignored (logged), so"
            " release it at the provider too. One that conversations, messages still to"
            " send, a campaign or a case location use is kept, and you are told why.",
        )
        yes = await self.app.push_screen_wait(
            ConfirmScreen(question, yes_label="Remove", no_label="Keep it")
        )
        if yes:
            gone_ = await numbers.remove(self.context.db, self.context.actor, chosen.number.e164)
            await self.reload()
            self.notify(f"Removed {gone_.e164}", markup=False)
        self.table.focus()

    async def _saved(self, saved: object) -> None:
        if isinstance(saved, Number):
            await self.reload()
            self.table.select(saved.id)
            self.notify(f"Saved {saved.e164}", markup=False)
        self.table.focus()
