"""M1, M2, M4, M5, M6, M9: sending and receiving through the real services.

Every test runs on a real SQLite file with a fake clock; the sandbox provider
plays the phones and ``worker.run_once`` delivers.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from pathlib import Path

import pytest

from core import settings
from core.clock import FakeClock
from core.db import Database
from core.delivery.gateway import Media, MmsLimits
from core.delivery.outbox import OPTED_IN_REASON, OPTED_OUT_REASON
from core.errors import (
    InvalidInput,
    InvalidPhoneNumber,
    MmsNotSupported,
    NotAllowed,
    NotFound,
    NotMobile,
    OptedOut,
)
from core.people import agents, contacts
from core.people.authz import Actor
from core.scheduling.worker import Worker
from core.sms import consent, conversations, mms, receiving, sending
from core.sms.conversations import Filter
from core.sms.optout import Intent
from providers import sandbox
from tests.core.conftest import (
    ALICE_NUMBER,
    CARL_LANDLINE,
    CARL_MOBILE,
    DEFAULT_NUMBER,
    DORA_MOBILE,
    STRANGER,
    Team,
)

NOTICE = "Reply STOP to unsubscribe."
OPTOUT_REPLY = settings.Settings().optout_reply
OPTIN_REPLY = settings.Settings().optin_reply
HELP_REPLY = settings.Settings().help_reply
PNG = Media("map.png", "image/png", b"\x89PNG" + b"\0" * 200)


async def _message(db: Database, message_id: int) -> dict:
    row = await db.fetchone("SELECT * FROM messages WHERE id = ?", (message_id,))
    assert row is not None
    return dict(row)


async def _bodies(db: Database, phone: str) -> list[str]:
    """What the sandbox phone at ``phone`` has received, oldest first."""
    return [m.body for m in await sandbox.inbox(db, phone)]


async def _count(db: Database, sql: str, params: tuple = ()) -> int:
    return int(await db.scalar(sql, params))


async def _events(db: Database, kind: str) -> list[dict]:
    rows = await db.fetchall("SELECT * FROM events WHERE kind = ? ORDER BY id", (kind,))
    return [{**dict(r), "data": json.loads(r["data"])} for r in rows]


# --- M1: numbers and who sends from which ----------------------------------


async def test_texting_a_landline_is_refused_as_not_mobile(db: Database, team: Team) -> None:
    with pytest.raises(NotMobile, match=r"landline, not a mobile number"):
        await sending.send(db, team.alice, CARL_LANDLINE, "Hello")
    assert await _count(db, "SELECT count(*) FROM messages") == 0
    # The same contact's mobile works.
    await sending.send(db, team.alice, CARL_MOBILE, "Hello")


async def test_agent_with_caller_id_sends_from_it_others_from_the_default(
    db: Database, team: Team, worker: Worker
) -> None:
    by_alice = await sending.send(db, team.alice, DORA_MOBILE, "From Alice")
    by_bob = await sending.send(db, team.bob, CARL_MOBILE, "From Bob")

    assert (await conversations.get(db, team.dana, by_alice.conversation_id)).number == ALICE_NUMBER
    assert (await conversations.get(db, team.dana, by_bob.conversation_id)).number == DEFAULT_NUMBER
    await worker.run_once()
    assert [m.sender for m in await sandbox.inbox(db, DORA_MOBILE)] == [ALICE_NUMBER]
    assert [m.sender for m in await sandbox.inbox(db, CARL_MOBILE)] == [DEFAULT_NUMBER]


async def test_no_number_to_send_from_names_the_command_to_add_one(
    db: Database, system: Actor
) -> None:
    ann = (await agents.add(db, system, "ann", "Ann", "Agent")).as_actor()
    with pytest.raises(NotFound, match=r"switchboard numbers add .*--default"):
        await sending.send(db, ann, DORA_MOBILE, "Hello")
    assert await _count(db, "SELECT count(*) FROM messages") == 0


async def test_unknown_sender_number_is_not_found(db: Database, team: Team) -> None:
    with pytest.raises(NotFound, match=r"\+14155550177 is not one of our numbers"):
        await sending.send(db, team.alice, DORA_MOBILE, "Hi", sender="+14155550177")


async def test_texting_a_new_mobile_creates_a_contact(db: Database, team: Team) -> None:
    result = await sending.send(db, team.bob, STRANGER, "Hello")
    found = await contacts.find_by_phone(db, STRANGER)
    assert found is not None
    assert [(p.e164, p.kind) for p in found.phones] == [(STRANGER, "mobile")]
    assert (await conversations.get(db, team.bob, result.conversation_id)).contact_id == found.id


async def test_a_contact_s_number_reaches_the_same_conversation_however_it_is_written(
    db: Database, team: Team
) -> None:
    # Written as stored (E.164) it is taken as it is; written otherwise it is read again.
    first = await sending.send(db, team.bob, STRANGER, "Hello")
    national = f"({STRANGER[2:5]}) {STRANGER[5:8]}-{STRANGER[8:]}"
    again = await sending.send(db, team.bob, national, "Again")
    assert again.conversation_id == first.conversation_id
    assert await _count(db, "SELECT count(*) FROM contact_phones WHERE e164 = ?", (STRANGER,)) == 1


# --- input errors ------------------------------------------------------------


@pytest.mark.parametrize("body", ["", "   ", "\n\t"])
async def test_empty_message_is_invalid(db: Database, team: Team, body: str) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        await sending.send(db, team.alice, DORA_MOBILE, body)
    assert await _count(db, "SELECT count(*) FROM messages") == 0


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("12", "too short"),
        ("hello", "not a phone number"),
        ("+1 212 555 01100000", "too long"),
        ("+1 099 555 0100", "no such number range"),
    ],
)
async def test_invalid_phone_number_says_why(
    db: Database, team: Team, raw: str, reason: str
) -> None:
    with pytest.raises(InvalidPhoneNumber, match=reason):
        await sending.send(db, team.alice, raw, "Hello")


# --- M2 / M5: the opt-out notice on the first SMS ---------------------------


async def test_first_sms_to_a_number_carries_the_optout_notice_only_once(
    db: Database, team: Team, worker: Worker
) -> None:
    first = await sending.send(db, team.alice, DORA_MOBILE, "Your order is ready.")
    second = await sending.send(db, team.alice, DORA_MOBILE, "Open till 6.")
    # Another agent, from another number, to the same phone: still not the first SMS.
    third = await sending.send(db, team.bob, DORA_MOBILE, "Bob here.")

    assert first.body == f"Your order is ready.\n{NOTICE}"
    assert second.body == "Open till 6."
    assert third.body == "Bob here."
    assert (await _message(db, first.message_id))["body"] == first.body
    assert (await _message(db, second.message_id))["body"] == "Open till 6."

    await worker.run_once()
    assert await _bodies(db, DORA_MOBILE) == [first.body, "Open till 6.", "Bob here."]
    # Each number gets its own first notice.
    other = await sending.send(db, team.alice, CARL_MOBILE, "Hi Carl")
    assert other.body.endswith(NOTICE)


async def test_optout_notice_text_comes_from_settings(db: Database, team: Team) -> None:
    await settings.update(db, team.dana, optout_notice="Text STOP to opt out.")
    result = await sending.send(db, team.alice, DORA_MOBILE, "Hi")
    assert result.body == "Hi\nText STOP to opt out."


# --- M5: inbound keywords ----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        " Stop. ",
        "ＳＴＯＰ",
        "OPT OUT",
        "opt-out!",
        "Unsubscribe",
        "cancel",
        "QUIT!!",
    ],
)
async def test_stop_family_keywords_opt_out(db: Database, team: Team, text: str) -> None:
    await sending.send(db, team.alice, DORA_MOBILE, "Hello")
    result = await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, text)

    assert result.intent is Intent.OPT_OUT
    assert await consent.is_opted_out(db, DORA_MOBILE)
    assert len(result.replies) == 1
    reply = await _message(db, result.replies[0])
    assert (reply["kind"], reply["body"], reply["status"]) == (
        "optout_confirmation",
        OPTOUT_REPLY,
        "queued",
    )


@pytest.mark.parametrize("text", ["stop by at 5", "Stop the car", "YES", "please"])
async def test_other_text_does_not_opt_out(db: Database, team: Team, text: str) -> None:
    result = await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, text)
    assert result.intent is Intent.NONE
    assert result.replies == ()
    assert not await consent.is_opted_out(db, DORA_MOBILE)
    # Sending still works.
    await sending.send(db, team.alice, DORA_MOBILE, "Sure")


async def test_three_stops_queue_and_deliver_exactly_one_confirmation(
    db: Database, team: Team, clock: FakeClock, worker: Worker
) -> None:
    replies = []
    for _ in range(3):
        replies.append((await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "STOP")).replies)
        clock.advance(seconds=30)
        await worker.run_once()

    assert [len(r) for r in replies] == [1, 0, 0]
    assert await _count(db, "SELECT count(*) FROM messages WHERE kind = 'optout_confirmation'") == 1
    clock.advance(minutes=1)
    await worker.run_once()
    inbox = await sandbox.inbox(db, DORA_MOBILE)
    assert [(m.body, m.sender, m.delivered) for m in inbox] == [(OPTOUT_REPLY, ALICE_NUMBER, True)]


async def test_sending_to_an_opted_out_number_says_how_and_when(
    db: Database, team: Team, clock: FakeClock
) -> None:
    clock.advance(minutes=7)  # 09:07 UTC
    await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, " stop! ")
    clock.advance(hours=2)

    for actor in (team.alice, team.bob, team.dana):
        with pytest.raises(OptedOut) as caught:
            await sending.send(db, actor, DORA_MOBILE, "Are you there?")
        message = str(caught.value)
        assert DORA_MOBILE in message
        assert "by replying STOP" in message
        assert "2026-01-05 09:07" in message
        assert "START" in message
    # Refused means nothing was queued.
    assert await _count(db, "SELECT count(*) FROM messages WHERE kind = 'chat'") == 0


async def test_messages_queued_before_stop_fail_and_never_reach_the_phone(
    db: Database, team: Team, worker: Worker
) -> None:
    queued = [
        (await sending.send(db, team.alice, DORA_MOBILE, f"Offer {i}")).message_id for i in range(3)
    ]
    help_reply = (await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "HELP")).replies
    await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "STOP")

    for message_id in [*queued, *help_reply]:
        row = await _message(db, message_id)
        assert (row["status"], row["error"]) == ("failed", OPTED_OUT_REASON)
    await worker.run_once()
    assert await _bodies(db, DORA_MOBILE) == [OPTOUT_REPLY]
    for message_id in queued:
        assert (await _message(db, message_id))["status"] == "failed"


async def test_start_opts_back_in_and_a_later_stop_confirms_again(
    db: Database, team: Team, clock: FakeClock, worker: Worker
) -> None:
    await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "STOP")
    await worker.run_once()

    started = await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "Start")
    assert started.intent is Intent.OPT_IN
    assert not await consent.is_opted_out(db, DORA_MOBILE)
    assert len(started.replies) == 1
    # START while not opted out changes nothing and sends nothing.
    assert (await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "START")).replies == ()

    sent = await sending.send(db, team.alice, DORA_MOBILE, "Welcome back")
    clock.advance(seconds=10)
    await worker.run_once()
    stopped = await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "STOP")
    assert len(stopped.replies) == 1
    clock.advance(seconds=10)
    await worker.run_once()

    # The automatic replies carry no notice; the first agent SMS does.
    assert await _bodies(db, DORA_MOBILE) == [OPTOUT_REPLY, OPTIN_REPLY, sent.body, OPTOUT_REPLY]
    with pytest.raises(OptedOut):
        await sending.send(db, team.alice, DORA_MOBILE, "Again?")


async def test_stop_start_stop_before_the_worker_runs_sends_one_confirmation(
    db: Database, team: Team, worker: Worker
) -> None:
    first = (await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "STOP")).replies
    await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "START")
    second = (await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "STOP")).replies
    assert len(first) == len(second) == 1

    stale = await _message(db, first[0])
    assert (stale["status"], stale["error"]) == ("failed", OPTED_IN_REASON)
    await worker.run_once()
    # The opt-in reply was failed by the second STOP; one confirmation arrives.
    assert await _bodies(db, DORA_MOBILE) == [OPTOUT_REPLY]
    assert [m.message_id for m in await sandbox.inbox(db, DORA_MOBILE)] == [second[0]]


async def test_help_answers_with_help_text_but_not_while_opted_out(
    db: Database, team: Team, worker: Worker
) -> None:
    helped = await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "help?")
    assert helped.intent is Intent.HELP
    await worker.run_once()
    assert await _bodies(db, DORA_MOBILE) == [HELP_REPLY]

    await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "STOP")
    silent = await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "HELP")
    assert silent.intent is Intent.HELP
    assert silent.replies == ()
    await worker.run_once()
    assert await _bodies(db, DORA_MOBILE) == [HELP_REPLY, OPTOUT_REPLY]


async def test_yes_is_not_an_opt_in(db: Database, team: Team, worker: Worker) -> None:
    await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "STOP")
    result = await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "YES")
    assert result.intent is Intent.NONE
    assert result.replies == ()
    assert await consent.is_opted_out(db, DORA_MOBILE)
    with pytest.raises(OptedOut):
        await sending.send(db, team.alice, DORA_MOBILE, "Great!")


async def test_keywords_do_not_start_a_wait_but_free_text_does(db: Database, team: Team) -> None:
    keyword = await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "HELP")
    assert (await conversations.get(db, team.alice, keyword.conversation_id)).answered
    text = await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "Any news?")
    assert not (await conversations.get(db, team.alice, text.conversation_id)).answered


async def test_consent_history_keeps_time_keyword_and_source(
    db: Database, team: Team, clock: FakeClock
) -> None:
    stop_at = clock.now()
    stop = await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "ｓｔｏｐ")
    start_at = clock.advance(minutes=3)
    start = await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "unstop")
    clock.advance(minutes=3)
    asked = await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "please stop texting me")
    confirm_at = clock.advance(minutes=1)
    await receiving.resolve_possible_optout(db, team.alice, asked.message_id, confirm=True)

    history = await consent.history(db, DORA_MOBILE)  # newest first
    assert [(h.at, h.opted_out, h.keyword, h.agent_id, h.message_id) for h in history] == [
        (confirm_at, True, None, team.alice.id, asked.message_id),
        (start_at, False, "UNSTOP", None, start.message_id),
        (stop_at, True, "STOP", None, stop.message_id),
    ]
    assert [h.source for h in history] == ["an agent", "keyword UNSTOP", "keyword STOP"]
    with pytest.raises(OptedOut, match="at an agent's request"):
        await sending.send(db, team.alice, DORA_MOBILE, "Hello?")


async def test_keyword_lists_add_to_the_ctia_ones_and_replies_come_from_settings(
    db: Database, team: Team, worker: Worker
) -> None:
    await settings.update(
        db,
        team.dana,
        optout_keywords="ARRET",
        optin_keywords=["REPRISE"],
        help_keywords="AIDE",
        optout_reply="Vous êtes désinscrit.",
        optin_reply="Vous êtes réinscrit.",
        help_reply="Répondez ARRET pour vous désinscrire.",
    )
    assert (await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "aide")).intent is Intent.HELP
    # The lists leave out HELP, STOP and START; they work all the same (CTIA).
    assert (await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "HELP")).intent is Intent.HELP
    await worker.run_once()
    assert (await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "Arrêt")).intent is Intent.NONE
    assert (await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "Arret")).intent is (
        Intent.OPT_OUT
    )
    await worker.run_once()
    assert (
        await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "reprise")
    ).intent is Intent.OPT_IN
    await worker.run_once()
    assert (await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "cancel")).intent is (
        Intent.OPT_OUT
    )
    assert await consent.is_opted_out(db, DORA_MOBILE)
    await worker.run_once()
    assert (await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "START")).intent is (
        Intent.OPT_IN
    )
    await worker.run_once()
    assert await _bodies(db, DORA_MOBILE) == [
        "Répondez ARRET pour vous désinscrire.",
        "Répondez ARRET pour vous désinscrire.",
        "Vous êtes désinscrit.",
        "Vous êtes réinscrit.",
        "Vous êtes désinscrit.",
        "Vous êtes réinscrit.",
    ]
    keywords = [change.keyword for change in await consent.history(db, DORA_MOBILE)]
    assert keywords == ["START", "CANCEL", "REPRISE", "ARRET"]


async def test_a_reply_text_that_cannot_be_stored_does_not_undo_the_opt_out(
    db: Database, team: Team, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A text no check caught (lone surrogates cannot be stored as UTF-8): the
    # opt-out must stand, and the confirmation goes out in the default words.
    bad = replace(settings.Settings(), optout_reply="bye \udcff", help_reply="help \udcff")
    real_load = settings.load

    async def load_bad(db: Database) -> settings.Settings:
        await real_load(db)
        return bad

    monkeypatch.setattr(settings, "load", load_bad)
    result = await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "STOP")
    assert result.intent is Intent.OPT_OUT
    assert await consent.is_opted_out(db, DORA_MOBILE)
    assert len(result.replies) == 1
    await worker.run_once()
    assert await _bodies(db, DORA_MOBILE) == [OPTOUT_REPLY]


async def test_a_bad_stored_reply_text_does_not_stop_stop(
    db: Database, team: Team, worker: Worker
) -> None:
    # Written by an older version that did not check, or by hand.
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO settings (key, value) VALUES ('optout_reply', ?)",
            (json.dumps("bye \udcff"),),
        )
        await tx.execute("INSERT INTO settings (key, value) VALUES ('optout_keywords', '42')")
    assert (await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "stop")).intent is (
        Intent.OPT_OUT
    )
    assert await consent.is_opted_out(db, DORA_MOBILE)
    await worker.run_once()
    assert await _bodies(db, DORA_MOBILE) == [OPTOUT_REPLY]


async def test_inbound_with_the_same_provider_ref_is_stored_once(db: Database, team: Team) -> None:
    first = await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "STOP", provider_ref="mo-1")
    again = await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "STOP", provider_ref="mo-1")
    assert again.duplicate
    assert not first.duplicate
    assert again.message_id == first.message_id
    assert await _count(db, "SELECT count(*) FROM messages WHERE direction = 'in'") == 1
    assert await _count(db, "SELECT count(*) FROM consent_changes") == 1


async def test_inbound_to_a_number_that_is_not_ours_is_not_found(db: Database, team: Team) -> None:
    with pytest.raises(NotFound, match="not one of our numbers"):
        await receiving.receive(db, DORA_MOBILE, "+14155550177", "Hi")


# --- M5: a message that may be an opt-out ------------------------------------


async def test_possible_optout_is_flagged_and_confirmed_by_an_agent(
    db: Database, team: Team, clock: FakeClock, worker: Worker
) -> None:
    await sending.send(db, team.alice, DORA_MOBILE, "Would you like our offers?")
    await worker.run_once()
    asked = await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "Please stop texting me.")
    assert asked.intent is Intent.POSSIBLE_OPT_OUT
    assert asked.replies == ()
    assert not await consent.is_opted_out(db, DORA_MOBILE)
    thread = await conversations.thread(db, team.alice, asked.conversation_id)
    assert [(m.body, m.optout_flag) for m in thread if m.direction == "in"] == [
        ("Please stop texting me.", "pending")
    ]

    await receiving.resolve_possible_optout(db, team.alice, asked.message_id, confirm=True)
    assert await consent.is_opted_out(db, DORA_MOBILE)
    thread = await conversations.thread(db, team.alice, asked.conversation_id)
    assert [m.optout_flag for m in thread if m.id == asked.message_id] == ["confirmed"]
    assert [m.kind for m in thread if m.kind == "optout_confirmation"] == ["optout_confirmation"]
    clock.advance(seconds=5)
    await worker.run_once()
    assert (await _bodies(db, DORA_MOBILE))[-1] == OPTOUT_REPLY
    assert len(await _bodies(db, DORA_MOBILE)) == 2
    assert [e["actor_id"] for e in await _events(db, "message.optout_confirmed")] == [team.alice.id]

    with pytest.raises(InvalidInput, match="not waiting for an opt-out decision"):
        await receiving.resolve_possible_optout(db, team.alice, asked.message_id, confirm=False)
    assert await consent.is_opted_out(db, DORA_MOBILE)


async def test_confirming_after_a_stop_sends_no_second_confirmation(
    db: Database, team: Team
) -> None:
    asked = await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "no more texts please")
    await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "STOP")
    await receiving.resolve_possible_optout(db, team.alice, asked.message_id, confirm=True)
    assert await _count(db, "SELECT count(*) FROM messages WHERE kind = 'optout_confirmation'") == 1
    # Already opted out: the agent's decision is not a new change of consent.
    assert len(await consent.history(db, DORA_MOBILE)) == 1


async def test_dismissing_a_possible_optout_leaves_consent_alone(
    db: Database, team: Team, worker: Worker
) -> None:
    asked = await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "don't text me after 9pm")
    assert asked.intent is Intent.POSSIBLE_OPT_OUT
    await receiving.resolve_possible_optout(db, team.alice, asked.message_id, confirm=False)

    assert not await consent.is_opted_out(db, DORA_MOBILE)
    assert await consent.history(db, DORA_MOBILE) == []
    assert (await _message(db, asked.message_id))["optout_flag"] == "dismissed"
    with pytest.raises(InvalidInput):
        await receiving.resolve_possible_optout(db, team.alice, asked.message_id, confirm=True)
    assert not await consent.is_opted_out(db, DORA_MOBILE)
    await sending.send(db, team.alice, DORA_MOBILE, "Noted, we will text before 9pm.")
    await worker.run_once()
    assert len(await _bodies(db, DORA_MOBILE)) == 1


async def test_only_an_agent_who_may_see_the_conversation_decides(db: Database, team: Team) -> None:
    asked = await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "unsubscribe me please")
    # Alice's caller ID: the conversation is hers and private; bob may not decide.
    with pytest.raises(NotAllowed):
        await receiving.resolve_possible_optout(db, team.bob, asked.message_id, confirm=True)
    assert (await _message(db, asked.message_id))["optout_flag"] == "pending"
    with pytest.raises(NotFound):
        await receiving.resolve_possible_optout(db, team.alice, 9999, confirm=True)
    await receiving.resolve_possible_optout(db, team.dana, asked.message_id, confirm=True)
    assert (await consent.history(db, DORA_MOBILE))[0].agent_id == team.dana.id


async def test_a_plain_message_cannot_be_decided(db: Database, team: Team) -> None:
    plain = await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "Thanks!")
    with pytest.raises(InvalidInput):
        await receiving.resolve_possible_optout(db, team.alice, plain.message_id, confirm=True)
    assert not await consent.is_opted_out(db, DORA_MOBILE)


# --- M6: owners and subscribers ----------------------------------------------


async def test_first_agent_owns_and_a_later_one_subscribes(db: Database, team: Team) -> None:
    first = await sending.send(db, team.alice, DORA_MOBILE, "Hi from Alice")
    # Bob texts the same contact in the same thread (alice's number).
    second = await sending.send(db, team.bob, DORA_MOBILE, "Bob here too", sender=ALICE_NUMBER)
    assert second.conversation_id == first.conversation_id

    conv = await conversations.get(db, team.dana, first.conversation_id)
    assert (conv.owner_id, conv.owner) == (team.alice.id, "alice")
    access = await conversations.access_in(db, first.conversation_id)
    assert access.subscriber_ids == {team.bob.id}

    received = await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, "Thanks both")
    alert = (await _events(db, "message.received"))[-1]
    assert alert["entity_id"] == received.conversation_id
    assert alert["data"]["message_id"] == received.message_id
    assert alert["data"]["audience"] == sorted([team.alice.id, team.bob.id])
    sent_alerts = await _events(db, "message.sent_by_agent")
    assert [e["data"]["audience"] for e in sent_alerts] == [
        [team.alice.id],
        sorted([team.alice.id, team.bob.id]),
    ]

    for actor in (team.alice, team.bob):
        mine = await conversations.list_for(db, actor, Filter.MINE)
        assert [c.id for c in mine] == [first.conversation_id]
    # A third message by bob does not subscribe him twice or change the owner.
    await sending.send(db, team.bob, DORA_MOBILE, "On my way", sender=ALICE_NUMBER)
    assert (await conversations.get(db, team.dana, first.conversation_id)).owner_id == team.alice.id
    assert len(await _events(db, "conversation.subscribed")) == 1


async def test_texting_an_unowned_conversation_takes_it(db: Database, team: Team) -> None:
    incoming = await receiving.receive(db, STRANGER, DEFAULT_NUMBER, "Hello? Anyone?")
    conv = await conversations.get(db, team.bob, incoming.conversation_id)
    assert conv.owner_id is None
    assert conv.is_public

    await sending.send(db, team.bob, STRANGER, "Hi, Bob here")
    conv = await conversations.get(db, team.bob, incoming.conversation_id)
    assert (conv.owner_id, conv.is_public, conv.answered) == (team.bob.id, False, True)
    with pytest.raises(NotAllowed):
        await conversations.thread(db, team.alice, incoming.conversation_id)


# --- M9: Ready -----------------------------------------------------------------


async def test_sending_to_a_ready_contact_sets_it_not_ready_and_says_why(
    db: Database, team: Team, clock: FakeClock
) -> None:
    assert (await contacts.get(db, team.dora.id)).ready
    clock.advance(minutes=4)
    first = await sending.send(db, team.alice, DORA_MOBILE, "Hello")
    assert first.ready_changed is True
    assert not (await contacts.get(db, team.dora.id)).ready

    [change] = await contacts.ready_history(db, team.dora.id)
    assert change.ready is False
    assert "Alice Moreau" in change.reason
    assert (change.agent_id, change.message_id, change.at) == (
        team.alice.id,
        first.message_id,
        clock.now(),
    )
    events = await _events(db, "contact.ready_changed")
    assert [(e["entity_id"], e["data"]["message_id"]) for e in events] == [
        (team.dora.id, first.message_id)
    ]

    again = await sending.send(db, team.bob, DORA_MOBILE, "Hello again")
    assert again.ready_changed is False
    assert len(await contacts.ready_history(db, team.dora.id)) == 1


# --- M4: MMS -------------------------------------------------------------------


async def test_attachment_from_an_sms_only_number_is_refused(db: Database, team: Team) -> None:
    with pytest.raises(MmsNotSupported, match=re.escape(f"{ALICE_NUMBER} is not MMS-enabled")):
        await sending.send(db, team.alice, DORA_MOBILE, "See map", media=[PNG])
    assert await _count(db, "SELECT count(*) FROM messages") == 0
    assert await _count(db, "SELECT count(*) FROM attachments") == 0


async def test_executable_or_unknown_type_is_refused(
    db: Database, team: Team, tmp_path: Path
) -> None:
    exe = Media("setup.exe", "application/x-msdownload", b"MZ" + b"\0" * 100)
    with pytest.raises(MmsNotSupported, match=r"setup\.exe cannot be sent by MMS"):
        await sending.send(db, team.bob, DORA_MOBILE, "Install this", media=[exe])
    odd = tmp_path / "data.qqq"
    odd.write_bytes(b"1234")
    unknown = mms.media_from_file(odd)
    assert unknown.mime == "application/octet-stream"
    with pytest.raises(MmsNotSupported, match="application/octet-stream is not accepted"):
        await sending.send(db, team.bob, DORA_MOBILE, "Data", media=[unknown])
    assert await _count(db, "SELECT count(*) FROM messages") == 0


async def test_too_large_attachment_is_refused_naming_the_limit(db: Database, team: Team) -> None:
    await settings.update(db, team.dana, mms_max_bytes=2048)
    big = Media("photo.jpg", "image/jpeg", b"\xff" * 4096)
    with pytest.raises(MmsNotSupported, match=r"photo\.jpg is 4 KiB; .* at most 2 KiB"):
        await sending.send(db, team.bob, DORA_MOBILE, "Photo", media=[big])
    with pytest.raises(MmsNotSupported, match="empty"):
        await sending.send(
            db, team.bob, DORA_MOBILE, "Photo", media=[Media("e.png", "image/png", b"")]
        )
    assert await _count(db, "SELECT count(*) FROM messages") == 0


async def test_attachment_from_an_mms_number_is_queued_and_delivered(
    db: Database, team: Team, worker: Worker
) -> None:
    result = await sending.send(db, team.bob, DORA_MOBILE, "See map", media=[PNG])
    thread = await conversations.thread(db, team.bob, result.conversation_id)
    assert [m.attachments for m in thread] == [("map.png",)]
    # Alice may use the MMS default number explicitly.
    await sending.send(db, team.alice, CARL_MOBILE, "", sender=DEFAULT_NUMBER, media=[PNG])

    await worker.run_once()
    [dora] = await sandbox.inbox(db, DORA_MOBILE)
    assert (dora.media, dora.sender) == (1, DEFAULT_NUMBER)
    [carl] = await sandbox.inbox(db, CARL_MOBILE)
    assert (carl.media, carl.body) == (1, NOTICE)
    assert (await _message(db, result.message_id))["status"] == "sent"


# --- refused before anything is queued (issue #8, item 14) ---------------------------------


@pytest.mark.parametrize("ours", [DEFAULT_NUMBER, ALICE_NUMBER, "(415) 555-0100"])
async def test_sending_to_one_of_our_own_numbers_is_refused(
    db: Database, team: Team, ours: str
) -> None:
    messages = await _count(db, "SELECT count(*) FROM messages")
    with pytest.raises(InvalidInput, match="is one of our own numbers"):
        await sending.send(db, team.bob, ours, "Hello me")
    assert await _count(db, "SELECT count(*) FROM messages") == messages
    assert await _count(db, "SELECT count(*) FROM conversations") == 0


async def test_an_mms_the_provider_cannot_send_is_refused_before_queueing(
    db: Database, team: Team
) -> None:
    no_url = MmsLimits(max_attachments=1, unavailable="[webhooks] public_url is not set")
    with pytest.raises(MmsNotSupported, match=r"cannot send attachments: \[webhooks\] public_url"):
        await sending.send(db, team.bob, DORA_MOBILE, "See map", media=[PNG], mms_limits=no_url)
    one = MmsLimits(max_attachments=1)
    with pytest.raises(MmsNotSupported, match=r"at most 1 file.* this message has 2"):
        await sending.send(db, team.bob, DORA_MOBILE, "Maps", media=[PNG, PNG], mms_limits=one)
    assert await _count(db, "SELECT count(*) FROM messages") == 0

    # Within the limits it is queued; text alone never meets them.
    await sending.send(db, team.bob, DORA_MOBILE, "See map", media=[PNG], mms_limits=one)
    await sending.send(db, team.bob, DORA_MOBILE, "Just text", mms_limits=no_url)
    assert await _count(db, "SELECT count(*) FROM messages") == 2


async def test_the_text_of_an_mms_has_a_length_limit(db: Database, team: Team) -> None:
    with pytest.raises(InvalidInput, match=f"at most {sending.MAX_MMS_TEXT} characters"):
        await sending.send(db, team.bob, DORA_MOBILE, "x" * (sending.MAX_MMS_TEXT + 1), media=[PNG])
    assert await _count(db, "SELECT count(*) FROM messages") == 0


async def test_an_attachment_is_sized_before_it_is_read_and_a_fifo_is_refused(
    tmp_path: Path,
) -> None:
    big = tmp_path / "big.png"
    with big.open("wb") as f:
        f.truncate(64 * 1024 * 1024)  # sparse: 64 MiB that costs no disk
    with pytest.raises(MmsNotSupported, match=r"big\.png is 65536 KiB; .* at most 1024 KiB"):
        mms.media_from_file(big, 1024 * 1024)
    with pytest.raises(MmsNotSupported, match="at most 16384 KiB"):
        mms.media_from_file(big)  # without the setting, the ceiling still holds

    fifo = tmp_path / "photo.png"
    os.mkfifo(fifo)  # opening it to read would wait for a writer forever
    with pytest.raises(MmsNotSupported, match="is not a regular file"):
        mms.media_from_file(fifo, 1024 * 1024)
    with pytest.raises(MmsNotSupported, match="is not a regular file"):
        mms.media_from_file(Path("/dev/zero"), 1024 * 1024)


async def test_an_inbound_body_longer_than_any_phone_can_send_is_refused(
    db: Database, team: Team
) -> None:
    longest = "a" * receiving.MAX_INBOUND_BODY
    stored = await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, longest)
    assert stored.message_id

    with pytest.raises(InvalidInput, match="at most 39,015 characters"):
        await receiving.receive(db, DORA_MOBILE, ALICE_NUMBER, longest + "a")
    assert await db.scalar("SELECT count(*) FROM messages WHERE direction = 'in'") == 1
