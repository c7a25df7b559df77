"""Red team of `grader similar` (issue 15): a student who has read every line and controls only their
own submission tries to hide a copy, to frame an honest student, or to make the instructor's
`grader similar` crash, hang, exhaust memory, or run markup or formulas.

The class: the six independently written answers of tests/similar/answers.py (`HONEST`), `ORIGINAL`
as one student wrote it, and one disguised copy of it; a pair is flagged at a 50% share.

Attacks that worked, now fixed (each a file in tests/hostile/, tested here):

* `similar_copy_with_semicolons.py`: a `;` after every statement was a token between every two
  statements, and broke every shared run that crossed one: 42% (not flagged). `;` now separates
  statements as a new line does and is dropped: 100%.
* `similar_copy_with_no_op_lines.py`: a `None` after every statement, the same way: 41%. Statements
  of one token that do nothing (`None`, `0`, `...`, a docstring, `pass`, a bare name) are dropped: 100%.
* `similar_copy_with_homoglyphs.py`: fullwidth letters in names (`ｍodel.ｆit`), which Python reads
  in NFKC as the plain ones, made every attribute, module and builtin another word: 28%. Names
  are now read in NFKC: 100%.
* `similar_copy_with_an_alias.py`: `import tensorflow as T` made every `tf.` another token (the
  names imports bind kept their text): 66% alone, 18% with the semicolons. An alias now reads as
  what it binds (`tensorflow`), and so does the skeleton's (read with the names all its cells
  import, not cell by cell): 97%.
* `similar_long_line_flood.py` (Python 3.12 and later): `tokenize` gives each token its own copy of
  its line, and the comparison kept every token: one 200,000-character line of 100,000 tokens held
  about 20 GB, and `grader similar` was killed for memory. Counting an f-string's pieces again at
  every piece made it quadratic besides (more than 10 minutes). Tokens no longer keep their line
  and an f-string's depth is counted as it is read: 75 MB and about 9 s on 3.12 (the rest is
  `tokenize`'s own cost of a long line there), under a second on 3.11.
* `similar_tokenize_system_error.ipynb` (Python 3.12 and 3.13): a `%%writefile` cell whose body is
  an indented line and a NUL runs in IPython (the body is a string to the magic), but `tokenize`
  raises SystemError on it, which the comparison did not catch: `grader similar` and `grader batch
  --similar` stopped with a traceback, for the whole class, at no cost to the student's grade. Any
  error of `tokenize`'s is now the code's, and its cell is read line by line.

Cheap disguises measured that are still caught (the copy's share of ORIGINAL, ORIGINAL's of it):
renamed variables, numbers and comments 94%/94%; cells split or joined, a notebook handed in as a
module: no change (tokens run across cells); the code wrapped in functions 65%/82%; keyword arguments
reordered 67%/68%; type annotations on every assignment 70%/69%; `from tensorflow.keras.layers
import Dense` instead of `tf.keras.layers.Dense` 75%/76%; redundant parentheses 54%/57%; a
continuation line that starts with `!=` or `%`, blanked as if it were a shell escape or magic, so
that the cell is read line by line: each line is still read as far as it goes, and only that line
is lost.

Not caught, documented in docs/similar.md ("What it does not catch"): a dead statement of a few
tokens after every statement (`_unused = 0`: 38%/48%); the parentheses, keyword arguments,
annotations and functions above all together (21%/29%); the code in a string run by `exec` (nothing
shared); a group of more submissions than the common-code limit handing in one answer (5 identical
notebooks in a class of 11: no pair at all); a training run under another seed or any other
hyperparameter.

Attacks that fail:

* **Markup and script** in code, names and file names: escaped by Jinja, control characters
  dropped, direction overrides shown (test_similar.py::test_the_page_escapes_student_code). The
  page has no script and the report's Content-Security-Policy.
* **Formulas in the CSV**: a student id or folder that starts with `=`, `+`, `-`, `@`, a tab or a
  carriage return is prefixed with `'` (`exports.common.safe_cell`; tested here).
* **Hostile files** (a FIFO, a link, 64 MB, JSON nested 100,000 deep, broken JSON, more code than
  200,000 characters, a folder of several notebooks): skipped with a note, never opened past the
  grader's reader (test_similar.py). Code that `tokenize` rejects (an unclosed string, a bad
  dedent, a NUL) is read line by line as far as each line goes.
* **Writing elsewhere**: the two files are written, atomically, into the output folder only;
  nothing is written from a submission's name.
* **Many pairs**: a submission pairs only with those that share its fingerprints, so one student
  adds at most one row per classmate; the page caps its table (500) and side-by-side views (100).
* **Framing an honest pair**: a student's submission changes another pair only by adding one
  holder to the fingerprints it has, which can at most make a fingerprint common code (ignored)
  and so lower that pair's shares, or raise a share slightly by taking a fingerprint out of one
  side's total. A student can make a pair of themselves and an honest student (by copying the
  honest code, or by training exactly the honest student's model under the batch's seed), which
  no detector can tell from the other way round: the page says similarity is a reason to look.
"""

from __future__ import annotations

import csv
import io
import sys
import tokenize
from pathlib import Path

import pytest

from grader.errors import EXIT_PASSED
from grader.similar import find_similar, run_similar_command
from grader.similar.code import MAX_TOKENS
from grader.similar.tokens import _raw_tokens, normalise
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


def shape(*cells: str) -> str:
    return " ".join(t.norm for t in normalise(cells))


@pytest.mark.parametrize("attack", ["similar_copy_with_semicolons.py", "similar_copy_with_no_op_lines.py",
                                    "similar_copy_with_homoglyphs.py", "similar_copy_with_an_alias.py"])
def test_a_disguised_copy_is_flagged_and_honest_work_is_not(tmp_path, attack):
    report = find_similar(class_with(tmp_path, {"mallory": HOSTILE / attack}))
    pair = next(p for p in report.pairs if (p.a, p.b) == ("mallory", "olga"))
    assert pair.reasons == ("code",) and min(pair.code.share_a, pair.code.share_b) > 0.9, pair.code
    assert [(p.a, p.b) for p in report.flagged] == [("mallory", "olga")]


def test_the_disguises_leave_the_shape_of_the_code_alone():
    plain = "import tensorflow as tf\nmodel = tf.keras.Sequential()\nmodel.fit(x, y)\nprint(model)"
    assert shape("import tensorflow as tf; model = tf.keras.Sequential();\nmodel.fit(x, y); print(model);") == shape(plain)
    assert shape("import tensorflow as tf\nmodel = tf.keras.Sequential()\nNone\n0\n...\n'why'\nmodel.fit(x, y)\npass\nprint(model)") == shape(plain)
    assert shape("import tensorflow as tf\nｍodel = ｔf.ｋeras.Ｓequential()\nmodel.ｆit(x, y)\nｐrint(model)") == shape(plain)
    assert shape("import tensorflow as T\nmodel = T.keras.Sequential()\nmodel.fit(x, y)\nprint(model)") == shape(plain)
    assert shape("import tensorflow as tf", "m = tf.zeros(3)") == shape("import tensorflow as T", "m = T.zeros(3)")
    assert shape("from keras.layers import Dense as D\nD(3)") == "from keras . layers import Dense as Dense Dense ( NUM )"
    assert shape("for x in y:\n    if x:\n        break\n    continue\nraise") == "for N in N : if N : break continue raise"  # control flow stays


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


def test_similar_tokenize_system_error(tmp_path, monkeypatch):
    if sys.version_info < (3, 12):  # the C tokenizer's error, as 3.12 and 3.13 raise it
        real = tokenize.generate_tokens

        def generate_tokens(readline):
            lines = list(iter(readline, ""))
            if "\x00" in "".join(lines):
                raise SystemError("<built-in method __new__ of type object> returned a result with an exception set")
            return real(iter(lines).__next__)

        monkeypatch.setattr("grader.similar.tokens.tokenize.generate_tokens", generate_tokens)
    copy = write_notebook(fill(ORIGINAL), tmp_path / "in" / "copy.ipynb")
    graded = class_with(tmp_path, {"mallory": HOSTILE / "similar_tokenize_system_error.ipynb", "oscar": copy})
    assert run_similar_command(graded, None, "en", out=io.StringIO()) == EXIT_PASSED
    report = find_similar(graded)
    assert [(p.a, p.b) for p in report.flagged] == [("olga", "oscar")] and "mallory" in report.submissions
    assert shape("x = 1", "%%writefile notes.txt\n l\n\x00\n") == "N = NUM"


@pytest.mark.parametrize("student", ['=HYPERLINK("http://example.com/x","ok")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1)", "\t=1", "\r=1"])
def test_a_student_id_is_never_a_formula_in_the_csv(tmp_path, student):
    copy = write_notebook(fill(ORIGINAL), tmp_path / "in" / "copy.ipynb")
    graded = class_with(tmp_path, {student: copy})
    assert run_similar_command(graded, None, "en", out=io.StringIO()) == EXIT_PASSED
    rows = list(csv.DictReader(io.StringIO((graded / "similarity.csv").read_bytes().decode("utf-8"), newline="")))
    row = next(r for r in rows if r["flagged"] == "yes")
    cells = [row["student_a"], row["student_b"], row["folder_a"], row["folder_b"]]
    assert "'" + student in cells and not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
