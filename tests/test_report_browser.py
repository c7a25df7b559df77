"""The report in a real browser (Debian's headless Chromium, driven by Playwright).

Asserts that each page loads with no console error and no network request of any kind, and saves
screenshots at 1280 and 390 px to $GRADER_ARTIFACTS/screenshots (default: artifacts/ in the repo).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from report_fixtures import build

from grader.report import write_report

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
if not CHROMIUM:
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

ARTIFACTS = Path(os.environ.get("GRADER_ARTIFACTS", Path(__file__).resolve().parent.parent / "artifacts")) / "screenshots"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("kind", ["pass", "layer_limit", "stop_message", "timeout", "crash", "invalid", "hostile"])
def test_report_loads_clean_in_chromium(browser, tmp_path, kind, lang):
    result, assignment = build(kind, lang)
    page_file = write_report(result, assignment, lang, tmp_path / "report.html")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page = browser.new_page(viewport={"width": width, "height": 900})
        errors, requests = [], []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_file.as_uri(), wait_until="load")
        assert errors == []
        assert requests == [page_file.as_uri()], requests
        assert page.locator("h1").count() == 1 and page.locator("h2").count() >= 3
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"the page scrolls sideways by {overflow} px at {width} px"
        page.screenshot(path=str(ARTIFACTS / f"{kind}-{lang}-{width}.png"), full_page=True)
        page.close()
