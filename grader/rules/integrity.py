"""Skeleton integrity: the code the skeleton gives outside its `YOUR CODE` regions was kept."""

from __future__ import annotations

from nbformat import NotebookNode

START, END = "YOUR CODE STARTS HERE", "YOUR CODE ENDS HERE"


def fixed_lines(skeleton: NotebookNode) -> list[str]:
    """The skeleton's code lines outside the regions, stripped, blank lines left out."""
    lines, inside = [], False
    for cell in skeleton.cells:
        if cell.cell_type != "code":
            continue
        for raw in cell.source.splitlines():
            line = raw.strip()
            if START in line:
                inside = True
            elif END in line:
                inside = False
            elif line and not inside:
                lines.append(line)
    return lines


def compare(skeleton: NotebookNode, submission: NotebookNode) -> tuple[bool, str]:
    """(kept, the first fixed line missing or changed): every fixed line must appear, in order, in
    the submission's code; the check says so in the result's language."""
    code = [line.strip() for cell in submission.cells if cell.cell_type == "code" for line in cell.source.splitlines()]
    position = 0
    for expected in fixed_lines(skeleton):
        try:
            position = code.index(expected, position) + 1
        except ValueError:
            return False, expected[:120]
    return True, ""
