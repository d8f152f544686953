"""Shared set-up of the headless-Chromium journeys (Debian's `chromium`, installed by `make browser`)."""

from __future__ import annotations

import os

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Headless Chromium says "HeadlessChrome", which the site's analytics treat as a bot.
DESKTOP_CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"

# `pytestmark = BROWSER` in a module, or `@browser_test` on one test.
BROWSER = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed (make browser)"),
]


def browser_test(func):
    for mark in BROWSER:
        func = mark(func)
    return func


def launch(playwright):
    """Start Debian's Chromium through Playwright with the flags every journey uses.

    expect() waits up to 15 s (Playwright's default is 5 s) before a check fails: on a busy CI
    machine the page a click leads to can take longer than that, and a wait costs nothing
    when the page is quick.
    """
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)


# Every frame of a watched context reports its Content-Security-Policy violations on the console,
# where PageProblems reads them (Chromium also logs its own line for each one).
_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", function (event) {
  console.error("securitypolicyviolation " + JSON.stringify({
    directive: event.violatedDirective, blocked: event.blockedURI, source: event.sourceFile,
    line: event.lineNumber, sample: event.sample, document: event.documentURI
  }));
}, true);
"""


class PageProblems:
    """What went wrong on the pages of one browser context: CSP violations and missing files.

    `problems = PageProblems(context, live_server.url)` before opening pages; `problems.take()`
    returns (and forgets) what was seen so far, each as one readable line. A CSP violation is
    caught twice over: by a `securitypolicyviolation` listener in every frame and by Chromium's
    own console line ("Refused to …", "… violates the following Content Security Policy …").
    A missing file is any request to the site that answers 404 or fails, and any /static/ file
    that does not answer 200/304.
    """

    def __init__(self, context, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._seen: list[str] = []
        self._pages: set[int] = set()
        context.add_init_script(_CSP_LISTENER)
        context.on("page", self.watch)
        for page in context.pages:
            self.watch(page)

    def watch(self, page) -> None:
        if id(page) in self._pages:
            return
        self._pages.add(id(page))
        page.on("console", self._console)
        page.on("response", self._response)
        page.on("requestfailed", self._failed)

    def _console(self, message) -> None:
        text = message.text
        if (
            text.startswith("securitypolicyviolation ")
            or text.startswith("Refused to")
            or "Content Security Policy" in text
        ):
            self._seen.append(f"CSP: {text}")

    def _response(self, response) -> None:
        url = response.url
        if not url.startswith(self.base_url):
            return
        if "/static/" in url and response.status not in (200, 304):
            self._seen.append(f"static file {url} answered {response.status}")
        elif response.status == 404:
            self._seen.append(f"{url} answered 404")

    def _failed(self, request) -> None:
        if request.url.startswith(self.base_url) and request.failure != "net::ERR_ABORTED":
            self._seen.append(f"{request.url} failed: {request.failure}")

    def take(self) -> list[str]:
        seen, self._seen = self._seen, []
        return seen


SERIOUS = {"serious", "critical"}


def session_cookie_for(user) -> str:
    """A signed-in session for `user`, to hand to a browser context as its cookie."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def signed_in_page(browser, base_url: str, user, **context_options):
    """A new context signed in as `user` and its first page: (context, page, problems), the
    page watched by a `PageProblems` (call `problems.take()` at the end)."""
    from django.conf import settings

    context = browser.new_context(**context_options)
    problems = PageProblems(context, base_url)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie_for(user), "url": base_url}])
    page = context.new_page()
    problems.watch(page)
    return context, page, problems


def axe_findings(page) -> list[str]:
    """axe-core's serious and critical violations on the page, one readable line each.

    axe-core is the copy bundled in the axe-playwright-python wheel; the page's context must be
    opened with `bypass_csp=True` so the script can be injected (the CSP journey has its own test).
    """
    from axe_playwright_python.base import AXE_SCRIPT

    page.evaluate(AXE_SCRIPT)
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    assert result["testEngine"]["name"] == "axe-core" and result["passes"], "axe-core did not run"
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in SERIOUS
    ]
