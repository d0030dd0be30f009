"""The harness itself, end to end: Debian's Chromium driven by Playwright against the real server,
screenshots, axe-core injected where the CSP is bypassed, and page weights measured. These pages
are the API's, not the console's: they prove the harness whatever the console's state."""

import os
import re
import shutil
import subprocess

import pytest
from playwright.sync_api import expect

from support import SCREENSHOTS, _snapshot, axe_check, page_weight, run_axe, shot


def test_the_browser_is_debians_chromium(browser):
    executable = os.environ.get("CONSOLE_CHROMIUM") or shutil.which("chromium")
    printed = subprocess.run([executable, "--version"], capture_output=True, text=True, check=True)
    major = browser.version.split(".")[0]
    assert re.search(rf"\b{major}\.", printed.stdout), (
        f"Playwright drives Chromium {browser.version}, but {executable} is {printed.stdout.strip()}"
    )


def test_the_health_check_answers_in_the_browser(page, server):
    response = page.goto(server.url("/health"))
    assert response.status == 200, f"GET /health answered {response.status}"
    assert response.json() == {"status": "ok"}


def test_the_api_docs_render_and_the_checks_run(page, server):
    response = page.goto(server.url("/docs/"))
    assert response.status == 200, f"GET /docs/ answered {response.status}"
    # Swagger UI builds the page from /openapi.json with its script: the title is the API's.
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Gatehouse")
    path = shot(page, "harness-docs")
    assert path.parent == SCREENSHOTS and path.stat().st_size > 10_000, f"no screenshot at {path}"

    total, parts = page_weight(page)
    assert any(part.startswith("document ") for part in parts), f"no document weighed: {parts}"
    assert any(part.startswith("script ") for part in parts), f"no script weighed: {parts}"
    assert total > 1000, f"/docs/ cannot weigh {total} B: {parts}"

    context, snapshot = _snapshot(page, "dark", bypass_csp=True)
    try:
        assert snapshot.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
        expect(snapshot.locator(".swagger-ui .info .title")).to_contain_text("Gatehouse")
        results = run_axe(snapshot)
    finally:
        context.close()
    wanted = os.environ.get("CONSOLE_AXE_VERSION")
    engine = results["testEngine"]
    assert engine["name"] == "axe-core", engine
    assert wanted is None or engine["version"] == wanted, (
        f"axe-core {engine['version']}, pinned {wanted}"
    )
    assert isinstance(results["violations"], list)


def test_axe_check_fails_on_a_page_with_serious_violations(page, server):
    # A page made here, served at the server's address: a field without a label and an image
    # without a text alternative are critical violations for axe-core.
    address = server.url("/harness/inaccessible")
    page.route(
        address,
        lambda route: route.fulfill(
            content_type="text/html",
            body='<!doctype html><html lang="en"><head><title>Bad · Gatehouse</title></head>'
            '<body><main id="main"><h1>Bad</h1><input name="q"><img src="data:,"></main>'
            "</body></html>",
        ),
    )
    page.goto(address)
    with pytest.raises(AssertionError) as failure:
        axe_check(page)
    message = str(failure.value)
    assert "label" in message and "image-alt" in message, message
    assert address in message, f"the failure does not say which page: {message}"
