"""A campaign's settings: name, sender, text, rate, sending window, unknown zone.

New (n) or edit (e) in the Campaigns tab. Core checks everything when it is
saved (the sender is ours and the profile's, every merge field is known, the
longest render fits, the rate is within the sender's); a refusal is shown
under the form in core's words and what was typed stays. Ctrl+F puts a merge
field at the text's cursor; under the text the segment counter counts it as
typed, the opt-out line included (a campaign's first SMS to a number carries it).
A new campaign may be made with a CSV file (the CLI's ``create --csv``): its good
rows are the first targets and its columns fields the text may use at once; the
bad rows are listed after, as the targets form lists them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Select, Static

from console.context import ConsoleContext
from console.screens.campaign_targets import csv_report, read_csv
from console.screens.choice import ChoiceScreen
from console.screens.csv_problems import CsvReport
from console.screens.small_form import SmallForm, bindings
from console.text import literal
from console.widgets.editing import Input, TextArea
from console.widgets.segment_counter import SegmentCounter
from core import settings
from core.campaigns import campaigns, fields, targets_csv
from core.campaigns.campaigns import Campaign
from core.people.authz import Action, NumberAccess, allows
from core.sms import numbers

UNKNOWN_ZONE_LABELS = (
    ("the account's time zone", "account"),
    ("skip the number", "skip"),
)


def _field(label: str, widget: Input | Select[str]) -> Vertical:
    return Vertical(Label(label), widget)


@dataclass(frozen=True, slots=True)
class SavedCampaign:
    campaign: Campaign
    targets: CsvReport | None = None
    """What the CSV a new campaign was made with added, and its refused cells."""


class CampaignForm(SmallForm):
    """Closes with a SavedCampaign (the Campaign core stored), or None when cancelled."""

    BINDINGS = [
        *bindings("campaign_form", "the campaign"),
        Binding(
            "ctrl+f",
            "insert_field",
            "Merge field",
            id="campaign_form.insert_field",
            tooltip="Put a merge field ({{first_name}}…) at the text's cursor",
        ),
    ]
    DEFAULT_CSS = """
    CampaignForm { align: center middle; }
    CampaignForm > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
        overflow-y: auto;
    }
    CampaignForm .form-row { height: auto; margin-top: 1; }
    CampaignForm .form-row > Vertical { width: 1fr; height: auto; padding-right: 1; }
    CampaignForm #campaign-template { height: 5; }
    CampaignForm .form-error { color: $error; height: auto; }
    CampaignForm Horizontal { height: auto; align-horizontal: right; }
    CampaignForm Button { margin-left: 1; }
    """

    def __init__(self, context: ConsoleContext, campaign: Campaign | None = None) -> None:
        super().__init__(id="campaign-form")
        self.context = context
        self.campaign = campaign

    def compose(self) -> ComposeResult:
        c = self.campaign
        title = Text("New campaign") if c is None else Text.assemble("Edit ", literal(c.name))
        title.stylize("bold")
        with Vertical():
            yield Static(title)
            with Horizontal(classes="form-row"):
                yield _field(
                    "Name", Input("" if c is None else c.name, id="campaign-name", compact=True)
                )
                yield _field(
                    "Sender",
                    Select[str]([], prompt="Choose…", id="campaign-sender", compact=True),
                )
                if c is None:
                    # Its rows the first targets, its columns fields the text may use.
                    yield _field(
                        "CSV file (optional)",
                        Input(placeholder="~/people.csv", id="campaign-csv", compact=True),
                    )
            yield Label("Text (Ctrl+F: merge field)")
            yield TextArea("" if c is None else c.template, id="campaign-template")
            yield SegmentCounter(id="campaign-segments")
            with Horizontal(classes="form-row"):
                yield _field(
                    "Rate (segments/s)",
                    Input("1" if c is None else f"{c.rate:g}", id="campaign-rate", compact=True),
                )
                yield _field(
                    "Window (local)",
                    Input(
                        campaigns.DEFAULT_WINDOW if c is None else c.window,
                        id="campaign-window",
                        compact=True,
                    ),
                )
                yield _field(
                    "Unknown time zone",
                    Select[str](
                        UNKNOWN_ZONE_LABELS,
                        value="account" if c is None else c.unknown_zone,
                        allow_blank=False,
                        id="campaign-unknown-zone",
                        compact=True,
                    ),
                )
            yield from self.buttons()

    async def on_mount(self) -> None:
        db, actor = self.context.db, self.context.actor
        # The numbers this profile may send from: core's rule, core checks again on save.
        ours = [
            n.e164
            for n in await numbers.list_numbers(db)
            if n.sms and allows(actor, Action.SEND_SMS, NumberAccess(n.id, n.e164))
        ]
        if self.campaign is not None and self.campaign.sender not in ours:
            ours.insert(0, self.campaign.sender)  # shown as stored; core says if it may stay
        sender = self.query_one("#campaign-sender", Select)
        sender.set_options([(literal(e164), e164) for e164 in ours])
        if self.campaign is not None:
            sender.value = self.campaign.sender
        elif ours:
            sender.value = ours[0]
        config = await settings.load(db)
        counter = self.query_one(SegmentCounter)
        counter.set_price(config.cost_per_segment, config.currency)
        counter.set_notice(config.optout_notice)
        self._recount()
        self.query_one("#campaign-name", Input).focus()

    @property
    def template(self) -> TextArea:
        return self.query_one("#campaign-template", TextArea)

    def value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value

    def choice(self, widget_id: str) -> str:
        chosen = self.query_one(f"#{widget_id}", Select).value
        return chosen if isinstance(chosen, str) else ""

    @on(TextArea.Changed, "#campaign-template")
    def _recount(self) -> None:
        self.query_one(SegmentCounter).recount(self.template.text)

    async def action_insert_field(self) -> None:
        found = await fields.fields_in(self.context.db, self.campaign and self.campaign.id)

        async def chosen(placeholder: str) -> str:
            return f"Inserted {placeholder}"

        choices = [
            (f.insert, Text.assemble((f.insert, "bold"), "  ", literal(f.label)))
            for f in found.editor_fields()
        ]

        def put(placeholder: str | None) -> None:
            if placeholder is not None:
                self.template.insert(placeholder)
            self.template.focus()

        self.app.push_screen(ChoiceScreen(Text("Merge field"), choices, chosen), put)

    async def save(self) -> SavedCampaign:
        db, actor = self.context.db, self.context.actor
        name = self.value("campaign-name")
        sender = self.choice("campaign-sender")
        text = self.template.text
        # As typed: core reads the rate and says what is wrong with it.
        rate: float = self.value("campaign-rate").strip()  # type: ignore[assignment]
        window = self.value("campaign-window")
        zone = self.choice("campaign-unknown-zone")
        c = self.campaign
        options = {"rate": rate, "window": window, "unknown_zone": zone}
        if c is None and (path := self.value("campaign-csv").strip()):
            data = await asyncio.to_thread(read_csv, path)
            made, added = await targets_csv.create_with_csv(
                db, actor, name, sender, text, data, **options
            )
            return SavedCampaign(made, csv_report(added))
        if c is None:
            return SavedCampaign(await campaigns.create(db, actor, name, sender, text, **options))
        # Only what changed: a running campaign's other settings are not re-checked.
        edited = await campaigns.edit(
            db,
            actor,
            c.id,
            name=name if name != c.name else None,
            sender=sender if sender != c.sender else None,
            template=text if text != c.template else None,
            rate=rate if rate != f"{c.rate:g}" else None,  # type: ignore[comparison-overlap]
            window=window if window != c.window else None,
            unknown_zone=zone if zone != c.unknown_zone else None,
        )
        return SavedCampaign(edited)
