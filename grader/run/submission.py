"""Loading a submission: a notebook of any nbformat version, or a `.py` module split at `# %%`.

Saved outputs are cleared on load: the grader never reads what the student's file claims it printed.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from grader.untrusted import HostileInput, load_json, read_regular_file, safe_text

MAX_SUBMISSION_BYTES = 20 * 1024 * 1024
CELL_MARKER = re.compile(r"^# ?%%.*$", re.MULTILINE)


@dataclass(frozen=True)
class Submission:
    path: Path
    notebook: NotebookNode  # nbformat v4, outputs cleared

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def code_cells(self) -> list[NotebookNode]:
        return [c for c in self.notebook.cells if c.cell_type == "code"]

    @property
    def assignment_hint(self) -> str | None:
        """The assignment id the skeleton's metadata carries, if any."""
        meta = self.notebook.metadata.get("grader", {})
        value = meta.get("assignment") if isinstance(meta, dict) else None
        return value if isinstance(value, str) else None


class InvalidSubmission(HostileInput):
    """The file cannot be read as a notebook or module; `localised(lang)` is the message for the student."""


def load_submission(path: Path) -> Submission:
    """Read and normalise `path`, or raise InvalidSubmission with an actionable message. The file is
    hostile input: a link, a FIFO, broken or deeply nested JSON, huge numbers and text that cannot
    be encoded are all refused or made safe here, never raised as anything else."""
    try:
        data = read_regular_file(path, MAX_SUBMISSION_BYTES)
    except HostileInput as exc:
        raise InvalidSubmission(exc.key, **exc.values) from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidSubmission("submission.not_utf8", byte=exc.start) from exc
    if path.suffix == ".py":
        notebook = notebook_from_module(text)
    elif path.suffix == ".ipynb":
        notebook = notebook_from_json(text)
    else:
        raise InvalidSubmission("submission.wrong_kind", suffix=safe_text(path.suffix or path.name))
    return Submission(path=path, notebook=clear_outputs(notebook))


def notebook_from_json(text: str) -> NotebookNode:
    try:
        data = load_json(text)
    except HostileInput as exc:
        raise InvalidSubmission("submission.invalid_notebook", detail=exc) from exc
    if not isinstance(data, dict) or "cells" not in data and "worksheets" not in data:
        raise InvalidSubmission("submission.no_cells")
    try:
        with warnings.catch_warnings():  # old notebooks lack cell ids; nbformat adds them
            warnings.simplefilter("ignore")
            notebook = nbformat.reads(json.dumps(data), as_version=4)  # `data`: bounded and safe to encode
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds for broken files
        raise InvalidSubmission("submission.invalid_notebook", detail=_first_line(exc)) from exc
    for cell in notebook.cells:
        if not isinstance(cell.get("source", ""), str):
            cell.source = "".join(cell.source)
    if not any(c.get("cell_type") == "code" for c in notebook.cells):
        raise InvalidSubmission("submission.no_code")
    return notebook


def notebook_from_module(text: str) -> NotebookNode:
    """A `.py` module as a notebook: `# %%` lines start new cells; no marker means one cell.

    Line numbers stay true: the first cell's lines are the file's, a later cell's count from the
    line after its marker.
    """
    chunks = CELL_MARKER.split(text)
    sources = [chunks[0], *(c[1:] if c.startswith("\n") else c for c in chunks[1:])]
    cells = [nbformat.v4.new_code_cell(source.rstrip()) for source in sources if source.strip()]
    if not cells:
        raise InvalidSubmission("submission.empty_module")
    return nbformat.v4.new_notebook(cells=cells, metadata={"language_info": {"name": "python"}})


def clear_outputs(notebook: NotebookNode) -> NotebookNode:
    """Drop every saved output and execution count: never trust them."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.pop("attachments", None) if cell.cell_type == "code" else None
    return notebook


def _first_line(exc: Exception) -> str:
    try:
        return safe_text((str(exc).strip().splitlines() or [type(exc).__name__])[0][:300])
    except Exception:  # noqa: BLE001 - str() of an exception built from hostile input
        return type(exc).__name__
