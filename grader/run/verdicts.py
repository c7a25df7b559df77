"""How a run of the notebook went, as an `ExecutionInfo` whose message is in the result's language:
a student's exception (with the frames of the student's code only), a timeout, a dead kernel, and
what the sandbox saw (a kill for memory, a process limit, CPU time, an exit, a file too large, an
output flood). What the status alone does not say is a code (`ExecutionInfo.cause`), read from the
kernel's data (an exception's type, an errno), never from the text of a message."""

from __future__ import annotations

import errno
import re
from dataclasses import replace

from nbclient.exceptions import CellExecutionError
from nbformat import NotebookNode

from grader.i18n import t
from grader.inside.terminal import ANSI
from grader.models import ExecutionCause, ExecutionInfo
from grader.run.host_memory import MARGIN
from grader.sandbox.core import Run
from grader.sandbox.limits import MiB

HIDDEN = "grader_hidden"  # metadata key of the grader's own cells; its value is the cell's role
MAX_SHOWN = 4000
NOISE = re.compile(r"^(WARNING: All log messages before absl|[IWE]\d{4} \d\d:\d\d:\d\d|\[IPKernelApp\])")
LINE_IN_TRACEBACK = re.compile(r"(?:Cell In\[\d+\], line |line )(\d{1,9})(?!\d)")  # a number int() always takes
ERRNO = re.compile(r"^\[Errno (\d{1,4})\] ")  # how an OSError's value starts: its errno, a code
THREAD_LIMIT = "can't start new thread"  # CPython's RuntimeError when no thread can be made: no errno to read
GRADER_FRAMES = ("/grader/inside/", "site-packages/grader/")  # the grader's own code in the kernel, from a checkout or installed
OUTPUT_FLOOD, DISK_LIMIT, KERNEL_PROTOCOL = "OutputFlood", "DiskLimit", "KernelProtocolError"  # the grader's own exception names


class SetupCellFailed(RuntimeError):
    """The grader's own setup cell raised in the kernel: a fault of the grader or its installation,
    not of the submission. Its text is the kernel's `Type: value`."""


def student_cell_number(notebook: NotebookNode, index: int) -> int | None:
    """1-based number among the student's code cells, or None for a hidden cell."""
    if notebook.cells[index].metadata.get(HIDDEN):
        return None
    return sum(1 for c in notebook.cells[: index + 1] if not c.metadata.get(HIDDEN))


def timed_out(notebook: NotebookNode, index: int, timeout_s: float, lang: str = "en") -> ExecutionInfo:
    """The time limit ran out in cell `index` (or after the last cell)."""
    cell = student_cell_number(notebook, min(index, len(notebook.cells) - 1))
    return ExecutionInfo(
        status="timeout",
        message=t(lang, "run.verdict.timeout", limit=int(timeout_s)),
        cell=cell,
        source=truncate(notebook.cells[index].source, lang=lang) if cell else "",
    )


def kernel_died(notebook: NotebookNode, index: int, kernel_output: str, lang: str = "en", *, ready: bool = True) -> ExecutionInfo:
    """The kernel ended in cell `index` (not `ready`: before it answered at all); the last of its
    own output, noise removed, is the traceback."""
    cell = student_cell_number(notebook, index)
    tail = "\n".join(line for line in kernel_output.splitlines() if not NOISE.match(line)).strip()
    return ExecutionInfo(
        status="kernel_died",
        message=t(lang, "run.verdict.kernel_died" if ready else "run.verdict.kernel_not_ready"),
        cell=cell,
        source=truncate(notebook.cells[index].source, lang=lang) if cell else "",
        traceback=truncate(ANSI.sub("", tail[-2000:]), 2000, lang) if tail else "",
        cause="" if ready else "kernel_not_ready",
    )


def disk_limit_exceeded(limit_mb: int, cell: int | None, lang: str = "en") -> ExecutionInfo:
    """The run wrote more than `limit_mb` of files (or a folder tree too deep or too large to
    measure) and was killed."""
    return ExecutionInfo(
        status="error",
        message=t(lang, "run.verdict.disk_limit", limit=limit_mb),
        exception=f"{DISK_LIMIT}: {t(lang, 'run.verdict.disk_limit_exception', limit=limit_mb)}",
        cell=cell,
        cause="disk_limit",
    )


def output_flood(cell: int | None, lang: str = "en") -> ExecutionInfo:
    """The kernel sent the grader more at once than it accepts (one message of many frames): the
    host's memory guard killed the run (`grader.run.host_memory`)."""
    return ExecutionInfo(
        status="error",
        message=t(lang, "run.verdict.output_flood"),
        exception=f"{OUTPUT_FLOOD}: {t(lang, 'run.verdict.output_flood_exception', limit=MARGIN // MiB)}",
        cell=cell,
        cause="output_flood",
    )


def malformed_message(notebook: NotebookNode, index: int, exc: Exception, lang: str = "en") -> ExecutionInfo:
    """The kernel answered cell `index` with a message the grader could not read: only the
    submission (which runs in the kernel) can have sent it."""
    cell = student_cell_number(notebook, index)
    return ExecutionInfo(
        status="error",
        message=t(lang, "run.verdict.malformed_message"),
        cell=cell,
        source=truncate(notebook.cells[index].source, lang=lang) if cell else "",
        exception=f"{KERNEL_PROTOCOL}: {t(lang, 'run.verdict.malformed_message_exception', kind=type(exc).__name__)}",
        cause="malformed_message",
    )


def cell_error(notebook: NotebookNode, index: int, exc: CellExecutionError, lang: str = "en") -> ExecutionInfo:
    """Cell `index` raised: the student's error, the entry call's, or a deliberate early stop."""
    role = notebook.cells[index].metadata.get(HIDDEN)
    ename, evalue = str(getattr(exc, "ename", "Error")), str(getattr(exc, "evalue", ""))
    exception = truncate(f"{ename}: {evalue}", 1000, lang)
    cause = exception_cause(ename, evalue)
    if role == "entry":
        message = t(lang, "run.verdict.entry_failed", exception=exception)
        return ExecutionInfo(status="error", message=message, exception=exception, traceback=_student_frames(exc, lang), cause=cause)
    if role == "setup":
        raise SetupCellFailed(exception)
    if ename == "GraderStop":
        # the kernel's words: the pipeline says why, localised
        return ExecutionInfo(status="stopped", message=evalue, cell=student_cell_number(notebook, index))
    traceback = _student_frames(exc, lang)
    lines = LINE_IN_TRACEBACK.findall(traceback)
    cell = student_cell_number(notebook, index)
    line = int(lines[0] if ename == "SyntaxError" else lines[-1]) if lines else None
    return ExecutionInfo(
        status="error",
        message=t(lang, "run.verdict.cell_error", cell=cell, exception=f"{ename}: {truncate(evalue, 300, lang)}"),
        cell=cell,
        line=line,
        source=truncate(notebook.cells[index].source, lang=lang),
        exception=exception,
        traceback=traceback,
        cause=cause,
    )


def exception_cause(ename: str, evalue: str) -> ExecutionCause:
    """What the student's exception says of a limit, by its type or its errno: the kernel sends
    an exception as its type's name and its value, and an OSError's value starts with its errno."""
    found = ERRNO.match(evalue)
    code = int(found.group(1)) if found else None
    if ename == "MemoryError":
        return "memory_error"
    if ename == "SystemExit":
        return "system_exit"
    if ename == "BlockingIOError" or code == errno.EAGAIN or (ename == "RuntimeError" and evalue == THREAD_LIMIT):
        return "no_more_tasks"
    if code == errno.EFBIG:
        return "file_too_large"
    return ""


def sandbox_verdict(info: ExecutionInfo, run: Run, lang: str = "en") -> ExecutionInfo:
    """What the sandbox saw refines how the run went: a kill for memory, a process limit, an exit."""
    if info.status in ("ok", "stopped", "invalid", "not_run"):
        return info
    limits = run.sandbox.limits
    if run.killed_for == "output_flood":
        return output_flood(info.cell, lang)
    if run.oom_killed() or run.killed_for == "memory" or info.cause == "memory_error":
        return replace(info, status="out_of_memory", message=t(lang, "run.verdict.out_of_memory", limit=limits.memory_mb))
    if run.cgroup and run.cgroup.cpu_seconds() >= 0.9 * limits.cpu_seconds:  # RLIMIT_CPU's; a cgroup samples at ticks
        return replace(info, status="out_of_cpu_time", message=t(lang, "run.verdict.out_of_cpu_time", limit=limits.cpu_seconds))
    if run.tasks_limit_hit() or info.cause == "no_more_tasks":
        return replace(info, status="too_many_processes", message=t(lang, "run.verdict.too_many_processes", limit=limits.max_tasks))
    if info.cause == "system_exit":
        return replace(info, status="kernel_died", message=t(lang, "run.verdict.system_exit"))
    if info.cause == "file_too_large":
        return replace(info, message=t(lang, "run.verdict.file_too_large", limit=limits.file_mb))
    return info


def _student_frames(exc: CellExecutionError, lang: str = "en") -> str:
    """The traceback without ANSI codes and without frames inside the grader's own code."""
    text = ANSI.sub("", str(getattr(exc, "traceback", "") or exc))
    blocks = re.split(r"\n(?=\S)", text)
    kept = [b for b in blocks if not any(own in b for own in GRADER_FRAMES)]
    return truncate("\n".join(kept), MAX_SHOWN, lang)


def truncate(text: str, limit: int = MAX_SHOWN, lang: str = "en") -> str:
    """`text`, cut to `limit` characters with a note, in `lang`, of how many were left out."""
    return text if len(text) <= limit else text[:limit] + "\n" + t(lang, "run.verdict.truncated", count=len(text) - limit)
