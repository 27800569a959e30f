"""Who is on call, in words: the on-call section's "now … · next …" line and the
transfer picker's "On call now" part.

Core decides everything shown: who is on call and who stands in for a held
profile (``oncall.on_call_now``), and whether a profile may be transferred
to (``oncall.transfer_target``, whose refusal is the held profile's reason).
The product cannot place a call: the agent reads the number out.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from rich.text import Text

from console.text import literal
from core.db import Database
from core.errors import NotAllowed, NotFound
from core.notify import groups, oncall
from core.notify.oncall import OnCall, OnCallProfile
from core.people.authz import Actor


def numbers(profile: OnCallProfile) -> Text:
    if not profile.contact_numbers:
        return Text("no contact number", style="dim")
    return literal(", ".join(profile.contact_numbers))


def person(profile: OnCallProfile) -> Text:
    """'Dr Lee (+15551234567, +15557654321)'."""
    return Text.assemble(literal(profile.alias, style="bold"), " (", numbers(profile), ")")


def when(found: OnCall) -> str:
    """When the next slot starts, on the schedule's clock: 'Tue 08:00'."""
    if found.next_at is None:
        return ""
    local = found.next_at.astimezone(ZoneInfo(found.schedule.time_zone))
    return f"{local:%a %H:%M}"


def who_now(found: OnCall) -> Text:
    """The aliases on call now, short, for a list's column."""
    if found.slot is None:
        return Text("nobody", style="dim")
    if not found.profiles:
        return Text("all held", style="yellow")
    shown = literal(", ".join(p.alias for p in found.profiles))
    if found.stand_in is not None:
        shown.append(" (stand-in)", style="dim")
    return shown


def now_line(found: OnCall) -> Text:
    """'now: Dr Lee (+1555…) · next: Surgeons at Tue 08:00', a held slot's stand-in said."""
    line = Text.assemble(("now: ", "bold"))
    if found.slot is None:
        line.append("nobody on call", style="dim")
    else:
        if found.slot.held:
            line.append_text(literal(found.slot.who))
            line.append(" held", style="yellow")
            line.append(" → " if found.profiles else ", nobody to stand in within a week")
        line.append_text(Text(", ").join(person(p) for p in found.profiles))
        if found.stand_in is not None:
            stand_in = found.stand_in
            line.append(f" (of the {stand_in.day} {stand_in.start} slot)", style="dim")
    line.append(" · next: ", style="bold")
    if found.next is None:
        line.append("no other slot", style="dim")
    else:
        line.append_text(literal(found.next.who))
        line.append(f" at {when(found)}")
    return line


async def _named(db: Database, actor: Actor, found: OnCall) -> list[int]:
    """Who the current slot names: its profile, or its group's members."""
    if found.slot is None:
        return []
    if found.slot.profile_id is not None:
        return [found.slot.profile_id]
    if found.slot.group_id is not None:
        return [m.profile_id for m in (await groups.get(db, actor, found.slot.group_id)).members]
    return []


async def _held_lines(db: Database, actor: Actor, found: OnCall) -> list[Text]:
    """Each profile the slot names that core will not transfer to, with core's reason."""
    free = {p.id for p in found.profiles}
    lines = []
    for profile_id in await _named(db, actor, found):
        if profile_id in free:
            continue
        try:
            await oncall.transfer_target(db, actor, profile_id)
        except NotAllowed as exc:
            # The refusal is what is shown: the reason the agent cannot transfer there.
            lines.append(Text.assemble(("‖ ", "bold yellow"), literal(str(exc), one_line=False)))
    return lines


async def for_transfer(db: Database, actor: Actor) -> Text | None:
    """The "On call now" part of the transfer picker: per schedule, who is on call and the
    numbers to read out; a held profile with why; None when there are no schedules."""
    try:
        schedules = await oncall.list_schedules(db, actor)
    except NotAllowed:
        return None  # no active permission profile: the picker shows what it can without it
    if not schedules:
        return None
    part = Text.assemble(("On call now", "bold"))
    part.append("  (read the number out: SMS cannot place the call)", style="dim")
    for schedule in schedules:
        try:
            found = await oncall.on_call_now(db, actor, schedule.id)
        except NotFound:
            continue  # deleted since it was listed
        entries = await _held_lines(db, actor, found)
        for profile in found.profiles:
            entry = Text("next on call ", style="dim") if found.stand_in is not None else Text()
            entries.append(Text.assemble(entry, literal(profile.alias), "  ", numbers(profile)))
        part.append("\n")
        part.append_text(literal(schedule.name, style="bold"))
        if not entries:
            part.append("  nobody on call", style="dim")
        for index, entry in enumerate(entries):
            part.append("  " if index == 0 else "\n  ")
            part.append_text(entry)
    return part
