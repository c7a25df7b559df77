"""The machine a batch runs on: usable cores and memory, and the thread plan of a grading."""

from __future__ import annotations

import math
import os
from pathlib import Path

MEMORY_PER_WORKER = 3 * 2**30  # kernel with TensorFlow and MNIST + the evaluation process, with headroom


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
    """Bytes of memory available to new processes (`MemAvailable`), or None where unknown."""
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
