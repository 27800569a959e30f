"""What permission profiles are built from (R3): activities, queues, SMS templates.

One scrolling screen in three parts, opened from the Permission profiles
section (``s``):

- Activities: rename one a manager added, say whether agents in it are
  offered conversations, add one. The built-in ones keep their name and flag
  (core refuses, saying why).
- Queues: messaging on or off; which queue each of our numbers feeds (blank:
  none); add a queue with its numbers. Core refuses a messaging queue left
  with no number.
- SMS templates: change a body, add one. Unknown ``{{fields}}`` are refused
  at save by the one renderer (core/templates.py).

Ctrl+S sends each change as one call to core, in that order; a refusal is
shown under its part, in core's words, and the save stops there (what was
saved before it stays saved, and the screen says so).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import Label, Static

from console.context import ConsoleContext
from console.screens.confirm import ConfirmScreen
from console.screens.form_fields import Remembered, Tick
from console.text import literal
from console.widgets.editing import Input
from console.widgets.steady import SteadyFooter
from core.errors import SwitchboardError
from core.permissions import configuration
from core.sms import numbers
from core.text import counted

Call = Callable[[], Awaitable[object]]


class CentreSetup(Remembered, ModalScreen[None]):
    DEFAULT_CSS = """
    CentreSetup { background: $background 60%; }
    CentreSetup > #setup-frame {
        width: 100%; height: 100%; background: $surface; border: round $accent;
        padding: 0 1;
    }
    CentreSetup #setup-title { height: 1; text-style: bold; }
    CentreSetup VerticalScroll { height: 1fr; }
    CentreSetup .pp-heading { height: 1; margin-top: 1; text-style: bold; color: $accent; }
    CentreSetup .pp-note { color: $text-muted; padding-left: 2; }
    CentreSetup .pp-row { height: auto; }
    CentreSetup .pp-row > Label { width: 18; padding-right: 1; text-align: right; }
    CentreSetup .pp-row > Input { width: 1fr; }
    CentreSetup .pp-row > Input.setup-name { width: 22; }
    CentreSetup .pp-row > Checkbox { width: auto; }
    CentreSetup .pp-error { display: none; color: $error; padding-left: 2; }
    CentreSetup .pp-error.-shown { display: block; }
    CentreSetup #setup-message { height: auto; }
    """
    BINDINGS = [
        Binding(
            "ctrl+s",
            "save",
            "Save",
            id="setup.save",
            tooltip="Save what was changed, one call to core each",
        ),
        Binding("escape", "close", "Close", id="setup.close", tooltip="Close (asks if unsaved)"),
    ]

    def __init__(self, context: ConsoleContext) -> None:
        super().__init__()
        self.context = context
        self.loaded = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="setup-frame"):
            yield Static("Activities, queues and SMS templates", id="setup-title")
            yield VerticalScroll(id="setup-scroll")
            yield Static(id="setup-message")
            yield SteadyFooter()

    async def on_mount(self) -> None:
        await self.load()
        self.query_one("#setup-scroll").focus()

    async def load(self) -> None:
        db = self.context.db
        self.activities = await configuration.list_activities(db)
        self.queues = await configuration.list_queues(db)
        self.numbers = await numbers.list_numbers(db)
        self.templates = await configuration.list_templates(db)
        queue_of = {n: q.name for q in self.queues for n in q.numbers}
        queue_names = SuggestFromList([q.name for q in self.queues], case_sensitive=False)
        scroll = self.query_one("#setup-scroll", VerticalScroll)
        await scroll.remove_children()
        self.loaded = {}

        rows: list[Widget] = [Static("Activities", classes="pp-heading")]
        rows.append(
            Static(
                "Available: agents in it are offered conversations. Built-in ones stay as they are",
                classes="pp-note",
            )
        )
        for a in self.activities:
            rows.append(
                Horizontal(
                    Label("built-in" if a.builtin else "added"),
                    Input(
                        compact=True,
                        id=f"setup-activity-{a.id}",
                        classes="setup-name",
                        disabled=a.builtin,
                    ),
                    Tick("available", compact=True, id=f"setup-available-{a.id}",
                         disabled=a.builtin),
                    classes="pp-row",
                )
            )  # fmt: skip
        rows.append(
            Horizontal(
                Label("Add activity"),
                Input(compact=True, id="setup-new-activity", classes="setup-name"),
                Tick("available", compact=True, id="setup-new-available"),
                classes="pp-row",
            )
        )
        rows.append(Static(classes="pp-error", id="setup-error-activities"))

        rows.append(Static("Queues", classes="pp-heading"))
        for q in self.queues:
            rows.append(
                Horizontal(
                    Label(literal(q.name)),
                    Tick("messaging", compact=True, id=f"setup-messaging-{q.id}"),
                    classes="pp-row",
                )
            )
        rows.append(
            Horizontal(
                Label("Add queue"),
                Input(compact=True, id="setup-new-queue", classes="setup-name",
                      placeholder="name"),
                Input(compact=True, id="setup-new-queue-numbers",
                      placeholder="its numbers, e.g. +14155550100"),
                classes="pp-row",
            )
        )  # fmt: skip
        rows.append(Static("Number → queue (blank: none)", classes="pp-note"))
        for n in self.numbers:
            rows.append(
                Horizontal(
                    Label(n.e164),
                    Input(compact=True, id=f"setup-number-{n.id}", suggester=queue_names),
                    classes="pp-row",
                )
            )
        rows.append(Static(classes="pp-error", id="setup-error-queues"))

        rows.append(Static("SMS templates", classes="pp-heading"))
        rows.append(
            Static(
                "Fields: {{contact_name}} {{agent_name}} {{our_number}}; others are refused.",
                classes="pp-note",
            )
        )
        for t in self.templates:
            rows.append(
                Horizontal(
                    Label(literal(t.name)),
                    Input(compact=True, id=f"setup-template-{t.id}"),
                    classes="pp-row",
                )
            )
        rows.append(
            Horizontal(
                Label("Add template"),
                Input(compact=True, id="setup-new-template", classes="setup-name",
                      placeholder="name"),
                Input(compact=True, id="setup-new-template-body", placeholder="body"),
                classes="pp-row",
            )
        )  # fmt: skip
        rows.append(Static(classes="pp-error", id="setup-error-templates"))
        await scroll.mount_all(rows)

        for a in self.activities:
            self.put(f"setup-activity-{a.id}", a.name)
            self.put(f"setup-available-{a.id}", a.available)
        for widget_id in ("setup-new-activity", "setup-new-queue", "setup-new-queue-numbers"):
            self.put(widget_id, "")
        self.put("setup-new-available", False)
        for q in self.queues:
            self.put(f"setup-messaging-{q.id}", q.messaging)
        for n in self.numbers:
            self.put(f"setup-number-{n.id}", queue_of.get(n.e164, ""))
        for t in self.templates:
            self.put(f"setup-template-{t.id}", t.body)
        self.put("setup-new-template", "")
        self.put("setup-new-template-body", "")

    def calls(self) -> list[tuple[str, str, Call]]:
        """(part, widget id, call to core) for each change, in the order they are sent."""
        db, actor = self.context.db, self.context.actor
        out: list[tuple[str, str, Call]] = []
        for a in self.activities:
            name_id, flag_id = f"setup-activity-{a.id}", f"setup-available-{a.id}"
            if self.changed([name_id, flag_id]):
                rename = str(self.value_of(name_id)) if self.changed([name_id]) else None
                flag = bool(self.value_of(flag_id)) if self.changed([flag_id]) else None
                out.append(
                    ("activities", name_id,
                     lambda n=a.name, r=rename, f=flag: configuration.edit_activity(
                         db, actor, n, rename=r, available=f))
                )  # fmt: skip
        new_activity = str(self.value_of("setup-new-activity"))
        if new_activity.strip():
            available = bool(self.value_of("setup-new-available"))
            out.append(
                ("activities", "setup-new-activity",
                 lambda: configuration.add_activity(db, actor, new_activity, available=available))
            )  # fmt: skip
        new_queue = str(self.value_of("setup-new-queue"))
        if new_queue.strip():
            its = str(self.value_of("setup-new-queue-numbers")).replace(",", " ").split()
            out.append(
                ("queues", "setup-new-queue",
                 lambda: configuration.add_queue(db, actor, new_queue, its, messaging=bool(its)))
            )  # fmt: skip
        for n in self.numbers:
            widget_id = f"setup-number-{n.id}"
            if self.changed([widget_id]):
                queue = str(self.value_of(widget_id)).strip() or None
                out.append(
                    ("queues", widget_id,
                     lambda e=n.e164, q=queue: configuration.set_number_queue(db, actor, e, q))
                )  # fmt: skip
        for q in self.queues:
            widget_id = f"setup-messaging-{q.id}"
            if self.changed([widget_id]):
                on_off = bool(self.value_of(widget_id))
                out.append(
                    ("queues", widget_id,
                     lambda name=q.name, m=on_off: configuration.edit_queue(
                         db, actor, name, messaging=m))
                )  # fmt: skip
        for t in self.templates:
            widget_id = f"setup-template-{t.id}"
            if self.changed([widget_id]):
                body = str(self.value_of(widget_id))
                out.append(
                    ("templates", widget_id,
                     lambda name=t.name, b=body: configuration.save_template(db, actor, name, b))
                )  # fmt: skip
        new_template = str(self.value_of("setup-new-template"))
        if new_template.strip():
            body = str(self.value_of("setup-new-template-body"))
            out.append(
                ("templates", "setup-new-template",
                 lambda: configuration.save_template(db, actor, new_template, body))
            )  # fmt: skip
        return out

    def _stored(self, widget_id: str) -> None:
        """A call succeeded: its fields now show what is stored (new-entry fields empty)."""
        if widget_id.startswith("setup-activity-"):
            flag_id = widget_id.replace("setup-activity-", "setup-available-")
            self.loaded[flag_id] = self.value_of(flag_id)
        if widget_id.startswith("setup-new-"):
            for new_id in [w for w in self.loaded if w.startswith(widget_id)]:
                self.put(new_id, False if new_id == "setup-new-available" else "")
            if widget_id == "setup-new-activity":
                self.put("setup-new-available", False)
        else:
            self.loaded[widget_id] = self.value_of(widget_id)

    def show_error(self, part: str, message: str, widget_id: str) -> None:
        error = self.query_one(f"#setup-error-{part}", Static)
        error.update(literal(message, one_line=False))
        error.add_class("-shown")
        self.query_one("#setup-message", Static).update(Text("Not saved: see above", "red"))
        self.query_one(f"#{widget_id}").focus()
        self.call_after_refresh(error.scroll_visible)

    async def action_save(self) -> None:
        for error in self.query(".pp-error"):
            error.remove_class("-shown")
        message = self.query_one("#setup-message", Static)
        calls = self.calls()
        if not calls:
            message.update("Nothing to save: nothing changed.")
            return
        for done, (part, widget_id, call) in enumerate(calls):
            try:
                await call()
            except SwitchboardError as exc:
                text = str(exc)
                if done:
                    text += (
                        f" (the {counted(done, 'change')} before it"
                        f" {'was' if done == 1 else 'were'} saved)"
                    )
                    # Names may have changed: the next save starts from what is stored.
                    self.activities = await configuration.list_activities(self.context.db)
                    self.queues = await configuration.list_queues(self.context.db)
                self.show_error(part, text, widget_id)
                return
            self._stored(widget_id)
        await self.load()
        self.query_one("#setup-scroll").focus()
        message.update(Text(f"Saved {counted(len(calls), 'change')}.", style="green"))

    def action_close(self) -> None:
        if not self.is_dirty:
            self.dismiss(None)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.dismiss(None)

        self.app.push_screen(
            ConfirmScreen(Text("Close without saving your changes?"), yes_label="Discard"),
            answered,
        )

    @on(Input.Submitted)
    async def _submitted(self) -> None:
        await self.action_save()
