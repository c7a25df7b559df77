"""Inside a worker process: grade one job with the library API and leave the result in a file."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from grader import __version__
from grader.batch.jobs import Job
from grader.batch.machine import thread_env
from grader.common.files import atomic_write
from grader.options import Settings
from grader.sandbox.processes import kill_tree


def stop_when_orphaned(jobdir: Path) -> None:
    """If the process that started this worker dies (the batch was killed), stop grading at once."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                kill_tree(os.getpid(), root_too=False)  # the kernel and all it started
                shutil.rmtree(jobdir, ignore_errors=True)
                os._exit(137)

    threading.Thread(target=watch, name="grader-parent-watch", daemon=True).start()


def _write_json(path: Path, data: Any) -> None:
    """Write JSON atomically: the batch never reads half a file."""
    atomic_write(path, json.dumps(data, ensure_ascii=False))


def job_settings(job: Job) -> Settings:
    """The settings the batch keyed the job under, with the worker's own `env` (its thread plan)."""
    return dataclasses.replace(Settings.from_json(job.options), env=thread_env(job.threads or 1))


def worker_main(jobdir: Path) -> int:
    """The worker process: grade the job in `jobdir` with the library API, write result.json."""
    stop_when_orphaned(jobdir)
    try:
        job = Job.from_json(json.loads((jobdir / "job.json").read_text(encoding="utf-8")))
        if job.grader_version != __version__:
            _write_json(jobdir / "error.json", {"kind": "version", "error": f"{__version__} ≠ {job.grader_version}"})
            return 1
        from grader.assignment import find_assignment
        from grader.pipeline import grade

        assignment = find_assignment(job.assignment_ref or job.assignment_id)
        result = grade(Path(job.path or ""), assignment, job_settings(job).options())
        _write_json(jobdir / "result.json", result.to_dict())
        return 0
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which records it
        _write_json(jobdir / "error.json", {"kind": "error", "error": f"{type(exc).__name__}: {exc}"[:2000], "traceback": traceback.format_exc()[-8000:]})
        return 1
