"""The resource limits of one sandboxed run (the wall-clock limit is the caller's deadline)."""

from __future__ import annotations

import os
from dataclasses import dataclass

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed run (the wall-clock limit is the caller's deadline)."""

    memory_mb: int = 4096  # TensorFlow training MNIST peaks near 1.2 GiB in a cgroup; see docs/security.md
    tasks: int = 0  # processes and threads; 0: max(512, 256 + 8 per CPU), TensorFlow starts a pool per CPU
    file_mb: int = 1024  # the largest file that may be written
    disk_mb: int = 2048  # size of the private /tmp and working directory, and of all files in the run folder
    output_chars: int = 2_000_000  # output kept from the kernel (the rest is dropped and noted)
    open_files: int = 4096

    @property
    def max_tasks(self) -> int:
        """The tasks limit in force (`tasks`, or its default for this machine's CPUs)."""
        return self.tasks or max(512, 256 + 8 * (os.cpu_count() or 1))

    @property
    def data_bytes(self) -> int:
        """RLIMIT_DATA when no cgroup limits memory: the memory limit plus thread stacks (8 MiB each)."""
        return (self.memory_mb + 64 * (os.cpu_count() or 1)) * MiB
