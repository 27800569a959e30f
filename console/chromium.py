"""Debian's headless Chromium through chromedriver (Selenium): the mobile case page's
screenshot and browser tests. Selenium is a test dependency; nothing here runs in the
product itself."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PHONE = (390, 844)
"""A phone's viewport in CSS pixels (an iPhone 12-15)."""
WAIT_SECONDS = 60.0


def missing() -> str | None:
    """Why the browser cannot run here, or None when it can."""
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        return (
            f"Debian's chromium ({CHROMIUM}) and chromedriver ({CHROMEDRIVER}) are not both"
            " installed (`make browser` installs them)"
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


def start(size: tuple[int, int] = PHONE) -> tuple[Any, str]:
    """A new headless Chromium (blocking) and its scratch profile folder, for ``stop``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    user_data = tempfile.mkdtemp(prefix="switchboard-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
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
        options.add_argument(flag)
    try:
        driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    except BaseException:
        shutil.rmtree(user_data, ignore_errors=True)
        raise
    try:
        # The window has a minimum width (500) and its own chrome: the viewport is set
        # exactly, as a phone's, through the DevTools protocol.
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": True},
        )
        driver.set_page_load_timeout(WAIT_SECONDS)
    except BaseException:
        stop(driver, user_data)
        raise
    return driver, user_data


def stop(driver: Any, user_data: str) -> None:
    try:
        driver.quit()
    finally:
        shutil.rmtree(user_data, ignore_errors=True)
