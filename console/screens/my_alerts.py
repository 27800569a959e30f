"""My alerts (A2 for everyone): my mobile number, my permission to SMS it, my New Chat alert.

The permission and the switch are the person's own: this screen is only ever
for the console's user. Ctrl+S sends what changed in one ``consent.change``
(the number first, so a new one may be permitted in the same save); a refusal
(permission without a number, a number that is not a mobile) shows under the
form with what was typed kept. Below, core's readiness says what is missing.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from console.context import ConsoleContext
from console.screens.form_fields import Tick
from console.text import literal
from console.times import stamp
from console.widgets.editing import Input
from core.alerts import consent, readiness
from core.alerts.consent import StaffView
from core.errors import SwitchboardError


def given_text(view: StaffView, zone: ZoneInfo) -> Text:
    if view.permitted_at is None:
        return Text("not given", style="dim")
    when = stamp(view.permitted_at, zone)
    if view.permitted_by in (None, view.username):
        return Text(f"given {when}")
    return Text.assemble(f"given {when} by ", literal(view.permitted_by))


class MyAlertsScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    MyAlertsScreen { align: center middle; }
    MyAlertsScreen > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    MyAlertsScreen Grid {
        grid-size: 2; grid-columns: 14 1fr; grid-rows: 1; grid-gutter: 0 1; height: auto;
        margin-top: 1;
    }
    MyAlertsScreen Label { width: 100%; text-align: right; }
    MyAlertsScreen #my-alerts-given { color: $text-muted; }
    MyAlertsScreen #my-alerts-error {
        color: $text-error; height: auto; margin-top: 1; display: none;
    }
    MyAlertsScreen #my-alerts-ready { height: auto; margin-top: 1; }
    MyAlertsScreen #my-alerts-hint { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [
        Binding(
            "ctrl+s",
            "save",
            "Save",
            id="my_alerts.save",
            tooltip="Save your mobile number, permission and New Chat alert",
        ),
        Binding("escape", "close", "Close", id="my_alerts.close", tooltip="Close without saving"),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__()
        self.context = context
        self.loaded: dict[str, Any] = {}

    @property
    def me(self) -> int:
        assert self.context.actor.id is not None, "the local operator has no mobile alerts"
        return self.context.actor.id

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("My mobile alerts", style="bold"))
            with Grid():
                yield Label("Mobile")
                yield Input(
                    id="my-alerts-mobile",
                    compact=True,
                    placeholder="+1 415 555 0123 (blank: none)",
                    tooltip="Your mobile number: alerts are SMS. A new number needs your"
                    " permission again",
                )
                yield Label("Permission")
                yield Tick("I permit SMS to this phone", id="my-alerts-permit", compact=True)
                yield Static("")
                yield Static(id="my-alerts-given")
                yield Label("New Chat")
                yield Tick(
                    "alert me when a chat comes in on my shift",
                    id="my-alerts-new-chat",
                    compact=True,
                )
            yield Static(id="my-alerts-error")
            yield Static(id="my-alerts-ready")
            yield Static("Ctrl+S save · Esc close", id="my-alerts-hint")

    async def on_mount(self) -> None:
        await self.reload()
        self.query_one("#my-alerts-mobile", Input).focus()

    def chosen(self) -> dict[str, Any]:
        return {
            "mobile": self.query_one("#my-alerts-mobile", Input).value.strip(),
            "permit_sms": self.query_one("#my-alerts-permit", Tick).value,
            "new_chat": self.query_one("#my-alerts-new-chat", Tick).value,
        }

    def show(self, view: StaffView) -> None:
        self.loaded = {
            "mobile": view.mobile or "",
            "permit_sms": view.permitted_at is not None,
            "new_chat": view.new_chat,
        }
        self.query_one("#my-alerts-mobile", Input).value = self.loaded["mobile"]
        self.query_one("#my-alerts-permit", Tick).value = self.loaded["permit_sms"]
        self.query_one("#my-alerts-new-chat", Tick).value = self.loaded["new_chat"]
        self.query_one("#my-alerts-given", Static).update(given_text(view, self.context.zone))

    async def reload(self) -> None:
        db, actor = self.context.db, self.context.actor
        self.show(await consent.staff_view(db, actor, self.me))
        ready = await readiness.readiness(db, actor, self.me)
        style = "green" if ready.configured else "yellow"
        shown = literal(ready.message, style=style, one_line=False)
        self.query_one("#my-alerts-ready", Static).update(shown)

    def show_error(self, message: str | None) -> None:
        error = self.query_one("#my-alerts-error", Static)
        error.update(literal(message, one_line=False) if message else Text())
        error.display = bool(message)

    def action_close(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#my-alerts-mobile")
    def _submitted(self) -> None:
        self.action_save()

    @work(exclusive=True, group="my-alerts", exit_on_error=False, description="save your alerts")
    async def action_save(self) -> None:
        chosen = self.chosen()
        changed = {k: v for k, v in chosen.items() if v != self.loaded.get(k)}
        if not changed:
            self.show_error(None)
            self.notify("Nothing to save: nothing was changed.")
            return
        if "mobile" in changed:
            changed["mobile"] = changed["mobile"] or None
        try:
            await consent.change(self.context.db, self.context.actor, self.me, **changed)
        except SwitchboardError as exc:
            self.show_error(str(exc))
            return
        self.show_error(None)
        await self.reload()
        cleared = "mobile" in changed and chosen["permit_sms"] and not self.loaded["permit_sms"]
        self.notify(
            "Your mobile alerts are saved"
            + ("; a new number needs your permission again" if cleared else "")
        )
