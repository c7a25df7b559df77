"""The HTML report: every kind of verdict in both languages, escaped, bounded, self-contained, translated."""

from __future__ import annotations

import re
import typing
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import escape

from grader import models
from grader.assignment import KNOWN_CHECKS
from grader.i18n import catalogue
from grader.report import html as report
from grader.report.html import (
    block,
    clean,
    field,
    render_report,
    templates_dir,
    write_report,
)
from grader.run.figures import decode_png
from tests.report.report_fixtures import FAILING_CHECKS, HOSTILE, KINDS, build

LANGS = ("en", "zh")
FORBIDDEN_TAGS = {"script", "link", "iframe", "object", "embed", "base", "form", "audio", "video", "source", "image", "use", "foreignobject"}
PNG_URI = "data:image/png;base64,"  # the one kind of URL an <img> may have: a figure the grader checked


class Page(HTMLParser):
    """The element names, URL-bearing attribute values and inline handlers of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.urls: list[str] = []
        self.images: list[str] = []  # the src of each <img>
        self.handlers: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.names.add(tag)
        if tag == "img":
            self.images += [v or "" for k, v in attrs if k == "src"]
            attrs = [(k, v) for k, v in attrs if k != "src"]
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "action", "xlink:href", "data", "poster", "srcset")]
        self.handlers += [k for k, _ in attrs if k.startswith("on")]


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def msg(lang: str, key: str, **values) -> str:
    text = catalogue(lang)[f"report.{key}"]
    return text.format(**values) if values else text


@pytest.fixture(scope="module")
def pages() -> dict[tuple[str, str], tuple[models.GradeResult, str]]:
    out = {}
    for kind in KINDS:
        for lang in LANGS:
            result, assignment = build(kind, lang)
            out[kind, lang] = result, render_report(result, assignment, lang)
    return out


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_verdict_renders_one_self_contained_page(pages, kind, lang):
    result, html = pages[kind, lang]
    assert html.startswith("<!DOCTYPE html>") and f'<html lang="{msg(lang, "html_lang")}">' in html
    page = parse(html)
    assert not page.names & FORBIDDEN_TAGS, page.names & FORBIDDEN_TAGS
    assert not page.handlers
    assert all(u.startswith("#") for u in page.urls), page.urls  # in-page links only
    assert all(src.startswith(PNG_URI) and decode_png(src[len(PNG_URI) :]) for src in page.images)  # figures: checked PNGs, inline
    assert bool(page.images) == (kind == "figures")
    assert 'content="default-src \'none\'; style-src \'unsafe-inline\'; img-src data:"' in html  # images only from data: URIs
    assert "@import" not in html and "url(" not in html
    assert "default-src 'none'" in html  # and the browser refuses any request besides
    if kind != "hostile":  # the hostile one contains URLs as (escaped) text
        assert "http://" not in html and "https://" not in html
    assert len(html.encode("utf-8")) < 250_000
    verdict = msg(lang, "verdict_passed" if result.passed else "verdict_failed")
    assert re.search(rf"<h1>.*{re.escape(verdict)}</h1>", html)
    assert f"{result.score:g}</span> / {result.max_score:g}" in html
    assert html.index("<h1>") < html.index('id="checks-h"')  # the verdict comes first


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", FAILING_CHECKS)
def test_a_failing_check_shows_why_and_the_next_step(pages, kind, lang):
    result, html = pages[kind, lang]
    check = result.check(kind)
    assert check is not None and not check.passed and check.hint
    card = html[html.index(f'id="check-{kind}"') :]
    card = card[: card.index("</li>")]
    for text in (check.message, check.hint, check.required, check.measured):
        assert escape(text) in card
    assert msg(lang, "next_step") in card and msg(lang, "state_fail") in card
    header = html[html.index("<header") : html.index("</header>")]  # and the verdict links to it
    assert f'<a href="#check-{kind}">{escape(msg(lang, "check_" + kind))}</a>' in header


def test_epoch_limit_failure_names_what_was_run_and_what_to_pass(pages):
    result, html = pages["epoch_limit", "en"]
    check = result.check("epoch_limit")
    assert "30" in check.message and "10" in check.message and "epochs=10" in check.hint
    assert escape(check.hint) in html
    assert html.count('class="tag over"') >= 2 + 2  # epochs 11 and 12, in the table and beside the output
    assert "limit: 10 epochs" in html and "stopped: epoch 12" in html


@pytest.mark.parametrize("lang", LANGS)
def test_crash_shows_the_students_cell_line_and_exception_not_the_graders(lang):
    result, assignment = build("crash", lang)
    internal = f'  File "{Path(report.__file__).resolve().parent}/kernel/recorder.py", line 80, in on_epoch_end'
    result = replace(result, execution=replace(result.execution, traceback=result.execution.traceback + "\n" + internal))
    html = render_report(result, assignment, lang)
    assert escape(msg(lang, "error_where", cell=4, line=7)) in html
    assert '<span class="row hit"><span class="ln" aria-hidden="true">7</span><mark>print(history.history[&#39;acc&#39;][-1])</mark></span>' in html
    assert "KeyError: &#39;acc&#39;" in html and "----&gt; 7 print" in html
    assert "recorder.py" not in html and "site-packages" not in html
    assert html.index('id="problem-h"') < html.index('id="checks-h"')


def test_a_long_cell_is_shown_around_the_failing_line_with_true_numbers():
    result, assignment = build("crash", "en")
    source = "\n".join(f"x{n} = {n}" for n in range(1, 501))
    result = replace(result, execution=replace(result.execution, source=source, line=300))
    html = render_report(result, assignment, "en")
    assert '<span class="ln" aria-hidden="true">300</span><mark>x300 = 300</mark>' in html
    assert '<span class="ln" aria-hidden="true">288</span>x288 = 288' in html and ">x287 = 287<" not in html
    assert "287 earlier line(s)" in html and "188 later line(s)" in html


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", ["timeout", "invalid", "not_run"])
def test_a_run_that_did_not_finish_says_what_happened(pages, kind, lang):
    result, html = pages[kind, lang]
    assert escape(msg(lang, f"status_{result.execution.status}")) in html
    assert escape(msg(lang, f"status_help_{result.execution.status}")) in html
    assert escape(result.errors[0]) in html  # in the report's language
    header = html[html.index("<header") : html.index("</header>")]
    assert escape(result.errors[0]) in header
    if kind == "invalid":
        assert 'id="training"' not in html and escape(msg(lang, "no_model")) in html
    if kind == "not_run":
        assert escape(result.findings[0].message) in html and escape(msg(lang, "finding_certain")) in html


def test_hostile_output_is_escaped_and_a_5_mb_output_keeps_the_page_small(pages):
    result, html = pages["hostile", "en"]
    assert sum(len(e.printed) + len(e.terminal) for e in result.recording.all_epochs) > 5 * 5_000_000
    assert HOSTILE not in html and "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert not parse(html).names & FORBIDDEN_TAGS and not parse(html).handlers
    assert len(html.encode("utf-8")) < 250_000
    assert msg("en", "cut_note") in html and msg("en", "rows_cut", count=300) in html
    assert html.count(' k-conv">') == report.MAX_ROWS  # of 500 layers


def test_student_text_is_cleaned_and_bounded():
    assert clean("a\x1b[31mred\x1b[0m\x00b\x07") == "aredb"
    assert clean("evil\u202egnp.exe") == "evil<U+202E>gnp.exe"  # a direction override made visible
    assert clean("lone \udc80 surrogate").encode("utf-8")
    assert field("x" * 5000).cut_chars == 5000 - report.MAX_TEXT and len(field("x" * 5000).text) == report.MAX_TEXT + 1
    text = block("".join(f"\r{i}/1875 \x1b[32m━━\x1b[0m" for i in range(1, 1876)) + "\nabc\bd\n" + "line\n" * 500)
    assert text.text.count("1875/1875") == 0 and text.cut_lines > 0  # the bar scrolled away: 500 lines came after it
    assert block("Epoch 1/1\n" + "".join(f"\r{i}/1875 ━━" for i in range(1, 1876)) + "\nabc\bd").text == "Epoch 1/1\n1875/1875 ━━\nabd"
    assert len(block("y" * 10_000).text) <= report.MAX_LINE + 1


def test_progress_bars_render_as_a_terminal_shows_them(pages):
    _, html = pages["pass", "en"]
    output = html[html.index('id="output"') :]
    assert output.count("1875/1875 ━━━━━━━━━━━━━━━━━━━━") == 2 and "937/1875" not in output
    assert "\x1b" not in html and "\r" not in html and "[32m" not in html
    assert "<mark>Reached 99% accuracy so cancelling training!</mark>" in output


@pytest.mark.parametrize("lang", LANGS)
def test_chart_marks_threshold_limit_and_stop_with_a_text_alternative(pages, lang):
    _, html = pages["pass", lang]
    for variant in ("wide", "narrow"):
        assert f'<svg class="chart" id="curve-{variant}"' in html
        assert f'role="img" aria-labelledby="curve-{variant}-title curve-{variant}-desc"' in html
    assert escape(msg(lang, "chart_threshold", value="99.00%")) in html
    assert escape(msg(lang, "chart_limit", limit=10)) in html and escape(msg(lang, "chart_stop", epoch=5)) in html
    assert escape(msg(lang, "chart_desc_stop", epoch=5)) in html and escape(msg(lang, "epochs_caption")) in html
    assert "<table class=\"epochs\">" in html and html.count('<tr class=" stopped reached">') == 1


def test_a_loss_threshold_is_drawn_on_the_loss_axis_and_no_threshold_draws_none(pages):
    _, html = pages["loss_pass", "en"]
    assert "threshold 0.4" in html and "The loss must end below 0.4." in html
    _, html = pages["cnn_pass", "en"]
    assert "threshold" not in html[html.index('id="training"') : html.index("</figure>")].replace("threshold_legend", "")


def test_layers_over_the_limit_are_highlighted_against_it(pages):
    _, html = pages["layer_limit", "en"]
    assert html.count('<tr class="bad k-conv">') == 2 and html.count('<tr class="bad k-pool">') == 2
    assert "Convolution layers: <strong>2</strong>" in html and "(at most 1 allowed)" in html
    _, html = pages["conv_pass", "en"]
    assert html.count('<tr class="ruled k-conv">') == 1 and '<tr class="bad' not in html
    _, html = pages["model_structure", "zh"]
    assert escape(msg("zh", "limit_exact", count=2)) in html and "LeNet5" in html


def test_a_warn_only_check_is_a_warning_not_a_failure(pages):
    result, html = pages["skeleton_warn", "en"]
    assert result.passed
    assert '<li class="check warn" id="check-skeleton_integrity">' in html and msg("en", "verdict_warnings") in html


def test_the_report_is_a_pure_function_of_the_result():
    result, assignment = build("epoch_limit", "zh")
    again = models.GradeResult.from_dict(result.to_dict())
    assert render_report(again, assignment, "zh") == render_report(result, assignment, "zh")


def test_without_an_assignment_an_unknown_check_and_an_empty_language(tmp_path):
    result, assignment = build("pass", "zh")
    odd = replace(result, checks=result.checks + (models.CheckResult("brand_new", False, 0, 1, "new"),))
    assert "brand new" in render_report(odd, None, "en")
    path = write_report(odd, assignment, "", tmp_path / "out" / "report.html")  # "": the assignment's default, zh
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>\n<html lang=\"zh-CN\">")
    with pytest.raises(ValueError):
        render_report(result, assignment, "fr")


def _used_keys() -> set[str]:
    """Every catalogue key the template and report.py can ask for, dynamic ones included."""
    template = (templates_dir() / "report.html.j2").read_text(encoding="utf-8")
    code = Path(report.__file__).read_text(encoding="utf-8")
    keys = set(re.findall(r"\bt\(['\"]([a-z_]*[a-z])['\"]", template + code))
    statuses = typing.get_args(models.ExecutionStatus)
    dynamic = {"check": KNOWN_CHECKS, "about": KNOWN_CHECKS, "status": statuses, "status_help": statuses,
               "kind": ("conv", "pool", "dense"), "count": ("conv", "pool", "dense"),
               "phase": ("kernel_start", "setup", "student_cells", "finish", "evaluation"), "state": ("pass", "fail", "warn")}  # fmt: skip
    assert set(re.findall(r"label\('([a-z_]+)'", template)) | set(re.findall(r"t\('([a-z]+)_' ~", template)) <= set(dynamic)
    return keys | {f"{prefix}_{name}" for prefix, names in dynamic.items() for name in names}


def test_every_catalogue_key_used_exists_in_both_languages():
    used = _used_keys()
    assert len(used) > 150
    for lang in LANGS:
        missing = {k for k in used if f"report.{k}" not in catalogue(lang)}
        assert not missing, f"{lang}: {sorted(missing)}"
    en = {k for k in catalogue("en") if k.startswith("report.")}
    zh = {k for k in catalogue("zh") if k.startswith("report.")}
    assert en == zh, en ^ zh
    for key in en:  # the same placeholders in both languages
        assert set(re.findall(r"\{(\w+)\}", catalogue("en")[key])) == set(re.findall(r"\{(\w+)\}", catalogue("zh")[key])), key


def test_no_text_is_hard_coded_in_the_template():
    source = (templates_dir() / "report.html.j2").read_text(encoding="utf-8")
    text = re.sub(r"\{[{%#].*?[}%#]\}", "", re.sub(r"<style>.*?</style>", "", source, flags=re.DOTALL), flags=re.DOTALL)
    words = [w for w in re.findall(r">([^<>]+)<", text) if re.search(r"[A-Za-z\u4e00-\u9fff]{2,}", w)]
    names = {"TensorFlow", "Keras", "Python", "grader"}  # product names, the same in every language
    assert {w for chunk in words for w in re.findall(r"[^\s·—()]+", chunk)} <= names, words
    attributes = re.findall(r'(?:aria-label|title|alt)="([^"{]+)"', text)
    assert not attributes, attributes
