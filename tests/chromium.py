"""Headless Chromium for the tests that look at pages: Debian's ``chromium`` driven by
Playwright's Python API with that executable (the fixture installs either when missing).
Screenshots go to ``out/test-artifacts/``; each test module keeps to its own files there.

A test module uses it with ``from chromium import browser  # noqa: F401`` (the fixture).
"""
import subprocess
import sys
from pathlib import Path

import pytest

from backprop_labs.paths import REPOSITORY_ROOT

CHROMIUM = Path("/usr/bin/chromium")
PLAYWRIGHT = "playwright==1.65.2"  # as pinned in setup.cfg's test extra
ARTIFACTS = REPOSITORY_ROOT / "out" / "test-artifacts"


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
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()
