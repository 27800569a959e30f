"""C4: case links are signed, expire, can be revoked, and tell nothing when bad."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from core import settings
from core.cases import links
from core.cases.links import LinkInvalid
from core.clock import FakeClock
from core.db import Database
from core.people.authz import SYSTEM


async def _case(db: Database) -> tuple[int, int]:
    """A case with one contact on it, written straight into the schema."""
    async with db.transaction() as tx:
        now = tx.now_ms
        await tx.execute(
            "INSERT INTO locations (id, name, sender, created_at, updated_at)"
            " VALUES (1, 'Depot', '+15550000001', ?, ?)",
            (now, now),
        )
        await tx.execute(
            "INSERT INTO cases (id, code, title, location_id, created_at, updated_at)"
            " VALUES (1, 'K7QX2', 'Brakes', 1, ?, ?)",
            (now, now),
        )
        await tx.execute(
            "INSERT INTO contacts (id, name, created_at, updated_at) VALUES (1, 'Ann', ?, ?)",
            (now, now),
        )
        await tx.execute(
            "INSERT INTO case_contacts (case_id, contact_id, sms_enabled, phone, added_at)"
            " VALUES (1, 1, 1, '+15551230001', ?)",
            (now,),
        )
    return 1, 1


async def _issue(db: Database, note_id: int | None = None) -> str:
    async with db.transaction() as tx:
        return await links.issue_in(tx, 1, 1, note_id)


def _token(url: str) -> str:
    return urlsplit(url).path.removeprefix("/c/")


async def test_a_link_grants_its_contact_on_its_case(db: Database) -> None:
    await _case(db)
    url = await _issue(db)
    assert url.startswith("http://127.0.0.1:8780/c/")
    grant = await links.verify(db, _token(url))
    assert (grant.case_id, grant.contact_id, grant.note_id) == (1, 1, None)


async def test_the_url_follows_the_setting(db: Database) -> None:
    await _case(db)
    await settings.update(db, SYSTEM, case_page_url="https://sms.example.com/")
    assert (await _issue(db)).startswith("https://sms.example.com/c/")


@pytest.mark.parametrize(
    "bad", ["https://x.example.com/?a=1", "ftp://x.example.com", "not a url", "https://"]
)
async def test_a_bad_page_url_is_refused(db: Database, bad: str) -> None:
    with pytest.raises(Exception, match="case_page_url must be an http"):
        await settings.update(db, SYSTEM, case_page_url=bad)


async def test_a_tampered_token_is_refused(db: Database) -> None:
    await _case(db)
    token = _token(await _issue(db))
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(LinkInvalid):
        await links.verify(db, forged)
    with pytest.raises(LinkInvalid):
        await links.verify(db, "garbage")


async def test_a_token_for_another_row_does_not_pass(db: Database) -> None:
    """The signature covers the case and the contact: a row edited under it fails."""
    await _case(db)
    token = _token(await _issue(db))
    await db.write("INSERT INTO contacts (id, name, created_at, updated_at) VALUES (2, 'Bo', 0, 0)")
    await db.write("UPDATE case_links SET contact_id = 2")
    with pytest.raises(LinkInvalid):
        await links.verify(db, token)


async def test_a_link_expires_after_its_days(db: Database, clock: FakeClock) -> None:
    await _case(db)
    await settings.update(db, SYSTEM, case_link_days=2)
    token = _token(await _issue(db))
    clock.advance(days=2, seconds=-1)
    await links.verify(db, token)
    clock.advance(seconds=2)
    with pytest.raises(LinkInvalid):
        await links.verify(db, token)


async def test_a_revoked_link_and_a_removed_contact_fail(db: Database) -> None:
    await _case(db)
    first = _token(await _issue(db))
    second = _token(await _issue(db))
    async with db.transaction() as tx:
        grant = await links.verify(db, first)
        assert await links.revoke_in(tx, case_id=1, contact_id=1, link_id=grant.link_id) == 1
    with pytest.raises(LinkInvalid):
        await links.verify(db, first)
    await links.verify(db, second)
    await db.write("DELETE FROM case_contacts")
    with pytest.raises(LinkInvalid):
        await links.verify(db, second)


async def test_a_form_token_is_bound_to_its_link(db: Database, clock: FakeClock) -> None:
    await _case(db)
    one = await links.verify(db, _token(await _issue(db)))
    other = await links.verify(db, _token(await _issue(db)))
    secret = await links.form_secret(db)
    token = links.form_token(secret, clock, one)
    links.check_form_token(secret, clock, one, token, 3600)
    with pytest.raises(LinkInvalid):
        links.check_form_token(secret, clock, other, token, 3600)
    # A link token is not a form token: the salts differ.
    with pytest.raises(LinkInvalid):
        links.check_form_token(secret, clock, one, _token(await _issue(db)), 3600)


async def test_a_revocation_moves_the_feed_and_a_kept_check_holds_to_the_clock(
    db: Database, clock: FakeClock
) -> None:
    # A page server keeps checks until the feed moves: a revocation must move it,
    # and expiry (no event) is held against the clock by still_good.
    await _case(db)
    checked = await links.check(db, _token(await _issue(db)))
    assert links.still_good(checked, clock.now())
    clock.advance(timedelta(days=15))  # case_link_days is 14
    assert not links.still_good(checked, clock.now())
    async with db.transaction() as tx:
        assert await links.revoke_in(tx, case_id=1, contact_id=1) == 1
    row = await db.fetchone("SELECT kind, entity_id, data FROM events ORDER BY id DESC LIMIT 1")
    assert row is not None
    assert (row["kind"], row["entity_id"], json.loads(row["data"])) == (
        "case.link_revoked",
        1,
        {"case_id": 1},
    )
    async with db.transaction() as tx:
        assert await links.revoke_in(tx, case_id=1, contact_id=1) == 0  # nothing: no event
    assert await db.scalar("SELECT count(*) FROM events WHERE kind = 'case.link_revoked'") == 1
