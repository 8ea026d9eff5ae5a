"""Headless Chromium for the tests that look at pages: Debian's ``chromium`` driven by
Playwright's Python API with that executable (the fixture installs either when missing).
Screenshots go to ``out/test-artifacts/``; each test module keeps to its own files there.

A test module uses it with ``from chromium import browser  # noqa: F401`` (the fixture) and opens
its pages with :func:`open_page`.
"""
import subprocess
import sys
from pathlib import Path

import pytest

from backprop_labs.paths import REPOSITORY_ROOT

CHROMIUM = Path("/usr/bin/chromium")
PLAYWRIGHT = "playwright==1.65.2"  # as pinned in setup.cfg's test extra
ARTIFACTS = REPOSITORY_ROOT / "out" / "test-artifacts"
# Playwright gives up on a launch, a navigation, a click or a screenshot after 30 s by default. On a
# loaded machine (load 10 to 25 on 2 cores while the suite runs) Chromium can take that long to
# start or render, so every wait gets this upper bound instead; Playwright polls, so a calm run
# waits no longer than before.
BROWSER_MS = 300_000


def open_page(browser, **options):
    """A new page of ``browser`` (``options`` as for ``Browser.new_page``) whose waits are bounded by
    :data:`BROWSER_MS`, not Playwright's 30 s."""
    page = browser.new_page(**options)
    page.set_default_timeout(BROWSER_MS)
    page.set_default_navigation_timeout(BROWSER_MS)
    return page


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        subprocess.run(["apt-get", "update"], check=True, capture_output=True)  # a fresh machine has no list
        subprocess.run(["apt-get", "install", "-y", "chromium"], check=True, capture_output=True)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", PLAYWRIGHT], check=True, capture_output=True)
        from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"],
                                              timeout=BROWSER_MS)
        yield chromium
        chromium.close()
