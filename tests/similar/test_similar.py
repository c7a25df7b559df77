"""`grader similar` on a class built from the mnist-callback skeleton (no grading: the gradebook's
results carry recorded trainings): copies and a reused training are ranked first, honest work
stays below the thresholds, the skeleton alone pairs nobody, hostile files are notes."""

from __future__ import annotations

import csv
import io
import os
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from grader.errors import EXIT_PASSED, EXIT_USAGE
from grader.i18n import catalogue
from grader.similar import Thresholds, find_similar, run_similar_command
from grader.similar.model import Epoch, SimilarUsageError
from grader.similar.page import render_csv
from grader.similar.training import matching_trainings
from tests.similar.answers import HONEST, ORIGINAL, REFORMATTED, RENAMED, REUSER, TRAINED
from tests.similar.similar_fixtures import fill, make_batch, skeleton, training, write_module, write_notebook

COPIES = {("olga", "pete"), ("olga", "quin"), ("pete", "quin")}
REUSED = ("rita", "sam")
HOSTILE = {"vic": "too_much_code", "wes": "unreadable", "wyn": "unreadable", "xia": "unreadable", "xin": "unreadable", "yan": "missing",
           "zed": "unreadable"}


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("similar")
    given = root / "submissions"
    subs: dict[str, tuple[Path, tuple]] = {}
    for n, (name, answers) in enumerate(HONEST.items()):
        subs[name] = (write_notebook(fill(answers), given / f"{name}.ipynb"), training(n))
    subs["olga"] = (write_notebook(fill(ORIGINAL), given / "olga.ipynb"), training(20))
    subs["pete"] = (write_module(fill(RENAMED), given / "pete.py"), training(21))
    subs["quin"] = (write_notebook(fill(REFORMATTED), given / "quin" / "work.ipynb").parent, training(22))  # a folder submission
    subs["rita"] = (write_notebook(fill(TRAINED), given / "rita.ipynb"), training(30))
    subs["sam"] = (write_notebook(fill(REUSER), given / "sam.ipynb"), training(30))  # rita's recorded training
    subs["tom"] = (write_notebook(skeleton(), given / "tom.ipynb"), ())  # the skeleton as shipped
    subs["uma"] = (write_module(skeleton(), given / "uma.py"), ())
    subs.update(hostile(given))
    return make_batch(root / "graded", subs)


def hostile(folder: Path) -> dict[str, tuple[Path, tuple]]:
    """Files a batch may hold: all code, broken, huge, nested past reason, a FIFO, gone, a link."""
    notebook = fill(ORIGINAL)
    notebook.cells.append(nbformat.v4.new_code_cell("x = [" + "1, " * 100_000 + "]"))
    write_notebook(notebook, folder / "vic.ipynb")
    broken = folder / "wes.ipynb"
    broken.write_text('{"cells": [{"cell_type": "code", "source": "x = 1"', encoding="utf-8")
    huge = folder / "wyn.ipynb"
    with huge.open("wb") as f:
        f.truncate(64 * 1024 * 1024)  # sparse: 64 MB that cost nothing to write, refused before a byte is read
    fifo = folder / "xin.ipynb"
    os.mkfifo(fifo)
    deep = folder / "xia.ipynb"
    deep.write_text('{"cells": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    link = folder / "zed.ipynb"
    os.symlink(folder / "olga.ipynb", link)
    return {"vic": (folder / "vic.ipynb", ()), "wes": (broken, ()), "wyn": (huge, ()), "xia": (deep, ()), "xin": (fifo, ()),
            "yan": (folder / "gone.ipynb", ()), "zed": (link, ())}


@pytest.fixture(scope="module")
def report(batch):
    return find_similar(batch)


def test_the_copies_and_the_reused_training_are_ranked_first(report):
    flagged = [(p.a, p.b) for p in report.pairs if p.flagged]
    assert set(flagged) == COPIES | {REUSED}
    assert [(p.a, p.b) for p in report.pairs[: len(flagged)]] == flagged  # flagged pairs come first
    for pair in report.flagged:
        if (pair.a, pair.b) in COPIES:
            assert pair.reasons == ("code",) and min(pair.code.share_a, pair.code.share_b) > 0.65
    reused = next(p for p in report.pairs if (p.a, p.b) == REUSED)
    assert reused.reasons == ("training",) and reused.training.epochs == 6 and reused.code.score < 0.2  # their code differs


def test_honest_submissions_stay_below_the_threshold(report):
    honest = set(HONEST) | {"rita", "sam"}
    for pair in report.pairs:
        if pair.a in honest or pair.b in honest:
            assert (pair.a, pair.b) == REUSED or (not pair.flagged and pair.code.score < Thresholds().code), pair
    highest = max((p.code.score for p in report.pairs if p.code and {p.a, p.b} <= set(HONEST)), default=0.0)
    assert highest < 0.3


def test_the_skeletons_code_alone_never_makes_a_pair(report, batch):
    assert report.skeleton and report.submissions["tom"].fingerprints == report.submissions["uma"].fingerprints == 0
    assert not [p for p in report.pairs if {"tom", "uma"} & {p.a, p.b}]
    eager = find_similar(batch, thresholds=Thresholds(code=0.01, min_shared=1))
    assert not [p for p in eager.pairs if {"tom", "uma"} & {p.a, p.b}]
    assert report.submissions["olga"].given  # the skeleton's lines were recognised in a filled notebook


def test_hostile_and_missing_files_are_skipped_with_a_note(report):
    skipped = {s.student: s for s in report.skipped}
    assert {k: v.reason for k, v in skipped.items()} == HOSTILE
    assert "100,000" not in skipped["vic"].detail and "200,000" in skipped["vic"].detail
    assert "gone.ipynb" in skipped["yan"].detail and "64" in skipped["wyn"].detail
    assert all(s.detail for s in skipped.values())
    assert not [p for p in report.pairs if set(HOSTILE) & {p.a, p.b}]


def test_shared_runs_are_located_in_both_sources(report):
    pair = next(p for p in report.pairs if (p.a, p.b) == ("olga", "pete"))
    olga, pete = report.submissions["olga"], report.submissions["pete"]

    def marked(submission, spans):
        return {submission.cells[s.cell].split("\n")[s.line - 1] for s in spans}

    assert "        print(f'epoch {epoch + 1}: accuracy {current:.4f}')" in marked(olga, pair.code.spans_a)
    assert "        print(f'epoch {ep + 1}: acc {acc_now:.3f}')" in marked(pete, pair.code.spans_b)
    assert not {line for line in marked(olga, pair.code.spans_a) if "YOUR CODE" in line}


def test_trainings_match_within_the_tolerance_and_not_beyond():
    base = tuple(Epoch(accuracy=a, loss=loss) for a, loss in training(5))
    near = tuple(Epoch(accuracy=e.accuracy + 5e-5, loss=e.loss - 5e-5) for e in base)
    far = tuple(Epoch(accuracy=e.accuracy, loss=e.loss + (2e-4 if n == 3 else 0)) for n, e in enumerate(base))
    found = matching_trainings({"a": base, "b": near, "c": far, "d": base[:5]}, 1e-4, 1)
    assert set(found) == {("a", "b")} and found[("a", "b")].largest_difference == pytest.approx(5e-5)
    assert matching_trainings({"a": base, "b": base}, 1e-4, 7) == {}


def test_the_csv_lists_every_pair_ranked(report):
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    assert [(r["student_a"], r["student_b"]) for r in rows if r["flagged"] == "yes"] == [(p.a, p.b) for p in report.flagged]
    reused = next(r for r in rows if (r["student_a"], r["student_b"]) == REUSED)
    assert reused["training_match"] == "yes" and reused["training_epochs"] == "6" and reused["reasons"] == "training"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_command_writes_the_page_and_the_csv(batch, tmp_path, lang, capsys):
    assert run_similar_command(batch, tmp_path, lang) == EXIT_PASSED
    page = (tmp_path / "similarity.html").read_text(encoding="utf-8")
    assert catalogue(lang)["similar.caution"] in page and "Content-Security-Policy" in page
    assert page.count('<details class="pair">') == len(find_similar(batch).pairs)
    assert (tmp_path / "similarity.csv").read_text(encoding="utf-8").startswith("rank,student_a,student_b")
    out = capsys.readouterr().out
    assert str(tmp_path / "similarity.html") in out and "4" in out


def test_the_command_refuses_a_folder_without_a_gradebook_or_a_bad_threshold_in_the_users_language(batch, tmp_path, capsys):
    assert run_similar_command(tmp_path / "nothing", tmp_path, "en") == EXIT_USAGE
    assert "no gradebook at" in capsys.readouterr().err
    assert run_similar_command(tmp_path / "nothing", tmp_path, "zh") == EXIT_USAGE
    assert "没有成绩册" in capsys.readouterr().err
    assert run_similar_command(batch, tmp_path, "en", assignment="mnist-conv") == EXIT_USAGE
    assert "not 'mnist-conv'" in capsys.readouterr().err
    for bad in ({"code": 1.5}, {"common": 0}, {"kgram": 1}, {"window": 2.5}, {"training_tolerance": -1}, {"min_shared": float("nan")}):
        with pytest.raises(SimilarUsageError) as caught:
            Thresholds(**bad)
        assert caught.value.exit_code == EXIT_USAGE and next(iter(bad)) in caught.value.localised("zh")
    assert not list(tmp_path.glob("similarity.*"))


def test_the_page_escapes_student_code(tmp_path):
    attack = ("# YOUR CODE\nx_train = x_train / 255.0  # </pre><script>alert('x')</script>\n"
              "label = '</mark><img src=http://example.com/x.png onerror=alert(1)>' + '\u202egnp.exe' + '{{ 7 * 7 }}'\n"
              "for index in range(len(label)):\n    print(index, label[index], label[index:index + 3], label.upper())")
    answers = (attack, *ORIGINAL[1:])
    subs = {"mallory": (write_notebook(fill(answers), tmp_path / "in" / "mallory.ipynb"), ()),
            "<b>eve</b>": (write_module(fill(answers), tmp_path / "in" / "eve.py"), ())}
    graded = make_batch(tmp_path / "graded", subs)
    assert run_similar_command(graded, None, "en") == EXIT_PASSED
    page = (graded / "similarity.html").read_text(encoding="utf-8")
    assert "<script" not in page and "<img" not in page and "<b>eve" not in page and "http://example.com" not in page.split("<body>")[0]
    assert "&lt;/pre&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page and "&lt;b&gt;eve&lt;/b&gt;" in page
    assert "&lt;U+202E&gt;" in page and "\u202e" not in page and "{{ 7 * 7 }}" in page
    tags = Tags()
    tags.feed(page)
    assert not tags.names & {"script", "img", "iframe", "object", "embed", "link", "base", "form", "b"}
    assert all(name in ("href", "class", "id", "style", "lang", "charset", "name", "content", "http-equiv", "scope", "aria-hidden", "aria-label", "role")
               for name, _ in tags.attributes)
    assert all(value.startswith("#pair-") for name, value in tags.attributes if name == "href")


class Tags(HTMLParser):
    """Every element name and attribute of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.attributes: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        self.names.add(tag)
        self.attributes += [(k, v or "") for k, v in attrs]


def test_every_catalogue_key_exists_in_both_languages_with_the_same_placeholders():
    import re
    import string

    en = {k: v for k, v in catalogue("en").items() if k.startswith("similar.")}
    zh = {k: v for k, v in catalogue("zh").items() if k.startswith("similar.")}
    assert en.keys() == zh.keys() and len(en) > 50
    for key in en:
        fields = [{f for _, f, _, _ in string.Formatter().parse(text) if f} for text in (en[key], zh[key])]
        assert fields[0] == fields[1], key
    root = Path(__file__).resolve().parents[2]
    sources = (root / "templates" / "similarity.html.j2").read_text(encoding="utf-8") + (root / "grader" / "similar" / "page.py").read_text(encoding="utf-8")
    used = {k for k in re.findall(r"\bt\(['\"]([a-z_.]+)['\"]", sources) if not k.endswith(".")}
    used |= {f"reason.{r}" for r in ("code", "training")}
    used |= {f"skip.{r}" for r in ("missing", "folder_empty", "folder_several", "unreadable", "too_much_code", "no_code")}
    python = "".join(p.read_text(encoding="utf-8") for p in (root / "grader" / "similar").glob("*.py"))
    used |= {f"error.{k}" for k in re.findall(r"SimilarUsageError\(\"([a-z_]+)\"", python)}
    used |= set(re.findall(r"\"similar\.([a-z_.]+)\"", python))
    assert {f"similar.{k}" for k in used} <= en.keys()
