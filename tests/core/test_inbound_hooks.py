"""Inbound hooks (issue #9 item 5): receive runs an ordered list of hooks in its transaction.

The keyword hook comes first and a STOP ends the chain; a capability adds a
hook by composing its own list, without editing receiving.py; a hook that
raises rolls the whole inbound message back.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from core.db import Database
from core.delivery import outbox
from core.errors import InvalidInput
from core.sms import consent, receiving
from core.sms.inbound import Arriving, Hook, HookResult, Inbound, Read
from core.sms.optout import Intent
from tests.core.conftest import DEFAULT_NUMBER, STRANGER, Team


async def _count(db: Database, sql: str, params: tuple = ()) -> int:
    return int(await db.scalar(sql, params))


async def _stored(db: Database) -> tuple[int, int, int, int]:
    """Inbound messages, conversations, contacts with STRANGER's number, feed events."""
    return (
        await _count(db, "SELECT count(*) FROM messages WHERE direction = 'in'"),
        await _count(db, "SELECT count(*) FROM conversations WHERE phone = ?", (STRANGER,)),
        await _count(db, "SELECT count(*) FROM contact_phones WHERE e164 = ?", (STRANGER,)),
        await _count(db, "SELECT count(*) FROM events WHERE kind = 'message.received'"),
    )


def _recorder(name: str, seen: list[tuple[str, object]]) -> Hook:
    """A hook that records its name and the conversation's wait as the ones before left it."""

    async def run(message: Inbound) -> None:
        row = await message.tx.fetchone(
            "SELECT c.waiting_since, m.body FROM conversations c JOIN messages m"
            " ON m.id = ? WHERE c.id = ?",
            (message.message_id, message.conversation_id),
        )
        assert row is not None  # the message is stored before any hook runs
        assert row["body"] == message.body
        seen.append((name, row["waiting_since"]))

    return Hook(name, run)


async def test_hooks_run_in_order_and_each_sees_what_the_ones_before_left(
    db: Database, team: Team
) -> None:
    seen: list[tuple[str, object]] = []
    hooks = [
        receiving.KEYWORDS,
        _recorder("before_timing", seen),
        receiving.CONVERSATION_TIMING,
        _recorder("after_timing", seen),
    ]
    received = await receiving.receive(db, STRANGER, DEFAULT_NUMBER, "Hello?", hooks=hooks)

    waiting = await db.scalar(
        "SELECT waiting_since FROM conversations WHERE id = ?", (received.conversation_id,)
    )
    assert waiting is not None
    assert seen == [("before_timing", None), ("after_timing", waiting)]


async def test_a_hook_after_the_keywords_sees_the_reply_they_queued(
    db: Database, team: Team
) -> None:
    replies_seen: list[int] = []

    async def count_replies(message: Inbound) -> None:
        row = await message.tx.fetchone(
            "SELECT count(*) AS n FROM messages WHERE conversation_id = ? AND kind = ?",
            (message.conversation_id, outbox.HELP_REPLY),
        )
        assert row is not None
        replies_seen.append(row["n"])

    hooks = [*receiving.default_hooks(), Hook("count_replies", count_replies)]
    received = await receiving.receive(db, STRANGER, DEFAULT_NUMBER, "HELP", hooks=hooks)
    assert received.intent is Intent.HELP
    assert replies_seen == [1]
    assert len(received.replies) == 1


async def test_a_capability_adds_a_hook_without_editing_receiving(db: Database, team: Team) -> None:
    """E.g. campaign replies: its own hook queues an answer, composed around the defaults."""

    async def campaign_reply(message: Inbound) -> HookResult | None:
        if message.body.strip().upper() != "YES":
            return None
        reply = await outbox.queue_in(message.tx, message.conversation_id, "You're in!")
        return HookResult(replies=(reply,))

    hooks = [*receiving.default_hooks(), Hook("campaign_reply", campaign_reply)]
    received = await receiving.receive(db, STRANGER, DEFAULT_NUMBER, "yes", hooks=hooks)

    assert len(received.replies) == 1
    row = await db.fetchone("SELECT body, direction FROM messages WHERE id = ?", received.replies)
    assert row is not None
    assert (row["direction"], row["body"]) == ("out", "You're in!")
    # The default hooks still ran: the wait started.
    assert (
        await db.scalar(
            "SELECT waiting_since FROM conversations WHERE id = ?", (received.conversation_id,)
        )
        is not None
    )
    # And the default list is untouched for everyone else.
    assert [hook.name for hook in receiving.default_hooks()] == [
        "keywords",
        "case_replies",
        "conversation_timing",
        "staff_alerts",
        "campaign_replies",
        "routing",
    ]


async def test_a_hooks_read_ahead_goes_with_the_look_up_and_its_rows_reach_the_hook(
    db: Database, team: Team
) -> None:
    """A read that needs nothing the group writes travels with receiving's look-up (no
    trip of its own); it is made from what arrived, and sees the database as it was
    before the group: here, no inbound message yet."""
    asked: list[list[Arriving]] = []
    seen: list[object] = []

    def ahead(arriving: Sequence[Arriving]) -> Read:
        asked.append(list(arriving))
        return "SELECT count(*) FROM messages WHERE direction = 'in'", ()

    async def run(message: Inbound) -> None:
        seen.append([tuple(row) for row in message.ahead["counting"]])

    hooks = [*receiving.default_hooks(), Hook("counting", run, None, ahead)]
    await receiving.receive_many(
        db,
        [
            receiving.Incoming(STRANGER, DEFAULT_NUMBER, "first", "MO-1"),
            receiving.Incoming(STRANGER, DEFAULT_NUMBER, "HELP", "MO-2"),
        ],
        hooks=hooks,
    )
    assert [(a.phone, a.number, a.body, a.keyword) for a in asked[0]] == [
        (STRANGER, DEFAULT_NUMBER, "first", None),
        (STRANGER, DEFAULT_NUMBER, "HELP", "HELP"),
    ]
    assert seen == [[(0,)], [(0,)]]  # both messages, one read, before either was stored
    assert await _count(db, "SELECT count(*) FROM messages WHERE direction = 'in'") == 2


async def test_a_stop_skips_the_later_hooks(db: Database, team: Team) -> None:
    new_chat_alerts: list[int] = []

    async def new_chat_alert(message: Inbound) -> None:
        new_chat_alerts.append(message.conversation_id)

    hooks = [*receiving.default_hooks(), Hook("new_chat_alert", new_chat_alert)]
    stop = await receiving.receive(db, STRANGER, DEFAULT_NUMBER, "STOP", hooks=hooks)
    assert stop.intent is Intent.OPT_OUT
    assert new_chat_alerts == []  # no new-chat alert for a STOP
    assert await consent.is_opted_out(db, STRANGER)
    assert len(stop.replies) == 1  # its confirmation, from the keyword hook

    # Any other message goes down the whole chain.
    start = await receiving.receive(db, STRANGER, DEFAULT_NUMBER, "START", hooks=hooks)
    hello = await receiving.receive(db, STRANGER, DEFAULT_NUMBER, "Hello", hooks=hooks)
    assert new_chat_alerts == [start.conversation_id, hello.conversation_id]


async def test_a_stop_stands_when_a_later_hook_would_fail(db: Database, team: Team) -> None:
    async def broken(message: Inbound) -> None:
        raise RuntimeError("a capability is broken")

    hooks = [*receiving.default_hooks(), Hook("broken", broken)]
    await receiving.receive(db, STRANGER, DEFAULT_NUMBER, "STOP", hooks=hooks)
    assert await consent.is_opted_out(db, STRANGER)


async def test_a_failing_hook_rolls_back_the_whole_message(db: Database, team: Team) -> None:
    async def broken(message: Inbound) -> None:
        raise RuntimeError("a capability is broken")

    before = await _stored(db)
    hooks = [*receiving.default_hooks(), Hook("broken", broken)]
    with pytest.raises(RuntimeError, match="a capability is broken"):
        await receiving.receive(
            db, STRANGER, DEFAULT_NUMBER, "Hello", provider_ref="mo-1", hooks=hooks
        )
    # No message, conversation, contact or feed event was left behind...
    assert await _stored(db) == before

    # ...so the provider's retry stores it, once.
    retried = await receiving.receive(db, STRANGER, DEFAULT_NUMBER, "Hello", provider_ref="mo-1")
    assert not retried.duplicate
    assert await _stored(db) == (before[0] + 1, 1, 1, before[3] + 1)


@pytest.mark.parametrize(
    "names",
    [
        ["conversation_timing", "keywords"],
        ["conversation_timing"],
        [],
    ],
)
async def test_a_list_not_starting_with_the_keyword_hook_is_refused(
    db: Database, team: Team, names: list[str]
) -> None:
    by_name = {hook.name: hook for hook in receiving.default_hooks()}
    before = await _stored(db)
    with pytest.raises(InvalidInput, match="must start with the 'keywords' hook"):
        await receiving.receive(
            db, STRANGER, DEFAULT_NUMBER, "STOP", hooks=[by_name[n] for n in names]
        )
    assert await _stored(db) == before
    assert not await consent.is_opted_out(db, STRANGER)


async def test_a_look_alike_keyword_hook_is_refused(db: Database, team: Team) -> None:
    """The rule holds by identity: a hook merely named "keywords" is not the keyword hook."""

    async def nothing(message: Inbound) -> None:
        return None

    with pytest.raises(InvalidInput, match="must start with the 'keywords' hook"):
        await receiving.receive(
            db, STRANGER, DEFAULT_NUMBER, "STOP", hooks=[Hook("keywords", nothing)]
        )


async def test_hook_names_must_be_unique(db: Database, team: Team) -> None:
    with pytest.raises(InvalidInput, match="repeated: conversation_timing"):
        await receiving.receive(
            db,
            STRANGER,
            DEFAULT_NUMBER,
            "Hello",
            hooks=[*receiving.default_hooks(), receiving.CONVERSATION_TIMING],
        )
