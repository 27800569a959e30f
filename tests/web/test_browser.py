"""The mobile case page in a real headless Chromium (Selenium), at phone size: open a link,
reply, reply all, edit recipients, create a note, add an email; a forged link shows nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from core.cases import links, page
from core.db import Database
from providers.webhooks import WebhookServer
from tests.web import browser as chromium
from tests.web.conftest import Scene, link_of

pytestmark = chromium.needs_chromium


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    """One Chromium for the module (it is slow to start); each test opens its own pages."""
    started, user_data = chromium.start()
    try:
        yield started
    finally:
        chromium.stop(started, user_data)


@pytest.fixture
async def browser(driver: Any) -> AsyncIterator[chromium.Browser]:
    yield chromium.Browser(driver)
    await chromium.Browser(driver).run(driver.delete_all_cookies)


async def _page_notes(db: Database) -> list[tuple[int, str, list[int]]]:
    rows = await db.fetchall(
        "SELECT n.id, n.author_contact_id, n.body, n.reply_to,"
        " (SELECT group_concat(contact_id) FROM case_note_recipients r WHERE r.note_id = n.id)"
        " AS recipients FROM case_notes n WHERE n.source = 'page' ORDER BY n.id"
    )
    return [
        (r["author_contact_id"], r["body"], sorted(int(i) for i in (r[4] or "").split(",") if i))
        for r in rows
    ]


async def test_open_a_link_and_read_the_original_note(
    db: Database, scene: Scene, server: WebhookServer, browser: chromium.Browser
) -> None:
    await browser.open(f"{server.url}/c/{scene.token}")
    assert await browser.text("#case-title") == "Brake pads"
    assert await browser.text("#case-code") == scene.code
    original = await browser.text("article.original")
    assert "Pads fitted, ready at 5pm" in original
    assert "From Alice Moreau to Carl Mensah, Dora Lindqvist" in original


async def test_reply_to_another_contacts_note(
    db: Database, scene: Scene, server: WebhookServer, browser: chromium.Browser
) -> None:
    dora = await links.verify(db, await link_of(db, scene.note_id, scene.dora))
    asked = await page.add_note(db, dora, "Can you bring the invoice?", [scene.carl])
    await browser.open(f"{server.url}/c/{scene.token}")
    await browser.click_and_wait(f"#note-{asked.note_id} a.reply", "#send-to")
    assert await browser.texts("#send-to li") == ["Dora Lindqvist · Fleet manager"]
    await browser.click("#original summary")
    assert "Can you bring the invoice?" in await browser.text("#original")
    await browser.type("#body", "Yes, at 5pm <b>sharp</b>")
    await browser.click_and_wait("#send", "#flash")
    assert await browser.text("#flash") == "Your note was sent."
    newest = await browser.text("article")
    assert "From Carl Mensah to Dora Lindqvist" in newest
    assert "Yes, at 5pm <b>sharp</b>" in newest
    [*_, (author, body, to)] = await _page_notes(db)
    assert (author, body, to) == (scene.carl, "Yes, at 5pm <b>sharp</b>", [scene.dora])


async def test_reply_all(
    db: Database, scene: Scene, server: WebhookServer, browser: chromium.Browser
) -> None:
    await browser.open(f"{server.url}/c/{scene.token}")
    await browser.click_and_wait(f"#note-{scene.note_id} a.reply-all", "#send-to")
    assert await browser.texts("#send-to li") == ["Dora Lindqvist · Fleet manager"]
    await browser.type("#body", "Thanks both")
    await browser.click_and_wait("#send", "#flash")
    assert await _page_notes(db) == [(scene.carl, "Thanks both", [scene.dora])]


async def test_edit_recipients_by_job_title_keeps_the_note(
    db: Database, scene: Scene, server: WebhookServer, browser: chromium.Browser
) -> None:
    await browser.open(f"{server.url}/c/{scene.token}")
    await browser.click_and_wait("#create-note", "#body")
    await browser.type("#body", "Who pays the pads?")
    await browser.click_and_wait("#edit-recipients", "#q")
    assert await browser.texts("#people .name") == ["Dora Lindqvist", "Erin Tanaka"]
    await browser.type("#q", "ACCOUNT")
    await browser.click_and_wait("#search", "#people")
    assert await browser.texts("#people .name") == ["Erin Tanaka"]
    # Posted, never in a URL (history, proxies' logs): the note's text and the search.
    assert await browser.run(lambda: browser.driver.current_url) == (
        f"{server.url}/c/{scene.token}/recipients"
    )
    await browser.click("#people input[type=checkbox]")
    await browser.click_and_wait("#save-recipients", "#send-to")
    assert await browser.texts("#send-to li") == ["Erin Tanaka · Accountant"]
    assert await browser.run(lambda: browser.driver.current_url) == (
        f"{server.url}/c/{scene.token}/note"
    )
    assert await _page_notes(db) == []  # saving the recipients sent nothing
    body = await browser.wait_for("#body")
    assert await browser.run(body.get_attribute, "value") == "Who pays the pads?"
    await browser.click_and_wait("#send", "#flash")
    assert await _page_notes(db) == [(scene.carl, "Who pays the pads?", [scene.erin])]


async def test_create_a_note_for_the_service_team(
    db: Database, scene: Scene, server: WebhookServer, browser: chromium.Browser
) -> None:
    await browser.open(f"{server.url}/c/{scene.token}")
    await browser.click_and_wait("#create-note", "#body")
    assert await browser.texts("#send-to li") == [
        "The service team only (choose contacts with Edit)"
    ]
    await browser.type("#body", "I will be late")
    await browser.click_and_wait("#send", "#flash")
    assert "I will be late" in await browser.text("article")
    assert await _page_notes(db) == [(scene.carl, "I will be late", [])]


async def test_add_an_email(
    db: Database, scene: Scene, server: WebhookServer, browser: chromium.Browser
) -> None:
    await browser.open(f"{server.url}/c/{scene.token}")
    await browser.click_and_wait("#add-email", "#email")
    await browser.type("#email", "carl@example.org")
    await browser.click_and_wait("#save-email", "#flash")
    assert await browser.text("#flash") == "Your email address was saved."
    assert await browser.text("#add-email") == "Change email"
    assert (
        await db.scalar("SELECT email FROM contacts WHERE id = ?", (scene.carl,))
        == "carl@example.org"
    )


async def test_a_forged_link_shows_no_case_data(
    scene: Scene, server: WebhookServer, browser: chromium.Browser
) -> None:
    forged = scene.token[:-4] + ("AAAA" if not scene.token.endswith("AAAA") else "BBBB")
    await browser.open(f"{server.url}/c/{forged}")
    assert "This link is not valid or has expired" in await browser.text("#message")
    html = await browser.source()
    assert "Brake pads" not in html
    assert scene.code not in html
