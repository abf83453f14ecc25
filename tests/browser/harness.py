"""A real Chromium (Debian's package) driven by Playwright, watching what every page does.

`.ci/run` installs /usr/bin/chromium with apt-get when it is missing; Playwright's own browser
download is never used (`executable_path`). Each page records its console errors, failed
requests and every request to a host other than the dashboard's, and a screenshot of it can be
written under tests/artifacts/ (gitignored) for a person to look at.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PHONE = {"width": 390, "height": 844}  # an iPhone 12–15's CSS pixels
DESKTOP = {"width": 1366, "height": 900}
WIDTHS = {"phone": PHONE, "desktop": DESKTOP}


def chromium_or_skip() -> str:
    """The browser's path; on CI a missing browser fails the run instead of skipping it."""
    found = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    try:
        import playwright  # noqa: F401
    except ImportError:
        found = None
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium or Playwright is missing: .ci/run installs them")
        pytest.skip("no Chromium here (apt-get install chromium) or no playwright package")
    return found


@dataclass
class Watch:
    """What one page did besides rendering."""

    origin: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    other_hosts: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def clean(self) -> bool:
        return not (self.console_errors or self.page_errors or self.other_hosts or self.failed)

    def summary(self) -> str:
        return (
            f"console errors: {self.console_errors}; page errors: {self.page_errors}; "
            f"other hosts: {self.other_hosts}; failed requests: {self.failed}"
        )


class Browser:
    def __init__(self, browser: object, origin: str) -> None:
        self.browser = browser
        self.origin = origin

    @asynccontextmanager
    async def page(self, width: str = "desktop") -> AsyncIterator[tuple[object, Watch]]:
        """A fresh browser context (its own cookies) at a phone's or a laptop's width."""
        context = await self.browser.new_context(  # type: ignore[attr-defined]
            viewport=WIDTHS[width], locale="ru-RU", is_mobile=width == "phone"
        )
        page = await context.new_page()
        watch = Watch(self.origin)
        page.on("console", lambda m: m.type == "error" and watch.console_errors.append(m.text))
        page.on("pageerror", lambda e: watch.page_errors.append(str(e)))

        def failed(r: object) -> None:
            # A navigation cancels what the previous page still loaded (the icon): not a fault.
            if r.failure != "net::ERR_ABORTED":  # type: ignore[attr-defined]
                watch.failed.append(f"{r.url} ({r.failure})")  # type: ignore[attr-defined]

        page.on("requestfailed", failed)

        def request(r: object) -> None:
            url = r.url  # type: ignore[attr-defined]
            if url.startswith(("data:", "about:")):
                return
            if f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" != self.origin:
                watch.other_hosts.append(url)

        page.on("request", request)
        try:
            yield page, watch
        finally:
            await context.close()


@asynccontextmanager
async def chromium(origin: str) -> AsyncIterator[Browser]:
    from playwright.async_api import async_playwright

    path = chromium_or_skip()
    async with async_playwright() as p:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        browser = await p.chromium.launch(
            executable_path=path, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield Browser(browser, origin)
        finally:
            await browser.close()


async def screenshot(page: object, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / (re.sub(r"[^a-z0-9_-]+", "-", name.lower()) + ".png")
    await page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path
