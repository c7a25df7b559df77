"""Red team of `grader similar` (issue 15): a student who controls only their own submission tries
to make the instructor's `grader similar` exhaust memory or hang.

* `similar_long_line_flood.py` (Python 3.12 and later): `tokenize` gives each token its own copy of
  its line, and the comparison kept every token: one 200,000-character line of 100,000 tokens held
  about 20 GB, and `grader similar` was killed for memory. Counting an f-string's pieces again at
  every piece made it quadratic besides (more than 10 minutes). Tokens no longer keep their line
  and an f-string's depth is counted as it is read: 75 MB and about 9 s on 3.12 (the rest is
  `tokenize`'s own cost of a long line there), under a second on 3.11.
"""

from __future__ import annotations

import io
from pathlib import Path

from grader.errors import EXIT_PASSED
from grader.similar import find_similar, run_similar_command
from grader.similar.code import MAX_TOKENS
from grader.similar.tokens import _raw_tokens
from tests.similar.answers import HONEST, ORIGINAL
from tests.similar.similar_fixtures import fill, make_batch, training, write_notebook

HOSTILE = Path(__file__).resolve().parents[1] / "hostile"


def class_with(tmp_path: Path, copies: dict[str, Path]) -> Path:
    """A graded batch: the honest answers, olga's ORIGINAL, and `copies` (student → file)."""
    given = tmp_path / "submissions"
    subs: dict[str, tuple[Path, tuple]] = {}
    for n, (name, answers) in enumerate(HONEST.items()):
        subs[name] = (write_notebook(fill(answers), given / f"{name}.ipynb"), training(n))
    subs["olga"] = (write_notebook(fill(ORIGINAL), given / "olga.ipynb"), training(20))
    for n, (student, path) in enumerate(copies.items()):
        subs[student] = (path, training(40 + n))
    return make_batch(tmp_path / "graded", subs)


def test_similar_long_line_flood(tmp_path):
    text = (HOSTILE / "similar_long_line_flood.py").read_text(encoding="utf-8")
    flood = tmp_path / "in" / "flood.py"
    flood.parent.mkdir()
    flood.write_text(text.replace("{{NUMBERS}}", "1," * 45_000).replace("{{FIELDS}}", "{x}" * 30_000), encoding="utf-8")
    assert 180_000 < len(flood.read_text(encoding="utf-8")) < 200_000  # within what the comparison reads
    assert all(tok.line == "" for tok in _raw_tokens(flood.read_text(encoding="utf-8")))  # no token holds its line
    graded = class_with(tmp_path, {"mallory": flood})
    assert run_similar_command(graded, None, "en", out=io.StringIO()) == EXIT_PASSED
    report = find_similar(graded)
    assert not report.skipped and report.submissions["mallory"].tokens == MAX_TOKENS and report.elapsed_s < 60
