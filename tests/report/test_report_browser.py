"""The report in a real browser: Debian's headless Chromium, driven by Playwright (no browser download).

Every kind of verdict, in both languages, at 1280 and 390 px: the page loads with no console error and
no network request besides the file itself, fits the width, shows the chart that fits, names its
chart for assistive technology, and keeps text contrast at WCAG AA. Screenshots (and a print PDF) go
to $GRADER_ARTIFACTS/screenshots (default: artifacts/screenshots/ in the repo root, git-ignored).

CI needs: `apt-get install chromium fonts-noto-cjk` and `pip install playwright` (not `playwright install`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from grader.report.html import write_report
from tests.report.report_fixtures import KINDS, build

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install playwright)")
CHROMIUM = os.environ.get("GRADER_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
if not CHROMIUM or not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed (apt-get install chromium), nor named by $GRADER_CHROMIUM", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("GRADER_ARTIFACTS") or ROOT / "artifacts") / "screenshots"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"]
WIDTHS = (1280, 390)

# Text colour against the nearest opaque background, for the page's kinds of small text.
CONTRAST = """() => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
                                     .reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);
  const bg = el => {
    for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor); if (c.length === 3 || c[3] > 0.5) return c.slice(0, 3); }
    return [255, 255, 255];
  };
  const bad = [];
  for (const el of document.querySelectorAll('h1, h2, h3, p, dt, dd, li, th, td, a, .badge, .tag, caption, figcaption, pre, mark, code')) {
    if (!el.offsetParent && el.tagName !== 'BODY') continue;
    const [a, b] = [lum(rgb(getComputedStyle(el).color).slice(0, 3)), lum(bg(el))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) bad.push(`${el.tagName}.${el.className}: ${ratio.toFixed(2)}`);
  }
  return bad;
}"""

# Every chart has a name and a description that resolve to text.
CHART_NAMES = """() => [...document.querySelectorAll('svg[role=img]')].map(svg =>
  svg.getAttribute('aria-labelledby').split(' ').map(id => (document.getElementById(id) || {}).textContent || '').join(' | '))"""


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield browser
        browser.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("kind", KINDS)
def test_report_loads_clean_in_chromium(browser, tmp_path, kind, lang):
    result, assignment = build(kind, lang)
    page_file = write_report(result, assignment, lang, tmp_path / "report.html")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900}, device_scale_factor=1)
        page = context.new_page()
        errors: list[str] = []
        requests: list[str] = []
        page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        page.on("request", lambda r, requests=requests: requests.append(r.url))
        page.goto(page_file.as_uri(), wait_until="load")
        page.wait_for_load_state("networkidle")
        assert errors == [], errors
        assert requests == [page_file.as_uri()], requests
        assert page.locator("h1").count() == 1 and page.locator("h2").count() >= 3
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow} px at {width} px"
        if result.recording.all_epochs:
            shown, hidden = ("#curve-wide", "#curve-narrow") if width > 640 else ("#curve-narrow", "#curve-wide")
            assert page.locator(shown).is_visible() and not page.locator(hidden).is_visible()
            assert all(name.count("|") == 1 and len(name) > 40 for name in page.evaluate(CHART_NAMES))
        if width == 1280 and kind != "hostile":
            assert page.evaluate(CONTRAST) == []
        page.screenshot(path=str(ARTIFACTS / f"{kind}-{lang}-{width}.png"), full_page=kind != "hostile")  # that one is pages long
        context.close()


@pytest.mark.parametrize("kind", ["pass", "crash"])
def test_report_prints(browser, tmp_path, kind):
    """Printed, the wide chart and the whole output show; the page contents list does not."""
    result, assignment = build(kind, "zh")
    page_file = write_report(result, assignment, "zh", tmp_path / "report.html")
    page = browser.new_page(viewport={"width": 390, "height": 900})
    page.goto(page_file.as_uri(), wait_until="load")
    page.emulate_media(media="print")
    assert not page.locator("nav.toc").is_visible()
    if result.recording.all_epochs:
        assert page.locator("#curve-wide").is_visible() and not page.locator("#curve-narrow").is_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf = page.pdf(path=str(ARTIFACTS / f"{kind}-zh-print.pdf"), format="A4", print_background=True)
    assert pdf.startswith(b"%PDF") and len(pdf) < 3_000_000
    page.close()


@pytest.fixture(scope="module")
def similarity_batch(tmp_path_factory):
    """A graded class with two copies of one submission, a reused training and honest work (tests/similar)."""
    from tests.similar.answers import HONEST, ORIGINAL, RENAMED, REUSER, TRAINED
    from tests.similar.similar_fixtures import fill, make_batch, training, write_module, write_notebook

    root = tmp_path_factory.mktemp("similarity")
    answers = {**HONEST, "olga": ORIGINAL, "pete": RENAMED, "rita": TRAINED, "sam": REUSER}
    subs = {name: (write_notebook(fill(a), root / "in" / f"{name}.ipynb") if name != "pete" else write_module(fill(a), root / "in" / "pete.py"),
                   training(30 if name in ("rita", "sam") else n)) for n, (name, a) in enumerate(answers.items())}
    return make_batch(root / "graded", subs)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_similarity_page_loads_clean_in_chromium(browser, similarity_batch, tmp_path, lang):
    """similarity.html: no console error, no request, no sideways scroll, AA contrast; a pair's link opens it side by side."""
    from grader.similar import run_similar_command

    assert run_similar_command(similarity_batch, tmp_path, lang) == 0
    page_file = tmp_path / "similarity.html"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900}, device_scale_factor=1)
        page = context.new_page()
        errors: list[str] = []
        requests: list[str] = []
        page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        page.on("request", lambda r, requests=requests: requests.append(r.url))
        page.goto(page_file.as_uri(), wait_until="load")
        page.wait_for_load_state("networkidle")
        assert page.locator("h1").count() == 1 and page.locator("h2").count() >= 3
        for pair in ("#pair-1", "#pair-2"):  # the reused training, the copy
            assert not page.locator(pair).is_visible()
            page.locator(f'a[href="{pair}"]').click()  # Chromium opens the <details> a link leads into
            assert page.locator(pair).is_visible()
        assert page.locator("#pair-1 table").count() == 1 and page.locator("#pair-2 mark").count() > 10
        assert errors == [], errors
        assert all(url.split("#")[0] == page_file.as_uri() for url in requests), requests
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow} px at {width} px"
        if width == 1280:
            assert page.evaluate(CONTRAST) == []
        page.screenshot(path=str(ARTIFACTS / f"similarity-{lang}-{width}.png"), full_page=True)
        context.close()
