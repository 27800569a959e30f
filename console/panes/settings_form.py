"""The account settings a manager changes from the console (M5 wording, M8 minutes).

Values come from ``core.settings``; core validates on save and the refusal is
shown beside the form with what was typed kept. Only the fields that differ
from what was loaded are sent, so a save never undoes another manager's
change to a field this one did not touch. A change made elsewhere refreshes
the form unless someone is editing it. HIPAA mode is switched through
``core.notify.hipaa.switch``: switched on, the saved templates that must
change are listed in a dialog.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.css.query import NoMatches
from textual.widgets import Button, Label, Static, TabbedContent, Tabs

from console.context import ConsoleContext
from console.live import Changes
from console.removal import gone
from console.screens.form_fields import Tick
from console.screens.hipaa_problems import HipaaProblems
from console.text import literal
from console.widgets.editing import Input
from core import settings
from core.errors import SwitchboardError
from core.notify import hipaa
from core.settings import Settings

# (setting name, label, tooltip). Keyword lists are edited comma-separated.
FIELDS: tuple[tuple[str, str, str], ...] = (
    (
        "public_minutes",
        "Public minutes",
        "Minutes an unanswered message waits before any agent may take it (1-1440)",
    ),
    ("optout_keywords", "Opt-out keywords", settings.describe("optout_keywords")),
    ("optin_keywords", "Opt-in keywords", settings.describe("optin_keywords")),
    ("help_keywords", "Help keywords", settings.describe("help_keywords")),
    ("optout_notice", "Opt-out notice", "Added to the first SMS ever sent to a number"),
    ("optout_reply", "Opt-out reply", "The one confirmation sent after an opt-out"),
    ("optin_reply", "Opt-in reply", "Sent when a contact opts back in"),
    ("help_reply", "Help reply", "Sent when a contact asks for help"),
)


HIPAA = "hipaa_mode"
"""The one yes/no setting of the form: a box, switched through core.notify.hipaa."""


def as_text(value: Any) -> str:
    """A setting as it is typed in the form."""
    if isinstance(value, tuple):
        return ", ".join(value)
    return str(value)


class SettingsForm(VerticalScroll):
    DEFAULT_CSS = """
    SettingsForm { height: 1fr; padding: 0 1; }
    SettingsForm > Grid {
        grid-size: 2; grid-columns: 18 1fr; grid-rows: 1; grid-gutter: 0 1; height: auto;
        margin-top: 1;
    }
    SettingsForm Label { width: 100%; text-align: right; }
    SettingsForm #settings-error { color: $error; height: auto; margin-top: 1; }
    SettingsForm #settings-actions { height: auto; margin-top: 1; }
    SettingsForm #settings-hint { width: 1fr; color: $text-muted; padding-top: 1; }
    """
    BINDINGS = [
        Binding(
            "ctrl+s",
            "save",
            "Save settings",
            id="manager.save_settings",
            tooltip="Save the account settings (checked before anything is stored)",
        ),
        Binding(
            "escape",
            "leave",
            "Leave form",
            id="manager.leave_settings",
            tooltip="Back to the section tabs (1, 2, 3 switch sections there)",
        ),
    ]

    def __init__(self, context: ConsoleContext, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.context = context
        self.loaded: dict[str, str] = {}
        """What the form showed after the last load or save, by setting name."""
        self.loaded_hipaa = False

    def compose(self) -> ComposeResult:
        with Grid():
            yield Label("HIPAA mode", id=f"label-{HIPAA}")
            yield Tick(
                "no PHI leaves by SMS or email",
                id=f"setting-{HIPAA}",
                compact=True,
                tooltip="P6: PHI fields are withheld from every notice, templates using them"
                " are refused, emails to contacts are off (space switches it, Ctrl+S saves)",
            )
            for name, label, tooltip in FIELDS:
                yield Label(label, id=f"label-{name}")
                field = Input(
                    id=f"setting-{name}",
                    compact=True,
                    type="integer" if name == "public_minutes" else "text",
                    tooltip=tooltip,
                )
                yield field
        yield Static(id="settings-error")
        with Horizontal(id="settings-actions"):
            yield Static(
                "Ctrl+S or Enter saves · Tab next field · Esc leaves the form", id="settings-hint"
            )
            yield Button("Save", variant="primary", id="settings-save")

    async def on_mount(self) -> None:
        if gone(self):
            return  # taken away before it composed: it has no fields
        self.app.changes.subscribe(self, self.on_changes)  # type: ignore[attr-defined]
        await self.reload()

    def focus_default(self) -> None:
        # The first text field, where digits are typed (the HIPAA box is above it).
        self.query_one(f"#setting-{FIELDS[0][0]}", Input).focus()

    def check_consume_key(self, key: str, character: str | None) -> bool:
        # Digits and words are typed here. With the focus anywhere in the form (a
        # field, the Save button, the form itself after a click beside a field) a
        # plain character is never a section key (1 2 3) nor any other shortcut.
        return character is not None and character.isprintable()

    @property
    def hipaa_box(self) -> Tick:
        return self.query_one(f"#setting-{HIPAA}", Tick)

    def on_click(self, event: events.Click) -> None:
        # A click on a label means its field: the agent then types into it.
        label = event.widget
        if isinstance(label, Label) and label.id and label.id.startswith("label-"):
            name = label.id.removeprefix("label-")
            (self.hipaa_box if name == HIPAA else self.field(name)).focus()

    def action_leave(self) -> None:
        # Digits are typed into the fields, so the section keys work from the tabs.
        try:
            self.query_ancestor(TabbedContent).query_one(Tabs).focus()
        except NoMatches:
            self.screen.focus_next()

    def field(self, name: str) -> Input:
        return self.query_one(f"#setting-{name}", Input)

    def typed(self) -> dict[str, str]:
        return {name: self.field(name).value for name, _, _ in FIELDS}

    @property
    def is_dirty(self) -> bool:
        """Someone typed something not saved yet."""
        return self.typed() != self.loaded or self.hipaa_box.value != self.loaded_hipaa

    def show(self, current: Settings) -> None:
        self.loaded = {name: as_text(getattr(current, name)) for name, _, _ in FIELDS}
        for name, value in self.loaded.items():
            self.field(name).value = value
        self.loaded_hipaa = current.hipaa_mode
        self.hipaa_box.value = current.hipaa_mode

    def show_error(self, message: str | None) -> None:
        error = self.query_one("#settings-error", Static)
        error.update(literal(message, one_line=False) if message else Text())

    async def reload(self) -> None:
        current = await settings.load(self.context.db)
        if not gone(self):  # a principal reload took the tab away meanwhile, or the app closes
            self.show(current)

    async def on_changes(self, changes: Changes) -> None:
        # Another manager (or the CLI) changed settings: follow, unless we are editing.
        if "settings.changed" in changes.kinds() and not self.is_dirty:
            await self.reload()

    async def action_save(self) -> None:
        typed = self.typed()
        changed = {name: value for name, value in typed.items() if value != self.loaded.get(name)}
        hipaa_on = self.hipaa_box.value
        switched = hipaa_on != self.loaded_hipaa
        if not changed and not switched:
            self.show_error(None)
            self.notify("Nothing to save: no setting was changed.")
            return
        db, actor = self.context.db, self.context.actor
        try:
            if changed:
                await settings.update(db, actor, **changed)
            # Through core's switch, not a plain update: switched on, it rechecks
            # every saved template and says which must change.
            problems = await hipaa.switch(db, actor, hipaa_on) if switched else []
        except SwitchboardError as exc:
            # Kept here, not in the app's handler: a form shows the refusal under
            # its fields and stays open with what was typed.
            # Keep what was typed so it can be corrected.
            self.show_error(str(exc))
            return
        self.show_error(None)
        self.show(await settings.load(db))
        self.notify("Settings saved")
        if switched and hipaa_on:
            self.app.push_screen(HipaaProblems(problems))

    @on(Button.Pressed, "#settings-save")
    @on(Input.Submitted)
    async def _save_pressed(self) -> None:
        await self.action_save()
