"""Playwright driving Debian's Chromium against the live test server."""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

CSP = "Content Security Policy"  # in Chromium's console message for whatever the policy blocked

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make are synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `apt-get install chromium`, or set CHROMIUM_PATH.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, request):
    """A page in a fresh context with JavaScript OFF: every journey must work without it. Anything the
    Content-Security-Policy blocks (Chromium reports it on the console) fails the test."""
    context = chromium.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    blocked = []
    page.on("console", lambda message: blocked.append(f"{page.url}: {message.text}") if CSP in message.text else None)
    yield page
    context.close()
    assert not blocked, "The Content-Security-Policy blocked:\n" + "\n".join(blocked)


class Screens:
    def __init__(self, page, name):
        self.page, self.name, self.step = page, name, 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def shot(self, label, page=None):
        """Screenshot of the test's page, or of ``page`` (a second visitor's browser)."""
        self.step += 1
        (page or self.page).screenshot(path=SCREENSHOTS / f"{self.name}-{self.step:02d}-{label}.png", full_page=True)


@pytest.fixture
def screens(page, request):
    return Screens(page, request.node.name)
