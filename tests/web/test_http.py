"""The mobile case page over real HTTP (aiohttp on 127.0.0.1, a real SQLite file): the
security headers, the form token and Origin checks, bad links showing nothing, text shown
literally, post/redirect/get."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from core import settings
from core.cases import case_contacts, cases, links, page
from core.clock import FakeClock
from core.db import Database
from core.people import contacts
from core.people.authz import SYSTEM
from core.people.contacts import ContactDraft
from providers.case_page import forms, security
from providers.webhooks import WebhookServer
from tests.web.conftest import Scene, link_of

NOT_VALID = "This link is not valid or has expired"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[int, str, aiohttp.ClientResponse]:
    async with http.get(url, allow_redirects=False) as answer:
        return answer.status, await answer.text(), answer


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found[1]


async def test_the_case_shows_the_notes_with_every_security_header(
    db: Database, scene: Scene, server: WebhookServer, http: aiohttp.ClientSession
) -> None:
    status, html, answer = await _get(http, f"{server.url}/c/{scene.token}")
    assert status == 200
    assert "Brake pads" in html
    assert scene.code in html
    assert "Pads fitted, ready at 5pm" in html
    assert 'From <b class="from">Alice Moreau</b>' in html
    for name, value in security.HEADERS.items():
        assert answer.headers[name] == value
    status, css, answer = await _get(http, f"{server.url}/c/static/page.css")
    assert status == 200
    assert answer.content_type == "text/css"
    assert "body" in css
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("how", ["forged", "expired", "revoked", "removed", "garbage"])
async def test_a_bad_link_shows_no_case_data(
    db: Database,
    clock: FakeClock,
    scene: Scene,
    server: WebhookServer,
    http: aiohttp.ClientSession,
    how: str,
) -> None:
    token = scene.token
    if how == "forged":
        token = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    elif how == "expired":
        clock.advance(timedelta(days=15))  # case_link_days is 14
    elif how == "revoked":
        async with db.transaction() as tx:
            case = await cases.find(tx, scene.code)
            await links.revoke_in(tx, case_id=case.id, contact_id=scene.carl)
    elif how == "removed":
        await case_contacts.remove(db, scene.alice, scene.code, scene.carl)
    else:
        token = "<script>alert(1)</script>"
    for path in ("", "/note", "/recipients", "/email"):
        status, html, answer = await _get(http, f"{server.url}/c/{token}{path}")
        assert status == 404
        assert NOT_VALID in html
        assert "Brake pads" not in html
        assert scene.code not in html
        assert "<script>" not in html
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
    async with http.post(f"{server.url}/c/{token}/note", data={"body": "x"}) as answer:
        assert answer.status == 404
        assert "Brake pads" not in await answer.text()


async def test_a_post_needs_the_form_token_of_this_link_and_our_origin(
    db: Database, scene: Scene, server: WebhookServer, http: aiohttp.ClientSession
) -> None:
    base = f"{server.url}/c/{scene.token}"
    _, html, _ = await _get(http, f"{base}/note")
    good = _csrf(html)
    dora_token = await _dora_token(db, scene)
    _, dora_html, _ = await _get(http, f"{server.url}/c/{dora_token}/note")
    refusals = [
        ({"body": "no token"}, {}),
        ({"body": "wrong token", "csrf": "abc"}, {}),
        ({"body": "Dora's token", "csrf": _csrf(dora_html)}, {}),
        ({"body": "another site", "csrf": good}, {"Origin": "https://evil.example"}),
        ({"body": "cross-site", "csrf": good}, {"Origin": "null", "Sec-Fetch-Site": "cross-site"}),
        ({"body": "same-site", "csrf": good}, {"Sec-Fetch-Site": "same-site"}),
    ]
    for data, headers in refusals:
        async with http.post(
            f"{base}/note", data=data, headers=headers, allow_redirects=False
        ) as answer:
            assert answer.status == 403, data
            text = await answer.text()
            assert "Not sent" in text
            assert "Brake pads" not in text
            assert (
                answer.headers["Content-Security-Policy"]
                == security.HEADERS["Content-Security-Policy"]
            )
    assert await db.scalar("SELECT count(*) FROM case_notes WHERE source = 'page'") == 0
    async with http.post(
        f"{base}/note",
        data={"body": "From my phone", "csrf": good, "to": str(scene.dora)},
        # Chromium's own post from the page: Origin null (Referrer-Policy no-referrer).
        headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"},
        allow_redirects=False,
    ) as answer:
        assert answer.status == 303
        assert answer.headers["Location"] == f"/c/{scene.token}?done=sent"
    row = await db.fetchone(
        "SELECT n.author_contact_id, r.contact_id FROM case_notes n"
        " JOIN case_note_recipients r ON r.note_id = n.id WHERE n.source = 'page'"
    )
    assert (row[0], row[1]) == (scene.carl, scene.dora)
    async with http.post(
        f"{base}/note",
        data={"body": "From our own origin", "csrf": good},
        headers={"Origin": server.url},
        allow_redirects=False,
    ) as answer:
        assert answer.status == 303


async def _dora_token(db: Database, scene: Scene) -> str:
    return await link_of(db, scene.note_id, scene.dora)


async def test_a_script_laden_note_is_shown_as_text(
    db: Database, scene: Scene, server: WebhookServer, http: aiohttp.ClientSession
) -> None:
    grant = await links.verify(db, scene.token)
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)> {{ 7*7 }} &amp;'
    await page.add_note(db, grant, hostile, [scene.dora])
    _, html, _ = await _get(http, f"{server.url}/c/{scene.token}")
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert (
        "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    )
    assert "{{ 7*7 }} &amp;amp;" in html


async def test_a_note_over_2000_characters_is_refused_and_kept(
    db: Database, scene: Scene, server: WebhookServer, http: aiohttp.ClientSession
) -> None:
    base = f"{server.url}/c/{scene.token}"
    _, html, _ = await _get(http, f"{base}/note")
    long_note = "é" * 2001
    async with http.post(
        f"{base}/note", data={"body": long_note, "csrf": _csrf(html)}, allow_redirects=False
    ) as answer:
        assert answer.status == 400
        text = await answer.text()
    assert "Not sent: a note is at most 2000 characters, not 2001" in text
    assert f">{long_note}</textarea>" in text
    assert await db.scalar("SELECT count(*) FROM case_notes WHERE source = 'page'") == 0


async def test_an_oversized_body_is_refused_with_a_clear_page(
    scene: Scene, server: WebhookServer, http: aiohttp.ClientSession
) -> None:
    body = "body=" + "a" * (forms.MAX_FORM_BYTES + 10)
    for headers in ({}, {"Transfer-Encoding": "chunked"}):

        async def chunks(data: bytes = body.encode()) -> AsyncIterator[bytes]:
            yield data

        async with http.post(
            f"{server.url}/c/{scene.token}/note",
            data=chunks() if headers else body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            allow_redirects=False,
        ) as answer:
            assert answer.status == 413
            assert "a note may be at most 2,000 characters" in await answer.text()


async def test_email_is_saved_then_redirected(
    db: Database, scene: Scene, server: WebhookServer, http: aiohttp.ClientSession
) -> None:
    base = f"{server.url}/c/{scene.token}"
    _, html, _ = await _get(http, f"{base}/email")
    async with http.post(
        f"{base}/email", data={"email": "not an address", "csrf": _csrf(html)}
    ) as answer:
        assert answer.status == 400
        text = await answer.text()
        assert "Not saved:" in text
        assert 'value="not an address"' in text
    async with http.post(
        f"{base}/email",
        data={"email": "carl@example.org", "csrf": _csrf(html)},
        allow_redirects=False,
    ) as answer:
        assert answer.status == 303
    assert (
        await db.scalar("SELECT email FROM contacts WHERE id = ?", (scene.carl,))
        == "carl@example.org"
    )


async def test_a_form_token_is_good_behind_the_configured_page_url(
    db: Database, scene: Scene, server: WebhookServer, http: aiohttp.ClientSession
) -> None:
    await settings.update(db, SYSTEM, case_page_url="https://cases.example.org")
    base = f"{server.url}/c/{scene.token}"
    _, html, _ = await _get(http, f"{base}/note")
    async with http.post(
        f"{base}/note",
        data={"body": "via the proxy", "csrf": _csrf(html)},
        headers={"Origin": "https://cases.example.org"},
        allow_redirects=False,
    ) as answer:
        assert answer.status == 303


async def test_a_kept_page_follows_every_change_and_never_outlives_its_link(
    db: Database, scene: Scene, server: WebhookServer, http: aiohttp.ClientSession
) -> None:
    url = f"{server.url}/c/{scene.token}"
    _, before, _ = await _get(http, url)
    _, again, _ = await _get(http, url)
    assert again == before
    watch = server.case_page.watch
    dora = await links.verify(db, await link_of(db, scene.note_id, scene.dora))
    await page.add_note(db, dora, "Invoice attached", [scene.carl])
    await watch.tick()  # one watch interval on
    _, after, _ = await _get(http, url)
    assert "Invoice attached" in after
    await cases.edit(db, scene.alice, scene.code, title="Brake pads and discs")
    await watch.tick()
    _, renamed, _ = await _get(http, url)
    assert "Brake pads and discs" in renamed
    async with db.transaction() as tx:
        case = await cases.find(tx, scene.code)
        await links.revoke_in(tx, case_id=case.id, contact_id=scene.carl)
    await watch.tick()
    status, revoked, _ = await _get(http, url)
    assert status == 404
    assert "Brake pads" not in revoked


async def test_a_recipient_off_the_case_is_refused_without_naming_them(
    db: Database, scene: Scene, server: WebhookServer, http: aiohttp.ClientSession
) -> None:
    # Someone else's customer, in the same contact book: a link's holder must not
    # learn their name (nor whether an id exists) by posting to it.
    stranger = await contacts.create(
        db, SYSTEM, ContactDraft(name="Zed Outsider", phones=[("+12125550199", "mobile")])
    )
    base = f"{server.url}/c/{scene.token}"
    _, html, _ = await _get(http, f"{base}/note")
    for target in (stranger.id, stranger.id + 1000):
        async with http.post(
            f"{base}/note",
            data={"body": "Hello there", "csrf": _csrf(html), "to": [str(scene.dora), str(target)]},
            allow_redirects=False,
        ) as answer:
            assert answer.status == 400
            text = await answer.text()
        assert "Not sent: a note goes only to this case&#39;s contacts" in text
        assert "Zed Outsider" not in text
        assert f"contact {target}" not in text
        assert ">Hello there</textarea>" in text
    assert await db.scalar("SELECT count(*) FROM case_notes WHERE source = 'page'") == 0


async def test_a_form_sent_in_pieces_is_read_whole_and_held_to_the_limit(
    db: Database, scene: Scene, server: WebhookServer, http: aiohttp.ClientSession
) -> None:
    base = f"{server.url}/c/{scene.token}"
    _, html, _ = await _get(http, f"{base}/note")
    note = "x" * 1_500 + "END"
    whole = f"csrf={_csrf(html)}&body={note}".encode()
    over = b"body=" + b"a" * (forms.MAX_FORM_BYTES - 10)

    def pieces(data: bytes, size: int) -> Callable[[], AsyncIterator[bytes]]:
        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(data), size):
                yield data[start : start + size]

        return chunks

    form = {"Content-Type": "application/x-www-form-urlencoded"}
    async with http.post(
        f"{base}/note", data=pieces(whole, 100)(), headers=form, allow_redirects=False
    ) as answer:
        assert answer.status == 303
    assert await db.scalar("SELECT body FROM case_notes WHERE source = 'page'") == note
    async with http.post(
        f"{base}/note", data=pieces(over * 2, 8_000)(), headers=form, allow_redirects=False
    ) as answer:
        assert answer.status == 413


async def test_a_forged_and_a_revoked_link_make_the_same_read_and_answer_alike(
    db: Database,
    scene: Scene,
    server: WebhookServer,
    http: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads = _count_reads(db, monkeypatch)
    assert (await _get(http, f"{server.url}/c/{scene.token}"))[0] == 200  # the key is read
    forged = scene.token[:-3] + ("AAA" if not scene.token.endswith("AAA") else "BBB")
    answers = []
    for token in (forged, "x" * 300, None):
        if token is None:
            async with db.transaction() as tx:
                case = await cases.find(tx, scene.code)
                await links.revoke_in(tx, case_id=case.id, contact_id=scene.carl)
            await server.case_page.watch.tick()
            token = scene.token
        reads.clear()
        status, html, answer = await _get(http, f"{server.url}/c/{token}")
        assert len(reads) == 1, reads
        headers = {k: v for k, v in answer.headers.items() if k != "Date"}
        answers.append((status, html, headers))
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 404


def _count_reads(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement read through ``db`` from now on, but the feed watch's own."""
    reads: list[str] = []
    fetchall = db.fetchall

    async def counted(sql: str, params: Any = ()) -> Any:
        if sql != _WATCH_READ:
            reads.append(sql)
        return await fetchall(sql, params)

    monkeypatch.setattr(db, "fetchall", counted)
    return reads


_WATCH_READ = "SELECT coalesce(max(id), 0) FROM events"


async def test_a_kept_page_is_answered_without_a_read_until_its_link_expires(
    db: Database,
    clock: FakeClock,
    scene: Scene,
    server: WebhookServer,
    http: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"{server.url}/c/{scene.token}"
    reads = _count_reads(db, monkeypatch)
    assert (await _get(http, url))[0] == 200
    await server.case_page.watch.tick()
    reads.clear()
    status, html, _ = await _get(http, url)
    assert (status, reads) == (200, [])
    assert "Brake pads" in html
    # Expiry needs no event: the clock alone ends a kept check.
    clock.advance(timedelta(days=15))  # case_link_days is 14
    status, html, _ = await _get(http, url)
    assert status == 404
    assert "Brake pads" not in html


@pytest.mark.parametrize("how", ["revoked", "removed", "days"])
async def test_a_change_to_a_kept_link_shows_after_one_watch_interval(
    db: Database,
    clock: FakeClock,
    scene: Scene,
    server: WebhookServer,
    http: aiohttp.ClientSession,
    how: str,
) -> None:
    url = f"{server.url}/c/{scene.token}"
    assert (await _get(http, url))[0] == 200
    await server.case_page.watch.tick()
    assert (await _get(http, url))[0] == 200  # kept
    clock.advance(timedelta(days=3))
    if how == "revoked":
        await case_contacts.revoke_links(db, scene.alice, scene.code, scene.carl)
    elif how == "removed":
        await case_contacts.remove(db, scene.alice, scene.code, scene.carl)
    else:
        await settings.update(db, SYSTEM, case_link_days=2)
    await server.case_page.watch.tick()  # the watch's next read
    status, html, answer = await _get(http, url)
    assert status == 404
    assert NOT_VALID in html
    assert "Brake pads" not in html
    assert answer.headers["Cache-Control"] == "no-store"


async def test_an_error_inside_the_page_shows_no_data(
    db: Database,
    scene: Scene,
    server: WebhookServer,
    http: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(*args: object) -> None:
        raise RuntimeError("Brake pads: Carl Mensah +12125550101")

    monkeypatch.setattr(page, "view", broken)
    status, text, answer = await _get(http, f"{server.url}/c/{scene.token}")
    assert status == 500
    assert "Brake pads" not in text
    assert "Carl" not in text
    assert "Traceback" not in text
    for name, value in security.HEADERS.items():
        assert answer.headers[name] == value


async def test_a_redirect_after_a_post_goes_to_our_own_route_only(
    db: Database, scene: Scene, server: WebhookServer, http: aiohttp.ClientSession
) -> None:
    base = f"{server.url}/c/{scene.token}"
    _, html, _ = await _get(http, f"{base}/email")
    async with http.post(
        f"{base}/email?next=https://evil.example",
        data={"email": "carl@example.org", "csrf": _csrf(html), "next": "//evil.example"},
        headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"},
        allow_redirects=False,
    ) as answer:
        assert answer.status == 303
        assert answer.headers["Location"] == f"/c/{scene.token}?done=email"


async def test_the_recipient_search_finds_a_phone_typed_whole_never_a_part(
    db: Database, scene: Scene, server: WebhookServer, http: aiohttp.ClientSession
) -> None:
    """Dora's number (+12125550102) is never on the page: a search by part of it finds
    no one, or a link's holder could read it digit by digit; typed whole, it finds her."""
    base = f"{server.url}/c/{scene.token}/recipients?body=Hi&q="
    for part in ("555", "5550102", "212555010", "%2B1212"):
        status, html, _ = await _get(http, base + part)
        assert status == 200
        assert "No contact of this case matches." in html, part
        assert "Dora" not in html, part
    status, html, _ = await _get(http, base + "%28212%29%20555-0102")
    assert status == 200
    assert '<span class="name">Dora Lindqvist</span>' in html
    assert "+12125550102" not in html


async def test_a_note_typed_into_the_recipients_url_is_not_carried(
    scene: Scene, server: WebhookServer, http: aiohttp.ClientSession
) -> None:
    """A note's text is posted, never put in a URL; one typed into the query by hand is
    dropped, so the page does not carry it on into its form (or a browser's history)."""
    status, html, _ = await _get(
        http, f"{server.url}/c/{scene.token}/recipients?body=Secret+words&q="
    )
    assert status == 200
    assert "Secret words" not in html
    assert 'name="q"' in html  # the search itself still works from the URL


async def test_the_recipients_form_is_posted_with_the_form_token(
    db: Database, scene: Scene, server: WebhookServer, http: aiohttp.ClientSession
) -> None:
    """Edit and Search post the note's text (never in a URL), so they are held to the same
    checks as every form: this link's token and our own origin."""
    url = f"{server.url}/c/{scene.token}"
    _, compose, _ = await _get(http, f"{url}/note")
    assert f'formaction="/c/{scene.token}/recipients" name="edit"' in compose
    assert 'formmethod="get"' not in compose
    headers = {"Origin": server.url}
    fields = {"body": "Who pays?", "q": "account", "edit": "1"}
    async with http.post(f"{url}/recipients", data=fields, headers=headers) as answer:
        assert answer.status == 403  # no form token
    fields["csrf"] = _csrf(compose)
    async with http.post(f"{url}/recipients", data=fields, headers=headers) as answer:
        html = await answer.text()
        assert answer.status == 200
    assert '<span class="name">Erin Tanaka</span>' in html
    assert "Dora" not in html
    assert 'value="Who pays?"' in html  # carried in the form, not the URL
    fields |= {"csrf": _csrf(html), "to": str(scene.erin), "back": "1"}
    async with http.post(f"{url}/note", data=fields, headers=headers) as answer:
        html = await answer.text()
        assert answer.status == 200
    assert "Erin Tanaka · Accountant" in html
    assert "Who pays?</textarea>" in html
    count = await db.scalar("SELECT count(*) FROM case_notes WHERE source = 'page'")
    assert count == 0  # Save recipients sends nothing
