"""How a run went, without a kernel: every verdict speaks the result's language, and what the
status alone does not say is a code read from the kernel's data, never from a message's text."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import nbformat
import pytest
from jupyter_client.client import KernelClient
from nbclient.exceptions import CellExecutionError

from grader.i18n import t
from grader.models import ExecutionInfo
from grader.rules.execution import verdict_key
from grader.run import verdicts
from grader.run.kernel_client import GuardedKernelClient, KernelNotReady
from grader.run.verdicts import HIDDEN, SetupCellFailed, cell_error, exception_cause, sandbox_verdict
from grader.sandbox.limits import Limits


def notebook(*roles: str | None):
    """A notebook of one code cell per role: None for a student's cell, else the grader's role."""
    cells = [nbformat.v4.new_code_cell(f"x{i} = {i}", metadata={HIDDEN: role} if role else {}) for i, role in enumerate(roles)]
    return nbformat.v4.new_notebook(cells=cells)


def raised(ename: str, evalue: str) -> CellExecutionError:
    return CellExecutionError(f"Cell In[3], line 2\n{ename}: {evalue}", ename, evalue)


def run(**seen: object) -> SimpleNamespace:
    """What the sandbox saw of a run: nothing, unless told."""
    values = {"killed_for": None, "cgroup": None, "oom": False, "tasks": False, **seen}
    return SimpleNamespace(
        sandbox=SimpleNamespace(limits=Limits(memory_mb=1536, timeout_s=60)),
        killed_for=values["killed_for"],
        cgroup=values["cgroup"],
        oom_killed=lambda: values["oom"],
        tasks_limit_hit=lambda: values["tasks"],
    )


NB = notebook("setup", None, None, "finish")


def test_the_english_verdicts_keep_their_words():
    assert verdicts.timed_out(NB, 1, 12.0).message == "Your code did not finish within the time limit of 12 seconds."
    assert verdicts.kernel_died(NB, 2, "").message.startswith("The Python kernel stopped while running your code")
    assert verdicts.disk_limit_exceeded(256, 1).message == "Your code wrote more than 256 MB of files (or a folder tree too large to measure) and was stopped."
    assert verdicts.disk_limit_exceeded(256, 1).exception == "DiskLimit: more than 256 MB written"
    flood = verdicts.output_flood(2)
    assert flood.message == "Your code sent the grader more output at once than it accepts and was stopped." and flood.exception.startswith("OutputFlood: ")
    info = cell_error(NB, 2, raised("KeyError", "'acc'"))
    assert (info.message, info.exception, info.cell, info.line) == ("Cell 2 raised KeyError: 'acc'", "KeyError: 'acc'", 2, 2)
    assert cell_error(notebook(None, "entry"), 1, raised("NameError", "x")).message == "Calling your function failed: NameError: x"


@pytest.mark.parametrize(
    "make",
    [
        lambda lang: verdicts.timed_out(NB, 1, 12.0, lang),
        lambda lang: verdicts.kernel_died(NB, 2, "", lang),
        lambda lang: verdicts.kernel_died(NB, 0, "", lang, ready=False),
        lambda lang: verdicts.disk_limit_exceeded(256, 1, lang),
        lambda lang: verdicts.output_flood(2, lang),
        lambda lang: verdicts.malformed_message(NB, 1, ValueError("x"), lang),
        lambda lang: cell_error(NB, 2, raised("KeyError", "'acc'"), lang),
        lambda lang: cell_error(notebook(None, "entry"), 1, raised("NameError", "x"), lang),
        lambda lang: sandbox_verdict(ExecutionInfo(status="error"), run(oom=True), lang),
        lambda lang: sandbox_verdict(ExecutionInfo(status="error"), run(tasks=True), lang),
        lambda lang: sandbox_verdict(ExecutionInfo(status="error", cause="system_exit"), run(), lang),
        lambda lang: sandbox_verdict(ExecutionInfo(status="error", cause="file_too_large"), run(), lang),
        lambda lang: sandbox_verdict(ExecutionInfo(status="error"), run(cgroup=SimpleNamespace(cpu_seconds=lambda: 10_000.0)), lang),
    ],
)
def test_every_verdict_speaks_the_results_language(make):
    english, chinese = make("en"), make("zh")
    assert english.status == chinese.status and english.cause == chinese.cause
    assert english.message and chinese.message != english.message
    assert any("\u4e00" <= c <= "\u9fff" for c in chinese.message), chinese.message
    if english.exception.startswith(("DiskLimit:", "OutputFlood:", "KernelProtocolError:")):  # the grader's own names, its words localised
        name = english.exception.split(":")[0]
        assert chinese.exception.startswith(name + ": ") and chinese.exception != english.exception


def test_a_long_text_says_in_the_results_language_how_much_was_cut():
    assert verdicts.truncate("x" * 30, 10) == "x" * 10 + "\n… [20 more characters]"
    assert verdicts.truncate("x" * 30, 10, "zh") == "x" * 10 + "\n" + t("zh", "run.verdict.truncated", count=20)


@pytest.mark.parametrize(
    ("ename", "evalue", "cause"),
    [
        ("MemoryError", "", "memory_error"),
        ("SystemExit", "0", "system_exit"),
        ("BlockingIOError", "[Errno 11] Resource temporarily unavailable", "no_more_tasks"),
        ("OSError", "[Errno 11] Resource temporarily unavailable", "no_more_tasks"),
        ("RuntimeError", "can't start new thread", "no_more_tasks"),
        ("OSError", "[Errno 27] File too large", "file_too_large"),
        ("ValueError", "File too large, MemoryError, SystemExit, BlockingIOError", ""),  # words in a message are not a cause
        ("KeyError", "'[Errno 27] File too large'", ""),
        ("OutputFlood", "the kernel sent the grader more than 128 MiB at once", ""),
    ],
)
def test_the_cause_of_a_students_exception_is_its_type_or_its_errno(ename, evalue, cause):
    assert exception_cause(ename, evalue) == cause
    assert cell_error(NB, 1, raised(ename, evalue)).cause == cause


def test_a_student_cannot_name_an_exception_into_the_graders_verdict():
    forged = cell_error(NB, 1, raised("OutputFlood", "the kernel sent the grader more than 128 MiB at once"))
    assert forged.exception.startswith("OutputFlood:") and verdict_key(forged) == "error"
    assert verdict_key(sandbox_verdict(forged, run(killed_for="output_flood"))) == "output_flood"  # what the guard saw decides
    assert sandbox_verdict(forged, run()) == forged


def test_what_the_sandbox_saw_comes_before_what_the_exception_says():
    memory = cell_error(NB, 1, raised("MemoryError", ""))
    assert sandbox_verdict(memory, run()).status == "out_of_memory"
    assert sandbox_verdict(memory, run(killed_for="output_flood")).cause == "output_flood"
    exited = sandbox_verdict(cell_error(NB, 1, raised("SystemExit", "0")), run(), "zh")
    assert exited.status == "kernel_died" and exited.message == t("zh", "run.verdict.system_exit")
    big = sandbox_verdict(cell_error(NB, 1, raised("OSError", "[Errno 27] File too large")), run())
    assert big.status == "error" and big.message == f"Your code wrote a file larger than the limit of {Limits().file_mb} MB."


def test_a_failed_setup_cell_is_the_graders_fault_by_type():
    with pytest.raises(SetupCellFailed, match="ImportError: no grader"):
        cell_error(NB, 0, raised("ImportError", "no grader"))


def test_a_kernel_that_never_answers_is_named_by_type(monkeypatch):
    async def silent(self, timeout=None):
        raise RuntimeError("Kernel didn't respond in 1 seconds")

    monkeypatch.setattr(KernelClient, "_async_wait_for_ready", silent)
    with pytest.raises(KernelNotReady):
        asyncio.run(GuardedKernelClient().wait_for_ready(timeout=1))
    info = verdicts.kernel_died(NB, 0, "", "en", ready=False)
    assert info.status == "kernel_died" and info.cause == "kernel_not_ready" and info.cell is None


def test_the_graders_own_frames_are_left_out_of_the_students_traceback():
    traceback = (
        "Cell In[3], line 2\n      1 import numpy as np\n----> 2 data = np.load('x.npz')\n"
        "File /work/main/grader/inside/datafiles.py:129, in _serving.<locals>.open_(file)\n    128 def open_(file):\n--> 129     return _open(file)\n"
        "File /usr/lib/python3/site-packages/grader/inside/setup.py:3, in f()\n"
        "FileNotFoundError: [Errno 2] No such file or directory: 'x.npz'"
    )
    info = cell_error(NB, 1, CellExecutionError(traceback, "FileNotFoundError", "[Errno 2] No such file or directory: 'x.npz'"))
    assert "grader/inside" not in info.traceback and "np.load('x.npz')" in info.traceback and info.line == 2
