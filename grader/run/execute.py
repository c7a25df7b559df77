"""Running a submission in a fresh kernel with nbclient, under one wall-clock deadline.

The grader's hidden cells go around the student's: a setup cell first (instrumentation, offline
data, seed), then the entry-function call if the assignment names one, then a finish cell that
exports the model. A student's exception, a timeout or a dead kernel become an `ExecutionInfo`
(`grader.run.verdicts`); the kernel's manager and client are in `grader.run.kernel_client`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import nbformat
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

from grader.models import ExecutionInfo
from grader.run import host_memory
from grader.run.figures import FigureCollector
from grader.run.kernel_client import CappedClient, GradingKernelManager, KernelNotReady
from grader.run.verdicts import (
    HIDDEN,
    cell_error,
    disk_limit_exceeded,
    kernel_died,
    malformed_message,
    sandbox_verdict,
    timed_out,
)
from grader.sandbox.core import Run, Sandbox
from grader.sandbox.limits import Limits, MiB
from grader.sandbox.memory_watch import needs_watch, watch_memory
from grader.sandbox.output import OutputSink, directory_size
from grader.sandbox.processes import kill_tree

STARTUP_GRACE_S = 120  # the kernel's own start, on top of the submission's time limit
DISK_POLL_S = 1.0


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
    packages: tuple[str, ...] | None = None  # what a literal import may name beyond the standard library; None: anything
    lang: str = "en"  # the language of the run's messages (`grader.run.verdicts`)

    @property
    def record_path(self) -> Path:
        return self.rundir / "record.json"

    @property
    def model_dir(self) -> Path:
        return self.rundir / "model"

    @property
    def shared_dirs(self) -> list[Path]:
        """The host's folders the kernel writes into: the run folder, and the sockets' folder."""
        return [self.rundir, *([self.ipc_dir] if self.ipc_dir else [])]


def build_notebook(student: NotebookNode, spec: RunSpec) -> NotebookNode:
    """The student's cells between the grader's hidden setup and finish cells."""
    config = {
        "record_path": str(spec.record_path),
        "model_dir": str(spec.model_dir),
        "mnist_path": str(spec.mnist_path),
        "seed": spec.seed,
        "limits": spec.limits,
        "packages": list(spec.packages) if spec.packages is not None else None,
    }
    setup = f"from grader.inside.setup import install as __grader_install\n__grader_install({config!r})\ndel __grader_install"
    cells = [_hidden(setup, "setup")]
    cells += [nbformat.v4.new_code_cell(c.source) for c in student.cells if c.cell_type == "code"]
    if spec.entry:
        call = f"from grader.inside.setup import trained as __grader_trained\nif not __grader_trained():\n    {spec.entry}()"
        cells.append(_hidden(call, "entry"))
    cells.append(_hidden("from grader.inside.setup import finish as __grader_finish\n__grader_finish()", "finish"))
    return nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


GPU_ENV_PREFIXES = ("CUDA_", "NVIDIA_", "LD_LIBRARY_PATH", "XLA_FLAGS", "TF_FORCE_GPU")


def kernel_env(spec: RunSpec) -> dict[str, str]:
    """A small, clean environment: nothing of the grader's own environment leaks to the student."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(spec.workdir),
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": str(spec.seed or 0),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",  # as in Jupyter: figures are shown, plt.show() never blocks
        "IPYTHONDIR": str(spec.rundir / "ipython"),
        "MPLCONFIGDIR": str(spec.rundir / "matplotlib"),
        "KERAS_HOME": str(spec.rundir / "keras"),
    }
    passed_on = {k: v for k, v in os.environ.items() if k.startswith(GPU_ENV_PREFIXES)}  # so TensorFlow finds a GPU
    return {**passed_on, **env, **spec.env}


def _hidden(source: str, role: str) -> NotebookNode:
    return nbformat.v4.new_code_cell(source, metadata={HIDDEN: role})


def execute(student: NotebookNode, spec: RunSpec) -> ExecutionInfo:
    """Run the submission; never raises for anything the submission does."""
    return asyncio.run(_execute(student, spec))


@dataclass
class _Progress:
    """The notebook being run, and the index of the cell running now."""

    notebook: NotebookNode
    index: int = 0
    kernel_pid: int | None = None
    figures: FigureCollector = field(default_factory=FigureCollector)


def kill_session(pid: int) -> None:
    """SIGKILL the kernel started without a sandbox, and what it started in its session."""
    kill_tree(pid)
    deadline = time.monotonic() + 2
    with contextlib.suppress(ChildProcessError, OSError):  # reap our child, unless someone else did
        while os.waitpid(pid, os.WNOHANG) == (0, 0) and time.monotonic() < deadline:
            time.sleep(0.01)


async def _execute(student: NotebookNode, spec: RunSpec) -> ExecutionInfo:
    spec.rundir.mkdir(parents=True, exist_ok=True)
    spec.workdir.mkdir(parents=True, exist_ok=True)
    sandbox = spec.sandbox
    run = sandbox.new_run("kernel") if sandbox else None
    notebook = build_notebook(student, spec)
    km = _kernel_manager(spec, run)
    limit = (sandbox.limits if sandbox else Limits()).output_chars
    client = CappedClient(notebook, km=km, timeout=int(spec.timeout_s), startup_timeout=STARTUP_GRACE_S, allow_errors=False, record_timing=False,
                          max_chars=limit)
    client.shutdown_kernel = "immediate"  # whatever the kernel still runs is killed with it
    sink = OutputSink(keep_tail=16 * 1024)  # what the kernel writes to its own stdout and stderr
    started = time.monotonic()
    progress = _Progress(notebook)
    try:
        info = await asyncio.wait_for(_run_cells(client, spec, run, sink, progress, started), spec.timeout_s + STARTUP_GRACE_S)
    except asyncio.TimeoutError:  # the kernel did not even answer: stopped all the same
        info = timed_out(notebook, progress.index, spec.timeout_s, spec.lang)
    finally:
        if run:
            run.kill()  # daemons, double forks and anything else the submission started
        elif progress.kernel_pid:
            kill_session(progress.kernel_pid)  # unsandboxed: at least the kernel and its session
        sink.finish()
        client.release()
    if run:
        info = sandbox_verdict(info, run, spec.lang)
    truncated = client.truncated or sink.total > limit
    return replace(
        info,
        duration_s=round(time.monotonic() - started, 3),
        output_truncated=truncated,
        timeout_s=spec.timeout_s,
        sandbox=sandbox.describe() if sandbox else "",
        figures=tuple(progress.figures.cells),
        figures_left_out=progress.figures.left_out,
    )


def _kernel_manager(spec: RunSpec, run: Run | None) -> GradingKernelManager:
    kwargs: dict[str, Any] = {"prefix": list(spec.kernel_prefix)}
    if spec.ipc_dir:
        kwargs.update(transport="ipc", ip=str(spec.ipc_dir / "kernel"), connection_file=str(spec.ipc_dir / "kernel.json"))
    if run:
        sandbox = run.sandbox

        def wrap(argv: list[str]) -> list[str]:
            return sandbox.command(run, argv, cwd=spec.workdir, readable=[spec.mnist_path], writable=spec.shared_dirs)

        kwargs.update(wrap=wrap, owner=sandbox.uid)
    km = GradingKernelManager(**kwargs)
    km.shutdown_wait_time = 1.0
    return km


async def _run_cells(client: CappedClient, spec: RunSpec, run: Run | None, sink: OutputSink, progress: _Progress, started: float) -> ExecutionInfo:
    notebook = progress.notebook
    deadline = started + spec.timeout_s
    info = ExecutionInfo(status="ok")
    finish_index = len(notebook.cells) - 1
    watchdog: asyncio.Task[None] | None = None
    flood: host_memory.Watched | None = None  # the grader's own memory, against what the kernel sends
    memory: asyncio.Task[None] | None = None  # the memory limit, where no memory cgroup binds
    timings: dict[str, float] = {}
    try:
        launch = {"cwd": str(spec.workdir), "env": kernel_env(spec), "stdin": subprocess.DEVNULL, "stdout": sink.write_fd, "stderr": sink.write_fd}
        async with client.async_setup_kernel(**launch):
            timings["kernel_start"] = round(time.monotonic() - started, 3)
            sink.started()
            km = client.km
            assert km is not None  # the client was made with its manager
            progress.kernel_pid = km.provisioner.process.pid  # type: ignore[union-attr]  # a local provisioner: it has a process
            if run:
                run.attach(progress.kernel_pid)
                seal_socket_folder(spec, run)
                watchdog = asyncio.create_task(_watch_disk(run, spec))
                flood = host_memory.watch(run, lambda: [*(kc.context for kc in client.clients), km.context])
                memory = asyncio.create_task(watch_memory(run)) if needs_watch(run) else None
            for index, cell in enumerate(notebook.cells):
                progress.index = index
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    info = timed_out(notebook, index, spec.timeout_s, spec.lang)
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
                    info = timed_out(notebook, index, spec.timeout_s, spec.lang)
                    break
                except CellExecutionError as exc:
                    if index == finish_index:
                        break  # the finish cell records its own failures; this is the student's doing
                    info = cell_error(notebook, index, exc, spec.lang)
                except DeadKernelError:
                    raise
                except Exception as exc:  # noqa: BLE001 - a reply nbclient could not read: the kernel sent it so
                    info = malformed_message(notebook, index, exc, spec.lang)
                    break
                finally:
                    timings[phase] = round(timings.get(phase, 0.0) + time.monotonic() - cell_started, 3)
                    progress.figures.collect(notebook, index)
            if run and info.status not in ("ok", "stopped"):
                run.kill()  # before nbclient's shutdown: a kernel that ignores signals is not waited for
    except DeadKernelError:
        info = kernel_died(notebook, progress.index, sink.text(), spec.lang)
    except KernelNotReady:
        info = kernel_died(notebook, progress.index, sink.text(), spec.lang, ready=False)
    finally:
        if watchdog:
            watchdog.cancel()
        if memory:
            memory.cancel()
        if flood:
            host_memory.unwatch(flood)
    if run and run.killed_for == "disk":
        info = disk_limit_exceeded(run.sandbox.limits.disk_mb, info.cell, spec.lang)
    return replace(info, timings=timings)


def seal_socket_folder(spec: RunSpec, run: Run) -> None:
    """Once the kernel has bound its sockets (it answered, and no student code has run yet), make
    their folder the grader's: the kernel can no longer put a link to a socket of the host where
    the grader's zmq sockets connect again by path (they reconnect whenever a peer goes away)."""
    if spec.ipc_dir and run.uid is not None and os.geteuid() == 0:
        os.chown(spec.ipc_dir, 0, 0)
        os.chmod(spec.ipc_dir, 0o755)


async def _watch_disk(run: Run, spec: RunSpec) -> None:
    """Stop the run when the folders it shares with the host hold more than the disk limit."""
    folders = spec.shared_dirs
    if run.sandbox.mode != "bwrap":
        folders.append(spec.workdir)  # under bubblewrap it is a size-limited tmpfs
    limit = run.sandbox.limits.disk_mb * MiB
    while True:
        await asyncio.sleep(DISK_POLL_S)
        used = sum([await asyncio.to_thread(directory_size, f) for f in folders])
        if used > limit:
            run.killed_for = "disk"
            run.kill()
            return
