"""`grader similar` and `grader batch --similar` on the command line: the thresholds are options,
a bad one is a usage error, and the batch's exit code is the batch's, whatever the pages say."""

from __future__ import annotations

import csv
from pathlib import Path
from types import SimpleNamespace

import pytest

from grader.cli.main import main
from grader.errors import EXIT_FAILED, EXIT_PASSED, EXIT_USAGE
from tests.similar.answers import HONEST, ORIGINAL, RENAMED
from tests.similar.similar_fixtures import fill, make_batch, training, write_module, write_notebook


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("similar-cli")
    given = root / "submissions"
    subs = {name: (write_notebook(fill(answers), given / f"{name}.ipynb"), training(n)) for n, (name, answers) in enumerate(HONEST.items())}
    subs["olga"] = (write_notebook(fill(ORIGINAL), given / "olga.ipynb"), training(20))
    subs["pete"] = (write_module(fill(RENAMED), given / "pete.py"), training(21))
    return make_batch(root / "graded", subs)


def flagged(folder: Path) -> list[tuple[str, str]]:
    with (folder / "similarity.csv").open(encoding="utf-8") as f:
        return [(row["student_a"], row["student_b"]) for row in csv.DictReader(f) if row["flagged"] == "yes"]


def test_similar_writes_the_pages_and_flags_the_copy(graded, tmp_path):
    assert main(["similar", str(graded), "-o", str(tmp_path), "--lang", "en"]) == EXIT_PASSED
    assert flagged(tmp_path) == [("olga", "pete")] and (tmp_path / "similarity.html").is_file()


def test_a_threshold_option_reaches_the_comparison(graded, tmp_path):
    assert main(["similar", str(graded), "-o", str(tmp_path), "--code-share", "1", "--min-shared", "100000"]) == EXIT_PASSED
    assert flagged(tmp_path) == []


@pytest.mark.parametrize("bad", [["--code-share", "1.5"], ["--kgram", "1"], ["--window", "x"]])
def test_a_bad_threshold_is_a_usage_error(graded, tmp_path, bad, capsys):
    assert main(["similar", str(graded), "-o", str(tmp_path), *bad]) == EXIT_USAGE
    assert capsys.readouterr().err and not list(tmp_path.glob("similarity.*"))


def test_batch_similar_compares_after_grading_and_keeps_the_batchs_exit_code(graded, tmp_path, monkeypatch):
    import grader.batch.run as batch_run

    monkeypatch.setattr(batch_run, "run_batch", lambda *a, **k: SimpleNamespace(exit_code=EXIT_FAILED))
    (graded / "similarity.csv").unlink(missing_ok=True)
    argv = ["batch", str(tmp_path), "-a", "mnist-callback", "-o", str(graded), "--similar", "--lang", "en"]
    assert main(argv) == EXIT_FAILED
    assert flagged(graded) == [("olga", "pete")]
