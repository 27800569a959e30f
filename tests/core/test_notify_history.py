"""What the thread reads of closing (P4): the last closure with each notice's live status,
whether a conversation may be closed, the refusals naming their field (``about``)."""

from __future__ import annotations

import pytest

from core.db import Database
from core.errors import InvalidInput, NotFound
from core.notify import closing, fields, history, outcomes
from core.people.authz import SYSTEM
from core.scheduling.worker import Worker
from core.sms import conversations, receiving
from tests.core.conftest import DEFAULT_NUMBER, STRANGER, Team
from tests.core.notify_setup import add_profile

HALE_SMS = "+12125550160"


async def _inbound(db: Database) -> int:
    await receiving.receive(db, STRANGER, DEFAULT_NUMBER, "Hello?")
    cid = await db.scalar("SELECT id FROM conversations WHERE phone = ?", (STRANGER,))
    assert isinstance(cid, int)
    return cid


async def test_the_last_closure_lists_each_notice_with_its_profile_and_live_status(
    db: Database, team: Team, worker: Worker
) -> None:
    await add_profile(db, "Dr Hale", sms=(HALE_SMS,), emails=("hale@example.com",))
    await outcomes.switch(db, SYSTEM, "Urgent", "Dr Hale")
    cid = await _inbound(db)
    assert await history.last_closure(db, team.dana, cid) is None
    await closing.close(db, team.dana, cid, "Urgent", {"first_name": "Ada"}, "worried")

    last = await history.last_closure(db, team.dana, cid)
    assert last is not None
    assert (last.outcome, last.outcome_kind, last.agent, last.comment) == (
        "Urgent",
        "message",
        "dana",
        "worried",
    )
    assert [(n.channel, n.profile, n.recipient, n.status) for n in last.notices] == [
        ("sms", "Dr Hale", HALE_SMS, "queued"),
        ("email", "Dr Hale", "hale@example.com", "queued"),
    ]
    assert not last.settled
    await worker.run_once()
    last = await history.last_closure(db, team.dana, cid)
    assert last is not None
    assert last.notices[0].status == "sent"
    closed = await conversations.get(db, team.dana, cid)
    assert closed.closed_at is not None


async def test_may_close_follows_the_rule_not_what_may_be_seen(db: Database, team: Team) -> None:
    cid = await _inbound(db)  # nobody's yet: public, every agent sees it
    assert await history.may_close(db, team.dana, cid)  # supervision
    assert await history.last_closure(db, team.alice, cid) is None
    assert not await history.may_close(db, team.alice, cid)  # not hers


@pytest.mark.parametrize(
    ("outcome", "data", "comment", "about"),
    [
        ("No such outcome", {}, "", "outcome"),
        ("Urgent", {"phone": "not a phone"}, "", "phone"),
        ("Urgent", {"account": ""}, "", "account"),
        ("Urgent", {}, "x" * 501, "agent_comment"),
    ],
)
async def test_a_refusal_names_the_field_it_is_about(
    db: Database, team: Team, outcome: str, data: dict[str, str], comment: str, about: str
) -> None:
    await fields.add(db, SYSTEM, "account", "Account", required=True)
    data = {"account": "A-1"} | data
    cid = await _inbound(db)
    with pytest.raises((InvalidInput, NotFound)) as caught:
        await closing.close(db, team.dana, cid, outcome, data, comment)
    assert caught.value.about == about
