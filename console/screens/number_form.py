"""Add one of our numbers, or change one (M1): what it sends (SMS, or SMS and MMS) and
what it is for: the account default, one agent's caller ID, or neither.

As ``switchboard numbers add``, ``numbers change`` and ``numbers assign``: core
checks the number (read in the account's region when it has no country code), that
it is not ours already, and that an agent keeps one caller ID; a refusal is shown
under the form in core's words and what was typed stays. It closes with the Number
core stored.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Select, Static

from console.context import ConsoleContext
from console.screens.small_form import SmallForm, bindings
from console.text import literal
from console.widgets.editing import Input
from core.people import agents
from core.sms import numbers
from core.sms.numbers import Number

DEFAULT = "default"
NONE = "none"
KINDS = (("SMS", "sms"), ("SMS and MMS", "mms"))
USES: tuple[tuple[str, str], ...] = (
    ("the account's default sender", DEFAULT),
    ("no use yet", NONE),
)
"""The agents' caller IDs are added to these once the agents are read."""


class NumberForm(SmallForm):
    """A new number (``number`` None) or the use of ``number``."""

    BINDINGS = bindings("number_form", "the number")
    DEFAULT_CSS = """
    NumberForm { align: center middle; }
    NumberForm > Vertical {
        width: 60; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
        overflow-y: auto;
    }
    NumberForm Label { margin-top: 1; }
    NumberForm .form-error { color: $error; height: auto; margin-top: 1; }
    NumberForm Horizontal { height: auto; align-horizontal: right; margin-top: 1; }
    NumberForm Button { margin-left: 1; }
    """

    def __init__(self, context: ConsoleContext, number: Number | None = None) -> None:
        super().__init__(id="number-form")
        self.context = context
        self.number = number

    def compose(self) -> ComposeResult:
        n = self.number
        with Vertical():
            if n is None:
                yield Static(Text("Add one of our numbers", style="bold"))
                yield Label("Number (E.164, or national in the account's region)")
                yield Input(placeholder="+14155550100", id="number-e164", compact=True)
            else:
                yield Static(Text.assemble(("Change ", "bold"), literal(n.e164)))
            yield Label("Sends")
            kind = "mms" if n is not None and n.mms else "sms"
            yield Select(KINDS, value=kind, allow_blank=False, id="number-kind", compact=True)
            yield Label("Use")
            yield Select[str](USES, allow_blank=False, id="number-use", compact=True)
            yield from self.buttons()

    async def on_mount(self) -> None:
        # Active agents only: a deactivated one cannot log in to send from it.
        people = [a for a in await agents.list_agents(self.context.db) if a.active]
        uses: list[tuple[Text | str, str]] = [*USES]
        uses += [
            (Text.assemble("caller ID of ", literal(a.username), " (", literal(a.name), ")"),
             str(a.id))
            for a in people
        ]  # fmt: skip
        chosen = self.query_one("#number-use", Select)
        chosen.set_options(uses)
        n = self.number
        if n is None:
            # The first number is the default: nothing can be sent without one.
            first = not await numbers.list_numbers(self.context.db)
            chosen.value = DEFAULT if first else NONE
            self.query_one("#number-e164", Input).focus()
        else:
            current = DEFAULT if n.is_default else (str(n.agent_id) if n.agent_id else NONE)
            if any(value == current for _, value in uses):
                chosen.value = current
            chosen.focus()

    def _use(self) -> tuple[bool, int | None]:
        use = self.query_one("#number-use", Select).value
        if use == DEFAULT:
            return True, None
        if isinstance(use, str) and use.isdigit():
            return False, int(use)
        return False, None

    async def save(self) -> Number:
        db, actor = self.context.db, self.context.actor
        default, agent_id = self._use()
        mms = self.query_one("#number-kind", Select).value == "mms"
        if self.number is None:
            raw = self.query_one("#number-e164", Input).value
            return await numbers.add(db, actor, raw, mms=mms, agent_id=agent_id, default=default)
        e164 = self.number.e164
        return await numbers.assign(db, actor, e164, agent_id=agent_id, default=default, mms=mms)
