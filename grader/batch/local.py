"""Grading on this machine: each job in a fresh worker process, and the local executor that runs N at once."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from pathlib import Path
from typing import Any

from grader.batch.jobs import Job, OnDone, Outcome, Runner, Tick, job_outcome
from grader.batch.machine import thread_env, threads_per_grading, usable_cores
from grader.sandbox.output import OutputSink
from grader.sandbox.processes import kill_tree

MAX_RESULT_BYTES = 64 * 2**20
LOG_TAIL_BYTES = 4000  # of a worker's output, kept for the log of a crash


def worker_python() -> str:
    """The Python interpreter that runs the workers: this one."""
    return sys.executable


def _grader_root() -> str:
    """The folder that holds the `grader` package, for the worker's PYTHONPATH."""
    return str(Path(__file__).resolve().parents[2])


class Workers:
    """The worker processes of one executor: stopping it kills exactly those, and then it starts no more."""

    def __init__(self) -> None:
        self._running: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()
        self._stopped = False

    def start(self, cmd: list[str], **popen: Any) -> subprocess.Popen[bytes] | None:
        """A worker started with `cmd` (None once stopped); pass it to `finished` when it has ended."""
        with self._lock:  # a stop cannot miss a worker that is being started
            if self._stopped:
                return None
            proc: subprocess.Popen[bytes] = subprocess.Popen(cmd, **popen)
            self._running.add(proc)
            return proc

    def finished(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._running.discard(proc)

    def stop(self) -> None:
        """Kill every running worker, and start no new one."""
        with self._lock:
            self._stopped = True
            procs = list(self._running)
        for proc in procs:
            kill_worker(proc)


def run_job(job: Job, *, argv: Sequence[str] | None = None, workers: Workers | None = None) -> Outcome:
    """Grade one job in a fresh worker process (one of `workers`, if given) and return its `Outcome`;
    never raises."""
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="grader-job-") as tmp:
            return _run_in(job, Path(tmp), argv, workers or Workers(), started)
    except Exception as exc:  # noqa: BLE001 - a failure to run the worker is this job's failure
        return job_outcome(job, "crashed", kind="error", message=f"{type(exc).__name__}: {exc}", wall_s=time.monotonic() - started)


def _unpack(job: Job, jobdir: Path) -> Job:
    """The job with a shipped submission and assignment written to files in `jobdir`."""
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
    return job


def _run_in(job: Job, jobdir: Path, argv: Sequence[str] | None, workers: Workers, started: float) -> Outcome:
    job = _unpack(job, jobdir)
    (jobdir / "job.json").write_text(json.dumps(job.to_json()), encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([_grader_root(), *filter(None, [env.get("PYTHONPATH")])])
    env.update(thread_env(job.threads or 1))  # the worker's own numpy; the kernel gets them via Options.env
    env["PYTHONUNBUFFERED"] = "1"  # a worker that dies by a signal still leaves its last lines in the log
    cmd = list(argv) if argv else [worker_python(), "-m", "grader.batch", "--worker", str(jobdir)]
    log = OutputSink(keep_tail=LOG_TAIL_BYTES)  # the worker's output, of which only the end is kept: it can be anything
    try:
        proc = workers.start(cmd, stdin=subprocess.DEVNULL, stdout=log.write_fd, stderr=subprocess.STDOUT, env=env, cwd=str(jobdir),
                             start_new_session=os.name == "posix")
        log.started()
        if proc is None:
            return job_outcome(job, "crashed", kind="stopped")
        try:
            try:
                rc = proc.wait(timeout=job.hard_limit_s)
                timed_out = False
            except subprocess.TimeoutExpired:
                kill_worker(proc)
                rc, timed_out = proc.wait(), True
        finally:
            workers.finished(proc)
            kill_worker(proc)  # anything the worker left behind
    finally:
        log.finish()
    wall = round(time.monotonic() - started, 3)
    common = {"wall_s": wall, "log_tail": log.text()}
    if timed_out:
        return job_outcome(job, "crashed", kind="timeout", message=str(int(job.hard_limit_s)), **common)
    return _read_outcome(job, jobdir, rc, common)


def _read_outcome(job: Job, jobdir: Path, rc: int, common: dict[str, Any]) -> Outcome:
    """The outcome of a worker that exited with `rc`: its result file, its error file, or how it died."""
    result_path, error_path = jobdir / "result.json", jobdir / "error.json"
    if result_path.is_file():
        if result_path.stat().st_size > MAX_RESULT_BYTES:
            return job_outcome(job, "crashed", kind="result_too_large", message=str(MAX_RESULT_BYTES // 2**20), **common)
        try:
            data = json.loads(result_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return job_outcome(job, "crashed", kind="bad_result", message=str(exc)[:300], **common)
        return job_outcome(job, "graded", result=data, **common)
    if error_path.is_file():
        try:
            error = json.loads(error_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            error = {"kind": "unreadable_error"}
        return job_outcome(job, "crashed", kind=error.get("kind", "error"), message=str(error.get("error", ""))[:1000],
                           **{**common, "log_tail": (error.get("traceback") or "")[-4000:] + "\n" + common["log_tail"]})
    if rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = f"signal {-rc}"
        return job_outcome(job, "crashed", kind="signal", message=name, **common)
    return job_outcome(job, "crashed", kind="exit", message=str(rc), **common)


def kill_worker(proc: subprocess.Popen[bytes]) -> None:
    """Kill a worker and every process it started (the kernel runs in a session of its own)."""
    kill_tree(proc.pid, root_too=proc.poll() is None)


class LocalExecutor:
    """N worker processes on this machine; the threads here only start and wait for them."""

    name = "local"

    def __init__(self, jobs: int, runner: Runner | None = None) -> None:
        self.jobs = max(1, jobs)
        self.runner = runner or self._run_job
        self.cores = usable_cores()
        self.workers = Workers()  # this executor's, renewed by each `run`

    def _run_job(self, job: Job) -> Outcome:
        return run_job(job, workers=self.workers)

    def describe(self) -> str:
        """Where the gradings run, for the batch's header line."""
        return f"{self.jobs} local worker{'s' if self.jobs != 1 else ''}"

    def prepare(self, jobs: list[Job]) -> list[Job]:
        """The jobs with their share of this machine's cores."""
        threads = threads_per_grading(self.cores, min(self.jobs, max(1, len(jobs))))
        return [dataclasses.replace(j, threads=j.threads or threads) for j in jobs]

    def run(self, jobs: list[Job], on_done: OnDone, tick: Tick) -> None:
        """Grade every job, `self.jobs` at a time; on the way out (done or interrupted) kill what still runs."""
        running = [0]
        lock = threading.Lock()

        def task(job: Job) -> Outcome:
            with lock:
                running[0] += 1
            try:
                return self.runner(job)
            except Exception as exc:  # noqa: BLE001 - a runner must not take the batch down
                return job_outcome(job, "crashed", kind="error", message=f"{type(exc).__name__}: {exc}")
            finally:
                with lock:
                    running[0] -= 1

        self.workers = Workers()
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
                self.workers.stop()
            pool.shutdown(wait=True)
