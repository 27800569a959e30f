"""C4: signed, expiring links to the mobile case page, one per contact, case and note.

A link is a ``case_links`` row (who, which case, the note it came with, when
it expires, whether it was revoked) and a token that signs that row's id with
the case and the contact: itsdangerous, a secret kept in the database (so the
console, the CLI and the worker sign and check alike), a purpose salt (a
token made for one purpose never passes for another: the page's forms sign
with their own) and a timestamp read from the product's clock.

A token is good only while everything holds: the signature, its age, the
row's expiry, no revocation, and the contact still on the case. Whatever
fails, the caller learns only ``LinkInvalid``: the page shows the same plain
page for a forged, an expired and a revoked link, so it tells an attacker
nothing.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, Final
from weakref import WeakKeyDictionary

from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer

from core.clock import Clock, to_ms
from core.db import Database, Tx
from core.errors import SwitchboardError
from core.records import record
from core.settings import RULES, STORED_AS_JSON, Number, Settings, load_in
from core.settings import from_json as settings_from_json

LINK_SALT: Final = "switchboard.case-link"
FORM_SALT: Final = "switchboard.case-form"
"""The page's forms carry the link id signed with this salt (a CSRF token)."""
_KEY_PURPOSE: Final = "case-link"
_DAY_MS: Final = 86_400_000
_DAYS_RULE = RULES["case_link_days"]
assert isinstance(_DAYS_RULE, Number)
_LONGEST_S: Final = int(_DAYS_RULE.high) * 86_400
"""No setting makes a link live longer; the setting itself is checked after the read."""


class LinkInvalid(SwitchboardError):
    """A case link or form token that is forged, expired, revoked or no longer the contact's."""


@record
class Grant:
    """What a good link lets its holder do: act as this contact on this case."""

    link_id: int
    case_id: int
    contact_id: int
    note_id: int | None
    """The note the link was sent with (the page shows it as the original note)."""


_SIGNERS: WeakKeyDictionary[Clock, type[TimestampSigner]] = WeakKeyDictionary()
_SECRETS: WeakKeyDictionary[Database, str] = WeakKeyDictionary()
"""The signing key, once read: it is made once and never changes (no code replaces it)."""


def _clock_signer(clock: Clock) -> type[TimestampSigner]:
    signer = _SIGNERS.get(clock)
    if signer is None:

        class ClockSigner(TimestampSigner):
            # itsdangerous reads time.time(); the product's clock is the one that
            # moves in tests and that expiry is defined against.
            def get_timestamp(self) -> int:
                return int(clock.now().timestamp())

        signer = _SIGNERS[clock] = ClockSigner
    return signer


def _serializer(secret: str, clock: Clock, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=salt, signer=_clock_signer(clock))


async def _secret_in(tx: Tx) -> str:
    row = await tx.fetchone("SELECT secret FROM signing_keys WHERE purpose = ?", (_KEY_PURPOSE,))
    if row is not None:
        return str(row["secret"])
    secret = secrets.token_urlsafe(32)
    await tx.execute(
        "INSERT INTO signing_keys (purpose, secret, created_at) VALUES (?, ?, ?)",
        (_KEY_PURPOSE, secret, tx.now_ms),
    )
    return secret


async def _secret(db: Database) -> str | None:
    kept = _SECRETS.get(db)
    if kept is not None:
        return kept
    value = await db.scalar("SELECT secret FROM signing_keys WHERE purpose = ?", (_KEY_PURPOSE,))
    if value is None:
        return None
    _SECRETS[db] = str(value)
    return str(value)


async def issue_in(tx: Tx, case_id: int, contact_id: int, note_id: int | None = None) -> str:
    """A new link for ``contact_id`` on ``case_id`` (sent with ``note_id``): its URL."""
    config = await load_in(tx)
    link_id = await tx.insert(
        "INSERT INTO case_links (case_id, contact_id, note_id, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (case_id, contact_id, note_id, tx.now_ms, tx.now_ms + config.case_link_days * _DAY_MS),
    )
    token = _serializer(await _secret_in(tx), tx.clock, LINK_SALT).dumps(
        [link_id, case_id, contact_id]
    )
    return f"{config.case_page_url}/c/{token}"


def _loads(secret: str, clock: Clock, salt: str, token: str, max_age_s: int) -> Any:
    try:
        return _serializer(secret, clock, salt).loads(token, max_age=max_age_s)
    except BadData:
        raise LinkInvalid("this link is not valid") from None


def _signed(secret: str | None, clock: Clock, token: str) -> tuple[list[int], int] | None:
    """The link's (id, case, contact) and when it was signed, if the signature holds."""
    if secret is None or len(token) > 200:
        return None
    try:
        payload, signed_at = _serializer(secret, clock, LINK_SALT).loads(
            token, max_age=_LONGEST_S, return_timestamp=True
        )
    except BadData:
        return None
    if (
        not isinstance(payload, list)
        or len(payload) != 3
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in payload)
    ):
        return None
    return payload, int(signed_at.timestamp())


_CHECK: Final = (
    "SELECT " + STORED_AS_JSON + " AS settings,"
    " (SELECT coalesce(max(id), 0) FROM events) AS feed_id, l.id AS link_id, l.note_id,"
    " l.expires_at"
    " FROM (SELECT 1) LEFT JOIN case_links l ON l.id = ? AND l.case_id = ? AND l.contact_id = ?"
    " AND l.revoked_at IS NULL AND l.expires_at > ? AND EXISTS (SELECT 1 FROM case_contacts cc"
    " WHERE cc.case_id = l.case_id AND cc.contact_id = l.contact_id)"
)


@record
class Checked:
    """A good link's grant, with what was read alongside it in the same statement."""

    grant: Grant
    settings: Settings
    feed_id: int
    """The change feed's last event as the link was checked (a page read after it is
    at least this fresh)."""
    expires_ms: int
    """The row's expiry (``case_links.expires_at``)."""
    signed_s: int
    """When the token was signed (its age is held to ``case_link_days``)."""


def still_good(checked: Checked, now: datetime) -> bool:
    """Whether a check made earlier still holds at ``now`` on time alone: the row's
    expiry and the token's age. Everything else a link needs (not revoked, the
    contact on the case, the settings) changes only with an event in the feed, so
    a caller that keeps a check must drop it when the feed moves."""
    return to_ms(now) < checked.expires_ms and (
        int(now.timestamp()) - checked.signed_s <= checked.settings.case_link_days * 86_400
    )


async def check(db: Database, token: str) -> Checked:
    """``verify``, with the settings and the change feed's position read in the same
    statement (one read for the page's most frequent request).

    A forged token makes the same read as a revoked one (for a row that cannot
    exist), so the two take alike and answer alike.
    """
    signed = _signed(await _secret(db), db.clock, token)
    link_id, case_id, contact_id = signed[0] if signed is not None else (0, 0, 0)
    now = db.clock.now()
    row = await db.fetchone(_CHECK, (link_id, case_id, contact_id, to_ms(now)))
    assert row is not None  # (SELECT 1) LEFT JOIN: always one row
    config = settings_from_json(row["settings"])
    if signed is None or row["link_id"] is None:
        raise LinkInvalid("this link is not valid")
    checked = Checked(
        Grant(link_id, case_id, contact_id, row["note_id"]),
        config,
        int(row["feed_id"]),
        int(row["expires_at"]),
        signed[1],
    )
    if not still_good(checked, now):
        raise LinkInvalid("this link is not valid")
    return checked


async def verify(db: Database, token: str) -> Grant:
    """The grant ``token`` gives, or LinkInvalid (forged, expired, revoked, contact removed)."""
    return (await check(db, token)).grant


def form_token(secret: str, clock: Clock, grant: Grant) -> str:
    """The CSRF token the page puts in its forms for ``grant``'s link."""
    return _serializer(secret, clock, FORM_SALT).dumps(grant.link_id)


async def form_secret(db: Database) -> str:
    """The key ``form_token`` and ``check_form_token`` sign with (one read per request)."""
    secret = await _secret(db)
    if secret is None:
        raise LinkInvalid("this link is not valid")
    return secret


def check_form_token(secret: str, clock: Clock, grant: Grant, token: str, max_age_s: int) -> None:
    """LinkInvalid unless ``token`` was made by ``form_token`` for this same link."""
    if _loads(secret, clock, FORM_SALT, token, max_age_s) != grant.link_id:
        raise LinkInvalid("this form is not valid for this link")


async def revoke_in(
    tx: Tx,
    *,
    case_id: int,
    contact_id: int,
    link_id: int | None = None,
    actor_id: int | None = None,
) -> int:
    """Revoke one link, or every link of ``contact_id`` on ``case_id``; how many were revoked."""
    sql = (
        "UPDATE case_links SET revoked_at = ?, revoked_by = ?"
        " WHERE case_id = ? AND contact_id = ? AND revoked_at IS NULL"
    )
    params: list[Any] = [tx.now_ms, actor_id, case_id, contact_id]
    if link_id is not None:
        sql += " AND id = ?"
        params.append(link_id)
    revoked = (await tx.execute(sql, params)).rowcount
    if revoked:
        # A page server keeps link checks until the feed moves: this is what moves it.
        await tx.emit("case.link_revoked", "case", case_id, case_id=case_id)
    return revoked
