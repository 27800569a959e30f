"""What will be sent for a body: the composer's count must be the count of the SMS sent."""

from __future__ import annotations

import pytest

from core import settings
from core.db import Database
from core.sms import outgoing, segments, sending
from tests.core.conftest import DORA_MOBILE, STRANGER, Team

NOTICE = settings.Settings().optout_notice


@pytest.mark.parametrize(
    ("body", "notice", "sent"),
    [
        ("Hi", None, "Hi"),
        ("Hi", "Reply STOP", "Hi\nReply STOP"),
        ("", "Reply STOP", "Reply STOP"),  # an MMS with no text still carries the line
        ("  ", "Reply STOP", "Reply STOP"),
        ("", None, ""),
    ],
)
def test_with_notice(body: str, notice: str | None, sent: str) -> None:
    assert outgoing.with_notice(body, notice) == sent


async def test_the_text_counted_is_the_text_sent_first_time_and_after(
    db: Database, team: Team
) -> None:
    # 150 GSM-7 characters fit one SMS alone; with the opt-out line they need two.
    body = "x" * 150
    before = await outgoing.text_to_send(db, DORA_MOBILE, body)
    assert await outgoing.text_to_send(db, DORA_MOBILE, body) == before, "asking takes nothing"
    assert before == f"{body}\n{NOTICE}"
    assert segments.count(before).segments == 2

    first = await sending.send(db, team.alice, DORA_MOBILE, body)
    assert first.body == before
    assert first.segments == segments.count(before).segments

    # The line went with the first SMS: the next one is counted and sent without it.
    assert await outgoing.notice_for(db, DORA_MOBILE) is None
    again = await outgoing.text_to_send(db, DORA_MOBILE, body)
    second = await sending.send(db, team.bob, DORA_MOBILE, body)
    assert second.body == again == body
    assert second.segments == 1


async def test_the_notice_counted_is_the_one_in_settings(db: Database, team: Team) -> None:
    await settings.update(db, team.dana, optout_notice="Text STOP to opt out.")
    assert await outgoing.notice_for(db, STRANGER) == "Text STOP to opt out."
    expected = await outgoing.text_to_send(db, STRANGER, "Hello")
    assert (await sending.send(db, team.alice, STRANGER, "Hello")).body == expected


def test_the_rewrite_is_judged_on_body_and_notice() -> None:
    # One curly apostrophe: 60 characters are one UCS-2 segment alone, so
    # alone there is nothing to save; with the notice it is 2 UCS-2 vs 1 GSM-7.
    body = "We’ll call you back " + "a" * 40
    assert segments.smart_encoding(body) is None
    offer = outgoing.smart_encoding_for(body, NOTICE)
    assert offer is not None
    assert offer.text == "We'll call you back " + "a" * 40, "only the body is rewritten"
    assert offer.replaced == 1
    assert offer.segments_saved == 1
    assert offer.count == segments.count(outgoing.with_notice(offer.text, NOTICE))


def test_no_rewrite_is_offered_when_the_notice_itself_forces_ucs2() -> None:
    body = "We’ll call you back " + "a" * 40
    assert outgoing.smart_encoding_for(body, "Reply “STOP” to opt out") is None


def test_without_a_notice_the_rewrite_is_the_plain_one() -> None:
    body = "“ok” " * 30
    assert outgoing.smart_encoding_for(body, None) == segments.smart_encoding(body)
    assert outgoing.smart_encoding_for(body, NOTICE) is not None
