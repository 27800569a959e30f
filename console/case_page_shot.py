"""screenshots/case-page.png: the demo case's mobile page at phone size, in headless Chromium.

The page is served from the demo database (the screenshots' fixed clock) on a
free local port, through a fresh link for the case's first texted contact.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from console import chromium
from core.cases import links
from core.db import Database

NAME = "case-page.png"


async def _token(db: Database) -> str | None:
    """A new link for the demo case's first texted contact, with the last note they got."""
    row = await db.fetchone(
        "SELECT cc.case_id, cc.contact_id,"
        " (SELECT max(r.note_id) FROM case_note_recipients r JOIN case_notes n ON n.id = r.note_id"
        "  WHERE n.case_id = cc.case_id AND r.contact_id = cc.contact_id) AS note_id"
        " FROM case_contacts cc JOIN cases c ON c.id = cc.case_id"
        " WHERE cc.sms_enabled = 1 AND c.status = 'open' ORDER BY cc.case_id, cc.added_at LIMIT 1"
    )
    if row is None:
        return None
    async with db.transaction() as tx:
        url = await links.issue_in(tx, row["case_id"], row["contact_id"], row["note_id"])
    return url.rsplit("/c/", 1)[1]


def _save(url: str, path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver: Any
    driver, user_data = chromium.start(chromium.PHONE)
    try:
        driver.get(url)
        WebDriverWait(driver, chromium.WAIT_SECONDS).until(
            ec.presence_of_element_located((By.CSS_SELECTOR, "#case-title"))
        )
        if not driver.save_screenshot(str(path)):
            raise RuntimeError(f"chromium could not save {path}")
    finally:
        chromium.stop(driver, user_data)


async def shoot(db: Database, out: Path) -> Path | str:
    """``out``/case-page.png, or why it was not made."""
    reason = chromium.missing()
    if reason is not None:
        return reason
    token = await _token(db)
    if token is None:
        return "the demo data has no open case with a texted contact"
    from providers.case_page import PageServer

    server = PageServer(db, "127.0.0.1", 0)
    await server.start()
    try:
        path = out / NAME
        await asyncio.to_thread(_save, f"{server.url}/c/{token}", path)
        return path
    finally:
        await server.stop()
