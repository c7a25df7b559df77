"""Batch grading of a whole class: `grader batch SUBMISSIONS -a ASSIGNMENT -o OUTDIR`.

How it works:

* **Discovery.** Each file (`.ipynb`/`.py`) or folder in SUBMISSIONS is one submission. The student
  id comes from its name (optionally through `--id-pattern`) or from a roster CSV (`--roster`).
* **Keys.** A submission's key is the SHA-256 of: the student id, the SHA-256 of its content,
  the assignment (id and the content of its folder), the grader version and every option that
  changes a grade. A result stored under the same key is never graded again; a changed file is.
* **Isolation.** Each submission is graded by `grade()` in a fresh worker process
  (`python -m grader.batch --worker DIR`) in its own session. The worker writes its result to a
  file; it never touches the gradebook. If it crashes, is killed or outlives its hard limit, that
  becomes a failed result for that submission only, and the batch goes on.
* **Gradebook.** Only this (the parent) process writes the SQLite gradebook, one committed
  transaction per result, as soon as the result comes back. A batch killed at any point and run
  again keeps what was committed and grades only what is missing.
* **Executors.** `local`: N worker processes on this machine (threads here only wait on them).
  `dask`: the same worker processes, started by tasks on a Dask cluster's workers; the submission
  and the assignment travel with the task, the gradebook stays here.
* **Threads.** Every thread pool of a grading kernel (TensorFlow intra-op and inter-op, OpenMP,
  BLAS) gets `max(1, cores // concurrent gradings on that machine)` threads, so that N workers
  never oversubscribe the cores.
"""

from __future__ import annotations

import argparse
import base64
import csv
import dataclasses
import hashlib
import io
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import unicodedata
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Sequence

from grader import __version__
from grader.errors import EXIT_FAILED, EXIT_INTERNAL, EXIT_PASSED, UsageError

SUBMISSION_SUFFIXES = (".ipynb", ".py")
SKIPPED_NAMES = {"__MACOSX", "__pycache__", ".ipynb_checkpoints", ".git", ".DS_Store"}
DEFAULT_GRACE_S = 480.0  # kernel start (≤ 120 s) + evaluation (≤ 300 s) + slack, beyond the timeout
MAX_RESULT_BYTES = 64 * 2**20
GB = 2**30
MEMORY_PER_WORKER = 3 * GB  # kernel with TensorFlow and MNIST + the evaluation process, with headroom
RESERVED_FOLDERS = {"exports", "gradebook.sqlite", "gradebook.sqlite-wal", "gradebook.sqlite-shm", "summary.html", ".grader-batch.lock"}
KEY_VERSION = 1
OPTIONS_NOT_IN_KEY = ("data_dir", "env")  # where the data lives and thread counts do not change a grade

ID_PATTERNS = {
    # Canvas "Download Submissions": lastfirst[_LATE]_<user id>_<submission id>_<original name>
    "canvas": r"^(?P<name>[^_]+?)(?:_LATE)?_(?P<canvas_id>\d+)_(?P<submission_id>\d+)_",
    # Moodle "Download all submissions": <Full Name>_<participant id>_assignsubmission_file_
    "moodle": r"^(?P<name>.+?)_(?P<participant>\d+)_assignsubmission_(?:file|onlinetext)_?",
}


# ---------------------------------------------------------------------------------------------
# Machine size and thread plan
# ---------------------------------------------------------------------------------------------


def usable_cores() -> int:
    """CPUs this process may run on: the affinity mask, capped by a cgroup v2 CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def available_memory() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def default_jobs(cores: int | None = None, memory: int | None = None) -> int:
    """One grading per core (each kernel then trains on one thread), fewer if memory is short.

    Measured (benchmarks/batch.py): a grading is mostly single-threaded work (kernel start,
    TensorFlow import, data loading, evaluation) around a short training of a small model that
    scales poorly with threads, so N one-thread gradings beat one N-thread grading.
    """
    cores = cores or usable_cores()
    memory = memory if memory is not None else available_memory()
    by_memory = max(1, memory // MEMORY_PER_WORKER) if memory else cores
    return max(1, min(cores, by_memory))


def threads_per_grading(cores: int, concurrent: int) -> int:
    """The thread rule: each grading gets an equal share of the cores, at least one thread."""
    return max(1, cores // max(1, concurrent))


def thread_env(threads: int) -> dict[str, str]:
    """Environment variables that size every thread pool of a grading kernel."""
    n = str(max(1, int(threads)))
    return {
        "TF_NUM_INTRAOP_THREADS": n,
        "TF_NUM_INTEROP_THREADS": n,
        "OMP_NUM_THREADS": n,
        "OPENBLAS_NUM_THREADS": n,
        "MKL_NUM_THREADS": n,
    }


# ---------------------------------------------------------------------------------------------
# Roster
# ---------------------------------------------------------------------------------------------


def _norm_header(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", text.strip().lower()).strip("_")


_ROSTER_ALIASES = {
    "full_name": "name",
    "email_address": "email",
    "e_mail": "email",
    "submission": "file",
    "filename": "file",
    "id_number": "id_number",
    "surname": "last_name",
    "student_id": "student",
}


@dataclass(frozen=True)
class Roster:
    """Students by id, each with its columns (normalised names: name, email, canvas_id, ...)."""

    rows: dict[str, dict[str, str]]
    path: Path | None = None

    def match(self, name: str, stem: str, groups: dict[str, str]) -> list[str]:
        """Ids of the students a submission named `name` (groups from --id-pattern) belongs to."""
        hits: list[str] = []
        for student, row in self.rows.items():
            if row.get("file") and row["file"] in (name, stem):
                hits.append(student)
                continue
            for key, value in groups.items():
                if value and _same(row.get(key, ""), value):
                    hits.append(student)
                    break
        return hits


def _same(a: str, b: str) -> bool:
    fold = lambda s: " ".join(unicodedata.normalize("NFKC", s).casefold().split())  # noqa: E731
    return bool(a) and fold(a) == fold(b)


def load_roster(path: Path) -> Roster:
    """A roster CSV: a `student` column (or a Canvas gradebook export), other columns kept as info.

    Recognised columns (case and punctuation ignored): student (also student_id, username, login,
    email), name, email, file (the submission's file or folder name), canvas_id, sis_user_id,
    sis_login_id, section, id_number. A Canvas gradebook export (Student, ID, SIS User ID,
    SIS Login ID, Section, ...) works as it is: the student id is the SIS Login ID (else the
    SIS User ID, else the Canvas ID).
    """
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise UsageError(f"cannot read the roster {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"the roster {path} is not UTF-8 text (byte {exc.start})") from exc
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, None)
    if not header:
        raise UsageError(f"the roster {path} is empty")
    raw = [h.strip() for h in header]
    names = [_ROSTER_ALIASES.get(_norm_header(h), _norm_header(h)) for h in raw]
    canvas = {"student", "id", "sis_login_id"} <= set(names) and names[0] == "student"
    if canvas:  # a Canvas gradebook export: "Student" is the display name
        names = [{"student": "name", "id": "canvas_id"}.get(n, n) for n in names]
        id_columns = ("sis_login_id", "sis_user_id", "canvas_id")
    else:
        id_columns = ("student", "username", "login", "email")
        if not any(c in names for c in id_columns):
            raise UsageError(f"the roster {path} has no 'student' column (columns: {', '.join(raw)})")
    rows: dict[str, dict[str, str]] = {}
    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        row = {n: v.strip() for n, v in zip(names, values) if n}
        if canvas and ("Points Possible" in values[0] or not any(row.get(c) for c in id_columns)):
            continue
        student = next((row[c] for c in id_columns if row.get(c)), "")
        if not student:
            raise UsageError(f"{path}, line {number}: no student id")
        if student in rows:
            raise UsageError(f"{path}, line {number}: student '{student}' is listed twice")
        row.setdefault("student", student)
        row["student"] = student
        rows[student] = row
    if not rows:
        raise UsageError(f"the roster {path} lists no student")
    return Roster(rows=rows, path=Path(path))


# ---------------------------------------------------------------------------------------------
# Discovery
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One submission of the batch, identified."""

    student: str
    source: Path  # the file or folder as found
    graded_file: Path | None  # the notebook or module that is graded (None: see `problem`)
    content_sha256: str
    folder: str  # the student's output folder name
    problem: str | None = None  # why it cannot be graded at all (a folder without a notebook, ...)
    problem_kind: str = ""  # message key for `problem`
    info: dict[str, str] = field(default_factory=dict)  # roster columns

    @property
    def filename(self) -> str:
        return self.graded_file.name if self.graded_file else self.source.name


@dataclass
class Discovery:
    items: list[Item]
    ignored: list[str]  # entries that are not submissions, with why
    unmatched: list[str]  # submissions the roster does not list
    missing: list[str]  # roster students without a submission
    notes: list[str] = field(default_factory=list)  # names that did not match --id-pattern


def _skip(path: Path) -> bool:
    return path.name.startswith(".") or path.name in SKIPPED_NAMES


def candidates(folder: Path) -> list[Path]:
    """The gradable files in a folder submission: its notebooks, else its modules (no symlinks)."""
    found: dict[str, list[Path]] = {".ipynb": [], ".py": []}
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not _skip(Path(d)) and not (Path(root) / d).is_symlink())
        for name in sorted(files):
            path = Path(root) / name
            if path.suffix in found and not _skip(path) and not path.is_symlink() and path.is_file():
                found[path.suffix].append(path)
    return found[".ipynb"] or found[".py"]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def content_sha256(source: Path) -> str:
    """A file's SHA-256; for a folder, of the relative paths and contents of its gradable files."""
    if source.is_file():
        return file_sha256(source)
    digest = hashlib.sha256(b"grader-folder-v1\0")
    for path in candidates(source):
        digest.update(path.relative_to(source).as_posix().encode() + b"\0" + bytes.fromhex(file_sha256(path)))
    return digest.hexdigest()


def safe_folder(student: str) -> str:
    """A folder name for a student id: letters, digits and `._@+-` kept, the rest replaced."""
    name = "".join(c if (c.isalnum() or c in "._@+-") else "_" for c in unicodedata.normalize("NFC", student))
    name = name.lstrip(".")[:80] or "_"
    if name != student or name in RESERVED_FOLDERS:
        name = f"{name}-{hashlib.sha256(student.encode()).hexdigest()[:8]}"
    return name


def student_from_name(name: str, pattern: re.Pattern[str] | None) -> tuple[str, dict[str, str], bool]:
    """(student id, named groups, whether the pattern matched) for a submission's file or folder name."""
    stem = Path(name).stem if Path(name).suffix in SUBMISSION_SUFFIXES else name
    if pattern is None:
        return stem, {"student": stem}, True
    match = pattern.search(name)
    if not match:
        return stem, {"student": stem}, False
    groups = {k: v for k, v in match.groupdict().items() if v}
    student = groups.get("student") or groups.get("name") or next(iter(groups.values()), "") or (match.group(1) if match.groups() else stem)
    groups.setdefault("student", student)
    return student, groups, True


def compile_id_pattern(pattern: str | None) -> re.Pattern[str] | None:
    if not pattern:
        return None
    try:
        return re.compile(ID_PATTERNS.get(pattern, pattern))
    except re.error as exc:
        raise UsageError(f"--id-pattern is not a valid regular expression: {exc}") from exc


def discover(paths: Sequence[Path], roster: Roster | None = None, id_pattern: str | None = None) -> Discovery:
    """The submissions named on the command line: one folder of submissions, or the submissions themselves."""
    paths = [Path(p) for p in paths]
    for p in paths:
        if not p.exists():
            raise UsageError(f"no such file or folder: {p}")
    if len(paths) == 1 and paths[0].is_dir():
        entries = sorted(paths[0].iterdir(), key=lambda p: p.name)
    else:
        entries = paths
    pattern = compile_id_pattern(id_pattern)
    ignored: list[str] = []
    notes: list[str] = []
    unmatched: list[str] = []
    found: list[tuple[str, Path, dict[str, str]]] = []
    for entry in entries:
        if _skip(entry):
            continue
        if entry.is_file() and entry.suffix not in SUBMISSION_SUFFIXES:
            why = "a zip archive: unzip it first" if entry.suffix == ".zip" else "not a .ipynb notebook, a .py module or a folder"
            ignored.append(f"{entry.name} ({why})")
            continue
        if not (entry.is_file() or entry.is_dir()):
            ignored.append(f"{entry.name} (not a regular file or folder)")
            continue
        student, groups, matched = student_from_name(entry.name, pattern)
        if not matched:
            notes.append(f"{entry.name} does not match --id-pattern: its student id is '{student}'")
        info: dict[str, str] = {}
        if roster is not None:
            hits = roster.match(entry.name, student, groups)
            if len(hits) > 1:
                raise UsageError(f"{entry.name} matches several students of the roster: {', '.join(hits)}")
            if hits:
                student, info = hits[0], roster.rows[hits[0]]
            else:
                unmatched.append(entry.name)
        found.append((student, entry, info))
    by_student: dict[str, list[Path]] = {}
    for student, entry, _ in found:
        by_student.setdefault(student, []).append(entry)
    duplicates = {s: es for s, es in by_student.items() if len(es) > 1}
    if duplicates:
        listing = "; ".join(f"{s}: {', '.join(e.name for e in es)}" for s, es in sorted(duplicates.items()))
        raise UsageError(f"several submissions for one student ({listing}): keep one, or put them in one folder")
    folders: dict[str, str] = {}
    items: list[Item] = []
    for student, entry, info in sorted(found, key=lambda f: f[0]):
        folder = safe_folder(student)
        if folder.casefold() in folders:  # a case-insensitive file system would merge them
            raise UsageError(f"students '{folders[folder.casefold()]}' and '{student}' would share the output folder '{folder}'")
        folders[folder.casefold()] = student
        items.append(_item(student, entry, folder, info))
    missing = sorted(set(roster.rows) - set(by_student)) if roster else []
    return Discovery(items=items, ignored=ignored, unmatched=unmatched, missing=missing, notes=notes)


def _item(student: str, entry: Path, folder: str, info: dict[str, str]) -> Item:
    sha = content_sha256(entry)
    if entry.is_file():
        return Item(student, entry, entry, sha, folder, info=info)
    files = candidates(entry)
    if len(files) == 1:
        return Item(student, entry, files[0], sha, folder, info=info)
    if not files:
        return Item(student, entry, None, sha, folder, problem="", problem_kind="folder_empty", info=info)
    names = ", ".join(p.relative_to(entry).as_posix() for p in files[:10])
    return Item(student, entry, None, sha, folder, problem=names, problem_kind="folder_several", info=info)


# ---------------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------------


def assignment_sha256(assignment: Any) -> str:
    """The content of the assignment's folder (its TOML, skeleton and any other file)."""
    digest = hashlib.sha256(assignment.id.encode() + b"\0")
    for path in sorted(p for p in Path(assignment.folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(assignment.folder).as_posix().encode() + b"\0" + bytes.fromhex(file_sha256(path)))
    return digest.hexdigest()


def grading_options(assignment: Any, options: Any) -> dict[str, Any]:
    """The options that change a grade, with the assignment's defaults filled in.

    Every field of `Options` counts except `data_dir` and `env`, so a field added later is
    part of the key without anyone remembering to add it.
    """
    values = {f.name: getattr(options, f.name) for f in dataclasses.fields(options) if f.name not in OPTIONS_NOT_IN_KEY}
    values["lang"] = options.lang or assignment.default_lang
    values["timeout_s"] = float(options.timeout_s or assignment.timeout_s)
    values["entry"] = options.entry or assignment.entry
    return json.loads(json.dumps(values, default=str))


def grading_key(student: str, content: str, assignment_id: str, assignment_content: str, options: dict[str, Any]) -> str:
    material = {
        "key_version": KEY_VERSION,
        "student": student,
        "content_sha256": content,
        "assignment": assignment_id,
        "assignment_sha256": assignment_content,
        "grader_version": __version__,
        "options": options,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# Jobs and the worker process
# ---------------------------------------------------------------------------------------------


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
    options: dict[str, Any] = field(default_factory=dict)  # Options fields, without env
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
        data = dataclasses.asdict(self)
        data["payload"] = None if self.payload is None else base64.b64encode(self.payload).decode()
        data["assignment_files"] = {k: base64.b64encode(v).decode() for k, v in self.assignment_files.items()}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Job:
        data = dict(data)
        data["payload"] = None if data.get("payload") is None else base64.b64decode(data["payload"])
        data["assignment_files"] = {k: base64.b64decode(v) for k, v in (data.get("assignment_files") or {}).items()}
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def worker_python() -> str:
    return sys.executable


def _grader_root() -> str:
    return str(Path(__file__).resolve().parent.parent)


def _outcome(job: Job, outcome: str, **fields: Any) -> dict[str, Any]:
    base = {"student": job.student, "key": job.key, "outcome": outcome, "result": None, "kind": "", "message": "", "log_tail": "",
            "host": socket.gethostname(), "wall_s": 0.0, "threads": job.threads}
    base.update(fields)
    return base


_RUNNING: set[subprocess.Popen[bytes]] = set()
_RUNNING_LOCK = threading.Lock()
_STOPPING = threading.Event()  # set while a batch is being stopped: start no new worker


def run_job(job: Job, *, argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Grade one job in a fresh worker process and return its outcome; never raises.

    The outcome is a dict: `outcome` is "graded" (with `result`, a `GradeResult.to_dict()`) or
    "crashed" (with `kind`: timeout | signal | exit | error | bad_result | version | lost, and a
    `message`); `log_tail` is the end of the worker's output, for the instructor.
    """
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="grader-job-") as tmp:
            return _run_in(job, Path(tmp), argv, started)
    except Exception as exc:  # noqa: BLE001 - a failure to run the worker is this job's failure
        return _outcome(job, "crashed", kind="error", message=f"{type(exc).__name__}: {exc}", wall_s=time.monotonic() - started)


def _run_in(job: Job, jobdir: Path, argv: Sequence[str] | None, started: float) -> dict[str, Any]:
    if job.payload is not None:
        (jobdir / "submission").mkdir()
        target = jobdir / "submission" / Path(job.filename).name
        target.write_bytes(job.payload)
        job = dataclasses.replace(job, path=str(target), payload=None)
    if job.assignment_files:
        folder = jobdir / "assignment" / job.assignment_id
        for rel, data in job.assignment_files.items():
            dest = (folder / rel).resolve()
            if folder.resolve() not in dest.parents:
                raise ValueError(f"unsafe assignment file name {rel!r}")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        job = dataclasses.replace(job, assignment_ref=str(folder), assignment_files={})
    (jobdir / "job.json").write_text(json.dumps(job.to_json()), encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([_grader_root(), *filter(None, [env.get("PYTHONPATH")])])
    env.update(thread_env(job.threads or 1))  # the worker's own numpy; the kernel gets them via Options.env
    cmd = list(argv) if argv else [worker_python(), "-m", "grader.batch", "--worker", str(jobdir)]
    with _RUNNING_LOCK:
        if _STOPPING.is_set():
            return _outcome(job, "crashed", kind="error", message="the batch was stopped")
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=str(jobdir),
                                start_new_session=os.name == "posix")
        _RUNNING.add(proc)
    log = _Tail(proc.stdout)  # the worker's output, of which only the end is kept: it can be anything
    try:
        try:
            rc = proc.wait(timeout=job.hard_limit_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            kill_tree(proc)
            rc, timed_out = proc.wait(), True
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(proc)
        kill_tree(proc)  # anything the worker left behind
    wall = round(time.monotonic() - started, 3)
    tail = log.text()
    common = {"wall_s": wall, "log_tail": tail}
    if timed_out:
        return _outcome(job, "crashed", kind="timeout", message=str(int(job.hard_limit_s)), **common)
    result_path, error_path = jobdir / "result.json", jobdir / "error.json"
    if result_path.is_file():
        if result_path.stat().st_size > MAX_RESULT_BYTES:
            return _outcome(job, "crashed", kind="bad_result", message="the result is too large", **common)
        try:
            data = json.loads(result_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return _outcome(job, "crashed", kind="bad_result", message=str(exc)[:300], **common)
        return _outcome(job, "graded", result=data, **common)
    if error_path.is_file():
        try:
            error = json.loads(error_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            error = {"kind": "error", "error": "unreadable error report"}
        return _outcome(job, "crashed", kind=error.get("kind", "error"), message=str(error.get("error", ""))[:1000],
                        **{**common, "log_tail": (error.get("traceback") or "")[-4000:] + "\n" + tail})
    if rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = f"signal {-rc}"
        return _outcome(job, "crashed", kind="signal", message=name, **common)
    return _outcome(job, "crashed", kind="exit", message=str(rc), **common)


class _Tail:
    """Reads a pipe to its end in a thread, keeping only the last `limit` bytes."""

    def __init__(self, pipe: IO[bytes] | None, limit: int = 4000) -> None:
        self.pipe, self.limit = pipe, limit
        self.data = b""
        self.thread = threading.Thread(target=self._read, name="grader-worker-log", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        if self.pipe is None:
            return
        try:
            for chunk in iter(lambda: self.pipe.read1(65536), b""):  # type: ignore[union-attr]
                self.data = (self.data + chunk)[-self.limit:]
        except (OSError, ValueError):
            pass
        finally:
            self.pipe.close()

    def text(self) -> str:
        self.thread.join(timeout=5)
        return self.data.decode("utf-8", "replace")


def kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """Kill a worker and every process it started (the kernel runs in a session of its own)."""
    try:
        import psutil

        try:
            children = psutil.Process(proc.pid).children(recursive=True)
        except psutil.Error:
            children = []
        for child in children:
            try:
                child.kill()
            except psutil.Error:
                pass
    except ImportError:  # pragma: no cover - psutil comes with ipykernel
        pass
    if proc.poll() is None:
        try:
            if os.name == "posix":
                os.killpg(proc.pid, signal.SIGKILL)
            else:  # pragma: no cover
                proc.kill()
        except (ProcessLookupError, PermissionError):
            pass


def kill_running() -> None:
    """Stop every worker of this process, and start no new one until `_STOPPING` is cleared."""
    with _RUNNING_LOCK:
        _STOPPING.set()
        procs = list(_RUNNING)
    for proc in procs:
        kill_tree(proc)


def _watch_parent(jobdir: Path) -> None:
    """If the process that started this worker dies (the batch was killed), stop grading at once."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                try:
                    import psutil

                    for child in psutil.Process().children(recursive=True):
                        try:
                            child.kill()
                        except psutil.Error:
                            pass
                except ImportError:  # pragma: no cover
                    pass
                shutil.rmtree(jobdir, ignore_errors=True)
                os._exit(137)

    threading.Thread(target=watch, name="grader-parent-watch", daemon=True).start()


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)


def build_options(values: dict[str, Any], env: dict[str, str]) -> Any:
    from grader.pipeline import Options

    known = {f.name for f in dataclasses.fields(Options)}
    kwargs = {k: v for k, v in values.items() if k in known and k != "env"}
    if kwargs.get("data_dir") is not None:
        kwargs["data_dir"] = Path(kwargs["data_dir"])
    if "kernel_prefix" in kwargs:
        kwargs["kernel_prefix"] = tuple(kwargs["kernel_prefix"] or ())
    return Options(**kwargs, env=env)


def worker_main(jobdir: Path) -> int:
    """The worker process: grade the job in `jobdir` with the library API, write result.json."""
    _watch_parent(jobdir)
    try:
        job = Job.from_json(json.loads((jobdir / "job.json").read_text(encoding="utf-8")))
        if job.grader_version != __version__:
            _write_json(jobdir / "error.json", {"kind": "version", "error": f"this worker has grader {__version__}, the batch needs {job.grader_version}"})
            return 1
        from grader.assignment import find_assignment
        from grader.pipeline import grade

        assignment = find_assignment(job.assignment_ref or job.assignment_id)
        options = build_options(job.options, thread_env(job.threads or 1))
        result = grade(Path(job.path or ""), assignment, options)
        _write_json(jobdir / "result.json", result.to_dict())
        return 0
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which records it
        _write_json(jobdir / "error.json", {"kind": "error", "error": f"{type(exc).__name__}: {exc}"[:2000], "traceback": traceback.format_exc()[-8000:]})
        return 1


def dask_task(job: Job, host_slots: dict[str, int]) -> dict[str, Any]:
    """Runs on a Dask worker: size the threads for that machine, then grade in a worker process."""
    threads = job.threads
    if threads is None:
        slots = 1
        try:
            from distributed import get_worker

            worker = get_worker()
            host = worker.address.split("://")[-1].rsplit(":", 1)[0]
            slots = host_slots.get(host) or worker.state.nthreads
        except (ImportError, ValueError, AttributeError):
            pass
        threads = threads_per_grading(usable_cores(), slots)
    return run_job(dataclasses.replace(job, threads=threads))


# ---------------------------------------------------------------------------------------------
# Results for what never produced one
# ---------------------------------------------------------------------------------------------

_CRASH_STATUS = {"timeout": "timeout", "signal": "kernel_died", "exit": "kernel_died", "lost": "kernel_died"}


def failed_result(assignment: Any, filename: str, lang: str, status: str, message: str, duration_s: float = 0.0) -> Any:
    """A failed `GradeResult` for a submission the grader could not grade: every check fails."""
    from grader.i18n import t
    from grader.models import CheckResult, ExecutionInfo, GradeResult, Metrics

    not_graded = t(lang, "summary.batch.not_graded")
    execution = ExecutionInfo(status=status, message=message)  # type: ignore[arg-type]
    checks = tuple(
        CheckResult(
            id=check_id,
            passed=False,
            score=0.0,
            max_score=float(points),
            message=message if check_id == "execution" else not_graded,
            required=_required(assignment, check_id, execution, lang),
            measured="—",
            blocking=not (check_id == "skeleton_integrity" and assignment.integrity != "enforce"),
        )
        for check_id, points in assignment.points.items()
    )
    return GradeResult(
        assignment=assignment.id,
        submission=filename,
        passed=False,
        score=0.0,
        max_score=float(sum(assignment.points.values())),
        checks=checks,
        metrics=Metrics(),
        errors=(message,),
        duration_s=round(duration_s, 3),
        execution=execution,
        lang=lang,
        grader_version=__version__,
    )


def _required(assignment: Any, check_id: str, execution: Any, lang: str) -> str:
    """What the check requires, in the words the grader uses for it (empty if that cannot be had)."""
    try:
        from grader.checks import Measured, required_text
        from grader.models import Evaluation, Recording

        return required_text(check_id, Measured(assignment, Recording(), Evaluation(), execution, None, lang))
    except Exception:  # noqa: BLE001 - a nicety: a failed result must be made whatever happens
        return ""


def crash_result(assignment: Any, filename: str, lang: str, outcome: dict[str, Any]) -> Any:
    from grader.i18n import t

    kind = outcome.get("kind") or "error"
    detail = str(outcome.get("message") or "")
    messages = {
        "timeout": lambda: t(lang, "summary.batch.crash_timeout", limit=detail),
        "signal": lambda: t(lang, "summary.batch.crash_signal", signal=detail),
        "exit": lambda: t(lang, "summary.batch.crash_exit", code=detail),
        "lost": lambda: t(lang, "summary.batch.crash_lost", error=detail),
        "version": lambda: t(lang, "summary.batch.crash_version", error=detail),
        "bad_result": lambda: t(lang, "summary.batch.crash_bad_result", error=detail),
    }
    message = messages.get(kind, lambda: t(lang, "summary.batch.crash_error", error=detail))()
    return failed_result(assignment, filename, lang, _CRASH_STATUS.get(kind, "not_run"), message, float(outcome.get("wall_s") or 0.0))


# ---------------------------------------------------------------------------------------------
# Executors
# ---------------------------------------------------------------------------------------------

OnDone = Callable[[Job, dict[str, Any]], None]
Tick = Callable[[int], None]
Runner = Callable[[Job], dict[str, Any]]


class LocalExecutor:
    """N worker processes on this machine; the threads here only start and wait for them."""

    name = "local"

    def __init__(self, jobs: int, runner: Runner | None = None) -> None:
        self.jobs = max(1, jobs)
        self.runner = runner or run_job
        self.cores = usable_cores()

    def describe(self) -> str:
        return f"{self.jobs} local worker{'s' if self.jobs != 1 else ''}"

    def prepare(self, jobs: list[Job]) -> list[Job]:
        threads = threads_per_grading(self.cores, min(self.jobs, max(1, len(jobs))))
        return [dataclasses.replace(j, threads=j.threads or threads) for j in jobs]

    def run(self, jobs: list[Job], on_done: OnDone, tick: Tick) -> None:
        running = [0]
        lock = threading.Lock()

        def task(job: Job) -> dict[str, Any]:
            with lock:
                running[0] += 1
            try:
                return self.runner(job)
            except Exception as exc:  # noqa: BLE001 - a runner must not take the batch down
                return _outcome(job, "crashed", kind="error", message=f"{type(exc).__name__}: {exc}")
            finally:
                with lock:
                    running[0] -= 1

        _STOPPING.clear()
        pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="grader-batch")
        pending = {pool.submit(task, job): job for job in jobs}
        try:
            while pending:
                done, _ = wait_futures(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                for future in done:
                    on_done(pending.pop(future), future.result())
                tick(running[0])
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            if pending:
                kill_running()
            pool.shutdown(wait=True)


class DaskExecutor:
    """The same worker processes, started by tasks on the workers of a Dask distributed cluster."""

    name = "dask"
    connect_timeout = "30s"

    def __init__(self, scheduler: str | None, jobs: int | None = None, task: Callable[..., dict[str, Any]] | None = None) -> None:
        try:
            import distributed  # noqa: F401
        except ImportError as exc:
            raise UsageError("--executor dask needs Dask distributed: pip install 'dask[distributed]'") from exc
        self.scheduler = scheduler
        self.local_workers = jobs
        self.task = task or dask_task
        self.client: Any = None
        self.cluster: Any = None
        self.slots: dict[str, int] = {}

    def connect(self) -> None:
        from distributed import Client, LocalCluster

        try:
            if self.scheduler:
                self.client = Client(self.scheduler, timeout=self.connect_timeout, set_as_default=False)
            else:
                n = self.local_workers or default_jobs()
                self.cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
                self.client = Client(self.cluster, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"cannot connect to the Dask scheduler at {self.scheduler}: {exc}") from exc
        workers = self.client.scheduler_info().get("workers", {})
        for info in workers.values():
            host = str(info.get("host") or "")
            self.slots[host] = self.slots.get(host, 0) + int(info.get("nthreads") or 1)

    def describe(self) -> str:
        threads = sum(self.slots.values())
        where = self.scheduler or "a local Dask cluster"
        return f"Dask at {where} ({len(self.slots)} host{'s' if len(self.slots) != 1 else ''}, {threads} worker thread{'s' if threads != 1 else ''})"

    def prepare(self, jobs: list[Job]) -> list[Job]:
        return [j.shipped() for j in jobs]

    def run(self, jobs: list[Job], on_done: OnDone, tick: Tick) -> None:
        if self.client is None:
            self.connect()
        futures = {}
        for job in jobs:
            key = f"grader-{safe_folder(job.student)}-{job.key[:16]}-{os.urandom(4).hex()}"
            futures[self.client.submit(self.task, job, self.slots, key=key, pure=False, retries=0)] = job
        pending = set(futures)
        capacity = max(1, sum(self.slots.values()))
        try:
            while pending:
                done = [f for f in pending if f.done()]  # futures are updated by the client's own thread
                if not done:
                    time.sleep(0.25)
                for future in done:
                    pending.discard(future)
                    job = futures[future]
                    if future.status == "finished":
                        outcome = future.result()
                    else:
                        try:
                            error = future.exception()
                        except Exception as exc:  # noqa: BLE001
                            error = exc
                        outcome = _outcome(job, "crashed", kind="lost", message=f"{type(error).__name__}: {error}"[:500])
                    on_done(job, outcome)
                tick(min(capacity, len(pending)))
        finally:
            if pending:
                self.client.cancel(list(pending), force=True)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


# ---------------------------------------------------------------------------------------------
# Progress
# ---------------------------------------------------------------------------------------------


def _duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "—"
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class Progress:
    """A progress bar with counts and ETA on a terminal; one plain line per result otherwise."""

    def __init__(self, total: int, todo: int, mode: str = "auto", stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        if mode == "auto":
            mode = "bar" if getattr(self.stream, "isatty", lambda: False)() and os.environ.get("TERM") != "dumb" else "plain"
        self.mode = mode
        self.total, self.todo = total, todo
        self.done = total - todo  # already graded
        self.fresh = self.passed = self.failed = 0
        self.started = time.monotonic()
        self.last_draw = 0.0
        self.running = 0

    def eta(self) -> float | None:
        if not self.fresh:
            return None
        rate = self.fresh / max(1e-6, time.monotonic() - self.started)
        return (self.todo - self.fresh) / rate

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass

    def line(self, text: str) -> None:
        if self.mode == "none":
            return
        if self.mode == "bar":
            self._write("\r\x1b[K" + text + "\n")
            self.draw(force=True)
        else:
            self._write(text + "\n")

    def result(self, student: str, result: Any, crashed: bool) -> None:
        self.done += 1
        self.fresh += 1
        self.passed += bool(result.passed)
        self.failed += not result.passed
        verdict = "passed" if result.passed else ("CRASHED" if crashed else "failed")
        status = "" if result.passed or result.execution.status == "ok" else f" [{result.execution.status}]"
        text = f"[{self.done}/{self.total}] {student}: {verdict} {result.score:g}/{result.max_score:g}{status} ({result.duration_s:.0f} s)"
        if self.mode == "plain":
            eta = self.eta()
            self._write(text + (f"  eta {_duration(eta)}" if eta and self.fresh < self.todo else "") + "\n")
        elif self.mode == "bar":
            if not result.passed:
                self.line(text)
            else:
                self.draw(force=True)

    def tick(self, running: int) -> None:
        self.running = running
        self.draw()

    def draw(self, force: bool = False) -> None:
        if self.mode != "bar":
            return
        now = time.monotonic()
        if not force and now - self.last_draw < 0.2:
            return
        self.last_draw = now
        width = shutil.get_terminal_size((80, 20)).columns
        counts = f" {self.done}/{self.total} ✓{self.passed} ✗{self.failed} · {self.running} running · {_duration(now - self.started)} · ETA {_duration(self.eta()) if self.fresh < self.todo else '0s'}"
        bar_width = max(10, min(40, width - len(counts) - 3))
        filled = int(bar_width * self.done / max(1, self.total))
        self._write("\r\x1b[K[" + "#" * filled + "-" * (bar_width - filled) + "]" + counts[: max(0, width - bar_width - 3)])

    def close(self) -> None:
        if self.mode == "bar":
            self._write("\r\x1b[K")


# ---------------------------------------------------------------------------------------------
# The batch
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchSettings:
    outdir: Path
    jobs: int | None = None  # local workers (default: `default_jobs()`)
    executor: str = "local"  # local | dask
    scheduler: str | None = None  # Dask scheduler address (dask; none: a local Dask cluster)
    roster: Path | None = None
    id_pattern: str | None = None
    gradebook: Path | None = None  # default: OUTDIR/gradebook.sqlite
    retry_crashed: bool = False  # grade again the submissions whose grading crashed
    grace_s: float = DEFAULT_GRACE_S
    progress: str = "auto"  # auto | bar | plain | none
    summary: bool = True  # write OUTDIR/summary.html at the end


@dataclass
class BatchReport:
    outdir: Path
    gradebook: Path
    total: int = 0
    graded: int = 0  # graded in this run
    cached: int = 0  # kept from an earlier run
    passed: int = 0
    failed: int = 0
    crashed: list[str] = field(default_factory=list)  # students whose grading crashed in this run
    output_errors: list[str] = field(default_factory=list)
    discovery: Discovery | None = None
    summary_page: Path | None = None
    executor: str = ""
    elapsed_s: float = 0.0

    @property
    def exit_code(self) -> int:
        if self.output_errors:
            return EXIT_INTERNAL
        return EXIT_PASSED if self.failed == 0 else EXIT_FAILED


class _Lock:
    """One batch at a time per output folder (released by the OS if the batch dies)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file: IO[str] | None = None

    def __enter__(self) -> _Lock:
        self.file = self.path.open("a+")
        try:
            import fcntl

            fcntl.flock(self.file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - Windows: no lock
            pass
        except OSError as exc:
            self.file.close()
            raise UsageError(f"another batch is running on {self.path.parent} (lock: {self.path})") from exc
        return self

    def __exit__(self, *exc: object) -> None:
        if self.file:
            self.file.close()


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread: like KeyboardInterrupt, no `except Exception` may swallow it."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated()


def report_available() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("grader.report") is not None
    except (ImportError, ValueError):
        return False


def write_student_outputs(result: Any, assignment: Any, folder: Path) -> list[Path]:
    """`result.json`, and `report.html` once the report module exists."""
    from grader.outputs import write_json

    if not report_available():
        return [write_json(result, folder)]
    from grader.outputs import write_outputs

    return write_outputs(result, assignment, folder)


def outputs_complete(folder: Path) -> bool:
    """result.json is there and whole (a power cut can leave an empty file), and report.html if it can be made."""
    try:
        json.loads((folder / "result.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return not report_available() or (folder / "report.html").is_file()


def run_batch(
    paths: Sequence[Path],
    assignment: Any,
    options: Any,
    settings: BatchSettings,
    *,
    runner: Runner | None = None,
    out: IO[str] | None = None,
) -> BatchReport:
    """Grade every submission under `paths` that the gradebook does not already hold under its key."""
    from grader.gradebook import Gradebook, gradebook_path

    out = out or sys.stdout
    started = time.monotonic()
    outdir = Path(settings.outdir)
    roster = load_roster(settings.roster) if settings.roster else None
    discovery = discover(paths, roster, settings.id_pattern)
    if not discovery.items:
        raise UsageError("no submission found (expected .ipynb or .py files, or one folder per student)")
    outdir.mkdir(parents=True, exist_ok=True)
    report = BatchReport(outdir=outdir, gradebook=gradebook_path(outdir, settings.gradebook), discovery=discovery, total=len(discovery.items))
    lang = options.lang or assignment.default_lang
    key_options = grading_options(assignment, options)
    assignment_content = assignment_sha256(assignment)
    hard_limit = float(key_options["timeout_s"]) + settings.grace_s

    with _Lock(outdir / ".grader-batch.lock"), Gradebook(report.gradebook) as book:
        book.bind_assignment(assignment.id)
        book.set_meta("assignment_json", json.dumps({
            "id": assignment.id, "title": assignment.title, "title_zh": assignment.title_zh, "default_lang": lang,
            "max_score": float(sum(assignment.points.values())), "folder": str(Path(assignment.folder).resolve()),
            "missing": discovery.missing,
        }, ensure_ascii=False))
        if roster:
            book.save_students({s: roster.rows[s] for s in roster.rows})
        stored = book.keys(assignment.id)
        todo: list[tuple[Item, str]] = []
        for item in discovery.items:
            key = grading_key(item.student, item.content_sha256, assignment.id, assignment_content, key_options)
            previous = stored.get(item.student)
            if previous and previous[0] == key and not (settings.retry_crashed and previous[1] == "crashed"):
                report.cached += 1
                _refresh_cached(book, assignment, item, outdir, report)
            else:
                todo.append((item, key))
        for s in discovery.ignored:
            print(f"batch: ignored {s}", file=sys.stderr)
        for note in discovery.notes:
            print(f"batch: {note}", file=sys.stderr)
        for name in discovery.unmatched:
            print(f"batch: {name} is not in the roster; its id is taken from its name", file=sys.stderr)

        progress = Progress(report.total, len(todo), settings.progress)
        run_id = book.start_run(assignment.id, {"options": key_options, "executor": settings.executor, "jobs": settings.jobs}, report.total)
        items_by_student = {item.student: (item, key) for item, key in todo}

        def record(item: Item, key: str, result: Any, crashed: bool, log_tail: str = "") -> None:
            book.record(student=item.student, key=key, content_sha256=item.content_sha256, source=str(item.source), folder=item.folder,
                        result=result, outcome="crashed" if crashed else "graded", run_id=run_id)
            report.graded += 1
            if crashed:
                report.crashed.append(item.student)
            folder = outdir / item.folder
            try:
                write_student_outputs(result, assignment, folder)
                if crashed and log_tail:
                    (folder / "worker.log").write_text(log_tail, encoding="utf-8", errors="replace")
            except Exception as exc:  # noqa: BLE001 - the result is safe in the gradebook; report and go on
                report.output_errors.append(f"{item.student}: {type(exc).__name__}: {exc}")
                progress.line(f"batch: could not write the outputs of {item.student}: {type(exc).__name__}: {exc}")
            progress.result(item.student, result, crashed)

        jobs: list[Job] = []
        unrunnable: list[tuple[Item, str]] = []  # nothing to run: a failed result without a worker
        for item, key in todo:
            if item.graded_file is None:
                unrunnable.append((item, key))
                continue
            jobs.append(Job(student=item.student, key=key, filename=item.filename, path=str(item.graded_file.resolve()),
                            assignment_ref=str(Path(assignment.folder).resolve()), assignment_id=assignment.id,
                            options=job_options(options), hard_limit_s=hard_limit))

        executor = _executor(settings, runner)
        state = "interrupted"
        previous_handler = None
        try:
            if threading.current_thread() is threading.main_thread():
                previous_handler = signal.signal(signal.SIGTERM, _on_sigterm)
            if jobs:
                if isinstance(executor, LocalExecutor):
                    from grader.datasets import ensure_mnist

                    ensure_mnist(options.data_dir)  # once here, not in every worker at the same time
                else:
                    executor.connect()
            report.executor = executor.describe() if jobs else ""
            progress.line(_header(report, len(todo), assignment, report.executor))
            for item, key in unrunnable:
                from grader.i18n import t

                message = t(lang, f"summary.batch.{item.problem_kind}", names=item.problem or "")
                record(item, key, failed_result(assignment, item.filename, lang, "invalid", message), crashed=False)
            jobs = executor.prepare(jobs)

            def on_done(job: Job, outcome: dict[str, Any]) -> None:
                item, key = items_by_student[job.student]
                result, crashed = _result_of(assignment, item, lang, outcome)
                record(item, key, result, crashed, outcome.get("log_tail", "") if crashed else "")

            executor.run(jobs, on_done, progress.tick)
            state = "finished"
        except (KeyboardInterrupt, _Terminated):
            progress.close()
            print(f"batch: interrupted; {report.graded} result(s) of this run are in the gradebook; run the same command again to finish", file=sys.stderr)
            raise KeyboardInterrupt from None
        finally:
            progress.close()
            if previous_handler is not None:
                signal.signal(signal.SIGTERM, previous_handler)
            if isinstance(executor, DaskExecutor):
                executor.close()
            book.finish_run(run_id, report.graded, report.cached, state)

        current = {item.student for item in discovery.items}
        records = book.results(assignment.id)
        rows = [r for r in records if r.student in current]
        report.passed = sum(1 for r in rows if r.result.passed)
        report.failed = len(rows) - report.passed
        if settings.summary:
            try:
                from grader.exports import ExportSettings, write_export

                paths_written = write_export("summary", records, outdir, ExportSettings.for_assignment(assignment, lang=lang, missing=discovery.missing))
                report.summary_page = paths_written[0] if paths_written else None
            except Exception as exc:  # noqa: BLE001
                report.output_errors.append(f"summary.html: {type(exc).__name__}: {exc}")
    report.elapsed_s = round(time.monotonic() - started, 3)
    print(render_report(report), file=out)
    return report


def job_options(options: Any) -> dict[str, Any]:
    """`Options` as JSON for a worker (`env` is the worker's to set: the thread plan of its machine)."""
    values = {f.name: getattr(options, f.name) for f in dataclasses.fields(options) if f.name != "env"}
    return json.loads(json.dumps(values, default=str))


def _executor(settings: BatchSettings, runner: Runner | None) -> LocalExecutor | DaskExecutor:
    if settings.executor == "local":
        if settings.scheduler:
            raise UsageError("--scheduler needs --executor dask")
        return LocalExecutor(settings.jobs or default_jobs(), runner)
    if settings.executor == "dask":
        return DaskExecutor(settings.scheduler, settings.jobs)
    raise UsageError(f"unknown executor '{settings.executor}' (local or dask)")


def _result_of(assignment: Any, item: Item, lang: str, outcome: dict[str, Any]) -> tuple[Any, bool]:
    from grader.models import GradeResult

    if outcome.get("outcome") == "graded":
        try:
            result = GradeResult.from_dict(outcome["result"])
            if result.assignment != assignment.id or not isinstance(result.passed, bool):
                raise ValueError(f"a result for assignment '{result.assignment}'")
            return result, False
        except Exception as exc:  # noqa: BLE001 - an unusable result is a crash of this grading
            outcome = {**outcome, "kind": "bad_result", "message": f"{type(exc).__name__}: {exc}"[:300]}
    return crash_result(assignment, item.filename, lang, outcome), True


def _refresh_cached(book: Any, assignment: Any, item: Item, outdir: Path, report: BatchReport) -> None:
    """A result kept from an earlier run: bring its outputs back if they are missing."""
    stored = book.get(assignment.id, item.student)
    if stored is None:
        return
    if stored.folder != item.folder or stored.source != str(item.source):
        book.update_location(assignment.id, item.student, str(item.source), item.folder)
    folder = outdir / item.folder
    if not outputs_complete(folder):
        try:
            write_student_outputs(stored.result, assignment, folder)
        except Exception as exc:  # noqa: BLE001
            report.output_errors.append(f"{item.student}: {type(exc).__name__}: {exc}")


def _header(report: BatchReport, todo: int, assignment: Any, where: str) -> str:
    if not todo:
        return f"batch: {report.total} submission(s) of {assignment.id}: all already graded"
    return (f"batch: {report.total} submission(s) of {assignment.id}: {todo} to grade, {report.cached} already graded"
            + (f"; {where}" if where else ""))


def render_report(report: BatchReport) -> str:
    lines = [
        f"batch: {report.total} submission(s) in {_duration(report.elapsed_s)}: {report.graded} graded now, {report.cached} already graded",
        f"  passed {report.passed}, failed {report.failed}" + (f" (grading crashed for {len(report.crashed)}: {', '.join(report.crashed[:10])}"
                                                                 f"{'…' if len(report.crashed) > 10 else ''}; see their worker.log, and --retry-crashed)" if report.crashed else ""),
    ]
    if report.discovery and report.discovery.missing:
        missing = report.discovery.missing
        lines.append(f"  no submission from {len(missing)} roster student(s): {', '.join(missing[:10])}{'…' if len(missing) > 10 else ''}")
    for error in report.output_errors:
        lines.append(f"  error writing outputs: {error}")
    lines.append(f"  gradebook: {report.gradebook}")
    if report.summary_page:
        lines.append(f"  summary:   {report.summary_page}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from grader.cli import add_grading_options

    p = sub.add_parser(
        "batch",
        help="grade a whole class: one submission per file or folder",
        description="Grade every submission in SUBMISSIONS (a folder of files or folders, or the submissions themselves) into "
        "OUTDIR/<student>/, with a gradebook (OUTDIR/gradebook.sqlite) that keeps every result: run the same command again "
        "after an interruption and only what is missing is graded.",
    )
    p.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSIONS", help="a folder of submissions, or submission files/folders")
    add_grading_options(p)
    p.add_argument("-o", "--out", type=Path, required=True, metavar="OUTDIR", help="output folder (holds the gradebook)")
    p.add_argument("-j", "--jobs", type=int, help=f"submissions graded at once (default here: {default_jobs()}: one per core, as memory allows)")
    p.add_argument("--roster", type=Path, help="CSV of students (a 'student' column, or a Canvas gradebook export) to name submissions")
    p.add_argument("--id-pattern", help="regular expression whose group 'student' (or 'name') is the student id in a file name; "
                   "'canvas' and 'moodle' name the LMS download formats")
    p.add_argument("--executor", choices=["local", "dask"], default="local", help="where to grade (default: local processes)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (with --executor dask)")
    p.add_argument("--gradebook", type=Path, help="gradebook file (default: OUTDIR/gradebook.sqlite)")
    p.add_argument("--retry-crashed", action="store_true", help="grade again the submissions whose grading crashed in an earlier run")
    p.add_argument("--grace", type=float, default=DEFAULT_GRACE_S, metavar="SECONDS",
                   help=f"time a grading may take beyond --timeout before it is killed (default: {DEFAULT_GRACE_S:g})")
    p.add_argument("--progress", choices=["auto", "bar", "plain", "none"], default="auto", help="progress display (default: a bar on a terminal)")
    p.add_argument("--no-summary", action="store_true", help="do not write OUTDIR/summary.html")
    p.set_defaults(run=cmd_batch)


def cmd_batch(args: argparse.Namespace) -> int:
    from grader.assignment import find_assignment
    from grader.cli import grading_options as cli_grading_options

    if not args.assignment:
        raise UsageError("grader batch needs the assignment: -a ASSIGNMENT (see `grader list`)")
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.grace <= 0:
        raise UsageError("--grace must be a positive number of seconds")
    assignment = find_assignment(args.assignment)
    options = cli_grading_options(args)
    settings = BatchSettings(
        outdir=args.out,
        jobs=args.jobs,
        executor=args.executor,
        scheduler=args.scheduler,
        roster=args.roster,
        id_pattern=args.id_pattern,
        gradebook=args.gradebook,
        retry_crashed=args.retry_crashed,
        grace_s=args.grace,
        progress=args.progress,
        summary=not args.no_summary,
    )
    return run_batch(args.submissions, assignment, options, settings).exit_code


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        sys.exit(worker_main(Path(sys.argv[2])))
    print("usage: python -m grader.batch --worker JOBDIR (internal: use `grader batch`)", file=sys.stderr)
    sys.exit(2)
