"""The resource limits of one sandboxed run (the wall-clock limit is the caller's deadline)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

MiB = 1024 * 1024
# RLIMIT_DATA counts address space reserved, not memory used: on top of the memory limit, what TensorFlow
# reserves and never touches (measured: up to 992 MiB for the conv reference on 2 CPUs, docs/security.md)
DATA_SLACK_MB = 1024
STACKS_MB_PER_CPU = 128  # and its threads' stacks (8 MiB each; 29 threads on 2 CPUs)
CPU_GRACE_S = 180  # on top of the time limit in the CPU default: the kernel's start (120 s), and a margin
DEFAULT_TIMEOUT_S = 3600  # the time limit the CPU default assumes where the caller names none


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed run (the wall-clock limit is the caller's deadline)."""

    memory_mb: int = 4096  # TensorFlow training MNIST peaks near 1.2 GiB in a cgroup; see docs/security.md
    tasks: int = 0  # processes and threads; 0: max(512, 256 + 8 per CPU), TensorFlow starts a pool per CPU
    file_mb: int = 1024  # the largest file that may be written
    disk_mb: int = 2048  # size of the private /tmp and working directory, and of all files in the run folder
    output_chars: int = 2_000_000  # output kept from the kernel (the rest is dropped and noted)
    open_files: int = 4096
    cpu_s: int = 0  # CPU seconds one process may use; 0: every CPU busy for the whole time limit, and more
    timeout_s: float = 0  # the run's wall-clock limit (the caller enforces it): sizes the default of `cpu_s`

    @property
    def max_tasks(self) -> int:
        """The tasks limit in force (`tasks`, or its default for this machine's CPUs)."""
        return self.tasks or max(512, 256 + 8 * (os.cpu_count() or 1))

    @property
    def data_bytes(self) -> int:
        """RLIMIT_DATA of every process: the memory limit plus what TensorFlow reserves without
        touching it (buffers, thread stacks: more with more CPUs). A per-process backstop that holds
        whatever the cgroup does; where a cgroup limits memory, the cgroup binds first."""
        return (self.memory_mb + DATA_SLACK_MB + STACKS_MB_PER_CPU * (os.cpu_count() or 1)) * MiB

    @property
    def cpu_seconds(self) -> int:
        """RLIMIT_CPU of every process: `cpu_s`, else what every CPU could do during the time limit,
        the kernel's start and a margin, so that it never stops a run the clock would not have
        stopped; it holds even if the caller's deadline does not."""
        if self.cpu_s:
            return self.cpu_s
        return math.ceil(((self.timeout_s or DEFAULT_TIMEOUT_S) + CPU_GRACE_S) * (os.cpu_count() or 1))
