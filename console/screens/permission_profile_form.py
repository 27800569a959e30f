"""The permission profile editor: the seed's two tabs, Settings (R2) and Configuration (R3).

Settings are the profile's own fields: general (name, alias, reference,
description), interactions, interaction management, transfers, supervision,
SMS campaigns, statistics and administration. Ctrl+S sends only what was
changed, in one call (``profiles.edit``, or ``profiles.add`` for a new
profile), so core checks it all in one transaction: a refused value is
shown at its field, in core's words, and nothing is saved.

Configuration is what the profile reaches: its users (active or not, a
distribution score each), activities with the default at login, queues with
messaging on or off and a score, the SMS numbers it may send from, its SMS
templates. Ctrl+S sends the changed settings and every configuration change
in one call (``saving.save``): core checks them all and stores them in one
transaction, so a refusal (shown under its part of the tab, in core's words)
saves nothing at all.

The editor stays live (the change feed): when someone else changes the
profile, its users, or the activities, queues, numbers or templates it
shows, an editor with nothing unsaved shows the stored profile again at
once. One with unsaved edits keeps them and says "This profile was changed
by someone else"; Ctrl+R reloads it (dropping the edits), Ctrl+S saves the
edits over it (only the fields changed here are sent).

The screen closes with the profile's name when something was saved, else None.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import (
    Label,
    Static,
    TabbedContent,
    TabPane,
)

from console.context import ConsoleContext
from console.live import Changes
from console.screens.confirm import ConfirmScreen
from console.screens.form_fields import Remembered, Tick
from console.text import literal
from console.widgets.editing import Input, TextArea
from console.widgets.steady import SteadyFooter
from core import events
from core.errors import SwitchboardError
from core.events import Event
from core.people import agents
from core.permissions import configuration, profiles, saving
from core.permissions.profiles import Profile
from core.sms import numbers


@dataclass(frozen=True, slots=True)
class SettingField:
    name: str
    """The setting as core names it (``profiles.edit`` keyword)."""
    label: str
    kind: str
    """text, long (description), whole, optional (blank: never/none), yes (a right), activity."""
    hint: str = ""


SETTINGS: tuple[tuple[str, tuple[SettingField, ...]], ...] = (
    (
        "General",
        (
            SettingField("name", "Name", "text", "Unique; up to 100 characters"),
            SettingField("alias", "Alias", "text", "The name statistics show"),
            SettingField("reference", "Reference", "text", "Searched with the name"),
            SettingField("description", "Description", "long"),
        ),
    ),
    (
        "Interactions",
        (
            SettingField(
                "interaction_timeout_seconds",
                "Timeout (s)",
                "whole",
                "Rest between finishing one conversation and the next offer: 0-3600 s",
            ),
            SettingField(
                "max_missed_offers",
                "Max missed offers",
                "optional",
                "1-100; blank: never moved for missed offers",
            ),
            SettingField(
                "missed_activity",
                "Then activity",
                "activity",
                "The activity set when the maximum is reached (it must exist)",
            ),
        ),
    ),
    (
        "Interaction management",
        (
            SettingField("pool_access", "Waiting pool", "yes", "See and take public conversations"),
            SettingField(
                "max_simultaneous", "Max simultaneous", "whole", "Conversations at once: 1-100"
            ),
            SettingField("may_refuse", "May refuse", "yes", "May refuse an offer"),
            SettingField(
                "auto_accept_seconds",
                "Auto-accept (s)",
                "optional",
                "Accept an offer after N seconds: 0-600; blank: never",
            ),
        ),
    ),
    (
        "Transfers",
        (
            SettingField("transfer_to_queue", "To a queue", "yes"),
            SettingField("transfer_to_agent", "To an agent", "yes"),
        ),
    ),
    (
        "Supervision",
        (
            SettingField(
                "supervision",
                "Supervision",
                "yes",
                "Every conversation, read-only threads, take over",
            ),
        ),
    ),
    (
        "SMS campaigns",
        (
            SettingField("campaigns", "Access", "yes"),
            SettingField("campaign_program", "Program", "yes"),
            SettingField("campaign_reprogram", "Reprogram", "yes"),
            SettingField("campaign_remove", "Remove", "yes"),
            SettingField("campaign_pool", "Waiting pool", "yes"),
        ),
    ),
    (
        "Statistics",
        (SettingField("statistics", "Statistics", "yes", "The Statistics tab (F4)"),),
    ),
    (
        "Administration",
        (
            SettingField("manage_contacts", "Contacts", "yes", "Import and export contacts"),
            SettingField("manage_numbers", "Numbers", "yes", "Our SMS numbers"),
            SettingField(
                "manage_users", "Users", "yes", "Users and permission profiles (this editor)"
            ),
            SettingField("manage_settings", "Settings", "yes", "Account settings"),
        ),
    ),
)
FIELDS = {f.name: f for _, fields in SETTINGS for f in fields}

# Phrases of core's messages that name a general field (settings are named by their own name).
_PHRASES = (
    ("permission profile's name", "name"),
    ("permission profile named", "name"),
    ("permission profile's alias", "alias"),
    ("permission profile's reference", "reference"),
    ("the description", "description"),
)


def field_of(message: str, changed: list[str]) -> str | None:
    """The field a refusal from core is about, or None for the profile as a whole."""
    for name in (*changed, *FIELDS):
        if re.search(rf"\b{re.escape(name)}\b", message) and "_" in name:
            return name
    for phrase, name in _PHRASES:
        if phrase in message:
            return name
    return next((name for name in changed if name in message), None)


_LISTS_SHOWN = ("activity.", "queue.", "sms_template.", "number.", "agent.added")
"""Events that change what the Configuration tab lists, whichever profile is open."""


def touches_profile(event: Event, profile_id: int) -> bool:
    """Does ``event`` change what the editor of profile ``profile_id`` shows?"""
    if event.entity == "permission_profile":
        return event.entity_id == profile_id
    if event.kind.startswith("permission_profile."):
        return event.data.get("profile_id") == profile_id  # its users
    return event.kind.startswith(_LISTS_SHOWN)


def _number_text(value: int | None) -> str:
    return "" if value is None else str(value)


class PermissionProfileForm(Remembered, ModalScreen[str | None]):
    """Add (``name`` None) or edit a permission profile."""

    DEFAULT_CSS = """
    PermissionProfileForm { background: $background 60%; }
    PermissionProfileForm > #pp-frame {
        width: 100%; height: 100%; background: $surface; border: round $accent;
        padding: 0 1;
    }
    PermissionProfileForm #pp-title { height: 1; text-style: bold; }
    PermissionProfileForm TabbedContent { height: 1fr; }
    PermissionProfileForm VerticalScroll { height: 1fr; }
    PermissionProfileForm .pp-heading {
        height: 1; margin-top: 1; text-style: bold; color: $accent;
    }
    PermissionProfileForm .pp-row { height: auto; }
    PermissionProfileForm .pp-label { width: 20; padding-right: 1; text-align: right; }
    PermissionProfileForm .pp-row > Input { width: 1fr; }
    PermissionProfileForm .pp-row > Checkbox { width: auto; }
    PermissionProfileForm .pp-row > TextArea { width: 1fr; height: 2; }
    PermissionProfileForm .pp-hint { width: 1fr; color: $text-muted; padding-left: 1; }
    PermissionProfileForm .pp-error { display: none; color: $error; padding-left: 21; }
    PermissionProfileForm .pp-error.-shown { display: block; }
    PermissionProfileForm .pp-note { color: $text-muted; padding-left: 2; }
    PermissionProfileForm .pp-score { width: 8; }
    PermissionProfileForm .pp-row > Checkbox.pp-cell { width: 22; }
    PermissionProfileForm .pp-row > Label.pp-score { width: 8; }
    PermissionProfileForm #pp-message { height: auto; color: $error; }
    PermissionProfileForm #pp-stale {
        display: none; height: auto; background: $warning-muted; color: $text;
    }
    PermissionProfileForm #pp-stale.-shown { display: block; }
    """
    BINDINGS = [
        Binding(
            "ctrl+s",
            "save",
            "Save",
            id="profile_form.save",
            tooltip="Save what was changed (core checks it; a refusal saves nothing)",
        ),
        Binding(
            "ctrl+n",
            "next_tab",
            "Settings/Configuration",
            id="profile_form.next_tab",
            tooltip="Switch between the Settings and Configuration tabs",
        ),
        Binding(
            "ctrl+r",
            "reload",
            "Reload",
            id="profile_form.reload",
            tooltip="Show the profile as stored now, dropping your unsaved edits"
            " (offered when someone else changed it)",
        ),
        Binding(
            "escape", "close", "Close", id="profile_form.close", tooltip="Close (asks if unsaved)"
        ),
    ]

    def __init__(self, context: ConsoleContext, name: str | None) -> None:
        super().__init__()
        self.context = context
        self.profile_name = name
        """The profile as stored (None until a new one is saved)."""
        self.loaded: dict[str, object] = {}
        """What each field showed after the last load or save, by widget id."""
        self.saved_any = False
        self.profile_id: int | None = None
        self.stale = False
        """Someone else changed the profile while this editor held unsaved edits."""
        self._saving = False
        self._laying_out = asyncio.Lock()
        self._own_until = 0
        """Events up to this id written by this editor's own saves (not someone else's)."""

    # --- layout -----------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="pp-frame"):
            yield Static(id="pp-title")
            with TabbedContent(initial="pp-settings", id="pp-tabs"):
                with TabPane("Settings", id="pp-settings"):
                    with VerticalScroll(id="pp-settings-scroll"):
                        yield from self._settings_fields()
                with TabPane("Configuration", id="pp-configuration"):
                    yield VerticalScroll(id="pp-configuration-scroll")
            yield Static(id="pp-stale")
            yield Static(id="pp-message")
            yield SteadyFooter()

    def _settings_fields(self) -> ComposeResult:
        for heading, fields in SETTINGS:
            yield Static(heading, classes="pp-heading")
            for f in fields:
                with Horizontal(classes="pp-row"):
                    yield Label(f.label, classes="pp-label")
                    yield self._field_widget(f)
                yield Static(classes="pp-error", id=f"pp-error-{f.name}")

    def _field_widget(self, f: SettingField) -> Widget:
        widget_id = f"pp-{f.name}"
        if f.kind == "yes":
            return Tick(f.hint or "allowed", id=widget_id, compact=True)
        if f.kind == "long":
            return TextArea(id=widget_id, compact=True, soft_wrap=True)
        return Input(
            id=widget_id,
            compact=True,
            tooltip=f.hint or None,
            placeholder={"optional": "never", "activity": "none"}.get(f.kind, f.hint),
        )

    async def on_mount(self) -> None:
        self.app.changes.subscribe(self, self._on_changes)  # type: ignore[attr-defined]
        await self.load()
        self.query_one("#pp-name", Input).focus()

    # --- values -----------------------------------------------------------------

    async def load(self) -> None:
        """Show the profile as stored (a new profile: the defaults core gives one)."""
        activities = await configuration.list_activities(self.context.db)
        self.activity_names = {a.id: a.name for a in activities}
        self.query_one("#pp-missed_activity", Input).suggester = SuggestFromList(
            list(self.activity_names.values()), case_sensitive=False
        )
        title = Text("Permission profile: ", style="bold")
        if self.profile_name is None:
            profile = None
            title.append("new")
        else:
            profile = await profiles.get(self.context.db, self.profile_name)
            self.profile_id = profile.id
            title.append_text(literal(profile.name))
        self.query_one("#pp-title", Static).update(title)
        self._show_settings(profile)
        await self._show_configuration(profile)

    def _show_settings(self, profile: Profile | None) -> None:
        if profile is None:
            # A new profile gets the table's defaults (core: profiles.add).
            for f in FIELDS.values():
                default = {"max_simultaneous": 1, "interaction_timeout_seconds": 0}.get(f.name, "")
                self.put(f"pp-{f.name}", f.name in ("pool_access", "may_refuse") or default)
            return
        s = profile.settings
        shown: dict[str, object] = {
            "name": profile.name,
            "alias": profile.alias,
            "reference": profile.reference,
            "description": profile.description,
            "interaction_timeout_seconds": s.interaction_timeout_seconds,
            "max_missed_offers": _number_text(s.max_missed_offers),
            "missed_activity": self.activity_names.get(s.missed_activity_id or -1, ""),
            "max_simultaneous": s.max_simultaneous,
            "auto_accept_seconds": _number_text(s.auto_accept_seconds),
        }
        for f in FIELDS.values():
            self.put(f"pp-{f.name}", shown[f.name] if f.kind != "yes" else getattr(s, f.name))

    def _settings_changes(self) -> dict[str, object]:
        ids = [f"pp-{name}" for name in FIELDS]
        return {w.removeprefix("pp-"): self.value_of(w) for w in self.changed(ids)}

    # --- configuration ------------------------------------------------------------

    async def _show_configuration(self, profile: Profile | None) -> None:
        # One laying out at a time: a feed reload may come while a save lays it out.
        async with self._laying_out:
            await self._lay_out_configuration(profile)

    async def _lay_out_configuration(self, profile: Profile | None) -> None:
        scroll = self.query_one("#pp-configuration-scroll", VerticalScroll)
        await scroll.remove_children()
        for widget_id in [w for w in self.loaded if w.startswith("cfg-")]:
            del self.loaded[widget_id]
        if profile is None:
            await scroll.mount(
                Static(
                    "Save the new profile first (Ctrl+S): then give it users, activities,"
                    " queues, numbers and templates here.",
                    classes="pp-note",
                )
            )
            return
        db, name = self.context.db, profile.name
        holders = await profiles.holders(db, name)
        everyone = [a.username for a in await agents.list_agents(db) if a.active]
        activities = await configuration.list_activities(db)
        used = {a.id: default for a, default in await configuration.profile_activities(db, name)}
        queues = await configuration.list_queues(db)
        granted = {q: (m, score) for q, m, score in await configuration.profile_queues(db, name)}
        ours = await numbers.list_numbers(db)
        allowed = set(await configuration.profile_numbers(db, name))
        templates = await configuration.list_templates(db)
        its = {t.id for t in await configuration.list_templates(db, name)}
        self.holders = holders
        self.activities = activities
        self.queues = queues
        self.numbers = ours
        self.templates = templates

        rows: list[Widget] = [Static("Users", classes="pp-heading")]
        rows.append(
            Static(
                "Ticked: holds it; active: their active profile. Distribution score 0-100.",
                classes="pp-note",
            )
        )
        for h in holders:
            rows.append(
                Horizontal(
                    Tick(h.username, compact=True, id=f"cfg-holds-{h.agent_id}", classes="pp-cell"),
                    Label("active" if h.active else "", classes="pp-score"),
                    Label("score", classes="pp-score"),
                    Input(compact=True, id=f"cfg-score-{h.agent_id}", classes="pp-score"),
                    classes="pp-row",
                )
            )
        rows.append(
            Horizontal(
                Label("Give to user", classes="pp-label"),
                Input(
                    compact=True,
                    id="cfg-give",
                    placeholder="username",
                    suggester=SuggestFromList(everyone, case_sensitive=False),
                ),
                classes="pp-row",
            )
        )
        rows.append(Static(classes="pp-error", id="cfg-error-users"))

        rows.append(Static("Activities", classes="pp-heading"))
        for a in activities:
            rows.append(
                Tick(
                    a.name + (" (available)" if a.available else ""),
                    compact=True,
                    id=f"cfg-activity-{a.id}",
                )
            )
        rows.append(
            Horizontal(
                Label("Default at login", classes="pp-label"),
                Input(
                    compact=True,
                    id="cfg-default-activity",
                    suggester=SuggestFromList([a.name for a in activities], case_sensitive=False),
                ),
                classes="pp-row",
            )
        )
        rows.append(Static(classes="pp-error", id="cfg-error-activities"))

        rows.append(Static("Queues", classes="pp-heading"))
        rows.append(Static("Ticked: the profile takes the queue; score 0-100.", classes="pp-note"))
        for q in queues:
            rows.append(
                Horizontal(
                    Tick(q.name, compact=True, id=f"cfg-queue-{q.id}", classes="pp-cell"),
                    Tick("messaging", compact=True, id=f"cfg-queue-messaging-{q.id}"),
                    Label(" score", classes="pp-score"),
                    Input(compact=True, id=f"cfg-queue-score-{q.id}", classes="pp-score"),
                    classes="pp-row",
                )
            )
        rows.append(Static(classes="pp-error", id="cfg-error-queues"))

        rows.append(Static("SMS numbers", classes="pp-heading"))
        rows.append(Static("None ticked: every number.", classes="pp-note"))
        rows += [Tick(n.e164, compact=True, id=f"cfg-number-{n.id}") for n in ours]
        rows.append(Static(classes="pp-error", id="cfg-error-numbers"))

        rows.append(Static("SMS templates", classes="pp-heading"))
        rows += [Tick(literal(t.name), compact=True, id=f"cfg-template-{t.id}") for t in templates]
        if not templates:
            rows.append(Static("No SMS templates yet.", classes="pp-note"))
        rows.append(Static(classes="pp-error", id="cfg-error-templates"))

        rows.append(Static("SMS campaigns", classes="pp-heading"))
        rows.append(Static("Comes with campaigns: there are none yet.", classes="pp-note"))
        await scroll.mount_all(rows)

        for h in holders:
            self.put(f"cfg-holds-{h.agent_id}", True)
            self.put(f"cfg-score-{h.agent_id}", h.distribution_score)
        self.put("cfg-give", "")
        default = ""
        for a in activities:
            self.put(f"cfg-activity-{a.id}", a.id in used)
            if used.get(a.id):
                default = a.name
        self.put("cfg-default-activity", default)
        for q in queues:
            messaging, score = granted.get(q.name, (q.messaging, 50))
            self.put(f"cfg-queue-{q.id}", q.name in granted)
            self.put(f"cfg-queue-messaging-{q.id}", messaging)
            self.put(f"cfg-queue-score-{q.id}", score)
        for n in ours:
            self.put(f"cfg-number-{n.id}", n.e164 in allowed)
        for t in templates:
            self.put(f"cfg-template-{t.id}", t.id in its)

    def _configuration_changes(self) -> list[tuple[str, str, saving.Change]]:
        """What was changed on the Configuration tab, for core: (part, widget id, change)."""
        found: list[tuple[str, str, saving.Change]] = []
        give = str(self.value_of("cfg-give")).strip()
        if give:
            found.append(("users", "cfg-give", saving.GiveUser(give)))
        for h in self.holders:
            score_id, holds_id = f"cfg-score-{h.agent_id}", f"cfg-holds-{h.agent_id}"
            if self.changed([score_id]) and self.value_of(holds_id):
                score = saving.UserScore(h.username, self.value_of(score_id))
                found.append(("users", score_id, score))
            if self.changed([holds_id]) and not self.value_of(holds_id):
                found.append(("users", holds_id, saving.TakeUser(h.username)))
        activity_ids = [f"cfg-activity-{a.id}" for a in self.activities]
        if self.changed([*activity_ids, "cfg-default-activity"]):
            chosen = tuple(a.name for a in self.activities if self.value_of(f"cfg-activity-{a.id}"))
            default = str(self.value_of("cfg-default-activity"))
            found.append(("activities", "cfg-default-activity", saving.Activities(chosen, default)))
        for q in self.queues:
            ids = [f"cfg-queue-{q.id}", f"cfg-queue-messaging-{q.id}", f"cfg-queue-score-{q.id}"]
            if not self.changed(ids):
                continue
            if self.value_of(ids[0]):
                messaging, score = bool(self.value_of(ids[1])), self.value_of(ids[2])
                found.append(("queues", ids[2], saving.GrantQueue(q.name, messaging, score)))
            else:
                found.append(("queues", ids[0], saving.RevokeQueue(q.name)))
        number_ids = [f"cfg-number-{n.id}" for n in self.numbers]
        if self.changed(number_ids):
            chosen_numbers = tuple(
                n.e164 for n in self.numbers if self.value_of(f"cfg-number-{n.id}")
            )
            found.append(("numbers", number_ids[0], saving.Numbers(chosen_numbers)))
        for t in self.templates:
            widget_id = f"cfg-template-{t.id}"
            if self.changed([widget_id]):
                granted = bool(self.value_of(widget_id))
                found.append(("templates", widget_id, saving.GrantTemplate(t.name, granted)))
        return found

    # --- saving -------------------------------------------------------------------

    def clear_errors(self) -> None:
        for error in self.query(".pp-error"):
            error.remove_class("-shown")
        self.query_one("#pp-message", Static).update("")

    def show_error(self, where: str | None, message: str, focus: str | None = None) -> None:
        """Core's message at the field (``where``: a setting, or a part of Configuration)."""
        shown = literal(message, one_line=False)
        target = self.query(f"#pp-error-{where}, #cfg-error-{where}") if where else None
        if target:
            error = target.first(Static)
            error.update(shown)
            error.add_class("-shown")
        self.query_one("#pp-message", Static).update(
            Text.assemble("Not saved: ", shown) if not target else Text("Not saved: see above")
        )
        widget_id = focus or (f"pp-{where}" if where in FIELDS else None)
        if widget_id:
            widget = self.query_one(f"#{widget_id}")
            self.query_one("#pp-tabs", TabbedContent).active = (
                "pp-settings" if widget_id.startswith("pp-") else "pp-configuration"
            )
            widget.focus()
            if target:
                self.call_after_refresh(target.first().scroll_visible)

    async def action_save(self) -> None:
        self.clear_errors()
        if self.profile_name is not None and not self.is_dirty:
            self.query_one("#pp-message", Static).update(Text("Nothing to save: nothing changed."))
            return
        changes = self._settings_changes()
        db, actor = self.context.db, self.context.actor
        if self.profile_name is None:
            # A new profile: its settings only (Configuration comes once it exists).
            try:
                async with self._own_save():
                    saved = await profiles.add(db, actor, str(changes.pop("name", "")), **changes)
            except SwitchboardError as exc:
                self.show_error(field_of(str(exc), list(changes) or ["name"]), str(exc))
                return
            self.profile_name, self.profile_id = saved.name, saved.id
            self.saved_any = True
            self._show_settings(saved)
            await self._show_configuration(saved)
            self._saved()
            return
        configured = self._configuration_changes() if self.query("#cfg-give") else []
        try:
            # One call, one transaction: a refusal of any part saves none of it.
            async with self._own_save():
                saved = await saving.save(
                    db, actor, self.profile_name, changes, [change for _, _, change in configured]
                )
        except SwitchboardError as exc:
            where = next(((p, w) for p, w, c in configured if c is exc.about), None)
            if where is None:
                self.show_error(field_of(str(exc), list(changes) or ["name"]), str(exc))
            else:
                self.show_error(where[0], str(exc), focus=where[1])
            return
        self.profile_name = saved.name
        self.saved_any = True
        self._show_settings(saved)
        self.query_one("#pp-title", Static).update(
            Text.assemble(("Permission profile: ", "bold"), literal(saved.name))
        )
        await self._show_configuration(saved)
        self._saved()

    def _saved(self) -> None:
        self._show_stale(None)  # what is shown now is what is stored
        if self.focused is None:
            self._saved_focus()
        self.query_one("#pp-message", Static).update(Text("Saved.", style="green"))

    def _saved_focus(self) -> None:
        # The field in use was laid again: stay on the tab in use.
        tabs = self.query_one("#pp-tabs", TabbedContent)
        scroll = (
            "#pp-settings-scroll" if tabs.active == "pp-settings" else "#pp-configuration-scroll"
        )
        self.query_one(scroll).focus()

    # --- someone else's changes ----------------------------------------------------

    @asynccontextmanager
    async def _own_save(self) -> AsyncIterator[None]:
        """Events this save writes are this editor's own: they change nothing shown."""
        self._saving = True
        try:
            yield
        finally:
            self._own_until = await events.last_id(self.context.db)
            self._saving = False

    def _own(self, event: Event) -> bool:
        mine = self.context.actor.id
        return (
            mine is not None
            and event.actor_id == mine
            and (self._saving or event.id <= self._own_until)
        )

    async def _on_changes(self, changes: Changes) -> None:
        if self.profile_id is None:
            return
        if not changes.missed and not any(
            touches_profile(e, self.profile_id) and not self._own(e) for e in changes.events
        ):
            return
        deleted = any(
            e.kind == "permission_profile.deleted" and e.entity_id == self.profile_id
            for e in changes.events
        )
        if deleted:
            self._show_stale(
                "This profile was deleted by someone else: saving is refused; Esc closes."
            )
        elif self.is_dirty or self._saving:
            # Their change is not laid over what this person is typing.
            self._show_stale(
                "This profile was changed by someone else. Ctrl+R shows it as stored now"
                " (your unsaved edits are dropped); Ctrl+S saves your edits over it."
            )
        else:
            await self._reload()
            self.query_one("#pp-message", Static).update(
                Text("Updated: someone else changed this profile.", style="green")
            )

    def _show_stale(self, notice: str | None) -> None:
        self.stale = notice is not None
        shown = self.query_one("#pp-stale", Static)
        shown.update(Text(notice or ""))
        shown.set_class(self.stale, "-shown")
        self.refresh_bindings()

    async def _reload(self) -> None:
        """The profile as stored, keeping the tab and, where it is still there, the field."""
        focused = self.focused.id if self.focused is not None else None
        try:
            await self.load()
        except SwitchboardError as exc:
            self._show_stale(str(exc))  # gone: nothing left to show
            return
        self._show_stale(None)
        self.clear_errors()
        if focused and self.query(f"#{focused}"):
            self.query_one(f"#{focused}").focus()
        elif self.focused is None:
            self._saved_focus()

    async def action_reload(self) -> None:
        await self._reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "reload":
            return self.stale
        return True

    # --- leaving ------------------------------------------------------------------

    def action_next_tab(self) -> None:
        tabs = self.query_one("#pp-tabs", TabbedContent)
        tabs.active = "pp-configuration" if tabs.active == "pp-settings" else "pp-settings"

    def action_close(self) -> None:
        if not self.is_dirty:
            self.dismiss(self.profile_name if self.saved_any else None)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.dismiss(self.profile_name if self.saved_any else None)

        self.app.push_screen(
            ConfirmScreen(Text("Close without saving your changes?"), yes_label="Discard"),
            answered,
        )

    @on(Input.Submitted)
    async def _submitted(self) -> None:
        await self.action_save()
