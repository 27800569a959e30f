"""A2 consent (the person's own) and A5 readiness (exactly what would get them alerted)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from core import settings
from core.alerts import consent
from core.alerts.readiness import (
    ACCOUNT_OFF,
    CONFIGURED,
    ESCALATION,
    MOBILE,
    NEW_CHAT,
    OPTED_OUT,
    PERMISSION,
    SHIFT,
    readiness,
)
from core.clock import FakeClock, to_ms
from core.db import Database
from core.errors import InvalidInput, InvalidPhoneNumber, NotAllowed, NotMobile
from core.people.authz import SYSTEM
from core.sms import consent as phone_consent
from tests.core.conftest import DEFAULT_NUMBER, Team

ALICE_MOBILE = "+12125550150"
ALICE_OTHER = "+12125550151"
UK_LANDLINE = "+442079460000"


async def _events(db: Database, kind: str) -> list[dict[str, object]]:
    rows = await db.fetchall(
        "SELECT entity_id, actor_id, data FROM events WHERE kind = ? ORDER BY id", (kind,)
    )
    return [{"id": r["entity_id"], "actor": r["actor_id"], **json.loads(r["data"])} for r in rows]


async def _weekly_shift(db: Database, agent_id: int, kind: str = "normal") -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO shifts (agent_id, kind, time_zone, start_minute, minutes, created_at)"
            " VALUES (?, ?, 'UTC', 0, 600, ?)",
            (agent_id, kind, tx.now_ms),
        )


async def test_someone_only_on_call_is_set_up_when_the_account_escalates(
    db: Database, team: Team
) -> None:
    alice = team.alice
    assert alice.id is not None
    await consent.change(db, alice, alice.id, mobile=ALICE_MOBILE, permit_sms=True, new_chat=True)
    await _weekly_shift(db, alice.id, "oncall")
    await settings.update(db, SYSTEM, staff_sms=True, mobile_alerts=True)
    assert (await readiness(db, alice)).missing == (ESCALATION,)  # never escalates
    await settings.update(db, SYSTEM, alert_every_minutes=5, alert_escalate_after=2)
    assert (await readiness(db, alice)).configured


async def test_a_person_sets_their_mobile_and_permits_sms_to_it(
    db: Database, team: Team, clock: FakeClock
) -> None:
    alice = team.alice
    assert alice.id is not None
    view = await consent.set_mobile(db, alice, alice.id, "(212) 555-0150")
    assert (view.mobile, view.permitted_at, view.new_chat) == (ALICE_MOBILE, None, False)
    view = await consent.permit(db, alice, alice.id, True)
    assert (view.permitted_at, view.permitted_by) == (clock.now(), "alice")
    clock.advance(minutes=5)
    again = await consent.permit(db, alice, alice.id, True)
    assert again.permitted_at == view.permitted_at  # when it was first given
    view = await consent.set_new_chat(db, alice, alice.id, True)
    assert view.new_chat
    assert await consent.alertable_in(db, [alice.id]) == {alice.id: ALICE_MOBILE}
    # The feed names the person, never the number.
    changed = await _events(db, "staff.mobile_changed")
    assert changed == [{"id": alice.id, "actor": alice.id, "permission_cleared": False}]
    assert ALICE_MOBILE not in json.dumps(await _events(db, "staff.sms_permission"))


async def test_a_new_number_clears_the_permission_and_none_removes_it(
    db: Database, team: Team
) -> None:
    alice = team.alice
    assert alice.id is not None
    await consent.set_mobile(db, alice, alice.id, ALICE_MOBILE)
    await consent.permit(db, alice, alice.id, True)
    same = await consent.set_mobile(db, alice, alice.id, ALICE_MOBILE)
    assert same.permitted_at is not None  # the same phone: consent stands
    other = await consent.set_mobile(db, alice, alice.id, ALICE_OTHER)
    assert (other.mobile, other.permitted_at, other.permitted_by) == (ALICE_OTHER, None, None)
    gone = await consent.set_mobile(db, alice, alice.id, None)
    assert gone.mobile is None
    cleared = [e["permission_cleared"] for e in await _events(db, "staff.mobile_changed")]
    assert cleared == [False, True, False]


async def test_permission_needs_a_mobile_number(db: Database, team: Team) -> None:
    assert team.alice.id is not None
    with pytest.raises(InvalidInput, match="needs a mobile number first"):
        await consent.permit(db, team.alice, team.alice.id, True)
    assert (await consent.staff_view(db, team.alice, team.alice.id)).permitted_at is None


@pytest.mark.parametrize(
    ("number", "error", "message"),
    [
        ("12", InvalidPhoneNumber, "not a valid phone number"),
        (UK_LANDLINE, NotMobile, "is not a mobile number"),
        (DEFAULT_NUMBER, InvalidInput, "one of our own numbers"),
    ],
)
async def test_a_number_that_cannot_receive_alerts_is_refused(
    db: Database, team: Team, number: str, error: type[Exception], message: str
) -> None:
    assert team.alice.id is not None
    with pytest.raises(error, match=message):
        await consent.set_mobile(db, team.alice, team.alice.id, number)
    assert (await consent.staff_view(db, team.alice, team.alice.id)).mobile is None


async def test_a_manager_sees_and_corrects_the_number_but_never_ticks_consent(
    db: Database, team: Team
) -> None:
    alice, dana = team.alice, team.dana
    assert alice.id is not None
    await consent.set_mobile(db, dana, alice.id, ALICE_MOBILE)
    assert (await consent.staff_view(db, dana, alice.id)).mobile == ALICE_MOBILE
    with pytest.raises(NotAllowed, match="only the person themselves"):
        await consent.permit(db, dana, alice.id, True)
    with pytest.raises(NotAllowed, match="only the person themselves"):
        await consent.set_new_chat(db, dana, alice.id, True)
    # Another agent may neither see the number nor change anything.
    assert team.bob.id is not None
    with pytest.raises(NotAllowed, match="manage_users"):
        await consent.staff_view(db, team.bob, alice.id)
    with pytest.raises(NotAllowed, match="manage_users"):
        await consent.set_mobile(db, team.bob, alice.id, ALICE_OTHER)


async def test_readiness_lists_exactly_what_is_missing(
    db: Database, team: Team, clock: FakeClock
) -> None:
    alice = team.alice
    assert alice.id is not None
    first = await readiness(db, alice)
    assert first.missing == (MOBILE, PERMISSION, NEW_CHAT, SHIFT, ACCOUNT_OFF)
    assert not first.configured
    assert first.message == (
        "Mobile alerts are not configured. Missing: a mobile number, permission to SMS this"
        " phone, the New Chat alert, a shift (messaging or on call). Mobile alerts are off in"
        " the account settings."
    )
    await consent.set_mobile(db, alice, alice.id, ALICE_MOBILE)
    await consent.permit(db, alice, alice.id, True)
    await consent.set_new_chat(db, alice, alice.id, True)
    await _weekly_shift(db, alice.id)
    assert (await readiness(db, alice)).missing == (ACCOUNT_OFF,)
    await settings.update(db, SYSTEM, staff_sms=True, mobile_alerts=True)
    ready = await readiness(db, alice)
    assert (ready.configured, ready.missing, ready.message) == (True, (), CONFIGURED)
    # STOP from that phone still wins: no longer configured, and it says why.
    async with db.transaction() as tx:
        await phone_consent.opt_out_in(tx, ALICE_MOBILE, keyword="STOP")
    assert (await readiness(db, alice)).missing == (OPTED_OUT,)


async def test_a_one_off_shift_counts_until_it_ends(
    db: Database, team: Team, clock: FakeClock
) -> None:
    alice = team.alice
    assert alice.id is not None
    start = clock.now() + timedelta(days=1)
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO shifts (agent_id, kind, time_zone, starts_at, ends_at, created_at)"
            " VALUES (?, 'normal', 'UTC', ?, ?, ?)",
            (alice.id, to_ms(start), to_ms(start + timedelta(hours=8)), tx.now_ms),
        )
        await tx.execute(
            "INSERT INTO shifts (agent_id, kind, time_zone, start_minute, minutes, created_at)"
            " VALUES (?, 'oncall', 'UTC', 0, 600, ?)",
            (alice.id, tx.now_ms),
        )
    assert SHIFT not in (await readiness(db, alice)).missing
    clock.set(start + timedelta(hours=8))
    # Ended: the on-call shift is left, which gets escalations only, and this
    # account never escalates.
    missing = (await readiness(db, alice)).missing
    assert SHIFT not in missing
    assert ESCALATION in missing


async def test_anyone_may_ask_whether_a_colleague_is_set_up(db: Database, team: Team) -> None:
    assert team.alice.id is not None
    seen = await readiness(db, team.bob, team.alice.id)
    assert MOBILE in seen.missing
