"""Running a submission in a fresh kernel with nbclient, under one wall-clock deadline.

The grader's hidden cells go around the student's: a setup cell first (instrumentation, offline
data, seed), then the entry-function call if the assignment names one, then a finish cell that
exports the model. A student's exception, a timeout or a dead kernel become an `ExecutionInfo`.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from traitlets import List, Unicode

from grader.models import ExecutionInfo
from grader.terminal import ANSI

MAX_OUTPUT_CHARS = 2_000_000
MAX_SHOWN = 4000
HIDDEN = "grader_hidden"


@dataclass(frozen=True)
class RunSpec:
    """Everything one execution needs; `workdir` is the kernel's private working directory."""

    workdir: Path
    rundir: Path  # where the kernel writes the record and the exported model
    mnist_path: Path
    timeout_s: float
    seed: int | None = 0
    entry: str | None = None
    limits: dict[str, int | None] | None = None  # stop early when these break; None: never
    env: dict[str, str] = field(default_factory=dict)
    kernel_prefix: tuple[str, ...] = ()  # a sandbox command the kernel runs under

    @property
    def record_path(self) -> Path:
        return self.rundir / "record.json"

    @property
    def model_dir(self) -> Path:
        return self.rundir / "model"


class GradingKernelManager(AsyncKernelManager):
    """A kernel of this very Python, optionally started under a sandbox command."""

    prefix = List(Unicode(), default_value=[])

    @property
    def kernel_spec(self) -> KernelSpec:  # type: ignore[override]
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        return KernelSpec(argv=argv, display_name="grader", language="python", env={})

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        return [*self.prefix, *super().format_kernel_cmd(extra_arguments)]


class CappedClient(NotebookClient):
    """Keeps at most MAX_OUTPUT_CHARS of output in memory; notes when it dropped some."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kept_chars = 0
        self.truncated = False

    def output(self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None, cell_index: int) -> NotebookNode | None:
        size = len(json.dumps(msg.get("content", {}), default=str))
        if self.kept_chars + size > MAX_OUTPUT_CHARS and msg.get("msg_type") != "error":
            self.truncated = True
            return None
        self.kept_chars += size
        return super().output(outs, msg, display_id, cell_index)


def build_notebook(student: NotebookNode, spec: RunSpec) -> NotebookNode:
    """The student's cells between the grader's hidden setup and finish cells."""
    config = {
        "record_path": str(spec.record_path),
        "model_dir": str(spec.model_dir),
        "mnist_path": str(spec.mnist_path),
        "seed": spec.seed,
        "limits": spec.limits,
    }
    setup = f"from grader.kernel.setup import install as __grader_install\n__grader_install({config!r})\ndel __grader_install"
    cells = [_hidden(setup, "setup")]
    cells += [nbformat.v4.new_code_cell(c.source) for c in student.cells if c.cell_type == "code"]
    if spec.entry:
        call = f"from grader.kernel.setup import trained as __grader_trained\nif not __grader_trained():\n    {spec.entry}()"
        cells.append(_hidden(call, "entry"))
    cells.append(_hidden("from grader.kernel.setup import finish as __grader_finish\n__grader_finish()", "finish"))
    return nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def kernel_env(spec: RunSpec) -> dict[str, str]:
    """A small, clean environment: nothing of the grader's own environment leaks to the student."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(spec.workdir),
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": str(spec.seed or 0),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "MPLBACKEND": "Agg",
        "IPYTHONDIR": str(spec.rundir / "ipython"),
        "MPLCONFIGDIR": str(spec.rundir / "matplotlib"),
        "KERAS_HOME": str(spec.rundir / "keras"),
    }
    return {**env, **spec.env}


def _hidden(source: str, role: str) -> NotebookNode:
    return nbformat.v4.new_code_cell(source, metadata={HIDDEN: role})


def execute(student: NotebookNode, spec: RunSpec) -> ExecutionInfo:
    """Run the submission; never raises for anything the submission does."""
    return asyncio.run(_execute(student, spec))


async def _execute(student: NotebookNode, spec: RunSpec) -> ExecutionInfo:
    spec.rundir.mkdir(parents=True, exist_ok=True)
    spec.workdir.mkdir(parents=True, exist_ok=True)
    notebook = build_notebook(student, spec)
    km = GradingKernelManager(prefix=list(spec.kernel_prefix))
    client = CappedClient(notebook, km=km, timeout=int(spec.timeout_s), startup_timeout=120, allow_errors=False, record_timing=False)
    started = time.monotonic()
    deadline = started + spec.timeout_s
    info = ExecutionInfo(status="ok")
    finish_index = len(notebook.cells) - 1
    try:
        async with client.async_setup_kernel(cwd=str(spec.workdir), env=kernel_env(spec)):
            for index, cell in enumerate(notebook.cells):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    info = _timeout(spec, notebook, index)
                    break
                if info.status == "stopped":
                    break  # stopped early on purpose: nothing left to measure
                if info.status != "ok" and index != finish_index:
                    continue  # after a student error only the finish cell runs
                client.timeout = max(1, int(remaining))
                try:
                    await client.async_execute_cell(cell, index)
                except CellTimeoutError:
                    info = _timeout(spec, notebook, index)
                    break
                except CellExecutionError as exc:
                    if index == finish_index:
                        break  # the finish cell records its own failures; this is the student's doing
                    info = _cell_error(notebook, index, exc)
    except DeadKernelError:
        info = ExecutionInfo(status="kernel_died", message="The kernel stopped while running your code (did it call sys.exit() or os._exit(), or crash?).")
    except (RuntimeError, TimeoutError) as exc:
        if "Kernel died" in str(exc) or "kernel" in str(exc).lower():
            info = ExecutionInfo(status="kernel_died", message=f"The kernel could not run your code: {str(exc)[:200]}")
        else:
            raise
    return _with(info, duration_s=round(time.monotonic() - started, 3), output_truncated=client.truncated)


def _with(info: ExecutionInfo, **changes: Any) -> ExecutionInfo:
    from dataclasses import replace

    return replace(info, **changes)


def student_cell_number(notebook: NotebookNode, index: int) -> int | None:
    """1-based number among the student's code cells, or None for a hidden cell."""
    if notebook.cells[index].metadata.get(HIDDEN):
        return None
    return sum(1 for c in notebook.cells[: index + 1] if not c.metadata.get(HIDDEN))


def _timeout(spec: RunSpec, notebook: NotebookNode, index: int) -> ExecutionInfo:
    cell = student_cell_number(notebook, min(index, len(notebook.cells) - 1))
    return ExecutionInfo(
        status="timeout",
        message=f"Your code did not finish within the time limit of {int(spec.timeout_s)} seconds.",
        cell=cell,
        source=_truncate(notebook.cells[index].source) if cell else "",
    )


LINE_IN_TRACEBACK = re.compile(r"(?:Cell In\[\d+\], line |line )(\d+)")


def _cell_error(notebook: NotebookNode, index: int, exc: CellExecutionError) -> ExecutionInfo:
    role = notebook.cells[index].metadata.get(HIDDEN)
    ename, evalue = getattr(exc, "ename", "Error"), getattr(exc, "evalue", "")
    exception = _truncate(f"{ename}: {evalue}", 1000)
    if role == "entry":
        return ExecutionInfo(status="error", message=f"Calling your function failed: {exception}", exception=exception, traceback=_student_frames(exc))
    if role == "setup":
        raise RuntimeError(f"the grader's setup cell failed: {exception}")
    if ename == "GraderStop":
        return ExecutionInfo(status="stopped", message=str(evalue), cell=student_cell_number(notebook, index))
    traceback = _student_frames(exc)
    lines = LINE_IN_TRACEBACK.findall(traceback)
    cell = student_cell_number(notebook, index)
    return ExecutionInfo(
        status="error",
        message=f"Cell {cell} raised {ename}: {_truncate(str(evalue), 300)}",
        cell=cell,
        line=int(lines[-1]) if lines and ename != "SyntaxError" else _syntax_line(traceback, lines),
        source=_truncate(notebook.cells[index].source),
        exception=exception,
        traceback=traceback,
    )


def _syntax_line(traceback: str, lines: list[str]) -> int | None:
    return int(lines[0]) if lines else None


def _student_frames(exc: CellExecutionError) -> str:
    """The traceback without ANSI codes and without frames inside the grader's own code."""
    text = ANSI.sub("", str(getattr(exc, "traceback", "") or exc))
    blocks = re.split(r"\n(?=\S)", text)
    kept = [b for b in blocks if "grader/kernel" not in b and "site-packages/grader" not in b]
    return _truncate("\n".join(kept), MAX_SHOWN)


def _truncate(text: str, limit: int = MAX_SHOWN) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n… [{len(text) - limit} more characters]"
