"""Real-Chromium fixtures (tests here are marked ``browser``)."""

from __future__ import annotations

import os
import warnings

import pytest

from .pages import CHROMIUM_ARGS, chromium_path


@pytest.fixture(autouse=True)
def _quiet_no_signal_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        msg = "Chromium not found: apt-get install -y chromium (or set CHROMIUM=/path)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    yield pg
    context.close()
