"""Notebooks from plain text: a module in the "percent" format (`# %%` cells) as an `.ipynb`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import nbformat

MARKDOWN_MARKER = re.compile(r"^# ?%% \[markdown\].*$")
CELL_MARKER = re.compile(r"^# ?%%.*$")


def notebook_from_percent(text: str, assignment_id: str | None = None) -> nbformat.NotebookNode:
    """A notebook from a module in the "percent" format: `# %%` starts a code cell, `# %% [markdown]`
    a markdown cell whose lines are comments (`# ` is removed). `assignment_id` goes into the
    metadata, where `grader grade` finds it when `-a` is left out."""
    cells: list[nbformat.NotebookNode] = []
    kind = "code"
    lines: list[str] = []

    def flush() -> None:
        source = "\n".join(lines).strip("\n")
        if not source.strip():
            return
        if kind == "markdown":
            source = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in source.splitlines())
            cells.append(nbformat.v4.new_markdown_cell(source))
        else:
            cells.append(nbformat.v4.new_code_cell(source.rstrip()))

    for line in text.splitlines():
        if CELL_MARKER.match(line):
            flush()
            kind, lines = ("markdown" if MARKDOWN_MARKER.match(line) else "code"), []
        else:
            lines.append(line)
    flush()
    metadata: dict[str, Any] = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    if assignment_id:
        metadata["grader"] = {"assignment": assignment_id}
    return nbformat.v4.new_notebook(cells=cells, metadata=metadata)


def write_notebook(notebook: nbformat.NotebookNode, path: Path) -> Path:
    """Write `notebook` to `path` as JSON (its folder created first); return `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path
