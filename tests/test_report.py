"""The HTML report: every kind of verdict in both languages, escaped, bounded, self-contained."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from report_fixtures import HOSTILE, KINDS, build

from grader.i18n import catalogue
from grader.report import render_report, templates_dir

LANGS = ("en", "zh")


class Tags(HTMLParser):
    """The element names and URL-bearing attribute values of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.names.add(tag)
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "action", "xlink:href", "data")]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_verdict_renders_self_contained(kind, lang):
    result, assignment = build(kind, lang)
    html = render_report(result, assignment, lang)
    assert html.startswith("<!DOCTYPE html>") and f'lang="{"zh-CN" if lang == "zh" else "en"}"' in html
    tags = Tags()
    tags.feed(html)
    assert "script" not in tags.names and "link" not in tags.names and "img" not in tags.names
    assert not [v for v in tags.urls if re.match(r"\s*(https?:)?//", v)]
    assert len(html) < 400_000
    verdict = catalogue(lang)["report.verdict_passed" if result.passed else "report.verdict_failed"]
    assert f"<h1>{verdict}</h1>" in html


@pytest.mark.parametrize("kind", ["epoch_limit", "stop_message", "accuracy_threshold", "layer_limit", "test_accuracy"])
def test_a_failing_check_shows_why_and_the_next_step(kind):
    result, assignment = build(kind, "en")
    check = result.check(kind)
    assert not check.passed and check.hint
    html = render_report(result, assignment, "en")
    from html import escape

    assert escape(check.message) in html and escape(check.hint) in html


def test_epoch_limit_failure_says_what_to_pass():
    result, assignment = build("epoch_limit", "en")
    assert "fit was called with epochs=30; the limit is 10." in result.check("epoch_limit").message
    assert "Pass epochs=10" in render_report(result, assignment, "en")


def test_crash_shows_the_students_cell_and_line():
    result, assignment = build("crash", "zh")
    html = render_report(result, assignment, "zh")
    assert "在你的第 4 个单元格，第 7 行" in html and "KeyError: &#39;acc&#39;" in html
    assert '<span class="hit"><span class="ln">7</span>' in html
    assert "grader/kernel" not in html


def test_hostile_text_is_escaped_and_truncated():
    result, assignment = build("hostile", "en")
    html = render_report(result, assignment, "en")
    assert HOSTILE not in html and "&lt;script&gt;" in html
    assert len(html) < 200_000 and "lines]" in html


def test_chart_marks_threshold_and_stop_with_a_text_alternative():
    result, assignment = build("pass", "en")
    html = render_report(result, assignment, "en")
    assert 'role="img" aria-label="Training accuracy per epoch"' in html
    assert "threshold 99.0%" in html and "stopped: epoch 5" in html and "<table>" in html


def test_progress_bars_render_as_a_terminal_shows_them():
    result, assignment = build("pass", "en")
    html = render_report(result, assignment, "en")
    assert html.count("1875/1875") <= 10 and "1874/1875" not in html and "\x1b" not in html


def test_every_catalogue_key_used_by_the_template_exists_in_both_languages():
    source = (templates_dir() / "report.html.j2").read_text(encoding="utf-8") + open(__import__("grader.report").report.__file__, encoding="utf-8").read()
    used = set(re.findall(r"\bt\('([a-z_]+)'[,)]", source)) | set(re.findall(r'msg\["report\.([a-z_]+)"\]', source))
    used |= {f"check_{c}" for c in ("execution", "epoch_limit", "stop_message", "accuracy_threshold", "layer_limit", "test_accuracy", "skeleton_integrity")}
    used |= {f"kind_{k}" for k in ("conv", "pool")}
    for lang in LANGS:
        missing = {k for k in used if f"report.{k}" not in catalogue(lang)}
        assert not missing, f"{lang}: {missing}"
    assert set(k for k in catalogue("en") if k.startswith("report.")) == set(k for k in catalogue("zh") if k.startswith("report."))


def test_no_text_is_hard_coded_in_the_template():
    source = (templates_dir() / "report.html.j2").read_text(encoding="utf-8")
    text = re.sub(r"\{[{%#].*?[}%#]\}", "", re.sub(r"<style>.*?</style>", "", source, flags=re.S), flags=re.S)
    words = [w for w in re.findall(r">([^<>]+)<", text) if re.search(r"[A-Za-z\u4e00-\u9fff]{3,}", w)]
    names = {"TensorFlow", "Keras", "Python", "grader"}  # product names, the same in every language
    assert {w for text in words for w in re.findall(r"[^\s·]+", text)} <= names, words
