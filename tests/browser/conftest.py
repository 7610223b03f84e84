"""Playwright driving Debian's Chromium against the live test server."""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_FAILS_ON = {"serious", "critical"}
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


class Accessibility:
    """axe-core over what a page shows. The journeys run with JavaScript off, and Chromium then runs no
    timer or promise job either, so axe (which needs them) cannot run in that page: the page's HTML, as
    served with its Content-Security-Policy, is loaded at the same address in a page of a JavaScript-on
    context whose own scripts are refused, and axe is evaluated there (evaluate is not subject to the CSP;
    an injected <script> would be)."""

    def __init__(self, browser):
        if not AXE.exists():
            pytest.fail(f"axe-core is missing ({AXE.relative_to(ROOT)}): run npm ci")
        self.source = AXE.read_text()
        self.context = browser.new_context(java_script_enabled=True, service_workers="block")
        self.snapshot: dict = {}
        self.context.route("**/*", self._serve)

    def _serve(self, route):
        request = route.request
        if request.is_navigation_request() and request.url == self.snapshot.get("url"):
            route.fulfill(status=200, headers=self.snapshot["headers"], body=self.snapshot["html"])
        elif request.resource_type == "script":
            route.abort()  # our scripts enhance pages; axe judges the page as served
        else:
            route.continue_()

    def violations(self, page) -> list[dict]:
        headers = {"content-type": "text/html; charset=utf-8"}
        if policy := getattr(page, "_tessera_csp", None):
            headers["content-security-policy"] = policy
        # Chromium hides a nonce from the markup once the policy has used it; put it back for the copy.
        page.evaluate("() => document.querySelectorAll('[nonce]').forEach(e => e.setAttribute('nonce', e.nonce))")
        self.snapshot = {"url": page.url, "html": page.content(), "headers": headers}
        copy = self.context.new_page()
        try:
            copy.set_viewport_size(page.viewport_size or {"width": 1280, "height": 900})
            copy.goto(page.url, wait_until="load")
            copy.evaluate(self.source)
            return copy.evaluate(
                """async () => (await axe.run(document, {resultTypes: ['violations']})).violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help,
                    targets: v.nodes.map(n => n.target.join(' ') + (n.failureSummary ? ': ' +
                        n.failureSummary.replace(/\\s+/g, ' ').slice(0, 200) : ''))}))"""
            )
        finally:
            copy.close()

    def check(self, page, where: str):
        """Fail on every serious or critical violation, saying which rule, what it asks and where."""
        serious = [v for v in self.violations(page) if v["impact"] in AXE_FAILS_ON]
        if serious:
            lines = [f"axe-core found {len(serious)} serious or critical problem(s) on {where} ({page.url}):"]
            for v in serious:
                lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
                lines += [f"    at {target}" for target in v["targets"][:8]]
            pytest.fail("\n".join(lines), pytrace=False)


def remember_policy(page):
    """Keep the Content-Security-Policy of each document the page shows, for its accessibility copy."""

    def seen(response):
        if response.request.is_navigation_request() and response.frame == page.main_frame:
            page._tessera_csp = response.headers.get("content-security-policy")

    page.on("response", seen)
    return page


@pytest.fixture(scope="session")
def accessibility(chromium):
    checker = Accessibility(chromium)
    yield checker
    checker.context.close()


@pytest.fixture
def page(chromium, request):
    """A page in a fresh context with JavaScript OFF: every journey must work without it. Anything the
    Content-Security-Policy blocks (Chromium reports it on the console) fails the test."""
    context = chromium.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = remember_policy(context.new_page())
    page.set_default_timeout(15_000)
    blocked = []
    page.on("console", lambda message: blocked.append(f"{page.url}: {message.text}") if CSP in message.text else None)
    yield page
    context.close()
    assert not blocked, "The Content-Security-Policy blocked:\n" + "\n".join(blocked)


class Screens:
    def __init__(self, page, name, accessibility):
        self.page, self.name, self.step, self.accessibility = page, name, 0, accessibility
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def shot(self, label, page=None):
        """Screenshot of the test's page, or of ``page`` (a second visitor's browser), and its
        accessibility check: every journey step is one."""
        self.step += 1
        name = f"{self.name}-{self.step:02d}-{label}"
        (page or self.page).screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
        self.accessibility.check(page or self.page, name)


@pytest.fixture
def screens(page, request, accessibility):
    return Screens(page, request.node.name, accessibility)
