"""Headless Chromium through chromedriver (Selenium), driven from async tests.

Selenium blocks: every call goes through ``asyncio.to_thread`` so the page's
server, on the test's event loop, answers meanwhile. Waits are on conditions
(WebDriverWait), with timeouts generous enough for a loaded machine.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WAIT_SECONDS = 60.0
T = TypeVar("T")

needs_chromium = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason=f"the browser tests need Debian's chromium ({CHROMIUM}) and chromedriver"
    f" ({CHROMEDRIVER}); `make browser` installs them",
)


def options(user_data: str, size: tuple[int, int] = (390, 844)) -> Any:
    from selenium import webdriver

    chosen = webdriver.ChromeOptions()
    chosen.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--window-size={size[0]},{size[1]}",
        f"--user-data-dir={user_data}",
    ):
        chosen.add_argument(flag)
    return chosen


def start(size: tuple[int, int] = (390, 844)) -> tuple[Any, str]:
    """A new headless Chromium (blocking) and its scratch profile folder."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    user_data = tempfile.mkdtemp(prefix="switchboard-chromium-")
    try:
        driver = webdriver.Chrome(
            options=options(user_data, size), service=Service(str(CHROMEDRIVER))
        )
    except BaseException:
        shutil.rmtree(user_data, ignore_errors=True)
        raise
    driver.set_page_load_timeout(WAIT_SECONDS)
    return driver, user_data


def stop(driver: Any, user_data: str) -> None:
    try:
        driver.quit()
    finally:
        shutil.rmtree(user_data, ignore_errors=True)


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
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        old = await self.wait_for("html")
        await self.click(css)
        await self.run(WebDriverWait(self.driver, WAIT_SECONDS).until, ec.staleness_of(old))
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


@asynccontextmanager
async def browser(size: tuple[int, int] = (390, 844)) -> AsyncIterator[Browser]:
    driver, user_data = await asyncio.to_thread(start, size)
    try:
        yield Browser(driver)
    finally:
        await asyncio.to_thread(stop, driver, user_data)
