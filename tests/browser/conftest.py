"""Browser tests: Debian's Chromium, driven by Playwright, against the live server on PostgreSQL.

One browser serves every test in this package and each test gets a fresh context (no cookies,
no storage). The ``page`` fixture fails its test on any JavaScript error, on anything the page's
Content-Security-Policy refused, and on any stylesheet, script or image the server would not
give. ``sign_in`` puts a session made by Django's test
client into the browser, for tests that are not about signing in; tests about signing in use the
form.

Chromium and axe-core are real parts like PostgreSQL: without them these tests are skipped
locally, with the reason, and fail when REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client
from django.urls import reverse
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    Response,
    expect,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError

from tests.conftest import REQUIRE_SERVICES
from tests.notifications.conftest import smtp_server  # noqa: F401  (a real SMTP server)
from tests.tenants.factories import totp_code

BASE_DIR = Path(settings.BASE_DIR)
CHROMIUM = Path("/usr/bin/chromium")
# Nothing outside 127.0.0.1 answers in CI: without these Chromium keeps trying to reach Google.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = BASE_DIR / "assets" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = BASE_DIR / "var" / "screenshots"

DESKTOP = {"width": 1280, "height": 800}
NARROW = {"width": 320, "height": 640}

# Playwright waits this long for a page to show what a test expects.
expect.set_options(timeout=10_000)


def need(what: str, how: str) -> None:
    """Skip locally, fail in CI: a browser test that cannot run must not pass unnoticed."""
    if REQUIRE_SERVICES:
        pytest.fail(f"This test needs {what} and REQUIRE_SERVICES=1: {how}")
    pytest.skip(f"needs {what}: {how}")


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        need(
            f"Chromium at {CHROMIUM}",
            "install Debian's chromium package (apt-get install chromium).",
        )
    # Playwright's synchronous API keeps an asyncio loop in this thread while it runs, which
    # Django takes for an async context and refuses database queries in. The tests' queries are
    # ordinary synchronous ones, so allow them while the browser is up, and only then: the
    # package scope stops Playwright, and its loop, before any other test runs.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
            # Django keeps a connection per context, and this thread's context while Playwright
            # runs is not the one it returns to: close the connections these tests used, or
            # nothing would, and the test database could not be dropped at the end.
            connections.close_all()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture(scope="package", autouse=True)
def _connections_closed_after_each_request() -> Iterator[None]:
    """The live server answers each browser connection in a thread that lives as long as the
    browser keeps the connection open; with CONN_MAX_AGE that thread would also keep a database
    connection, and the test database could not be dropped at the end of the run."""
    settings_dict = connections["default"].settings_dict
    saved = settings_dict["CONN_MAX_AGE"]
    settings_dict["CONN_MAX_AGE"] = 0
    yield
    settings_dict["CONN_MAX_AGE"] = saved


@pytest.fixture
def live(postgres, live_server) -> str:
    """The live server's address; its data is the test's, committed (transactional_db)."""
    return live_server.url


@dataclass
class Problems:
    """What went wrong in the browser while a test ran, besides what the test asserts."""

    errors: list[str] = field(default_factory=list)
    # How many documents the page has started loading, and which one each request belongs to.
    documents: int = 0
    started_under: dict[Request, int] = field(default_factory=dict)

    def request(self, request: Request) -> None:
        if request.resource_type == "document" and request.frame.parent_frame is None:
            self.documents += 1
        self.started_under[request] = self.documents

    def console(self, message: ConsoleMessage) -> None:
        # A failed load is reported by ``response`` with its address, so only the page's own
        # console.error calls count here.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(f"console error on {message.location.get('url')}: {message.text}")

    def policy_violation(self, source, violation: dict) -> None:
        """A ``securitypolicyviolation`` event: the policy refused something the page has."""
        place = f"{violation['source'] or 'the page'}, line {violation['line']}"
        sample = f": {violation['sample']!r}" if violation["sample"] else ""
        self.errors.append(
            f"Content-Security-Policy violation on {violation['document']}: "
            f"{violation['directive']} refused {violation['blocked'] or 'inline'} "
            f"({place}){sample}"
        )

    def request_failed(self, request: Request) -> None:
        # A page left for another, or a link that downloads a file, cancels its own load.
        if request.failure == "net::ERR_ABORTED":
            if request.resource_type == "document":
                return
            # A script or style still loading when the test moved on is cancelled by the browser.
            if self.started_under.get(request, self.documents) < self.documents:
                return
        self.errors.append(f"{request.url} failed: {request.failure}")

    def response(self, response: Response) -> None:
        # Documents may answer 400 or 404 on purpose; anything they load must be there.
        if response.request.resource_type != "document" and response.status >= 400:
            self.errors.append(f"{response.status} for {response.url}")


@pytest.fixture
def context(browser: Browser, live: str) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=live, viewport=DESKTOP, locale="en-GB")
    yield context
    context.close()


# Runs in every document before its own scripts, so that nothing the policy refuses, from the
# first byte of the page on, goes unseen. Chromium also logs each refusal to the console, but
# the event names the directive, the blocked address and where in the page it was.
REPORT_POLICY_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
    window.reportPolicyViolation({
        document: event.documentURI,
        directive: event.effectiveDirective,
        blocked: event.blockedURI,
        source: event.sourceFile,
        line: event.lineNumber,
        sample: event.sample,
    });
}, true);
"""


def watched_page(context: BrowserContext) -> Page:
    """A new page whose JavaScript errors, policy violations and failed loads are kept in
    ``page.problems``."""
    page = context.new_page()
    problems = Problems()
    page.expose_binding("reportPolicyViolation", problems.policy_violation)
    page.add_init_script(REPORT_POLICY_VIOLATIONS)
    page.on(
        "pageerror",
        lambda error: problems.errors.append(f"JavaScript error on {page.url}: {error}"),
    )
    page.on("console", problems.console)
    page.on("request", problems.request)
    page.on("response", problems.response)
    page.on("requestfailed", problems.request_failed)
    page.problems = problems
    return page


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return watched_page(context)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """A JavaScript error or a missing asset fails the test that met it, after its own checks."""
    page = getattr(item, "funcargs", {}).get("page")
    problems = getattr(page, "problems", None)
    try:
        result = yield
    finally:
        if problems is not None and problems.errors:
            item.add_report_section("call", "browser", "\n".join(problems.errors))
    if problems is not None and problems.errors:
        pytest.fail("The browser reported problems:\n" + "\n".join(problems.errors))
    return result


def sign_in_with_session(context: BrowserContext, user, live: str) -> None:
    """Sign ``user`` in by giving the browser a session made by Django's test client: quick, and
    for tests that are not about signing in."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.clear_cookies()
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live}])


@pytest.fixture
def sign_in(context: BrowserContext, live: str):
    """``sign_in(user)``: the browser is now signed in as ``user``."""
    return lambda user: sign_in_with_session(context, user, live)


def sign_in_with_form(page: Page, email: str, password: str, *, go: bool = True) -> None:
    """Sign in as a person does: the sign-in page (unless the page is showing it already), their
    address and password, the button."""
    if go:
        page.goto(reverse("account_login"))
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in", exact=True).click()
    if page.url.endswith(reverse("mfa_authenticate")):
        enter_code(page, totp_code())


def enter_code(page: Page, code: str) -> None:
    """The second step of signing in, for someone with an authenticator app."""
    page.get_by_label("Code", exact=True).fill(code)
    page.get_by_role("button", name="Continue").click()


def tenant_url(url_name: str, tenant_slug: str = "central-bedfordshire", **kwargs) -> str:
    return reverse(url_name, kwargs={"tenant_slug": tenant_slug, **kwargs})


# -- accessibility ---------------------------------------------------------------------------


@pytest.fixture(scope="package")
def axe_script() -> Path:
    if not AXE.exists():
        need(
            "axe-core",
            "run 'npm ci --no-audit --no-fund --ignore-scripts' in assets/ (make test does it "
            "when npm is installed).",
        )
    return AXE


def axe_violations(page: Page, script: Path | str) -> list[dict]:
    """Every axe-core violation on the page as it is now, whatever its impact. ``script`` is
    axe-core's file, or its address on the server (quicker: the browser fetches it itself)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        if isinstance(script, Path):
            page.add_script_tag(path=str(script))
        else:
            page.add_script_tag(url=script)
    return page.evaluate(
        """async () => {
            const results = await window.axe.run(document, {resultTypes: ["violations"]});
            return results.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({target: n.target.join(" "), html: n.html})),
            }));
        }"""
    )


def describe_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            html = re.sub(r"\s+", " ", node["html"])[:200]
            lines.append(f"    at {node['target']}: {html}")
    return "\n".join(lines)


def scrolls_sideways(page: Page) -> int:
    """How many pixels wider than the window the page is (0 when it fits)."""
    return page.evaluate(
        "() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth)"
    )


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    try:
        page.screenshot(path=str(path), full_page=True)
    except PlaywrightError as error:  # a screenshot is an artefact, never the test's verdict
        print(f"Screenshot {path.name} not written: {error}")
    return path
