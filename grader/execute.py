"""Running a submission in a fresh kernel with nbclient, under one wall-clock deadline.

The grader's hidden cells go around the student's: a setup cell first (instrumentation, offline
data, seed), then the entry-function call if the assignment names one, then a finish cell that
exports the model. A student's exception, a timeout or a dead kernel become an `ExecutionInfo`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import nbformat
import zmq
import zmq.asyncio
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from traitlets import Any as AnyTrait
from traitlets import List, Unicode

from grader.models import ExecutionInfo
from grader.sandbox import OutputSink, Run, Sandbox, directory_size
from grader.terminal import ANSI

MAX_OUTPUT_CHARS = 2_000_000
MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # one message from the kernel, at most
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
    kernel_prefix: tuple[str, ...] = ()  # a command the kernel runs under, inside the sandbox (e.g. a tracer)
    sandbox: Sandbox | None = None  # None: no isolation at all (the grader's own tests of trusted code)
    ipc_dir: Path | None = None  # where the kernel's unix sockets live (no TCP: the sandbox has no network)

    @property
    def record_path(self) -> Path:
        return self.rundir / "record.json"

    @property
    def model_dir(self) -> Path:
        return self.rundir / "model"


class GradingKernelManager(AsyncKernelManager):
    """A kernel of this very Python, started under the sandbox's command (`wrap`), talking over
    unix sockets in a folder the sandbox shares when `transport` is "ipc"."""

    prefix = List(Unicode(), default_value=[])
    wrap = AnyTrait(default_value=None, allow_none=True)  # argv -> the sandboxed argv
    owner = AnyTrait(default_value=None, allow_none=True)  # uid that must read the connection file

    def client(self, **kwargs: Any) -> Any:
        """A client whose sockets refuse any message larger than MAX_MESSAGE_BYTES: the kernel cannot
        make the host hold an output of gigabytes (such a message is lost; output counts as truncated)."""
        context = zmq.asyncio.Context()
        context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        kc = super().client(context=context, **kwargs)
        kc._created_context = True  # destroyed with the client
        return kc

    @property
    def kernel_spec(self) -> KernelSpec:  # type: ignore[override]
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        return KernelSpec(argv=argv, display_name="grader", language="python", env={})

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = [*self.prefix, *super().format_kernel_cmd(extra_arguments)]
        return self.wrap(cmd) if self.wrap else cmd

    def write_connection_file(self, **kwargs: Any) -> None:
        super().write_connection_file(**kwargs)
        if self.owner is not None:
            os.chown(self.connection_file, self.owner, self.owner)


class CappedClient(NotebookClient):
    """Keeps at most MAX_OUTPUT_CHARS of output in memory; notes when it dropped some."""

    def __init__(self, *args: Any, max_chars: int = MAX_OUTPUT_CHARS, **kwargs: Any) -> None:
        log = logging.getLogger(f"grader.execute.client{id(self)}")
        log.propagate = False
        log.addHandler(_LostOutput(self))
        super().__init__(*args, log=log, **kwargs)
        self.kept_chars = 0
        self.max_chars = max_chars
        self.truncated = False

    def release_log(self) -> None:
        """Forget the per-client logger (it refers to this client)."""
        self.log.handlers.clear()
        logging.Logger.manager.loggerDict.pop(self.log.name, None)

    def output(self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None, cell_index: int) -> NotebookNode | None:
        size = len(json.dumps(msg.get("content", {}), default=str))
        if self.kept_chars + size > self.max_chars and msg.get("msg_type") != "error":
            self.truncated = True
            return None
        self.kept_chars += size
        return super().output(outs, msg, display_id, cell_index)


class _LostOutput(logging.Handler):
    """nbclient's "Timeout waiting for IOPub output": output was lost (e.g. a message over the size
    limit was refused), so the output kept is not all there was."""

    def __init__(self, client: CappedClient) -> None:
        super().__init__(logging.WARNING)
        self.client = client

    def emit(self, record: logging.LogRecord) -> None:
        if "IOPub" in record.getMessage():
            self.client.truncated = True


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


STARTUP_GRACE_S = 120  # the kernel's own start, on top of the submission's time limit
DISK_POLL_S = 1.0


async def _execute(student: NotebookNode, spec: RunSpec) -> ExecutionInfo:
    spec.rundir.mkdir(parents=True, exist_ok=True)
    spec.workdir.mkdir(parents=True, exist_ok=True)
    sandbox = spec.sandbox
    run = sandbox.new_run("kernel") if sandbox else None
    notebook = build_notebook(student, spec)
    km = _kernel_manager(spec, run)
    limit = sandbox.limits.output_chars if sandbox else MAX_OUTPUT_CHARS
    client = CappedClient(notebook, km=km, timeout=int(spec.timeout_s), startup_timeout=STARTUP_GRACE_S, allow_errors=False, record_timing=False, max_chars=limit)
    client.shutdown_kernel = "immediate"  # whatever the kernel still runs is killed with it
    sink = OutputSink(keep_tail=16 * 1024)  # what the kernel writes to its own stdout and stderr
    started = time.monotonic()
    state = _State(notebook)
    try:
        info = await asyncio.wait_for(_run_cells(client, spec, run, sink, state, started), spec.timeout_s + STARTUP_GRACE_S)
    except asyncio.TimeoutError:  # the kernel did not even answer: stopped all the same
        info = _timeout(spec, notebook, state.index)
    finally:
        if run:
            run.kill()  # daemons, double forks and anything else the submission started
        sink.finish()
        client.release_log()
    if run:
        info = _verdict(info, run, sandbox)  # type: ignore[arg-type]
    truncated = client.truncated or sink.total > limit
    return _with(info, duration_s=round(time.monotonic() - started, 3), output_truncated=truncated, timeout_s=spec.timeout_s, sandbox=sandbox.describe() if sandbox else "")


class _State:
    def __init__(self, notebook: NotebookNode) -> None:
        self.notebook, self.index = notebook, 0


def _kernel_manager(spec: RunSpec, run: Run | None) -> GradingKernelManager:
    kwargs: dict[str, Any] = {"prefix": list(spec.kernel_prefix)}
    if spec.ipc_dir:
        kwargs.update(transport="ipc", ip=str(spec.ipc_dir / "kernel"), connection_file=str(spec.ipc_dir / "kernel.json"))
    if run:
        sandbox = run.sandbox
        writable = [spec.rundir, *([spec.ipc_dir] if spec.ipc_dir else [])]

        def wrap(argv: list[str]) -> list[str]:
            return sandbox.command(run, argv, cwd=spec.workdir, readable=[spec.mnist_path], writable=writable)

        kwargs.update(wrap=wrap, owner=sandbox.uid)
    km = GradingKernelManager(**kwargs)
    km.shutdown_wait_time = 1.0
    return km


async def _run_cells(client: CappedClient, spec: RunSpec, run: Run | None, sink: OutputSink, state: _State, started: float) -> ExecutionInfo:
    notebook = state.notebook
    deadline = started + spec.timeout_s
    info = ExecutionInfo(status="ok")
    finish_index = len(notebook.cells) - 1
    watchdog: asyncio.Task[None] | None = None
    timings: dict[str, float] = {}
    try:
        launch = {"cwd": str(spec.workdir), "env": kernel_env(spec), "stdin": subprocess.DEVNULL, "stdout": sink.write_fd, "stderr": sink.write_fd}
        async with client.async_setup_kernel(**launch):
            timings["kernel_start"] = round(time.monotonic() - started, 3)
            sink.started()
            if run:
                run.attach(client.km.provisioner.process.pid)  # type: ignore[union-attr]
                watchdog = asyncio.create_task(_watch_disk(run, spec))
            for index, cell in enumerate(notebook.cells):
                state.index = index
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    info = _timeout(spec, notebook, index)
                    break
                if info.status == "stopped":
                    break  # stopped early on purpose: nothing left to measure
                if info.status != "ok" and index != finish_index:
                    continue  # after a student error only the finish cell runs
                client.timeout = max(1, int(remaining))
                phase = cell.metadata.get(HIDDEN) or "student_cells"
                cell_started = time.monotonic()
                try:
                    await client.async_execute_cell(cell, index)
                except CellTimeoutError:
                    info = _timeout(spec, notebook, index)
                    break
                except CellExecutionError as exc:
                    if index == finish_index:
                        break  # the finish cell records its own failures; this is the student's doing
                    info = _cell_error(notebook, index, exc)
                finally:
                    timings[phase] = round(timings.get(phase, 0.0) + time.monotonic() - cell_started, 3)
            if run and info.status not in ("ok", "stopped"):
                run.kill()  # before nbclient's shutdown: a kernel that ignores signals is not waited for
    except DeadKernelError:
        info = _died(notebook, state.index, sink)
    except (RuntimeError, TimeoutError) as exc:
        if "Kernel died" in str(exc) or "kernel" in str(exc).lower():
            info = _with(_died(notebook, state.index, sink), message=f"The kernel could not run your code: {str(exc)[:200]}")
        else:
            raise
    finally:
        if watchdog:
            watchdog.cancel()
    if run and run.killed_for == "disk":
        limit = run.sandbox.limits.disk_mb
        info = ExecutionInfo(status="error", message=f"Your code wrote more than {limit} MB of files and was stopped.", exception=f"DiskLimit: more than {limit} MB written", cell=info.cell)
    return _with(info, timings=timings)


async def _watch_disk(run: Run, spec: RunSpec) -> None:
    """Stop the run when the folders it shares with the host hold more than the disk limit."""
    folders = [spec.rundir, *([spec.ipc_dir] if spec.ipc_dir else [])]
    if run.sandbox.mode != "bwrap":
        folders.append(spec.workdir)  # under bubblewrap it is a size-limited tmpfs
    limit = run.sandbox.limits.disk_mb * 1024 * 1024
    while True:
        await asyncio.sleep(DISK_POLL_S)
        used = sum([await asyncio.to_thread(directory_size, f) for f in folders])
        if used > limit:
            run.killed_for = "disk"
            run.kill()
            return


NOISE = re.compile(r"^(WARNING: All log messages before absl|[IWE]\d{4} \d\d:\d\d:\d\d|\[IPKernelApp\])")


def _died(notebook: NotebookNode, index: int, sink: OutputSink) -> ExecutionInfo:
    cell = student_cell_number(notebook, index)
    tail = "\n".join(line for line in sink.text().splitlines() if not NOISE.match(line)).strip()
    return ExecutionInfo(
        status="kernel_died",
        message="The Python kernel stopped while running your code (did it call os._exit() or exit(), or crash?).",
        cell=cell,
        source=_truncate(notebook.cells[index].source) if cell else "",
        traceback=_truncate(ANSI.sub("", tail[-2000:]), 2000) if tail else "",
    )


TASK_ERRORS = ("BlockingIOError", "can't start new thread", "Resource temporarily unavailable")


def _verdict(info: ExecutionInfo, run: Run, sandbox: Sandbox) -> ExecutionInfo:
    """What the sandbox saw refines how the run went: a kill for memory, a process limit, an exit."""
    if info.status in ("ok", "stopped", "invalid", "not_run"):
        return info
    limits = sandbox.limits
    exception = info.exception or ""
    if run.oom_killed() or exception.startswith("MemoryError"):
        return _with(info, status="out_of_memory", message=f"Your code used more than the memory limit of {limits.memory_mb} MB and was stopped.")
    if run.tasks_limit_hit() or any(e in exception for e in TASK_ERRORS):
        return _with(info, status="too_many_processes", message=f"Your code started more processes or threads than the limit of {limits.max_tasks} and was stopped.")
    if exception.startswith("SystemExit"):
        return _with(info, status="kernel_died", message="Your code called sys.exit() (or exit()): the notebook stopped there.")
    if "File too large" in exception:
        return _with(info, message=f"Your code wrote a file larger than the limit of {limits.file_mb} MB.")
    return info


def _with(info: ExecutionInfo, **changes: Any) -> ExecutionInfo:
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
