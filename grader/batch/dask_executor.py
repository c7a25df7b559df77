"""Grading on a Dask cluster: the same worker processes, started by tasks on the cluster's workers.

The submission and the assignment travel with each task (`Job.shipped`); the gradebook stays here.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from typing import Any

from grader.batch.discovery import safe_folder
from grader.batch.jobs import Job, OnDone, Outcome, Tick, job_outcome
from grader.batch.local import run_job
from grader.batch.machine import default_jobs, threads_per_grading, usable_cores
from grader.errors import UsageError


def dask_task(job: Job, host_slots: dict[str, int]) -> Outcome:
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


class DaskExecutor:
    """The same worker processes, started by tasks on the workers of a Dask distributed cluster."""

    name = "dask"
    connect_timeout = "30s"

    def __init__(self, scheduler: str | None, jobs: int | None = None, task: Callable[..., Outcome] | None = None) -> None:
        try:
            import distributed  # noqa: F401
        except ImportError as exc:
            raise UsageError("--executor dask needs Dask distributed: pip install 'dask[distributed]'") from exc
        self.scheduler = scheduler
        self.local_workers = jobs
        self.task = task or dask_task
        self.client: Any = None
        self.cluster: Any = None
        self.slots: dict[str, int] = {}  # worker threads by host

    def connect(self) -> None:
        """Connect to the scheduler (or start a local cluster) and count the worker threads of each host."""
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
        """Where the gradings run, for the batch's header line."""
        threads = sum(self.slots.values())
        where = self.scheduler or "a local Dask cluster"
        return f"Dask at {where} ({len(self.slots)} host{'s' if len(self.slots) != 1 else ''}, {threads} worker thread{'s' if threads != 1 else ''})"

    def prepare(self, jobs: list[Job]) -> list[Job]:
        """The jobs with their files inside them: the cluster's machines do not share ours."""
        return [j.shipped() for j in jobs]

    def run(self, jobs: list[Job], on_done: OnDone, tick: Tick) -> None:
        """Submit every job; a task whose Dask worker died is a `lost` crash; on the way out cancel the rest."""
        if self.client is None:
            self.connect()
        futures: dict[Any, Job] = {}  # Dask future -> its job
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
                        outcome = job_outcome(job, "crashed", kind="lost", message=f"{type(error).__name__}: {error}"[:500])
                    on_done(job, outcome)
                tick(min(capacity, len(pending)))
        finally:
            if pending:
                self.client.cancel(list(pending), force=True)

    def close(self) -> None:
        """Close the client, and the local cluster if this executor started one."""
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
