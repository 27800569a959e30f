"""The notification profile editor (P1): alias, contacts, and how the person is told.

One page: the alias; contact numbers, email addresses and SMS numbers, one
per line (core keeps at most 5 of each); email on or off with the default
or a custom subject and body; SMS on or off with the default message, the
non-message alert, all collected data or a custom text. Ctrl+F lists the
merge fields and puts the one chosen at the cursor of the template field in
use; under the SMS text a line gives the segments of its longest render
(every field at its longest value), or the template's error.

Ctrl+S sends the profile to core (``profiles.add``, or ``profiles.edit`` with
only what was changed); a refusal is shown under the field it is about
(``SwitchboardError.about``) in core's words, and nothing is saved. With
HIPAA mode on, the seed's warnings head the page. The screen closes with the
alias saved, or None when nothing was.
"""

from __future__ import annotations

from typing import Final

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import DescendantFocus
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Label, Select, Static

from console.context import ConsoleContext
from console.screens.choice import ChoiceScreen
from console.screens.confirm import ConfirmScreen
from console.screens.form_fields import Remembered, Tick
from console.text import literal
from console.widgets.editing import Input, TextArea
from console.widgets.steady import SteadyFooter
from core import settings, templates
from core.errors import InvalidInput, SwitchboardError
from core.notify import fields, hipaa, profiles, rendering
from core.notify.profiles import DRAFT_FIELDS, NotificationProfile, ProfileDraft

LISTS: Final = ("contact_numbers", "emails", "sms_numbers")
"""Draft fields typed one entry per line."""
TEMPLATES: Final = ("email_subject", "email_body", "sms_body")
"""Draft fields a merge field can be put into."""

EMAIL_MODES: Final = (("Default: all collected data", "default"), ("Custom", "custom"))
SMS_MODES: Final = (
    ("Default message", "default"),
    ("Non-message alert", "non_message"),
    ("All collected data", "all_data"),
    ("Custom text", "custom"),
)

HIPAA_WARNINGS: Final = (
    "PHI cannot be sent via SMS or Email.",
    "Emails cannot be sent to the caller.",
)
"""The seed's warnings for an account under HIPAA mode, as it words them."""


def preview(mode: str, source: str, fields: templates.Fields, withhold: frozenset[str]) -> Text:
    """The SMS of ``mode`` with sample values, and the segments of its longest render
    (core's ``rendering.preview``); or why the template cannot be compiled."""
    if mode == profiles.CUSTOM and not source.strip():
        return Text("")
    draft = hipaa.ProfileTemplates("", sms_mode=mode, sms_body=source, sms_on=True)
    try:
        shown = rendering.preview(rendering.sms_template(draft, fields), fields, withhold)
    except InvalidInput as exc:
        return literal(str(exc), style="red", one_line=False)
    plural = "s" if shown.segments != 1 else ""
    return Text.assemble(
        literal(shown.text, one_line=False),
        (
            f"\nLongest render: {shown.segments} segment{plural}"
            f" ({shown.encoding}, {shown.characters} characters)",
            "dim",
        ),
    )


class NotificationProfileForm(Remembered, ModalScreen[str | None]):
    """Add (``profile_id`` None) or edit a notification profile."""

    DEFAULT_CSS = """
    NotificationProfileForm { background: $background 60%; }
    NotificationProfileForm > #np-frame {
        width: 100%; height: 100%; background: $surface; border: round $accent;
        padding: 0 1;
    }
    NotificationProfileForm #np-title { height: 1; text-style: bold; }
    NotificationProfileForm #np-hipaa { height: auto; color: $warning; display: none; }
    NotificationProfileForm #np-hipaa.-shown { display: block; }
    NotificationProfileForm VerticalScroll { height: 1fr; }
    NotificationProfileForm .np-heading { height: 1; margin-top: 1; text-style: bold; }
    NotificationProfileForm .np-row { height: auto; }
    NotificationProfileForm .np-label { width: 16; padding-right: 1; text-align: right; }
    NotificationProfileForm .np-row > Input { width: 1fr; }
    NotificationProfileForm .np-row > Select { width: 1fr; }
    NotificationProfileForm .np-row > Checkbox { width: 14; }
    NotificationProfileForm .np-row > TextArea { width: 1fr; height: 3; }
    NotificationProfileForm .np-row > TextArea.np-body { height: 4; }
    NotificationProfileForm .np-error { display: none; color: $error; padding-left: 16; }
    NotificationProfileForm .np-error.-shown { display: block; }
    NotificationProfileForm #np-preview { height: auto; padding-left: 16; }
    NotificationProfileForm #np-message { height: auto; color: $error; }
    """
    BINDINGS = [
        Binding(
            "ctrl+s",
            "save",
            "Save",
            id="notify_profile_form.save",
            tooltip="Save the profile (core checks it; a refusal saves nothing)",
        ),
        Binding(
            "ctrl+f",
            "insert_field",
            "Insert field",
            id="notify_profile_form.insert_field",
            tooltip="Put a merge field ({{name}}) at the cursor of the template in use",
        ),
        Binding(
            "escape",
            "close",
            "Close",
            id="notify_profile_form.close",
            tooltip="Close (asks if unsaved)",
        ),
    ]

    def __init__(self, context: ConsoleContext, profile_id: int | None) -> None:
        super().__init__()
        self.context = context
        self.profile_id = profile_id
        self.alias: str | None = None
        """The alias as stored (None until a new profile is saved)."""
        self.loaded: dict[str, object] = {}
        self.saved_any = False
        self.fields = templates.Fields(())
        self.withhold: frozenset[str] = frozenset()
        self.target = "sms_body"
        """The template field a merge field goes into: the last one that had focus."""

    # --- layout -----------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="np-frame"):
            yield Static(id="np-title")
            yield Static(id="np-hipaa")
            with VerticalScroll(id="np-scroll"):
                yield from self._row("alias", "Alias", Input(id="np-alias", compact=True))
                for name, label in (
                    ("contact_numbers", "Contact numbers"),
                    ("emails", "Email addresses"),
                    ("sms_numbers", "SMS numbers"),
                ):
                    area = TextArea(
                        id=f"np-{name}",
                        compact=True,
                        soft_wrap=True,
                        placeholder="one per line, at most 5",
                    )
                    yield from self._row(name, label, area)
                yield Static("Email", classes="np-heading")
                yield from self._row(
                    "email_mode",
                    "Email",
                    Tick("on", id="np-email_on", compact=True),
                    Select(EMAIL_MODES, id="np-email_mode", allow_blank=False, compact=True),
                )
                yield from self._row(
                    "email_subject",
                    "Subject",
                    Input(
                        id="np-email_subject",
                        compact=True,
                        placeholder="custom only: {{outcome}} from {{caller_id}}",
                    ),
                )
                body = TextArea(
                    id="np-email_body",
                    compact=True,
                    classes="np-body",
                    placeholder="custom only; Ctrl+F puts a merge field at the cursor",
                )
                yield from self._row("email_body", "Body", body)
                yield Static("SMS", classes="np-heading")
                yield from self._row(
                    "sms_mode",
                    "SMS",
                    Tick("on", id="np-sms_on", compact=True),
                    Select(SMS_MODES, id="np-sms_mode", allow_blank=False, compact=True),
                )
                text = TextArea(
                    id="np-sms_body",
                    compact=True,
                    classes="np-body",
                    placeholder="custom only; Ctrl+F puts a merge field at the cursor",
                )
                yield from self._row("sms_body", "Text", text, preview=True)
            yield Static(id="np-message")
            yield SteadyFooter()

    @staticmethod
    def _row(name: str, label: str, *widgets: Widget, preview: bool = False) -> ComposeResult:
        yield Horizontal(Label(label, classes="np-label"), *widgets, classes="np-row")
        if preview:
            yield Static(id="np-preview")
        yield Static(classes="np-error", id=f"np-error-{name}")

    async def on_mount(self) -> None:
        db = self.context.db
        self.fields = await fields.fields_in(db)
        config = await settings.load(db)
        self.withhold = hipaa.withheld(config, self.fields)
        if config.hipaa_mode:
            warnings = self.query_one("#np-hipaa", Static)
            warnings.update(Text("\n".join(f"⚠ {w}" for w in HIPAA_WARNINGS)))
            warnings.add_class("-shown")
        if self.profile_id is None:
            self._show(None)
        else:
            self._show(await profiles.get(db, self.context.actor, self.profile_id))
        self.query_one("#np-alias", Input).focus()

    # --- values -----------------------------------------------------------------

    def _show(self, profile: NotificationProfile | None) -> None:
        draft = profile.draft if profile is not None else ProfileDraft("")
        title = Text("Notification profile: ", style="bold")
        title.append_text(literal(draft.alias) if profile is not None else Text("new"))
        self.query_one("#np-title", Static).update(title)
        for name in DRAFT_FIELDS:
            value = getattr(draft, name)
            if name in LISTS:
                value = "\n".join(value)
            self.put(f"np-{name}", "" if value is None else value)
        self._preview()

    def _value(self, name: str) -> object:
        value = self.value_of(f"np-{name}")
        if name in LISTS:
            return tuple(line.strip() for line in str(value).splitlines() if line.strip())
        return value

    def _draft(self) -> ProfileDraft:
        return ProfileDraft(**{name: self._value(name) for name in DRAFT_FIELDS})  # type: ignore[arg-type]

    def _changes(self) -> dict[str, object]:
        ids = self.changed([f"np-{name}" for name in DRAFT_FIELDS])
        return {w.removeprefix("np-"): self._value(w.removeprefix("np-")) for w in ids}

    # --- merge fields and the segment preview ---------------------------------------

    @on(DescendantFocus)
    def _focused(self, event: DescendantFocus) -> None:
        name = (event.widget.id or "").removeprefix("np-")
        if name in TEMPLATES:
            self.target = name

    @on(TextArea.Changed, "#np-sms_body")
    @on(Select.Changed, "#np-sms_mode")
    def _preview(self) -> None:
        mode = str(self.value_of("np-sms_mode"))
        source = str(self.value_of("np-sms_body"))
        shown = preview(mode, source, self.fields, self.withhold)
        self.query_one("#np-preview", Static).update(shown)

    def action_insert_field(self) -> None:
        target = self.target

        async def chosen(placeholder: str) -> str:
            return f"Inserted {placeholder}"

        choices = [
            (f.insert, Text.assemble((f.insert, "bold"), "  ", literal(f.label), phi(f.phi)))
            for f in self.fields.editor_fields()
        ]
        title = Text(f"Merge field for the {target.replace('_', ' ').replace('sms', 'SMS')}")

        def put(placeholder: str | None) -> None:
            widget = self.query_one(f"#np-{target}")
            if placeholder is not None:
                if isinstance(widget, TextArea):
                    widget.insert(placeholder)
                elif isinstance(widget, Input):
                    widget.insert_text_at_cursor(placeholder)
            widget.focus()

        self.app.push_screen(ChoiceScreen(title, choices, chosen), put)

    # --- saving -------------------------------------------------------------------

    def clear_errors(self) -> None:
        for error in self.query(".np-error"):
            error.remove_class("-shown")
        self.query_one("#np-message", Static).update("")

    def show_error(self, exc: SwitchboardError) -> None:
        """Core's refusal under the field it is about, or on the message line."""
        shown = literal(str(exc), one_line=False)
        field = exc.about if isinstance(exc.about, str) else None
        errors = self.query(f"#np-error-{field}") if field else None
        if not errors:
            self.query_one("#np-message", Static).update(Text.assemble("Not saved: ", shown))
            return
        error = errors.first(Static)
        error.update(shown)
        error.add_class("-shown")
        self.query_one("#np-message", Static).update(Text("Not saved: see above"))
        self.query_one(f"#np-{field}").focus()
        self.call_after_refresh(error.scroll_visible)

    async def action_save(self) -> None:
        self.clear_errors()
        db, actor = self.context.db, self.context.actor
        try:
            if self.profile_id is None:
                saved = await profiles.add(db, actor, self._draft())
            else:
                changes = self._changes()
                if not changes:
                    self.query_one("#np-message", Static).update(
                        Text("Nothing to save: nothing changed.")
                    )
                    return
                saved = await profiles.edit(db, actor, self.profile_id, **changes)
        except SwitchboardError as exc:
            self.show_error(exc)
            return
        self.profile_id, self.alias, self.saved_any = saved.id, saved.alias, True
        self._show(saved)
        self.query_one("#np-message", Static).update(Text("Saved.", style="green"))

    @on(Input.Submitted)
    async def _submitted(self) -> None:
        await self.action_save()

    # --- leaving ------------------------------------------------------------------

    def action_close(self) -> None:
        result = self.alias if self.saved_any else None
        if not self.is_dirty:
            self.dismiss(result)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.dismiss(result)

        self.app.push_screen(
            ConfirmScreen(Text("Close without saving your changes?"), yes_label="Discard"),
            answered,
        )


def phi(flag: bool) -> Text:
    return Text("  PHI", style="yellow") if flag else Text("")
