"""Demo data: agents, numbers, a few hundred contacts, conversations in every state.

Built through the real services with a clock that starts in the past and
moves forward, so every row (wait times, public conversations, delivery
statuses, opt-outs) got there the way it would in real use.
"""

from __future__ import annotations

import getpass
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from core import settings
from core.alerts import consent
from core.clock import Clock, FakeClock
from core.db import Database
from core.delivery.gateway import SmsGateway
from core.errors import InvalidInput
from core.notify import groups, oncall, outcomes
from core.notify import profiles as notify_profiles
from core.notify.profiles import ProfileDraft
from core.people import agents, contacts
from core.people.authz import SYSTEM, Actor
from core.permissions import configuration, profiles
from core.scheduling.options import WorkerOptions
from core.scheduling.worker import Worker
from core.shifts import shifts as staff_shifts
from core.sms import conversations, numbers, receiving, sending

FIRST = (
    "Ana",
    "Ben",
    "Chloé",
    "Dmitri",
    "Eve",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jamal",
    "Kai",
    "Lena",
    "Mateo",
    "Nora",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Viktor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoë",
)
LAST = (
    "Okafor",
    "Lindqvist",
    "García",
    "Nguyen",
    "Schmidt",
    "Haddad",
    "O'Brien",
    "Kowalski",
    "Tanaka",
    "Mensah",
    "Rossi",
    "Dubois",
    "Patel",
    "Cohen",
    "Silva",
    "Novak",
    "Byrne",
)
TITLES = (
    "Office manager",
    "Owner",
    "Buyer",
    "Nurse",
    "Teacher",
    "Engineer",
    "Student",
    "Accountant",
    "Driver",
    "Chef",
    "",
    "",
)
AREAS = ("212", "312", "415", "617", "206", "303", "512", "702", "808", "907")

AGENTS = (
    ("alice", "Alice Moreau", "Agent"),
    ("bob", "Bob Achebe", "Agent"),
    ("carol", "Carol Jensen", "Agent"),
    ("dana", "Dana Whitfield", "Manager"),
)


def _phone(i: int) -> str:
    # 555-0100..0199 is reserved for fiction: demo numbers reach nobody.
    return f"+1{AREAS[i // 100 % len(AREAS)]}5550{100 + i % 100:03d}"


async def seed(
    db: Database,
    gateway: SmsGateway,
    *,
    contacts_count: int = 300,
    login: str | None = None,
    notifications: bool = True,
) -> None:
    """Fill an empty database with demo data; refuses one that has data.

    ``login`` (default: the operating-system login) is added as a manager, so
    `switchboard` opens the console on the demo without ``--as``.
    ``notifications``: a client's notification set-up (P1-P7), staff shifts
    and mobile alerts (A1-A3, ``alerts``) as well; tests and screenshots that
    build their own leave it out.
    """
    if await db.scalar("SELECT count(*) FROM agents") or await db.scalar(
        "SELECT count(*) FROM contacts"
    ):
        raise InvalidInput(f"{db.path} already has data; demo data goes in a new file")
    real_clock: Clock = db.clock
    clock = FakeClock(real_clock.now() - timedelta(hours=3))
    db.clock = clock
    try:
        await _seed(db, gateway, clock, contacts_count, real_clock, login or getpass.getuser())
        if notifications:
            await _notifications(db)
            await alerts(db)
    finally:
        db.clock = real_clock


async def _seed(
    db: Database, gateway: SmsGateway, clock: FakeClock, n: int, real_clock: Clock, login: str
) -> None:
    async with db.transaction() as tx:
        # Only the seed marks a database demo; no setting or command can.
        await tx.execute(
            "INSERT OR IGNORE INTO demo_marker (id, created_at) VALUES (1, ?)", (tx.now_ms,)
        )
    await settings.update(db, SYSTEM, sandbox_delivery_seconds=3)
    people = {}
    for username, name, role in AGENTS:
        people[username] = (await agents.add(db, SYSTEM, username, name, role)).as_actor()
    if login not in people:
        people[login] = (await agents.add(db, SYSTEM, login, "You", "Manager")).as_actor()
    await numbers.add(db, SYSTEM, "+14155550100", mms=True, default=True)
    await numbers.add(db, SYSTEM, "+14155550101", agent_id=people["alice"].id)
    await numbers.add(db, SYSTEM, "+14155550102", agent_id=people["bob"].id, mms=True)
    # Permission profiles (R1-R4): a queue per line of business, a night
    # profile carol also holds, canned replies for agents.
    await configuration.add_queue(db, SYSTEM, "Front desk", ["+14155550100"])
    await configuration.add_queue(db, SYSTEM, "Direct lines", ["+14155550101", "+14155550102"])
    await configuration.set_profile_queue(db, SYSTEM, "Agent", "Front desk", score=60)
    await configuration.set_profile_queue(db, SYSTEM, "Agent", "Direct lines", score=40)
    await configuration.set_profile_queue(db, SYSTEM, "Manager", "Front desk", score=20)
    await profiles.add(
        db,
        SYSTEM,
        "Night shift",
        alias="Night",
        reference="night",
        description="Evenings: the front desk only, two at a time.",
        max_simultaneous=2,
        interaction_timeout_seconds=30,
        max_missed_offers=3,
        missed_activity="Away",
        auto_accept_seconds=20,
    )
    await configuration.set_profile_queue(db, SYSTEM, "Night shift", "Front desk", score=90)
    await profiles.assign(db, SYSTEM, "Night shift", "carol", distribution_score=70)
    await configuration.save_template(
        db, SYSTEM, "Pick-up", "Hi {{contact_name}}, your order is ready. {{agent_name}}"
    )
    await configuration.save_template(
        db,
        SYSTEM,
        "On the way",
        "Hi {{contact_name}}, your technician is on the way. To reach us, call"
        " {{our_number}}. {{agent_name}}",
    )
    # The picker (Ctrl+L in the composer) lists them for agents and for the
    # demo's own login, a manager.
    for template in ("Pick-up", "On the way"):
        await configuration.set_profile_template(db, SYSTEM, "Agent", template)
        await configuration.set_profile_template(db, SYSTEM, "Manager", template)
    await configuration.set_profile_template(db, SYSTEM, "Night shift", "Pick-up")

    rng = random.Random(2026)
    drafts = []
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        phones = [(_phone(i), "mobile")]
        if i % 7 == 0:
            phones.append((_phone(i + 500), "landline"))
        if i % 50 == 48:
            phones = [(_phone(i), "landline")]
        drafts.append(
            contacts.prepare(
                contacts.ContactDraft(
                    name=f"{first} {last}",
                    job_title=rng.choice(TITLES),
                    email=f"{first}.{last}@example.com".lower().replace("'", ""),
                    ready=rng.random() < 0.7,
                    phones=phones,
                    custom={"customer_since": str(2015 + i % 10)} if i % 3 == 0 else {},
                ),
                "US",
            )
        )
    async with db.transaction() as tx:
        await contacts.create_many_in(tx, drafts)
        await tx.emit("contacts.imported", "contact", None, count=len(drafts))

    worker = Worker(db, gateway, WorkerOptions(), holder="demo-seed")
    alice, bob, carol = people["alice"], people["bob"], people["carol"]

    async def tick(minutes: float) -> None:
        clock.advance(minutes=minutes)
        await worker.run_once()

    # Answered: alice texted, the contact replied, alice answered.
    for i in range(0, 8):
        await sending.send(
            db,
            alice,
            _phone(i),
            "Hi, this is Alice from Switchboard. Your order is ready for pick-up.",
        )
        await tick(2)
        await receiving.receive(db, _phone(i), "+14155550101", "Great, thanks! Open till 6?")
        await tick(1)
        await sending.send(db, alice, _phone(i), "Yes, until 6 pm today.")
        await tick(1)
    # Bob joins one of alice's conversations: he becomes a subscriber.
    await sending.send(
        db, bob, _phone(1), "Bob here too: I'll bring it to the counter.", sender="+14155550101"
    )
    await tick(2)
    # Long message: several segments, UCS-2 because of the emoji.
    await sending.send(
        db,
        carol,
        _phone(20),
        "Thanks for calling earlier 🙂 "
        + (
            "Here are the details of your appointment, the documents to bring and where to park. "
            * 3
        ),
    )
    await tick(3)
    # Opted out: STOP, one confirmation, then nothing.
    await sending.send(db, carol, _phone(21), "Reminder: your appointment is tomorrow at 10.")
    await tick(1)
    await receiving.receive(db, _phone(21), "+14155550100", "STOP")
    await tick(1)
    # A message that may be an opt-out, waiting for an agent to decide.
    await sending.send(db, carol, _phone(22), "Would you like to hear about our offers?")
    await tick(1)
    await receiving.receive(db, _phone(22), "+14155550100", "please stop texting me about offers")
    await tick(1)
    # Unanswered and past the public minutes: public, still owned by bob.
    for i in range(30, 34):
        await sending.send(db, bob, _phone(i), "Can you confirm your delivery address?")
        await tick(1)
        await receiving.receive(
            db, _phone(i), "+14155550102", "It's 12 Harbour St, flat 3 [buzzer broken]"
        )
        await tick(1)
    # New conversations nobody owns yet: public from the start.
    for i in range(40, 44):
        await receiving.receive(db, _phone(i), "+14155550100", "Hello? Is anyone there?")
        await tick(5)
    await tick(30)
    # A case (C1-C2), still hours ago: what follows is timed from now.
    await _cases(db, alice, tick)
    # Recent and waiting, not yet public.
    clock.set(max(clock.now(), real_clock.now() - timedelta(minutes=12)))
    for i in range(50, 55):
        await sending.send(db, alice, _phone(i), "Your technician is on the way.")
        await tick(1)
    for i in range(50, 55):
        await receiving.receive(db, _phone(i), "+14155550101", "How long will it take?")
    # A message the carrier refused (sandbox: numbers ending 0199 are unreachable).
    await sending.send(db, alice, _phone(99), "Your parcel is waiting.")
    await tick(1)
    # Hostile text, shown literally everywhere.
    await receiving.receive(
        db,
        _phone(60),
        "+14155550100",
        "[bold]free[/] [@click=app.quit]prize[/] \x1b[31mred\x1b[0m [b",
    )
    await worker.run_once()
    await conversations.make_due_public(db)


async def _cases(db: Database, alice: Actor, tick: Callable[[float], Awaitable[None]]) -> None:
    """C1-C2: location Main workshop (SMS replies become notes) and one open case with two
    contacts texted: their invitations, a quick action, a note, and a contact's answer."""
    from core.cases import case_contacts, cases, locations, notes, page
    from core.cases.links import Grant

    await locations.create(db, SYSTEM, "Main workshop", "+14155550100")
    case = await cases.create(db, alice, "Van 14: brake pads and discs", "Main workshop")
    # Demo contacts 3 and 4 have mobiles (contacts i with i % 50 == 48 have none).
    for contact_id in (3, 4):
        await case_contacts.add(db, alice, case.code, contact_id)
        await case_contacts.set_sms(db, alice, case.code, contact_id, True)
    await tick(5)
    await notes.quick(db, alice, case.code, "checked_in")
    await tick(20)
    quote = await notes.add(
        db,
        alice,
        case.code,
        "The front discs are worn too. Replacing pads and discs is $420; shall we go ahead?",
        [3, 4],
        kind="request_approval",
    )
    await tick(10)
    link = await db.fetchone(
        "SELECT link_id FROM case_note_recipients WHERE note_id = ? AND contact_id = 3",
        (quote.note_id,),
    )
    assert link is not None
    grant = Grant(link["link_id"], case.id, 3, quote.note_id)
    await page.add_note(db, grant, "Yes, please go ahead with both.", [4], reply_to=quote.note_id)


# Area code 646 is not one of AREAS: the client's people are not demo contacts.
NOTIFICATION_PROFILES = (
    ProfileDraft(
        "Answering desk",
        contact_numbers=("+16465550171",),
        emails=("desk@example.com",),
        sms_numbers=("+16465550170",),
        email_on=True,
        sms_on=True,
    ),
    ProfileDraft(
        "Dr Okafor",
        contact_numbers=("+16465550122",),
        sms_numbers=("+16465550121",),
        sms_on=True,
    ),
    ProfileDraft(
        "Dr Lee",
        contact_numbers=("+16465550181", "+16465550182"),
        sms_numbers=("+16465550183",),
        sms_on=True,
    ),
    ProfileDraft("Dr Park", contact_numbers=("+16465550184",), sms_numbers=("+16465550185",)),
    ProfileDraft(
        "Non-message calls",
        emails=("office@example.com",),
        sms_numbers=("+16465550190",),
        sms_on=True,
        sms_mode="non_message",
        email_on=True,
        email_mode="custom",
        email_subject="{{outcome}} from {{caller_id}}",
        email_body="You have a {{outcome}} from {{caller_id}}.\n\n{{agent_comment}}",
    ),
)


async def _notifications(db: Database) -> None:
    """P1-P7: who the demo client's people are, and which outcome tells whom."""
    made = {}
    for draft in NOTIFICATION_PROFILES:
        made[draft.alias] = await notify_profiles.add(db, SYSTEM, draft)
    await notify_profiles.hold(db, SYSTEM, made["Dr Park"].id)  # hold my calls, indefinitely
    surgeons = await groups.add(db, SYSTEM, "Surgeons")
    for alias in ("Dr Okafor", "Dr Lee"):
        await groups.add_member(db, SYSTEM, surgeons.id, made[alias].id)
    await oncall.add_schedule(db, SYSTEM, "Nights", "America/New_York")
    for start, end, who in (
        ("mon 18:00", "tue 08:00", "Dr Lee"),
        ("wed 18:00", "thu 08:00", "Dr Park"),  # held: the next on call stands in
        ("thu 18:00", "fri 08:00", "Dr Okafor"),
        ("fri 18:00", "mon 08:00", "Dr Lee"),
    ):
        await oncall.add_slot(db, SYSTEM, "Nights", start, end, profile=who)
    await oncall.add_slot(db, SYSTEM, "Nights", "tue 18:00", "wed 08:00", group="Surgeons")
    for outcome, kind, name in (
        ("General Message", "profile", "Answering desk"),
        ("Urgent", "profile", "Answering desk"),
        ("Urgent", "schedule", "Nights"),
        ("Wrong Number", "profile", "Non-message calls"),
        ("Prank Call", "profile", "Non-message calls"),
        ("No Caller", "profile", "Non-message calls"),
    ):
        await outcomes.set_recipient(db, SYSTEM, outcome, kind, name)


WEEKLY_SHIFTS = (
    ("alice", "normal", "mon 08:00 to mon 16:00", "UTC"),
    ("alice", "normal", "tue 08:00 to tue 16:00", "UTC"),
    ("bob", "normal", "mon 16:00 to tue 00:00", "UTC"),
    ("carol", "normal", "sat 09:00 to sun 17:00", "Europe/London"),
    ("dana", "oncall", "mon 08:00 to mon 18:00", "America/New_York"),
)


async def shifts(db: Database) -> None:
    """A3: a handful of weekly shifts in three zones, and one on-call night
    tomorrow (a one-off, from the database's clock). Once: a database with
    shifts is left as it is."""
    if await db.scalar("SELECT count(*) FROM shifts"):
        return
    for username, kind, span, zone in WEEKLY_SHIFTS:
        await staff_shifts.add_weekly(db, SYSTEM, username, kind, span, zone)
    tomorrow = db.clock.now().date() + timedelta(days=1)
    start = datetime.combine(tomorrow, datetime.min.time()).replace(hour=18)
    await staff_shifts.add_once(
        db, SYSTEM, "carol", "oncall", start, start + timedelta(hours=14), "UTC"
    )


ALERTED_STAFF = (("alice", "+16465550172"), ("bob", "+16465550173"), ("dana", "+16465550174"))
"""Who consents to alerts in the demo, on fictional 555 numbers no demo contact has."""


async def alerts(db: Database) -> None:
    """A1-A3: mobile alerts on (every 5 minutes, 3 reminders, escalation after 3),
    the demo's shifts, and three people who gave their own consent. Once: an
    account with mobile alerts on is left as it is."""
    if (await settings.load(db)).mobile_alerts:
        return
    await settings.update(
        db,
        SYSTEM,
        staff_sms=True,
        mobile_alerts=True,
        alert_every_minutes=5,
        alert_reminders=3,
        alert_escalate_after=3,
    )
    await shifts(db)
    for username, mobile in ALERTED_STAFF:
        person = (await agents.by_username(db, username)).as_actor()
        assert person.id is not None
        await consent.change(db, person, person.id, mobile=mobile, permit_sms=True, new_chat=True)
