"""How a run of the notebook went, as an `ExecutionInfo`: a student's exception (with the frames
of the student's code only), a timeout, a dead kernel, and what the sandbox saw (a kill for memory,
a process limit, CPU time, an exit, a file too large, an output flood)."""

from __future__ import annotations

import re
from dataclasses import replace

from nbclient.exceptions import CellExecutionError
from nbformat import NotebookNode

from grader.run.host_memory import MARGIN
from grader.models import ExecutionInfo
from grader.sandbox.core import Run
from grader.sandbox.limits import MiB
from grader.inside.terminal import ANSI

HIDDEN = "grader_hidden"  # metadata key of the grader's own cells; its value is the cell's role
MAX_SHOWN = 4000
NOISE = re.compile(r"^(WARNING: All log messages before absl|[IWE]\d{4} \d\d:\d\d:\d\d|\[IPKernelApp\])")
TASK_ERRORS = ("BlockingIOError", "can't start new thread", "Resource temporarily unavailable")
LINE_IN_TRACEBACK = re.compile(r"(?:Cell In\[\d+\], line |line )(\d{1,9})(?!\d)")  # a number int() always takes


def student_cell_number(notebook: NotebookNode, index: int) -> int | None:
    """1-based number among the student's code cells, or None for a hidden cell."""
    if notebook.cells[index].metadata.get(HIDDEN):
        return None
    return sum(1 for c in notebook.cells[: index + 1] if not c.metadata.get(HIDDEN))


def timed_out(notebook: NotebookNode, index: int, timeout_s: float) -> ExecutionInfo:
    """The time limit ran out in cell `index` (or after the last cell)."""
    cell = student_cell_number(notebook, min(index, len(notebook.cells) - 1))
    return ExecutionInfo(
        status="timeout",
        message=f"Your code did not finish within the time limit of {int(timeout_s)} seconds.",
        cell=cell,
        source=truncate(notebook.cells[index].source) if cell else "",
    )


def kernel_died(notebook: NotebookNode, index: int, kernel_output: str) -> ExecutionInfo:
    """The kernel ended in cell `index`; the last of its own output, noise removed, is the traceback."""
    cell = student_cell_number(notebook, index)
    tail = "\n".join(line for line in kernel_output.splitlines() if not NOISE.match(line)).strip()
    return ExecutionInfo(
        status="kernel_died",
        message="The Python kernel stopped while running your code (did it call os._exit() or exit(), or crash?).",
        cell=cell,
        source=truncate(notebook.cells[index].source) if cell else "",
        traceback=truncate(ANSI.sub("", tail[-2000:]), 2000) if tail else "",
    )


def disk_limit_exceeded(limit_mb: int, cell: int | None) -> ExecutionInfo:
    """The run wrote more than `limit_mb` of files (or a folder tree too deep or too large to
    measure) and was killed."""
    return ExecutionInfo(
        status="error",
        message=f"Your code wrote more than {limit_mb} MB of files (or a folder tree too large to measure) and was stopped.",
        exception=f"DiskLimit: more than {limit_mb} MB written",
        cell=cell,
    )


OUTPUT_FLOOD = "OutputFlood"  # the exception of the verdict below; the checks name it in the student's language


def output_flood(cell: int | None) -> ExecutionInfo:
    """The kernel sent the grader more at once than it accepts (one message of many frames): the
    host's memory guard killed the run (`grader.run.host_memory`)."""
    return ExecutionInfo(
        status="error",
        message="Your code sent the grader more output at once than it accepts and was stopped.",
        exception=f"{OUTPUT_FLOOD}: the kernel sent the grader more than {MARGIN // MiB} MiB at once",
        cell=cell,
    )


def malformed_message(notebook: NotebookNode, index: int, exc: Exception) -> ExecutionInfo:
    """The kernel answered cell `index` with a message the grader could not read: only the
    submission (which runs in the kernel) can have sent it."""
    cell = student_cell_number(notebook, index)
    return ExecutionInfo(
        status="error",
        message="The kernel sent the grader a malformed message while running your code.",
        cell=cell,
        source=truncate(notebook.cells[index].source) if cell else "",
        exception=f"KernelProtocolError: a malformed message ({type(exc).__name__})",
    )


def cell_error(notebook: NotebookNode, index: int, exc: CellExecutionError) -> ExecutionInfo:
    """Cell `index` raised: the student's error, the entry call's, or a deliberate early stop."""
    role = notebook.cells[index].metadata.get(HIDDEN)
    ename, evalue = getattr(exc, "ename", "Error"), getattr(exc, "evalue", "")
    exception = truncate(f"{ename}: {evalue}", 1000)
    if role == "entry":
        return ExecutionInfo(status="error", message=f"Calling your function failed: {exception}", exception=exception, traceback=_student_frames(exc))
    if role == "setup":
        raise RuntimeError(f"the grader's setup cell failed: {exception}")
    if ename == "GraderStop":
        return ExecutionInfo(status="stopped", message=str(evalue), cell=student_cell_number(notebook, index))
    traceback = _student_frames(exc)
    lines = LINE_IN_TRACEBACK.findall(traceback)
    cell = student_cell_number(notebook, index)
    line = int(lines[0] if ename == "SyntaxError" else lines[-1]) if lines else None
    return ExecutionInfo(
        status="error",
        message=f"Cell {cell} raised {ename}: {truncate(str(evalue), 300)}",
        cell=cell,
        line=line,
        source=truncate(notebook.cells[index].source),
        exception=exception,
        traceback=traceback,
    )


def sandbox_verdict(info: ExecutionInfo, run: Run) -> ExecutionInfo:
    """What the sandbox saw refines how the run went: a kill for memory, a process limit, an exit."""
    if info.status in ("ok", "stopped", "invalid", "not_run"):
        return info
    limits = run.sandbox.limits
    exception = info.exception or ""
    if run.killed_for == "output_flood":
        return output_flood(info.cell)
    if run.oom_killed() or run.killed_for == "memory" or exception.startswith("MemoryError"):
        return replace(info, status="out_of_memory", message=f"Your code used more than the memory limit of {limits.memory_mb} MB and was stopped.")
    if run.cgroup and run.cgroup.cpu_seconds() >= 0.9 * limits.cpu_seconds:  # RLIMIT_CPU's; a cgroup samples at ticks
        return replace(info, status="out_of_cpu_time", message=f"Your code used more than the limit of {limits.cpu_seconds} seconds of CPU time and was stopped.")
    if run.tasks_limit_hit() or any(e in exception for e in TASK_ERRORS):
        return replace(info, status="too_many_processes", message=f"Your code started more processes or threads than the limit of {limits.max_tasks} and was stopped.")
    if exception.startswith("SystemExit"):
        return replace(info, status="kernel_died", message="Your code called sys.exit() (or exit()): the notebook stopped there.")
    if "File too large" in exception:
        return replace(info, message=f"Your code wrote a file larger than the limit of {limits.file_mb} MB.")
    return info


def _student_frames(exc: CellExecutionError) -> str:
    """The traceback without ANSI codes and without frames inside the grader's own code."""
    text = ANSI.sub("", str(getattr(exc, "traceback", "") or exc))
    blocks = re.split(r"\n(?=\S)", text)
    kept = [b for b in blocks if "grader/kernel" not in b and "site-packages/grader" not in b]
    return truncate("\n".join(kept), MAX_SHOWN)


def truncate(text: str, limit: int = MAX_SHOWN) -> str:
    """`text`, cut to `limit` characters with a note of how many were left out."""
    return text if len(text) <= limit else text[:limit] + f"\n… [{len(text) - limit} more characters]"
