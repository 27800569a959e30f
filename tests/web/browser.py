"""Headless Chromium through chromedriver (Selenium), driven from async tests.

Selenium blocks: every call goes through ``asyncio.to_thread`` so the page's
server, on the test's event loop, answers meanwhile. Waits are on conditions
(WebDriverWait), with timeouts generous enough for a loaded machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from console import chromium

T = TypeVar("T")
WAIT_SECONDS = chromium.WAIT_SECONDS
start, stop = chromium.start, chromium.stop

needs_chromium = pytest.mark.skipif(
    chromium.missing() is not None, reason=f"the browser tests need {chromium.missing()}"
)


class Browser:
    """A page in Chromium, each call run off the event loop."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    async def run(self, call: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(call, *args)

    async def open(self, url: str) -> None:
        await self.run(self.driver.get, url)

    async def wait_for(self, css: str) -> Any:
        """The element ``css`` names, once it is there."""
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        wait = WebDriverWait(self.driver, WAIT_SECONDS)
        try:
            return await self.run(
                wait.until, ec.presence_of_element_located((By.CSS_SELECTOR, css))
            )
        except TimeoutException:
            # What the page shows instead says why (a refusal, an error page).
            raise AssertionError(f"no {css!r} on the page:\n{await self.source()}") from None

    async def click(self, css: str) -> None:
        element = await self.wait_for(css)
        await self.run(element.click)

    async def click_and_wait(self, css: str, then: str) -> Any:
        """Click ``css`` and wait for the next page to show ``then`` (the old page gone)."""
        from selenium.webdriver.support.ui import WebDriverWait

        old = await self.wait_for("html")
        await self.click(css)
        await self.run(WebDriverWait(self.driver, WAIT_SECONDS).until, _gone(old))
        return await self.wait_for(then)

    async def type(self, css: str, text: str) -> None:
        element = await self.wait_for(css)
        await self.run(element.clear)
        await self.run(element.send_keys, text)

    async def text(self, css: str) -> str:
        element = await self.wait_for(css)
        return str(await self.run(lambda: element.text))

    async def texts(self, css: str) -> list[str]:
        from selenium.webdriver.common.by import By

        found = await self.run(self.driver.find_elements, By.CSS_SELECTOR, css)
        return [str(await self.run(lambda e=e: e.text)) for e in found]

    async def source(self) -> str:
        return str(await self.run(lambda: self.driver.page_source))


def _gone(old: Any) -> Callable[[Any], bool]:
    """Whether ``old`` has left the document: selenium's ``staleness_of``, also taking the
    error Chromium sometimes gives mid-navigation ("does not belong to the document")."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    def check(_driver: Any) -> bool:
        try:
            old.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:
            if "does not belong to the document" in str(exc):
                return True
            raise
        return False

    return check
