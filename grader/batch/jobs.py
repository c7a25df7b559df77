"""A grading job (everything one worker process needs) and the outcome it sends back."""

from __future__ import annotations

import base64
import dataclasses
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader import __version__

if TYPE_CHECKING:
    from grader.assignment import Assignment
    from grader.options import Settings

DEFAULT_GRACE_S = 480.0  # kernel start (≤ 120 s) + evaluation (≤ 300 s) + slack, beyond the timeout

# What a worker sends back: `outcome` is "graded" (with `result`, a `GradeResult.to_dict()`) or
# "crashed" (with `kind`: timeout | signal | exit | error | bad_result | version | lost, and a
# `message`); `log_tail` is the end of the worker's output, for the instructor.
Outcome = dict[str, Any]


@dataclass(frozen=True)
class Job:
    """Everything one grading needs, picklable and JSON-able (bytes travel as base64)."""

    student: str
    key: str
    filename: str  # the graded file's name (kept: `GradeResult.submission` is this name)
    path: str | None = None  # where the worker can read the file...
    payload: bytes | None = None  # ...or the file itself (shipped to another machine)
    assignment_ref: str | None = None  # assignment folder (or id) the worker can load...
    assignment_id: str = ""
    assignment_files: dict[str, bytes] = field(default_factory=dict)  # ...or the folder's files
    options: dict[str, Any] = field(default_factory=dict)  # the grading's `Settings.to_json()`; env is the worker's
    threads: int | None = None  # per grading; None: computed where the job runs
    hard_limit_s: float = 900.0 + DEFAULT_GRACE_S
    grader_version: str = __version__

    def shipped(self) -> Job:
        """The job with the submission and the assignment inside it, for a machine without our files."""
        if self.payload is not None:
            return self
        payload = Path(self.path).read_bytes() if self.path else None
        files: dict[str, bytes] = {}
        if self.assignment_ref and Path(self.assignment_ref).is_dir():
            root = Path(self.assignment_ref)
            files = {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}
        return dataclasses.replace(self, payload=payload, path=None, assignment_files=files, assignment_ref=None if files else self.assignment_ref)

    def to_json(self) -> dict[str, Any]:
        """The job as JSON values (bytes as base64)."""
        data = dataclasses.asdict(self)
        data["payload"] = None if self.payload is None else base64.b64encode(self.payload).decode()
        data["assignment_files"] = {k: base64.b64encode(v).decode() for k, v in self.assignment_files.items()}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Job:
        """The job `to_json` wrote; unknown fields are ignored."""
        data = dict(data)
        data["payload"] = None if data.get("payload") is None else base64.b64decode(data["payload"])
        data["assignment_files"] = {k: base64.b64decode(v) for k, v in (data.get("assignment_files") or {}).items()}
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


OnDone = Callable[[Job, Outcome], None]  # called here as each outcome comes back
Tick = Callable[[int], None]  # called now and then with the number of gradings running
Runner = Callable[[Job], Outcome]  # grades one job (`run_job`, or a fake in tests)


def job_outcome(job: Job, outcome: str, **fields: Any) -> Outcome:
    """The `outcome` ("graded" or "crashed") of `job` on this machine; `fields` fill in the rest."""
    base = {"student": job.student, "key": job.key, "outcome": outcome, "result": None, "kind": "", "message": "", "log_tail": "",
            "host": socket.gethostname(), "wall_s": 0.0, "threads": job.threads}
    base.update(fields)
    return base


def grading_job(student: str, key: str, path: Path, assignment: Assignment, settings: Settings, *,
                grace_s: float = DEFAULT_GRACE_S, threads: int | None = None) -> Job:
    """The job that grades the file at `path` for `student` with the effective `settings` (the ones
    its key was computed from); the worker is killed `grace_s` past their time limit. The settings
    travel without `env`: the worker sets its own (the thread plan of its machine)."""
    return Job(student=student, key=key, filename=path.name, path=str(path.resolve()),
               assignment_ref=str(Path(assignment.folder).resolve()), assignment_id=assignment.id,
               options=dataclasses.replace(settings, env={}).to_json(), threads=threads, hard_limit_s=settings.timeout_s + grace_s)
