"""Alerts › Settings (A1, A4, A6): the alert and bundle settings, and their preview.

The preview follows the form as it changes, before anything is saved: core
works it out (``overview.preview``) for the values shown and the staff
alertable on shift now, or the counts typed instead. Ctrl+S sends every
changed field in one ``settings.update``: core checks them together (mobile
alerts need system SMS to staff) and a refusal shows under the form with what
was chosen kept. Without ``manage_settings`` the form is read-only.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.css.query import NoMatches
from textual.widget import Widget
from textual.widgets import Checkbox, Label, Select, Static, TabbedContent, Tabs

from console.context import ConsoleContext
from console.live import Changes
from console.removal import gone
from console.screens.form_fields import Tick
from console.text import literal
from console.widgets import alert_preview
from console.widgets.editing import Input
from core import settings
from core.alerts import overview
from core.delivery import bundle
from core.errors import SwitchboardError
from core.people.authz import Action
from core.settings import Settings


def _never(unit: str, top: int) -> list[tuple[str, int]]:
    return [("never", 0)] + [(f"{n} {unit}", n) for n in range(1, top + 1)]


TICKS = ("staff_sms", "mobile_alerts", "alert_message_body")
SELECTS: dict[str, list[tuple[str, Any]]] = {
    "alert_every_minutes": _never("min", overview.MAX_EVERY),
    "alert_reminders": _never("times", overview.MAX_REMINDERS),
    "alert_escalate_after": _never("attempts", overview.MAX_ESCALATE_AFTER),
    "bundle_when_full": [("warn, keep sending", bundle.WARN), ("hold all but alerts", bundle.HOLD)],
}
TYPED = ("bundle_segments", "bundle_warn_percent")

# (setting, label, tooltip), in the form's order: two per row.
FIELDS: tuple[tuple[str, str, str], ...] = (
    ("staff_sms", "System SMS", "A1: system SMS to staff (alerts to their own mobiles)"),
    ("mobile_alerts", "Mobile alerts", "A1: New chat SMS to consenting staff on a normal shift"),
    ("alert_every_minutes", "Every", "Minutes between a chat's alerts (never: no reminders)"),
    ("alert_reminders", "Reminders", "Reminders after the New chat SMS"),
    ("alert_escalate_after", "Escalate after", "Attempts after which on-call staff are alerted"),
    ("alert_message_body", "Message text", "Quote the contact's message; never in HIPAA mode"),
    ("bundle_segments", "Bundle", settings.describe("bundle_segments")),
    ("bundle_warn_percent", "Warn at %", "The share of the bundle used at which the console warns"),
    ("bundle_when_full", "When full", "At 100 %: keep sending, or send only alerts and STOPs"),
)
NAMES = tuple(name for name, _, _ in FIELDS)

READ_ONLY = "Read only: changing alert settings needs the manage_settings right."
HINT = "Ctrl+S saves · the preview follows the form, unsaved · Esc leaves it"


class AlertSettingsTab(VerticalScroll):
    DEFAULT_CSS = """
    AlertSettingsTab { height: 1fr; padding: 0 1; }
    AlertSettingsTab > Grid {
        grid-size: 4; grid-columns: 14 1fr 14 1fr; grid-rows: 1; grid-gutter: 0 1;
        height: auto;
    }
    AlertSettingsTab Label { width: 100%; text-align: right; }
    AlertSettingsTab #alert-settings-error { color: $error; height: auto; display: none; }
    AlertSettingsTab #alert-settings-hint, AlertSettingsTab #alert-settings-note {
        color: $text-muted; height: auto;
    }
    AlertSettingsTab .alert-preview-title { text-style: bold; margin-top: 1; }
    AlertSettingsTab #alert-staff-counts { height: 1; }
    AlertSettingsTab #alert-staff-counts Input { width: 10; margin-right: 1; }
    AlertSettingsTab #alert-staff-counts Static { width: auto; padding-right: 1; }
    AlertSettingsTab #alert-staff-now { color: $text-muted; }
    """
    BINDINGS = [
        Binding(
            "ctrl+s",
            "save",
            "Save alert settings",
            id="alert_settings.save",
            tooltip="Save the alert and bundle settings (checked together before anything is"
            " stored)",
        ),
        Binding(
            "escape",
            "leave",
            "Leave form",
            id="alert_settings.leave",
            tooltip="Back to the sub-tabs (< and > move between them)",
        ),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__(id="alert-settings")
        self.context = context
        self.loaded: dict[str, Any] = {}
        """What the form showed after the last load or save, by setting name."""
        self.hipaa = False
        self.report: overview.PreviewReport | None = None

    @property
    def may_change(self) -> bool:
        return self.context.may(Action.MANAGE_SETTINGS)

    def compose(self) -> ComposeResult:
        with Grid(id="alert-settings-grid"):
            for name, label, tooltip in FIELDS:
                yield Label(label, id=f"label-{name}")
                yield self._field(name, tooltip)
        yield Static(id="alert-settings-note")
        yield Static(id="alert-settings-error")
        yield Static(HINT if self.may_change else READ_ONLY, id="alert-settings-hint")
        yield Static("Preview: one chat nobody takes", classes="alert-preview-title")
        with Horizontal(id="alert-staff-counts"):
            yield Static("Alertable now", id="alert-staff-now")
            yield Static("· or try")
            yield Input(
                id="alert-normal-staff",
                type="integer",
                compact=True,
                placeholder="on shift",
                tooltip="Staff on a normal shift to preview with (blank: those alertable now)",
            )
            yield Input(
                id="alert-oncall-staff",
                type="integer",
                compact=True,
                placeholder="on call",
                tooltip="Staff on an on-call shift to preview with (blank: those alertable now)",
            )
        yield Static(id="alert-timeline")
        yield Static(id="alert-summary")
        yield Static(
            "Alerts to each person / minutes waited at the last alert",
            classes="alert-preview-title",
        )
        yield Static(id="alert-chart")

    def _field(self, name: str, tooltip: str) -> Widget:
        field_id = f"alert-setting-{name}"
        disabled = not self.may_change
        if name in TICKS:
            return Tick("on", id=field_id, compact=True, tooltip=tooltip, disabled=disabled)
        if name in SELECTS:
            return Select(
                SELECTS[name],
                id=field_id,
                allow_blank=False,
                compact=True,
                tooltip=tooltip,
                disabled=disabled,
            )
        return Input(id=field_id, type="integer", compact=True, tooltip=tooltip, disabled=disabled)

    async def on_mount(self) -> None:
        if gone(self):
            return  # taken away before it composed: it has no fields
        self.app.changes.subscribe(self, self.on_changes)  # type: ignore[attr-defined]
        await self.reload()

    def focus_default(self) -> None:
        self.field("staff_sms").focus()

    def check_consume_key(self, key: str, character: str | None) -> bool:
        # Digits are typed in the bundle's fields: never a section key (1-6) here.
        return character is not None and character.isprintable()

    def on_click(self, event: events.Click) -> None:
        label = event.widget
        if isinstance(label, Label) and label.id and label.id.startswith("label-"):
            self.field(label.id.removeprefix("label-")).focus()

    def action_leave(self) -> None:
        try:
            self.query_ancestor(TabbedContent).query_one(Tabs).focus()
        except NoMatches:
            self.screen.focus_next()

    def field(self, name: str) -> Widget:
        return self.query_one(f"#alert-setting-{name}")

    def value(self, name: str) -> Any:
        field = self.field(name)
        if isinstance(field, Checkbox):
            return field.value
        if isinstance(field, Select):
            return field.value
        assert isinstance(field, Input)
        return field.value.strip()

    def chosen(self) -> dict[str, Any]:
        return {name: self.value(name) for name in NAMES}

    @property
    def is_dirty(self) -> bool:
        return self.chosen() != self.loaded

    def show(self, current: Settings) -> None:
        self.loaded = {
            name: str(getattr(current, name)) if name in TYPED else getattr(current, name)
            for name in NAMES
        }
        with self.prevent(Checkbox.Changed, Select.Changed, Input.Changed):
            for name, value in self.loaded.items():
                field = self.field(name)
                if isinstance(field, Checkbox | Select | Input):
                    field.value = value
        self.hipaa = current.hipaa_mode

    def show_error(self, message: str | None) -> None:
        error = self.query_one("#alert-settings-error", Static)
        error.update(literal(message, one_line=False) if message else Text())
        error.display = bool(message)

    async def reload(self) -> None:
        current = await settings.load(self.context.db)
        if gone(self):
            return  # taken away while reading (see console/removal.py)
        self.show(current)
        await self.update_preview()

    async def on_changes(self, changes: Changes) -> None:
        if gone(self):
            return
        if "settings.changed" in changes.kinds() and not self.is_dirty:
            await self.reload()
        elif changes.about("staff.", "shift.", "agent."):
            # Who is alertable on shift now may have changed: the preview's counts.
            await self.update_preview()

    @on(Checkbox.Changed)
    @on(Select.Changed)
    @on(Input.Changed)
    async def _changed(self) -> None:
        if not gone(self):
            await self.update_preview()

    def _count(self, widget_id: str) -> int | None:
        typed = self.query_one(f"#{widget_id}", Input).value.strip()
        return int(typed) if typed.lstrip("-").isdigit() else None

    def _note(self) -> Text:
        notes = []
        if self.value("alert_message_body") and self.hipaa:
            notes.append("HIPAA mode is on: alert texts never quote the message.")
        elif self.value("alert_message_body"):
            notes.append("Alert texts quote the first 80 characters (never in HIPAA mode).")
        if self.value("mobile_alerts") and not self.value("staff_sms"):
            notes.append("Mobile alerts need system SMS to staff on.")
        return Text(" ".join(notes))

    async def update_preview(self) -> None:
        """Core's preview of the values shown (not the saved ones)."""
        note = self._note()
        shown = self.query_one("#alert-settings-note", Static)
        shown.update(note)
        shown.display = bool(note)
        timeline = self.query_one("#alert-timeline", Static)
        try:
            report = await overview.preview(
                self.context.db,
                self.context.actor,
                every=self.value("alert_every_minutes"),
                reminders=self.value("alert_reminders"),
                escalate_after=self.value("alert_escalate_after"),
                normal_staff=self._count("alert-normal-staff"),
                oncall_staff=self._count("alert-oncall-staff"),
            )
        except SwitchboardError as exc:
            # Reminders chosen before a frequency: say so where the preview would be.
            if gone(self):
                return
            self.report = None
            timeline.update(literal(f"No preview: {exc}", one_line=False))
            self.query_one("#alert-summary", Static).update("")
            self.query_one("#alert-chart", Static).update("")
            return
        if gone(self):
            return  # taken away while core computed the preview
        self.report = report
        if self._count("alert-normal-staff") is None and self._count("alert-oncall-staff") is None:
            self.query_one("#alert-staff-now", Static).update(
                f"Alertable now: {report.normal_staff} on shift, {report.oncall_staff} on call"
            )
        timeline.update(alert_preview.timeline_table(report))
        self.query_one("#alert-summary", Static).update(alert_preview.summary(report))
        self.query_one("#alert-chart", Static).update(alert_preview.chart_table(report))

    async def action_save(self) -> None:
        if not self.may_change:
            self.notify(READ_ONLY, severity="warning")
            return
        chosen = self.chosen()
        changed = {name: value for name, value in chosen.items() if value != self.loaded.get(name)}
        if not changed:
            self.show_error(None)
            self.notify("Nothing to save: no alert setting was changed.")
            return
        try:
            await settings.update(self.context.db, self.context.actor, **changed)
        except SwitchboardError as exc:
            # Under the form, with what was chosen kept to be corrected.
            self.show_error(str(exc))
            return
        self.show_error(None)
        self.show(await settings.load(self.context.db))
        await self.update_preview()
        self.notify("Alert settings saved")
