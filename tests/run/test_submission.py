"""Loading submissions: notebooks of every nbformat version, modules, and broken files."""

from __future__ import annotations

import json

import nbformat
import pytest

from grader.run.submission import InvalidSubmission, load_submission, notebook_from_module


def write_notebook(path, cells, version=4):
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"grader": {"assignment": "mnist-callback"}})
    if version == 3:
        nbformat.write(nbformat.convert(nb, 3), path, version=3)
    else:
        nbformat.write(nb, path)
    return path


def test_saved_outputs_are_cleared(tmp_path):
    cell = nbformat.v4.new_code_cell("print(1)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="Reached 99% accuracy so cancelling training!")]
    cell.execution_count = 7
    sub = load_submission(write_notebook(tmp_path / "a.ipynb", [cell]))
    assert sub.code_cells[0].outputs == [] and sub.code_cells[0].execution_count is None
    assert sub.assignment_hint == "mnist-callback"


def test_nbformat_3_is_upgraded(tmp_path):
    sub = load_submission(write_notebook(tmp_path / "old.ipynb", [nbformat.v4.new_code_cell("x = 1")], version=3))
    assert sub.notebook.nbformat == 4 and sub.code_cells[0].source == "x = 1"


def test_module_cells_split_at_markers():
    nb = notebook_from_module("import os\n# %%\nx = 1\n\n# %% [markdown]\ny = 2\n#%%\n")
    assert [c.source for c in nb.cells] == ["import os", "x = 1", "y = 2"]


def test_module_without_markers_is_one_cell(tmp_path):
    (tmp_path / "m.py").write_text("a = 1\nb = 2\n")
    assert [c.source for c in load_submission(tmp_path / "m.py").code_cells] == ["a = 1\nb = 2"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("garbage.ipynb", b"this is not json", "JSON is broken at line 1"),
        ("list.ipynb", b"[1, 2]", "no cells found"),
        ("empty.py", b"\n\n", "module is empty"),
        ("latin1.py", "print('é')".encode("latin-1"), "not UTF-8"),
        ("notes.txt", b"x = 1", "submit a .ipynb notebook or a .py module"),
        ("nocode.ipynb", json.dumps({"cells": [{"cell_type": "markdown", "metadata": {}, "source": "hi"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
                                    ).encode(), "no code cell"),
        ("badcell.ipynb", json.dumps({"cells": [{"cell_type": "code"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode(), "not a valid notebook"),
    ],
)
def test_broken_files_get_an_actionable_message(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(InvalidSubmission, match=message):
        load_submission(tmp_path / name)


def test_missing_file(tmp_path):
    with pytest.raises(InvalidSubmission, match="cannot read"):
        load_submission(tmp_path / "nope.ipynb")
