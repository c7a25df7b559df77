"""Writing a graded result to its output folder: `result.json` and `report.html`.

Text in a result may have come from the sandbox, so it is made safe to encode before anything is
written; `result.json` is written first and stands even when the report cannot be rendered.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from grader.assignment import Assignment
from grader.common.files import atomic_write
from grader.last_resort import describe, encodable
from grader.models import GradeResult

log = logging.getLogger("grader")


def write_json(result: GradeResult, outdir: Path) -> Path:
    """`result.json`, written atomically (a reader never sees half a file)."""
    outdir.mkdir(parents=True, exist_ok=True)
    return atomic_write(outdir / "result.json", json.dumps(encodable(result).to_dict(), ensure_ascii=False, indent=2))


def write_outputs(result: GradeResult, assignment: Assignment | None, outdir: Path) -> list[Path]:
    """`result.json` and `report.html`; a report that cannot be rendered is left out (and logged),
    the result stands. A folder that cannot be written raises OSError."""
    from grader.report.html import write_report

    result = encodable(result)
    written = [write_json(result, outdir)]
    try:
        written.append(write_report(result, assignment, result.lang, outdir / "report.html"))
    except OSError:
        raise
    except Exception as exc:  # noqa: BLE001 - the result is written; a renderer's fault must not lose it
        log.error("the report of %s could not be written (%s); result.json stands", result.submission, describe(exc))
    return written
