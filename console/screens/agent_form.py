"""Add a user: login name, full name, the permission profile they start with.

The form calls core itself so a refusal (malformed or taken username) is
shown inside the form, with what was typed kept; it closes with the new
Agent on success, or None when cancelled.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Select, Static

from console.context import ConsoleContext
from console.text import literal
from console.widgets.editing import Input
from core.errors import SwitchboardError
from core.people import agents
from core.people.agents import Agent
from core.permissions import profiles

BUILTIN = [("Agent", "Agent"), ("Manager", "Manager")]
"""Shown until the centre's profiles are read (the built-in ones always exist)."""


class AgentForm(ModalScreen[Agent | None]):
    DEFAULT_CSS = """
    AgentForm { align: center middle; }
    AgentForm > Vertical {
        width: 64; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    AgentForm Label { margin-top: 1; }
    AgentForm #agent-form-error { color: $error; height: auto; margin-top: 1; }
    AgentForm Horizontal { height: auto; align-horizontal: right; margin-top: 1; }
    AgentForm Button { margin-left: 1; }
    """
    BINDINGS = [
        Binding("ctrl+s", "save", "Add", id="agent_form.save", tooltip="Add this person"),
        Binding("escape", "cancel", "Cancel", id="agent_form.cancel", tooltip="Close, add nobody"),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__()
        self.context = context

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("[b]Add an agent[/b]")
            yield Label("Username (their login name)")
            yield Input(placeholder="e.g. erin", id="agent-username", compact=True)
            yield Label("Full name")
            yield Input(placeholder="e.g. Erin Cho", id="agent-name", compact=True)
            yield Label("Permission profile")
            yield Select(BUILTIN, value="Agent", allow_blank=False, id="agent-role", compact=True)
            yield Static(id="agent-form-error")
            with Horizontal():
                yield Button("Cancel", id="agent-cancel")
                yield Button("Add", variant="primary", id="agent-add")

    async def on_mount(self) -> None:
        self.query_one("#agent-username", Input).focus()
        names = [p.name for p in await profiles.list_profiles(self.context.db)]
        if names:
            chosen = self.query_one("#agent-role", Select)
            chosen.set_options([(literal(name), name) for name in names])
            chosen.value = "Agent" if "Agent" in names else names[0]

    def show_error(self, message: str) -> None:
        self.query_one("#agent-form-error", Static).update(literal(message, one_line=False))

    async def action_save(self) -> None:
        username = self.query_one("#agent-username", Input).value
        name = self.query_one("#agent-name", Input).value
        role = self.query_one("#agent-role", Select).value
        try:
            added = await agents.add(self.context.db, self.context.actor, username, name, str(role))
        except SwitchboardError as exc:
            # Kept here, not in the app's handler: a form shows the refusal under
            # its fields and stays open with what was typed.
            self.show_error(str(exc))
            return
        self.dismiss(added)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    async def _submitted(self) -> None:
        await self.action_save()

    @on(Button.Pressed, "#agent-add")
    async def _add(self) -> None:
        await self.action_save()

    @on(Button.Pressed, "#agent-cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
