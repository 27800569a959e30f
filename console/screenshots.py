"""`switchboard screenshots`: SVGs of the main screens, from demo data.

The same app the CLI runs (make_app), on a freshly seeded demo database with
a fixed clock and terminal size, so the pictures change only when the
console does.
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Select, Static, TabbedContent
from textual.worker import WorkerCancelled

from console import case_page_shot
from console.app import SwitchboardApp, make_app
from console.context import ConsoleContext
from console.panes.alert_settings import AlertSettingsTab
from console.panes.campaigns import CampaignsPane
from console.panes.cases import CasesPane
from console.panes.thread import ThreadPane
from console.widgets.editing import Input, TextArea
from console.widgets.status_bar import StatusBar
from core import demo, settings
from core.clock import FakeClock
from core.db import Database, open_database
from core.delivery import bundle
from core.notify import groups, oncall, outcomes, profiles
from core.notify.profiles import ProfileDraft
from core.people import agents
from core.people.authz import SYSTEM
from core.scheduling.worker import Worker
from providers.sandbox import SandboxGateway

SIZE = (110, 34)
SMALL = (80, 24)
"""The smallest terminal the console is made for (an SSH session's default)."""
NOW = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)

Scene = Callable[[SwitchboardApp, Pilot[None]], Awaitable[None]]


async def _tab(app: SwitchboardApp, pilot: Pilot[None], tab: str) -> None:
    app.query_one(TabbedContent).active = tab
    await pilot.pause()


async def _conversations(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await pilot.pause()


async def _composer(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await pilot.press("tab", "tab")
    # Pasted text with typographic quotes and dashes: the counter offers the
    # GSM-7 rewrite and its saving.
    app.query_one("#agent-thread").query_one(TextArea).insert(
        "Hi Rosa, sorry for the texts — we’ll stop the “offers” now. Your order #1042 is "
        "ready for pick-up at the Harbour St desk, open until 6 pm today…"
    )
    await pilot.press("end")
    await pilot.pause()


async def _canned_reply_picker(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await pilot.press("tab", "tab", "ctrl+l")
    await app.workers.wait_for_complete()
    await pilot.pause()


async def _contacts(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await _tab(app, pilot, "contacts")
    await pilot.press("slash", *"ana")


async def _contact_import(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    """F2 › i as a manager: the import form, a path typed."""
    await _tab(app, pilot, "contacts")
    await app.workers.wait_for_complete()
    app.query_one("#contact-list").focus()
    await pilot.press("i")
    await pilot.pause()
    app.screen.query_one("#import-path", Input).value = "~/clients.csv"
    await pilot.pause()


async def _manager(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await _tab(app, pilot, "manager")


async def _agents_and_numbers(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    """Manager › 3: the agents, and our numbers with what each is for (focused)."""
    await _tab(app, pilot, "manager")
    await pilot.press("3")
    await app.workers.wait_for_complete()
    await pilot.pause()
    app.query_one("#number-list").focus()
    await pilot.pause()


async def _permission_profiles(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await _tab(app, pilot, "manager")
    await pilot.press("4")
    await pilot.pause()


async def _profile_settings(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await _permission_profiles(app, pilot)
    await pilot.press("down", "down", "e")  # Night shift
    await app.workers.wait_for_complete()
    await pilot.pause()


async def _profile_configuration(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await _profile_settings(app, pilot)
    await pilot.press("ctrl+n")
    await pilot.pause()


async def _notification_profiles(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    # The demo has no notification profiles: a few, as a client's set-up would have.
    db = app.context.db
    ames = await profiles.add(
        db,
        SYSTEM,
        ProfileDraft(
            "Dr. Ames",
            emails=("ames@example.com", "front-desk@example.com"),
            sms_numbers=("+12125550110",),
            email_on=True,
            sms_on=True,
            sms_mode="non_message",
        ),
    )
    roux = await profiles.add(
        db, SYSTEM, ProfileDraft("Dr. Roux", contact_numbers=("+12125550111",))
    )
    await profiles.hold(db, SYSTEM, roux.id)
    await profiles.add(
        db, SYSTEM, ProfileDraft("On-call nurse", sms_numbers=("+12125550112",), sms_on=True)
    )
    doctors = await groups.add(db, SYSTEM, "Doctors")
    await groups.add_member(db, SYSTEM, doctors.id, ames.id)
    await _tab(app, pilot, "manager")
    await pilot.press("5")
    await pilot.pause()


async def _statistics(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await _tab(app, pilot, "statistics")


async def _help(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await pilot.press("question_mark")
    await pilot.pause()


async def _offer(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    # bob's console made him Available: the worker offers him the demo's waiting
    # conversation (the clock is fixed, so the countdown shows the full 30 s).
    db = app.context.db
    await Worker(db, SandboxGateway(db), holder="screenshots").run_once()
    await app.poll_feed()
    await pilot.pause()


async def _activity_picker(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await pilot.press("f7")
    await app.workers.wait_for_complete()
    await pilot.pause()


async def _on_call_people(db: Database) -> None:
    """Notification profiles, a group and a night schedule in New York (once): the
    demo itself has none. One doctor is held, so a stand-in and ‖ show."""
    if await oncall.list_schedules(db, SYSTEM):
        return
    lee = ProfileDraft("Dr Lee", contact_numbers=("+12125550181", "+12125550182"))
    await profiles.add(db, SYSTEM, lee)
    kim = await profiles.add(db, SYSTEM, ProfileDraft("Dr Kim", contact_numbers=("+12125550183",)))
    park = ProfileDraft("Dr Park", contact_numbers=("+12125550184",))
    park_id = (await profiles.add(db, SYSTEM, park)).id
    surgeons = await groups.add(db, SYSTEM, "Surgeons")
    for member in (kim.id, park_id):
        await groups.add_member(db, SYSTEM, surgeons.id, member)
    await oncall.add_schedule(db, SYSTEM, "Nights", "America/New_York")
    await oncall.add_schedule(db, SYSTEM, "Weekend desk", "Europe/London")
    for start, end, who in (
        ("mon 08:00", "mon 18:00", "Dr Park"),
        ("mon 18:00", "tue 08:00", "Dr Lee"),
        ("wed 18:00", "thu 08:00", "Dr Kim"),
        ("fri 18:00", "mon 08:00", "Dr Lee"),
    ):
        await oncall.add_slot(db, SYSTEM, "Nights", start, end, profile=who)
    await oncall.add_slot(db, SYSTEM, "Nights", "tue 18:00", "wed 08:00", group="Surgeons")
    await profiles.hold(db, SYSTEM, park_id)


async def _notifications(app: SwitchboardApp, pilot: Pilot[None], subtab: str) -> None:
    """Manager › 5 Notify, on ``subtab``, moved to with > as a person would."""
    await _tab(app, pilot, "manager")
    await pilot.press("5")
    await app.workers.wait_for_complete()
    tabs = app.query_one("#notify-tabs", TabbedContent)
    # A bounded number of steps: should the console end meanwhile, its error is shown
    # at once instead of a press loop running into the scene's deadline.
    for _ in range(tabs.tab_count):
        if tabs.active == subtab:
            break
        await pilot.press("greater_than_sign")
        await app.workers.wait_for_complete()
    await pilot.pause()


async def _notify_outcomes(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await _notifications(app, pilot, "notify-outcomes")


async def _notify_fields(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await _notifications(app, pilot, "notify-fields")


async def _on_call(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await _on_call_people(app.context.db)
    await _notifications(app, pilot, "notify-oncall")


async def _shifts(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    """Manager › 6 Alerts › Shifts, on the demo's shifts (the seed here leaves them out)."""
    await demo.shifts(app.context.db)
    await _tab(app, pilot, "manager")
    await pilot.press("6")
    app.query_one("#alerts-tabs", TabbedContent).active = "alerts-shifts"
    await app.workers.wait_for_complete()
    await pilot.pause()


async def _transfer_picker(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await _on_call_people(app.context.db)
    await pilot.press("tab", "f9")
    await app.workers.wait_for_complete()
    await pilot.pause()


async def _notified_people(db: Database) -> None:
    """Who the Urgent outcome tells (once): a desk by SMS and email, and a doctor whose
    number opted out (the demo's STOP), so one notice shows as skipped."""
    if await outcomes.recipients(db, SYSTEM, "Urgent"):
        return
    desk = ProfileDraft(
        "Answering desk",
        sms_numbers=("+12125550170",),
        emails=("desk@example.com",),
        sms_on=True,
        email_on=True,
    )
    okafor = ProfileDraft("Dr Okafor", sms_numbers=("+12125550121",), sms_on=True)
    for draft in (desk, okafor):
        await profiles.add(db, SYSTEM, draft)
        await outcomes.switch(db, SYSTEM, "Urgent", draft.alias)


async def _close_form(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    """Alice's first conversation, the close form filled in (Ctrl+G)."""
    db = app.context.db
    await _notified_people(db)
    cid = await db.scalar(
        "SELECT id FROM conversations WHERE owner_id = ? AND closed_at IS NULL ORDER BY id",
        (app.context.actor.id,),
    )
    thread = app.query_one("#agent-thread", ThreadPane)
    await thread.show(cid)
    thread.messages.focus()
    await pilot.press("ctrl+g")
    await app.workers.wait_for_complete()
    await pilot.pause()
    form = app.screen
    form.query_one("#close-outcome", Select).value = "Urgent"
    for name, value in (("first_name", "Rosa"), ("last_name", "Diaz"), ("phone", "")):
        form.query_one(f"#field-{name}", Input).value = value
    form.query_one(
        "#field-message", TextArea
    ).text = "Parcel at the wrong address.\nPlease call back before 6 pm."
    form.query_one("#field-first_name", Input).focus()
    await pilot.pause()


async def _closed_thread(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    """The same conversation closed: its notices under the messages, after a worker run."""
    await _close_form(app, pilot)
    await pilot.press("ctrl+s")
    await pilot.pause()
    # The close is written by a background worker: the notices exist once it is done.
    await app.workers.wait_for_complete()
    db = app.context.db
    await Worker(db, SandboxGateway(db), holder="screenshots").run_once()
    await app.poll_feed()
    await app.workers.wait_for_complete()
    # The notices just sent count against the bundle; the bar reads it once a second.
    await _bundle_shown(app, pilot)
    await pilot.pause()


async def _alerting_staff(db: Database) -> None:
    """The demo's alerts (``demo.alerts``: settings, shifts, three consenting people)
    and a small bundle, so the status bar has something to show."""
    await demo.alerts(db)
    await settings.update(db, SYSTEM, bundle_segments=250)


async def _alert_settings(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    """Manager › 6 Alerts › Settings, the preview of a frequency chosen but not saved."""
    await _alerting_staff(app.context.db)
    await _tab(app, pilot, "manager")
    await pilot.press("6")
    await app.workers.wait_for_complete()
    tab = app.query_one(AlertSettingsTab)
    # The tab may have read the settings before the scene changed them, and the feed
    # that tells it may not have come round yet on a busy machine: read them now.
    await tab.reload()
    await _bundle_shown(app, pilot)
    app.query_one("#alert-setting-alert_every_minutes", Select).value = 10
    # The preview follows the change through the message loop and core: wait for it.
    for _ in range(600):
        await pilot.pause(0.05)
        if tab.report is not None and tab.report.every == 10:
            break
    await pilot.pause()


async def _alert_staff(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    """Manager › 6 Alerts › Staff: who is set up, and what each still misses."""
    await _alerting_staff(app.context.db)
    await _tab(app, pilot, "manager")
    await pilot.press("6")
    await app.workers.wait_for_complete()
    app.query_one("#alerts-tabs", TabbedContent).active = "alerts-staff"
    await app.workers.wait_for_complete()
    await _bundle_shown(app, pilot)
    await pilot.pause()


async def _my_alerts(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await _alerting_staff(app.context.db)
    await pilot.press("ctrl+y")
    await app.workers.wait_for_complete()
    await _bundle_shown(app, pilot)
    await pilot.pause()


async def _campaign_sending(db: Database) -> None:
    """A campaign to 20 contacts, started, the worker run twice: part sent, part to come."""
    from core.campaigns import campaigns, lifecycle, targets

    if await db.scalar("SELECT count(*) FROM campaigns"):
        return  # the second size's scene: already seeded
    dana = (await agents.by_username(db, "dana")).as_actor()
    made = await campaigns.create(
        db, dana, "Spring check-in", "+14155550100", "Hi {{first_name}}, spring is here!"
    )
    ids = [r["id"] for r in await db.fetchall("SELECT id FROM contacts ORDER BY id LIMIT 20")]
    await targets.add_contacts(db, dana, made.id, ids)
    await campaigns.create(db, dana, "Renewals", "+14155550100", "Your plan renews soon.")
    later = await campaigns.create(db, dana, "Open day", "+14155550100", "See you {{name}}!")
    five = [r["id"] for r in await db.fetchall("SELECT id FROM contacts ORDER BY id LIMIT 5")]
    await targets.add_contacts(db, dana, later.id, five)
    tomorrow = db.clock.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    await lifecycle.start(db, dana, later.id, at=tomorrow, confirm=True)  # scheduled
    await lifecycle.start(db, dana, made.id, confirm=True)
    worker = Worker(db, SandboxGateway(db), holder="screenshots")
    clock = db.clock
    assert isinstance(clock, FakeClock)
    for _ in range(2):
        await worker.run_once()
        clock.advance(seconds=5)
    await worker.run_once()


async def _campaigns(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    await _campaign_sending(app.context.db)
    await app.context.reload_principal()
    await app._principal_changed()
    await _tab(app, pilot, "campaigns")
    await app.workers.wait_for_complete()
    pane = app.query_one(CampaignsPane)
    # The pane may have mounted, and read, while the campaigns were being made; it
    # reads again on its next one-second tick after the feed. Read now instead.
    await pane.reload()
    running = await app.context.db.scalar("SELECT id FROM campaigns WHERE status = 'running'")
    pane.table.select(running)
    # The detail follows the selection through the message loop and core: wait for it.
    counts = app.query_one("#campaign-counts", Static)
    for _ in range(600):
        await pilot.pause(0.05)
        await app.workers.wait_for_complete()
        title = str(app.query_one("#campaign-title", Static).render())
        if "sent" in str(counts.render()) and "Spring check-in · running" in title:
            break
    await _bundle_shown(app, pilot)
    await pilot.pause()


async def _bundle_shown(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    """The status bar reads the bundle at most once a second: wait for this month's use."""
    used = (await bundle.usage(app.context.db)).used
    bar = app.query_one(StatusBar)
    for _ in range(600):
        if f"{used}/" in bar.bundle.plain:
            break
        await pilot.pause(0.05)


async def _cases(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    """The demo's case: its contacts, a quick action, an approval request, a page answer."""
    await _tab(app, pilot, "cases")
    pane = app.query_one(CasesPane)
    # The list, then the selected case's contacts and notes: each a read through core.
    for _ in range(600):
        await app.workers.wait_for_complete()
        if pane.contact_table.row_count and pane.notes and pane.shown_case is not None:
            break
        await pilot.pause(0.05)
    await pilot.pause()


async def _light(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    app.theme = "textual-light"
    await pilot.pause()


async def _campaign_form(app: SwitchboardApp, pilot: Pilot[None]) -> None:
    """The new campaign form (n), filled in, with the CSV its text's {{code}} comes from."""
    await _campaigns(app, pilot)
    await pilot.press("n")
    await app.workers.wait_for_complete()
    await pilot.pause()
    form = app.screen
    form.query_one("#campaign-name", Input).value = "Autumn codes"
    form.query_one("#campaign-csv", Input).value = "~/autumn.csv"
    form.query_one(
        "#campaign-template", TextArea
    ).text = "Hi {{first_name}}, your autumn code is {{code}}."
    form.query_one("#campaign-csv", Input).focus()
    await pilot.pause()


SCENES: tuple[tuple[str, str, Scene, tuple[int, int]], ...] = (
    ("agent-conversations", "alice", _conversations, SIZE),
    ("agent-composer", "alice", _composer, SIZE),
    ("contacts", "alice", _contacts, SIZE),
    ("manager-dashboard", "dana", _manager, SIZE),
    ("statistics", "dana", _statistics, SIZE),
    ("permission-profiles", "dana", _permission_profiles, SIZE),
    ("permission-profile-settings", "dana", _profile_settings, SIZE),
    ("permission-profile-configuration", "dana", _profile_configuration, SIZE),
    ("help", "alice", _help, SIZE),
    ("agent-conversations-light", "alice", _light, SIZE),
    ("agent-conversations-80x24", "alice", _conversations, SMALL),
    ("agent-composer-80x24", "alice", _composer, SMALL),
    ("canned-reply-picker-80x24", "alice", _canned_reply_picker, SMALL),
    ("contacts-80x24", "alice", _contacts, SMALL),
    ("contact-import-80x24", "dana", _contact_import, SMALL),
    ("manager-dashboard-80x24", "dana", _manager, SMALL),
    ("agents-and-numbers-80x24", "dana", _agents_and_numbers, SMALL),
    ("statistics-80x24", "dana", _statistics, SMALL),
    ("permission-profile-settings-80x24", "dana", _profile_settings, SMALL),
    ("notification-profiles-80x24", "dana", _notification_profiles, SMALL),
    ("notify-outcomes-80x24", "dana", _notify_outcomes, SMALL),
    ("notify-fields-80x24", "dana", _notify_fields, SMALL),
    ("on-call-80x24", "dana", _on_call, SMALL),
    ("shifts", "dana", _shifts, SIZE),
    ("shifts-80x24", "dana", _shifts, SMALL),
    ("transfer-picker-80x24", "alice", _transfer_picker, SMALL),
    ("alert-settings", "dana", _alert_settings, SIZE),
    ("alert-settings-80x24", "dana", _alert_settings, SMALL),
    ("alert-staff-80x24", "dana", _alert_staff, SMALL),
    ("my-alerts-80x24", "alice", _my_alerts, SMALL),
    # Last: the worker's run in _offer changes the demo data the scenes above show.
    ("agent-offer", "bob", _offer, SIZE),
    ("agent-offer-80x24", "bob", _offer, SMALL),
    ("activity-picker-80x24", "bob", _activity_picker, SMALL),
    # After the offer: closing frees alice's room and the worker sends the notices.
    ("close-form-80x24", "alice", _close_form, SMALL),
    ("closed-thread-80x24", "alice", _closed_thread, SMALL),
    # Last: the campaign's messages would show in the scenes above.
    ("campaigns", "dana", _campaigns, SIZE),
    ("campaigns-80x24", "dana", _campaigns, SMALL),
    ("campaign-form-80x24", "dana", _campaign_form, SMALL),
    ("cases", "dana", _cases, SIZE),
    ("cases-80x24", "dana", _cases, SMALL),
)


SCENE_SECONDS = 120
"""What one scene may take: about a second on a quiet machine, tens on a busy one."""


def _under_dialogs_laid_out(app: SwitchboardApp) -> None:
    """Lay out now every screen under the top one, as Pilot's pause does the top one.

    A screen under a dialog lays itself out on its own update timer. On a busy machine
    that timer can come round after the picture is taken: CI once drew the contacts under
    the import form with their columns not yet measured. The screens' own method is the
    one Pilot calls for the top screen (Textual has no public one)."""
    for screen in app.screen_stack[:-1]:
        screen._on_timer_update()


async def _shoot(
    db: Database, out: Path, name: str, username: str, scene: Scene, size: tuple[int, int]
) -> Path:
    actor = (await agents.by_username(db, username)).as_actor()
    app = make_app(
        ConsoleContext(db, actor, SandboxGateway(db), embedded_worker=False, settle_heap=False)
    )
    # No animation: a tab underline caught mid-slide would depend on machine load.
    app.animation_level = "none"
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        deadline = asyncio.timeout(SCENE_SECONDS)
        try:
            async with deadline:
                await scene(app, pilot)
                # A pane mounted before the scene wrote its data learns of it from the
                # change feed, whose timer comes round late on a busy machine: read the
                # feed now. Then background work (a debounced search, a page load) must
                # finish, or the picture would depend on how busy the machine is.
                await app.poll_feed()
                await pilot.pause()
                await app.workers.wait_for_complete()
        except (TimeoutError, WorkerCancelled):
            # Work that waits on a dialog (push_screen_wait) never completes: say which
            # scene, instead of hanging the command and the tests. (Textual's wait for a
            # worker reports the deadline's cancellation as the worker's.)
            if not deadline.expired():
                raise
            raise RuntimeError(
                f"scene {name!r} did not finish in {SCENE_SECONDS} s: does it leave background"
                " work waiting on a dialog? Open such a dialog with a callback instead"
            ) from None
        # A blinking cursor would be drawn or not by how long the scene took (a
        # blink is half a second): drawn steadily, as it is right after a key.
        for field in [*app.query(Input), *app.query(TextArea)]:
            field.cursor_blink = False
        _under_dialogs_laid_out(app)
        await pilot.pause()
        path = out / f"{name}.svg"
        app.save_screenshot(str(path))
    return path


@contextmanager
def _fixed_case_codes() -> Iterator[None]:
    """Case codes are drawn at random; the pictures show them, so here they are not."""
    from core.cases import cases

    drawn = itertools.count()
    before = cases.new_code
    cases.new_code = lambda: "K7QX" + cases.CODE_ALPHABET[next(drawn) % len(cases.CODE_ALPHABET)]
    try:
        yield
    finally:
        cases.new_code = before


async def take(out: Path, on_skip: Callable[[str], None] | None = None) -> list[Path]:
    """Seed a demo database in a temporary folder and save every scene to ``out``, and the
    mobile case page's picture when Chromium is here (else ``on_skip`` is told why).

    ``out`` must exist.
    """
    with _fixed_case_codes(), tempfile.TemporaryDirectory() as scratch:
        db = await open_database(Path(scratch) / "demo.sqlite3", FakeClock(NOW))
        try:
            await demo.seed(
                db, SandboxGateway(db), contacts_count=120, login="you", notifications=False
            )
            shots = [await _shoot(db, out, *scene) for scene in SCENES]
            page = await case_page_shot.shoot(db, out)
            if isinstance(page, Path):
                shots.append(page)
            elif on_skip is not None:
                on_skip(f"{case_page_shot.NAME} was not made: {page}")
            return shots
        finally:
            await db.close()
