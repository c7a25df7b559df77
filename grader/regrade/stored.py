"""Reading back what a batch stored, with the care any file of the output folder gets
(`grader.untrusted`): each student's `result.json` and the gradebook's copy, the assignment each
was judged against, how the batch was run, and the submission itself where it is still there.

Nothing read here raises for bad content: an unusable result becomes a `Reason` to run it again.
"""

from __future__ import annotations

import json
import math
import typing
from dataclasses import fields
from pathlib import Path
from typing import Any

from grader.assignment import Assignment, parse_assignment
from grader.batch.discovery import candidates, content_sha256
from grader.batch.gradebook import Gradebook
from grader.common.files import TomlError, load_toml
from grader.errors import GraderError
from grader.i18n import LANGS
from grader.models import CheckResult, ExecutionStatus, GradeResult
from grader.options import Options
from grader.regrade.plan import BatchContext, Reason, Stored
from grader.run.submission import InvalidSubmission, Submission, load_submission
from grader.untrusted import HostileInput, load_json, read_regular_file

MAX_RESULT_BYTES = 64 * 1024 * 1024  # a result with every figure the caps allow is a few MiB
STATUSES = typing.get_args(ExecutionStatus)


class Unusable(Exception):
    """A stored result that cannot be judged again; `reason` says why."""

    def __init__(self, reason: Reason) -> None:
        self.reason = reason
        super().__init__(reason.key)


def read_result(path: Path) -> GradeResult:
    """The `GradeResult` in the `result.json` at `path`; raises Unusable."""
    return result_of(read_result_data(path))


def read_result_data(path: Path) -> dict[str, Any]:
    """The JSON object in the `result.json` at `path`, read with care; raises Unusable."""
    try:
        text = read_regular_file(path, MAX_RESULT_BYTES).decode("utf-8")
    except HostileInput as exc:
        raise Unusable(Reason("unreadable", {"reason": exc})) from exc
    except UnicodeDecodeError as exc:
        raise Unusable(Reason("unreadable", {"reason": Reason("not_utf8", {"byte": exc.start})})) from exc
    try:
        data = load_json(text)
    except HostileInput as exc:
        raise Unusable(Reason("unreadable", {"reason": exc})) from exc
    if not isinstance(data, dict):
        raise Unusable(Reason("not_a_result", {"field": "—"}))
    return data


def result_of(data: dict[str, Any]) -> GradeResult:
    """A stored result from its JSON object, its every field of the right type; raises Unusable."""
    try:
        result = GradeResult.from_dict(data)
    except Exception as exc:  # noqa: BLE001 - wrong types anywhere: from_dict fails in many ways
        raise Unusable(Reason("not_a_result", {"field": type(exc).__name__})) from exc
    wrong = _wrong_field(result)
    if wrong:
        raise Unusable(Reason("not_a_result", {"field": wrong}))
    return result


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _wrong_field(r: GradeResult) -> str | None:
    """The first field of `r` that a grading could not have written, or None."""
    checks: list[tuple[str, bool]] = [
        ("assignment", isinstance(r.assignment, str)),
        ("submission", isinstance(r.submission, str)),
        ("passed", isinstance(r.passed, bool)),
        ("score", _number(r.score) and _number(r.max_score)),
        ("lang", r.lang in LANGS),
        ("grader_version", isinstance(r.grader_version, str)),
        ("errors", isinstance(r.errors, tuple) and all(isinstance(e, str) for e in r.errors)),
        ("checks", isinstance(r.checks, tuple) and all(isinstance(c, CheckResult) and _check_ok(c) for c in r.checks)),
        ("execution.status", r.execution.status in STATUSES),
        ("execution.timeout_s", r.execution.timeout_s is None or _number(r.execution.timeout_s)),
        ("execution.duration_s", _number(r.execution.duration_s)),
        ("execution.sandbox", isinstance(r.execution.sandbox, str)),
        ("duration_s", _number(r.duration_s)),
    ]
    return next((name for name, ok in checks if not ok), None)


def _check_ok(c: CheckResult) -> bool:
    return (isinstance(c.id, str) and isinstance(c.passed, bool) and _number(c.score) and _number(c.max_score)
            and all(isinstance(getattr(c, f.name), str) for f in fields(c) if f.name in ("message", "required", "measured", "hint")))


def plain_folder(folder: str) -> bool:
    """Whether a student's folder name is one name, inside the output folder (as discovery makes them)."""
    return bool(folder) and folder not in (".", "..") and Path(folder).name == folder and "\\" not in folder


def stored_results(book: Gradebook, grades_dir: Path, assignment_id: str) -> list[Stored]:
    """Every student of the gradebook: its result, read from its `result.json`, which must be the
    gradebook's copy (a damaged, missing or edited one is a reason to run it again)."""
    stored = []
    for row in book.raw_results(assignment_id):
        problem: Reason | None = None
        result: GradeResult | None = None
        folder = str(row["folder"])
        path = grades_dir / folder / "result.json" if plain_folder(folder) else None
        try:
            kept = json.loads(str(row["result_json"]))
        except ValueError:
            kept, problem = None, Reason("gradebook_unreadable")
        if kept is not None:
            try:
                if path is None:
                    raise Unusable(Reason("unreadable", {"reason": HostileInput("file.missing")}))
                data = read_result_data(path)
                if data != kept:
                    raise Unusable(Reason("differs"))
                result = result_of(data)
            except Unusable as exc:
                problem, result = exc.reason, None
        stored.append(Stored(student=str(row["student"]), folder=folder, result=result, problem=problem, result_path=path, in_gradebook=True,
                             source=str(row["source"]), content_sha256=str(row["content_sha256"]), outcome=str(row["outcome"]),
                             assignment_sha256=str(row["assignment_sha256"] or "")))
    return stored


def lone_result(path: Path) -> Stored:
    """A `result.json` without a gradebook (`grader grade -o`): its folder's name stands for the student."""
    folder = path.parent.name or "."
    try:
        return Stored(student=folder, folder=folder, result=read_result(path), result_path=path)
    except Unusable as exc:
        return Stored(student=folder, folder=folder, result=None, problem=exc.reason, result_path=path)


def batch_context(book: Gradebook, assignment_id: str) -> BatchContext:
    """How the batch was last run (its options, paths, roster and id pattern), as `run_batch`
    recorded it; the grader's defaults where a run did not record them."""
    settings = book.last_run_settings(assignment_id) or {}
    asked, paths = settings.get("asked"), settings.get("paths")
    roster, pattern, jobs = settings.get("roster"), settings.get("id_pattern"), settings.get("jobs")
    return BatchContext(
        options=options_from_json(asked) if isinstance(asked, dict) else Options(),
        paths=tuple(Path(p) for p in paths if isinstance(p, str)) if isinstance(paths, list) else (),
        roster=Path(roster) if isinstance(roster, str) else None,
        id_pattern=pattern if isinstance(pattern, str) else None,
        jobs=jobs if isinstance(jobs, int) and not isinstance(jobs, bool) and jobs > 0 else None,
    )


def options_from_json(data: dict[str, Any]) -> Options:
    """The `Options` a run recorded (`dataclasses.asdict`, as JSON); defaults for what is missing or odd."""
    default = Options()
    values: dict[str, Any] = {}
    for f in fields(Options):
        value = data.get(f.name, getattr(default, f.name))
        if f.name == "data_dir":
            value = Path(value) if isinstance(value, str) else None
        elif f.name == "kernel_prefix":
            value = tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()
        elif f.name == "env":
            value = {}
        elif f.name == "full":
            value = value is True
        values[f.name] = value
    try:
        return Options(**values)
    except TypeError:
        return default


def previous_assignment(book: Gradebook, sha256: str) -> tuple[Assignment, dict[str, str]] | None:
    """The assignment a fingerprint stood for, parsed as this grader parses assignments, and the
    digests of its files; None when the gradebook does not keep it or it no longer parses."""
    snapshot = book.assignment_snapshot(sha256) if sha256 else None
    if not snapshot or not isinstance(snapshot.get("toml"), str) or not isinstance(snapshot.get("files"), dict):
        return None
    name = str(snapshot.get("id") or "assignment")
    try:
        data = load_toml(_Text(snapshot["toml"]))
        old = parse_assignment(data, Path("/previous") / name / "assignment.toml")
    except (GraderError, TomlError, ValueError, TypeError):
        return None
    return old, {str(k): str(v) for k, v in snapshot["files"].items()}


def submission_of(stored: Stored) -> Submission | Reason:
    """The submission a stored result was graded from, as it was then; a Reason when it is gone,
    changed since (its content no longer has the stored digest) or unreadable."""
    if not stored.in_gradebook:
        return Reason("source.none")
    source = Path(stored.source)
    try:
        if not (source.is_file() or source.is_dir()) or source.is_symlink():
            return Reason("source.gone", {"path": str(source)})
        if content_sha256(source) != stored.content_sha256:
            return Reason("source.changed")
        graded = [source] if source.is_file() else candidates(source)
        if len(graded) != 1:
            return Reason("source.gone", {"path": str(source)})
        return load_submission(graded[0])
    except InvalidSubmission as exc:
        return Reason("source.unreadable", {"reason": exc})
    except OSError as exc:
        return Reason("source.unreadable", {"reason": exc.strerror or type(exc).__name__})


class _Text:
    """A snapshot's TOML text, readable as `load_toml` reads a file."""

    def __init__(self, text: str) -> None:
        self.text = text

    def read_text(self, encoding: str | None = None) -> str:
        return self.text
