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
