"""The report in a real browser: Debian's headless Chromium, driven by Playwright (no browser download).

Every kind of verdict, in both languages, at 1280 and 390 px: the page loads with no console error and
no network request besides the file itself, fits the width, shows the chart that fits, names its
chart for assistive technology, and keeps text contrast at WCAG AA. Screenshots (and a print PDF) go
to $GRADER_ARTIFACTS/screenshots (default: artifacts/screenshots/ in the repo root, git-ignored).

One module fixture opens every page the run selected and notes what each showed; one test per page,
language and width then judges its notes. PARALLEL tabs (Playwright's async API) each load page after
page, every one at its own width, so that the waits for `networkidle` (500 ms without a request, which
catches a request made after load) overlap instead of adding up: a page is measured while that wait
runs and left only once it is over, every request until then noted. About 35 s of CPU in all, the
full-page screenshots a third of it, the rest mostly loading the pages (the original file: 125 s).

CI needs: `apt-get install chromium fonts-noto-cjk` and `pip install playwright` (not `playwright install`).
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from grader.report.html import write_report
from tests.report.report_fixtures import KINDS, build

pytestmark = pytest.mark.browser
async_api = pytest.importorskip("playwright.async_api", reason="the playwright package is not installed (pip install playwright)")
CHROMIUM = os.environ.get("GRADER_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
if not CHROMIUM or not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed (apt-get install chromium), nor named by $GRADER_CHROMIUM", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("GRADER_ARTIFACTS") or ROOT / "artifacts") / "screenshots"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"]
WIDTHS = (1280, 390)
PARALLEL = 4  # tabs, each showing one page at a time: enough to overlap the idle waits and keep 2 cores busy

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
# The rest, in one call: how many of some elements, how far the page scrolls sideways, the charts' names.
MEASURE = f"""() => ({{
  counts: Object.fromEntries(['h1', 'h2', '#pair-1 table', '#pair-2 mark'].map(s => [s, document.querySelectorAll(s).length])),
  overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  charts: ({CHART_NAMES})(),
}})"""
# Playwright's Locator.is_visible() for each selector, run in the page itself (a locator would first load
# Playwright's own script into every page, a third of the cost of opening it): an element, at most one,
# with a box of some size, shown by checkVisibility() and `visibility`; display: contents, by its children.
VISIBLE = """selectors => {
  const sized = box => box.width > 0 && box.height > 0;
  const text = node => { const range = document.createRange(); range.selectNode(node); return sized(range.getBoundingClientRect()); };
  const shown = el => {
    const style = getComputedStyle(el);
    if (style.display === 'contents') return [...el.childNodes].some(n => n.nodeType === 1 ? shown(n) : n.nodeType === 3 && text(n));
    return el.checkVisibility() && style.visibility === 'visible' && sized(el.getBoundingClientRect());
  };
  const visible = selector => {
    const found = document.querySelectorAll(selector);
    if (found.length > 1) throw new Error(`${selector} matches ${found.length} elements`);
    return found.length === 1 && shown(found[0]);
  };
  return Object.fromEntries(selectors.map(s => [s, visible(s)]));
}"""
PAIRS = ("#pair-1", "#pair-2")  # on similarity.html: the reused training, the copy


class Case(NamedTuple):
    """One page to open: a report ("report", printed as "print") or similarity.html, in a language, at a width."""

    page: str
    kind: str
    lang: str
    width: int

    def __str__(self) -> str:
        return "-".join(str(part) for part in self[1:] if part)


REPORTS = [Case("report", kind, lang, width) for kind in KINDS for lang in ("en", "zh") for width in WIDTHS]
PRINTS = [Case("print", kind, "zh", 390) for kind in ("pass", "crash")]
SIMILARITY = [Case("similarity", "", lang, width) for lang in ("en", "zh") for width in WIDTHS]


@dataclass
class Seen:
    """What one page showed, noted for its test to judge."""

    uri: str
    curve: bool = False  # the result has epochs to chart
    errors: list[str] = field(default_factory=list)  # console errors and warnings, uncaught exceptions
    requests: list[str] = field(default_factory=list)  # every request, from loading the page until its tab moved on
    overflow: int = 0
    visible: dict[str, bool] = field(default_factory=dict)
    chart_names: list[str] = field(default_factory=list)
    contrast: list[str] | None = None  # text below AA contrast, where measured
    pairs: dict[str, tuple[bool, bool]] = field(default_factory=dict)  # a pair: visible before, after its link was clicked
    counts: dict[str, int] = field(default_factory=dict)
    pdf: bytes = b""


class Tab:
    """A tab that opens page after page, each at its case's width: one renderer warmed up once (about a second
    of CPU, three times what a page then costs), not one per page.

    What the tab reports (console errors and warnings, uncaught exceptions, requests) goes to the notes of
    the page it was last sent to, from the moment it is sent there until it is sent elsewhere or closed.
    """

    def __init__(self, context: Any, page: Any, devtools: Any) -> None:
        self.context, self.page, self.devtools, self.seen = context, page, devtools, Seen("")
        page.on("console", lambda m: self.seen.errors.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: self.seen.errors.append(str(e)))
        page.on("request", lambda r: self.seen.requests.append(r.url))

    @classmethod
    async def open(cls, browser: Any) -> Tab:
        context = await browser.new_context(viewport={"width": WIDTHS[0], "height": 900}, device_scale_factor=1)
        page = await context.new_page()
        return cls(context, page, await context.new_cdp_session(page))

    async def visit(self, case: Case, seen: Seen) -> None:
        """Load the case's page at its width and note what it shows; it is left only once idle (500 ms without a request)."""
        page = self.page
        if page.viewport_size["width"] != case.width:
            await page.set_viewport_size({"width": case.width, "height": 900})
        self.seen = seen
        await page.goto(seen.uri, wait_until="load")
        if case.page == "print":
            await page.emulate_media(media="print")
            try:
                seen.visible = await page.evaluate(VISIBLE, ["nav.toc", "#curve-wide", "#curve-narrow"])
                seen.pdf = await page.pdf(path=str(ARTIFACTS / f"{case.kind}-zh-print.pdf"), format="A4", print_background=True)
            finally:
                await page.emulate_media(media="null")
        else:  # the wait for idle runs while the page is measured: every request until then is noted all the same
            outcomes = await asyncio.gather(page.wait_for_load_state("networkidle"), self.note(case, seen), return_exceptions=True)
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome

    async def note(self, case: Case, seen: Seen) -> None:
        """Open the pairs' links (on similarity.html), measure the page and take its screenshot."""
        page = self.page
        for pair in PAIRS if case.page == "similarity" else ():
            before = (await page.evaluate(VISIBLE, [pair]))[pair]
            await page.locator(f'a[href="{pair}"]').click()  # Chromium opens the <details> a link leads into
            seen.pairs[pair] = (before, (await page.evaluate(VISIBLE, [pair]))[pair])
        seen.visible = await page.evaluate(VISIBLE, ["#curve-wide", "#curve-narrow"])
        measured = await page.evaluate(MEASURE)
        seen.counts, seen.overflow, seen.chart_names = measured["counts"], measured["overflow"], measured["charts"]
        if case.width == 1280 and case.kind != "hostile":
            seen.contrast = await page.evaluate(CONTRAST)
        name = f"similarity-{case.lang}-{case.width}" if case.page == "similarity" else f"{case.kind}-{case.lang}-{case.width}"
        await self.screenshot(ARTIFACTS / f"{name}.png", full_page=case.kind != "hostile")  # that one is pages long

    async def screenshot(self, path: Path, full_page: bool) -> None:
        """A PNG of the whole page, or of what the window shows, as Playwright takes it but encoded for speed (a third less time)."""
        shot: dict[str, Any] = {"format": "png", "optimizeForSpeed": True}
        if full_page:
            size = (await self.devtools.send("Page.getLayoutMetrics"))["cssContentSize"]
            shot |= {"captureBeyondViewport": True, "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}}
        path.write_bytes(base64.b64decode((await self.devtools.send("Page.captureScreenshot", shot))["data"]))


def write_page(case: Case, folder: Path, similarity_batch: Path) -> Seen:
    """Write the case's page (a report, or similarity.html for the batch) into `folder`."""
    if case.page == "similarity":
        from grader.similar import run_similar_command

        assert run_similar_command(similarity_batch, folder, case.lang) == 0
        return Seen((folder / "similarity.html").as_uri())
    result, assignment = build(case.kind, case.lang)
    return Seen(write_report(result, assignment, case.lang, folder / "report.html").as_uri(), curve=bool(result.recording.all_epochs))


async def see_all(cases: list[Case], root: Path, similarity_batch: Path) -> dict[Case, Seen | BaseException]:
    """Every case's notes, or what went wrong opening its page.

    The pages are written one after another in a thread, in the order of `cases`, while PARALLEL workers,
    each with a tab of its own, show the ones already written.
    """
    writer = ThreadPoolExecutor(max_workers=1)
    written: dict[tuple[str, str, str], asyncio.Future[Seen]] = {}
    loop = asyncio.get_running_loop()
    for case in cases:  # each page is written once, for all its widths and its print
        key = ("report" if case.page == "print" else case.page, case.kind, case.lang)
        if key not in written:
            (folder := root.joinpath(*key)).mkdir(parents=True)
            written[key] = loop.run_in_executor(writer, write_page, case, folder, similarity_batch)
    found: dict[Case, Seen | BaseException] = {}
    todo = iter(cases)  # shared by the workers: each takes the next case when it is free

    async def worker(browser: Any) -> None:
        tab = None
        for case in todo:
            try:
                tab = tab or await Tab.open(browser)
                page = await written["report" if case.page == "print" else case.page, case.kind, case.lang]
                found[case] = seen = Seen(page.uri, page.curve)
                await tab.visit(case, seen)
            except Exception as error:  # it fails that case's test, not the others; the next case gets a new tab
                found[case] = error
                if tab is not None:
                    try:
                        await tab.context.close()
                    except Exception:
                        pass
                tab = None
        if tab is not None:
            await tab.context.close()

    try:
        async with async_api.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
            await asyncio.gather(*(worker(browser) for _ in range(PARALLEL)))
            await browser.close()
    finally:
        writer.shutdown(cancel_futures=True)
    return {case: found.get(case, RuntimeError("never opened")) for case in cases}


def similarity_class(root: Path) -> Path:
    """A graded class with two copies of one submission, a reused training and honest work (tests/similar)."""
    from tests.similar.answers import HONEST, ORIGINAL, RENAMED, REUSER, TRAINED
    from tests.similar.similar_fixtures import fill, make_batch, training, write_module, write_notebook

    answers = {**HONEST, "olga": ORIGINAL, "pete": RENAMED, "rita": TRAINED, "sam": REUSER}
    subs = {name: (write_notebook(fill(a), root / "in" / f"{name}.ipynb") if name != "pete" else write_module(fill(a), root / "in" / "pete.py"),
                   training(30 if name in ("rita", "sam") else n)) for n, (name, a) in enumerate(answers.items())}
    return make_batch(root / "graded", subs)


@pytest.fixture(scope="module")
def seen(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[Case, Seen | BaseException]:
    """The notes of every case this run selected (all, or those -k or a node id picked)."""
    selected = {item.callspec.params["case"] for item in request.session.items if item.path == Path(__file__) and hasattr(item, "callspec")}
    cases = [case for case in (*REPORTS, *SIMILARITY, *PRINTS) if case in selected or not selected]
    cases.sort(key=lambda case: 1 if case.page == "print" else WIDTHS.index(case.width) * 2)  # a tab changes its width about once
    root = tmp_path_factory.mktemp("browser")
    batch = similarity_class(root / "class") if any(c.page == "similarity" for c in cases) else root
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return asyncio.run(see_all(cases, root / "pages", batch))


def notes(seen: dict[Case, Seen | BaseException], case: Case) -> Seen:
    """The case's notes; what went wrong opening its page fails its test."""
    found = seen[case]
    if isinstance(found, BaseException):
        raise found
    return found


@pytest.mark.parametrize("case", REPORTS, ids=str)
def test_report_loads_clean_in_chromium(seen, case):
    page = notes(seen, case)
    assert page.errors == [], page.errors
    assert page.requests == [page.uri], page.requests
    assert page.counts["h1"] == 1 and page.counts["h2"] >= 3
    assert page.overflow <= 0, f"the page scrolls sideways by {page.overflow} px at {case.width} px"
    if page.curve:
        shown, hidden = ("#curve-wide", "#curve-narrow") if case.width > 640 else ("#curve-narrow", "#curve-wide")
        assert page.visible[shown] and not page.visible[hidden]
        assert all(name.count("|") == 1 and len(name) > 40 for name in page.chart_names)
    if case.width == 1280 and case.kind != "hostile":
        assert page.contrast == []


@pytest.mark.parametrize("case", PRINTS, ids=str)
def test_report_prints(seen, case):
    """Printed, the wide chart and the whole output show; the page contents list does not."""
    page = notes(seen, case)
    assert not page.visible["nav.toc"]
    if page.curve:
        assert page.visible["#curve-wide"] and not page.visible["#curve-narrow"]
    assert page.pdf.startswith(b"%PDF") and len(page.pdf) < 3_000_000


@pytest.mark.parametrize("case", SIMILARITY, ids=str)
def test_similarity_page_loads_clean_in_chromium(seen, case):
    """similarity.html: no console error, no request, no sideways scroll, AA contrast; a pair's link opens it side by side."""
    page = notes(seen, case)
    assert page.counts["h1"] == 1 and page.counts["h2"] >= 3
    assert page.pairs == {pair: (False, True) for pair in PAIRS}, page.pairs  # hidden, then shown by its link
    assert page.counts["#pair-1 table"] == 1 and page.counts["#pair-2 mark"] > 10
    assert page.errors == [], page.errors
    assert all(url.split("#")[0] == page.uri for url in page.requests), page.requests
    assert page.overflow <= 0, f"the page scrolls sideways by {page.overflow} px at {case.width} px"
    if case.width == 1280:
        assert page.contrast == []
