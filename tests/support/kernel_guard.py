"""The `kernel` marker, enforced: a test that starts a Jupyter kernel or the evaluation process in
this pytest process without `@pytest.mark.kernel` is refused at once and fails, so the quick loop
(`-m "not slow and not kernel"`) never waits on TensorFlow.

It watches `subprocess.Popen` (the kernel manager and the evaluator both start their process
through it); kernels started by a `grader` command the test runs as a subprocess are not seen, so
such tests are marked by hand."""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

KERNEL_COMMANDS = ("ipykernel_launcher", "grader.inside.evaluation")


class KernelGuard:
    """Refuses kernel commands while `allowed` is false, and remembers which it refused."""

    def __init__(self) -> None:
        self.allowed = True
        self.refused: list[str] = []

    def check(self, args: Any) -> None:
        if self.allowed:
            return
        words = [args] if isinstance(args, (str, bytes, os.PathLike)) else list(args)
        text = " ".join(os.fsdecode(w) if isinstance(w, (bytes, os.PathLike)) else str(w) for w in words)
        found = next((c for c in KERNEL_COMMANDS if c in text), None)
        if found:
            self.refused.append(found)
            raise OSError(f"{found} started by a test not marked @pytest.mark.kernel")

    @contextmanager
    def installed(self) -> Iterator[KernelGuard]:
        original = subprocess.Popen.__init__

        @functools.wraps(original)
        def init(popen: subprocess.Popen, *args: Any, **kwargs: Any) -> None:
            self.check(args[0] if args else kwargs.get("args", ()))
            original(popen, *args, **kwargs)

        subprocess.Popen.__init__ = init  # type: ignore[method-assign, assignment]
        try:
            yield self
        finally:
            subprocess.Popen.__init__ = original  # type: ignore[method-assign]
