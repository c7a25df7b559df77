"""The students' environment graded for real, in the sandbox: plots and their figures, Colab's `!`
and `%pip` lines, an import outside the exercise's packages, the student's own copy of the data
set; and the attacks on them (tests/hostile/figure_flood.py, dataset_by_file_name.py). Nothing here
trains, so each grading takes the kernel's start and TensorFlow's import (seconds)."""

from __future__ import annotations

import hashlib
import re
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from grader.assignment import find_assignment
from grader.data.datasets import ensure_mnist
from grader.data.heldout import prepare
from grader.models import GradeResult
from grader.pipeline import Options, grade
from grader.report.outputs import write_outputs
from grader.run.figures import MAX_FIGURES, decode_png
from tests.support.hostile import HOSTILE, Graded, assert_contained
from tests.support.sandbox import AVAILABLE

pytestmark = [pytest.mark.kernel, pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox is Linux's")]
PACKAGES = "tensorflow, keras, numpy, matplotlib"


def graded(tmp_path: Path, source: str, *, lang: str = "en", full: bool = True, mode: str = "auto", name: str = "student.py") -> tuple[GradeResult, str]:
    """Grade `source` (a module, cells at `# %%`) for mnist-callback; the result and its report."""
    submission = tmp_path / name
    submission.write_text(textwrap.dedent(source), encoding="utf-8")
    assignment = find_assignment("mnist-callback")
    result = grade(submission, assignment, Options(lang=lang, full=full, sandbox=mode, timeout_s=120))
    write_outputs(result, assignment, tmp_path / "out")
    return result, (tmp_path / "out" / "report.html").read_text(encoding="utf-8")


def test_figures_and_colab_lines(tmp_path):
    """`%matplotlib inline`, `plt.show()` and a figure left open show beside their cell; the font
    list was there before matplotlib's import; `!pip`/`%pip install` are answered at once, other
    `!` commands run in the sandbox."""
    result, html = graded(tmp_path, """
        # %%
        import glob, os
        assert glob.glob(os.environ["MPLCONFIGDIR"] + "/fontlist-*.json"), "no font list before the import"
        !pip install -q seaborn
        %pip install -q tensorflow==2.15
        !echo shell-works > /tmp/marker.txt
        assert open("/tmp/marker.txt").read().strip() == "shell-works"
        %matplotlib inline
        import matplotlib.pyplot as plt

        # %%
        x = 1

        # %%
        plt.plot([0, 1], [1, 0])
        plt.show()
        plt.figure()
        plt.imshow([[0, 1], [1, 0]])
    """)
    info = result.execution
    assert info.status == "ok", (info.message, info.traceback)
    assert [(c.cell, len(c.figures)) for c in info.figures] == [(3, 2)] and info.figures_left_out == 0
    assert all(decode_png(f.png) == f for f in info.figures[0].figures)
    assert info.timings["student_cells"] < 8, info.timings  # each pip would have taken its retries
    assert html.count('<img src="data:image/png;base64,') == 2 and "plt.imshow([[0, 1], [1, 0]])" in html


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_an_import_outside_the_exercise_is_named_before_and_while_running(tmp_path, lang):
    source = """
        # %%
        import numpy as np

        # %%
        x = 1
        import pandas as pd
    """
    messages = {
        "en": f"Your code imports pandas (cell 2, line 2), which this exercise does not provide; it provides {PACKAGES} and Python's standard library.",
        "zh": f"代码导入了 pandas（第 2 个单元格，第 2 行），本练习不提供该模块；本练习提供 {PACKAGES} 以及 Python 标准库。",
    }
    result, html = graded(tmp_path, source, lang=lang)
    assert result.execution.status == "error" and (result.execution.cell, result.execution.line) == (2, 2)
    assert result.errors[0] == messages[lang] and result.check("execution").message == messages[lang]
    assert messages[lang].replace("'", "&#39;") in html
    (tmp_path / "early").mkdir()
    early, _ = graded(tmp_path / "early", source, lang=lang, full=False)
    assert early.execution.status == "not_run" and not early.check("execution").passed
    assert "pandas" in early.check("execution").message and PACKAGES in early.check("execution").message


def test_the_students_own_copy_of_the_data_set_is_the_graders(tmp_path):
    """np.load of mnist.npz from a folder of its own, keras.utils.get_file('mnist.npz', ...), the
    four IDX files, load_data(path=...): all the kernel's copy, offline; the report says so once.
    Another missing file is a FileNotFoundError at the student's line."""
    result, html = graded(tmp_path, """
        # %%
        import gzip
        import numpy as np
        import tensorflow as tf

        (x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data(path="/home/me/mnist.npz")
        with np.load("../datasets/mnist.npz") as f:
            assert (f["x_train"] == x_train).all() and (f["y_test"] == y_test).all()
        path = tf.keras.utils.get_file("mnist.npz", origin="https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz")
        with np.load(path) as f:
            assert (f["x_test"] == x_test).all()
        with gzip.open("MNIST_data/train-images-idx3-ubyte.gz", "rb") as f:
            images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
        with open("MNIST_data/t10k-labels-idx1-ubyte", "rb") as f:
            labels = np.frombuffer(f.read(), np.uint8, offset=8)
        assert (images == x_train).all() and (labels == y_test).all()

        # %%
        data = np.load("../datasets/fashion.npz")
    """)
    info = result.execution
    assert info.status == "error" and (info.cell, info.line) == (2, 1), (info.message, info.traceback)
    assert info.exception == "FileNotFoundError: [Errno 2] No such file or directory: '../datasets/fashion.npz'"
    assert "grader/inside" not in info.traceback and "_ORIGINAL_OPEN" not in info.traceback
    assert result.recording.data_files == (
        "/home/me/mnist.npz", "../datasets/mnist.npz", "mnist.npz", "MNIST_data/train-images-idx3-ubyte.gz", "MNIST_data/t10k-labels-idx1-ubyte",
    )
    assert html.count("it got the grader&#39;s verified copy of MNIST (grading is offline).") == 1


def digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


@pytest.mark.parametrize("mode", AVAILABLE)
def test_dataset_by_file_name(tmp_path, mode):
    """Every name and folder gives the kernel's copy (the held-out rows withheld), never the store;
    a file opened for writing is not served; the store's own path on the host is, inside, a
    missing file of the data set's name: get_file of it gets the kernel's copy too."""
    store = ensure_mnist()
    with np.load(prepare(store).kernel_store) as kernel, np.load(store) as full:
        served, withheld = digest(kernel["x_test"]), digest(full["x_test"])
    result, _ = graded(tmp_path, (HOSTILE / "dataset_by_file_name.py").read_text(encoding="utf-8"), mode=mode)
    seen = re.search(r"SEEN (.*)", result.execution.exception)
    assert result.execution.status == "error" and seen, result.execution
    lines = dict(item.rsplit(" ", 1) for item in seen.group(1).split(" | "))
    npz = {k: v for k, v in lines.items() if k.startswith("npz ")}
    assert len(npz) == 6 and set(npz.values()) <= {served, "FileNotFoundError"} and list(npz.values()).count(served) >= 5, lines
    assert withheld not in lines.values() and served != withheld
    assert lines["idx"] == served
    assert lines["get_file_origin"] in (served, "Exception", "URLError", "FileNotFoundError")  # a file:// URL to the host's store: a missing file
    assert lines["write"] in ("FileNotFoundError", "PermissionError", "OSError")


def test_figure_flood(tmp_path):
    """Scripts in SVG and HTML, a broken data URI, a PNG bomb, a PNG that is JavaScript, a JPEG,
    600 KB, and 40 honest PNGs: only bounded PNGs reach the report, at most 24, as data: URIs."""
    result, html = graded(tmp_path, (HOSTILE / "figure_flood.py").read_text(encoding="utf-8"))
    info = result.execution
    assert info.status == "ok", info.traceback
    kept = [f for c in info.figures for f in c.figures]
    assert len(kept) == MAX_FIGURES and info.figures_left_out == 7 + 40 - MAX_FIGURES  # 7 refused (the HTML has no image)
    assert all(decode_png(f.png) == f and f.width < 100 for f in kept)
    images = re.findall(r'<img src="([^"]*)"', html)
    assert len(images) == MAX_FIGURES and all(re.fullmatch(r"data:image/png;base64,[A-Za-z0-9+/=]+", src) for src in images)
    for bad in ("<svg", "<script", "onerror", "onload", "example.com", "alert("):
        assert bad not in html, bad
    assert len(html.encode("utf-8")) < 1_000_000
    assert_contained(Graded(result, 0.0, tmp_path / "out", html))
