"""Fixtures for real-browser tests: one Chromium per test session (per xdist
worker), a fresh context per test, and a page checker (screenshot + axe-core).
The real SMTP server on loopback for the mail the portal sends is the
smtp_server fixture (tests/smtp.py, registered in tests/conftest.py)."""

import os

import pytest
from django.core.cache import cache
from playwright.sync_api import expect, sync_playwright

from tests.browser.support import PageChecker

# Playwright's sync API runs an asyncio event loop in the main thread, which makes
# Django's async-unsafe check refuse the ORM calls the test itself makes.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
# Rendering the PDF or sending mail can take a few seconds on a loaded CI machine.
expect.set_options(timeout=10_000)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, shared by every browser test of the session. A missing
    Chromium fails the test: it is a system dependency that `make test` installs."""
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: run `make test-deps` (apt-get install chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (cookies, storage, downloads) for each test."""
    context = browser.new_context(accept_downloads=True, locale="en-IN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def portal(settings, live_server, smtp_server):
    """The live server's address, which the links in the emails point at; rate-limit
    counters and used TOTP codes of earlier tests (the cache is a database table that
    a flush leaves alone) are forgotten."""
    settings.SITE_URL = live_server.url
    cache.clear()
    yield live_server.url
    cache.clear()


@pytest.fixture
def check_page(request):
    return PageChecker(request.node.name)
