"""The grader's own memory, bounded whatever the kernel sends.

zmq's MAXMSGSIZE bounds one frame and RCVHWM counts whole messages, and zmq delivers a multipart
message only once all of it has arrived: one message of many frames is taken in whole, and no
socket option bounds the bytes. So a process-wide guard samples this process's resident size
every POLL_S while runs are registered, and once it is MARGIN above what it was when a run began,
kills the run that brought the memory in: the one whose zmq I/O threads (each run's sockets have
contexts of their own, made by `new_context`, whose receiving threads are known) touched the most
new pages (their minor faults: a received frame is written into fresh memory by the thread that
receives it), if they touched at least MARGIN / 2. The run is killed with `killed_for`
"output_flood"; the kernel's end closes its sockets, and zmq frees what it held.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import zmq
import zmq.asyncio

from grader.sandbox.core import Run
from grader.sandbox.limits import MiB

MARGIN = 128 * MiB  # an honest grading grows the grader by a few MiB (docs/security.md)
POLL_S = 0.01
PAGE = os.sysconf("SC_PAGE_SIZE")

_lock = threading.Lock()
_io_threads: weakref.WeakKeyDictionary[zmq.Context, frozenset[int]] = weakref.WeakKeyDictionary()


def _task_ids() -> set[int]:
    try:
        return {int(t) for t in os.listdir("/proc/self/task")}
    except OSError:
        return set()


def _is_io_thread(tid: int) -> bool:
    try:
        return Path(f"/proc/self/task/{tid}/comm").read_text().startswith("ZMQbg/IO")
    except OSError:
        return False


def new_context(options: dict[int, int]) -> zmq.asyncio.Context:
    """A zmq context with `options`, its I/O thread started and noted as this context's."""
    with _lock:  # no other context starts its threads meanwhile
        before = _task_ids()
        context = zmq.asyncio.Context()
        for option, value in options.items():
            context.setsockopt(option, value)
        context.socket(zmq.PAIR).close(linger=0)  # its threads start with its first socket
        deadline = time.monotonic() + 1
        while not (found := frozenset(t for t in _task_ids() - before if _is_io_thread(t))) and time.monotonic() < deadline:
            time.sleep(0.001)  # a thread names itself once it runs
        _io_threads[context] = found
    return context


def fault_bytes(contexts: Iterable[zmq.Context | None]) -> int:
    """Bytes of new memory the I/O threads of `contexts` touched (minor faults, in pages)."""
    total = 0
    for context in contexts:
        threads = _io_threads.get(context) if context is not None else frozenset()
        if not threads:
            total += MARGIN if threads is not None else 0  # threads unknown: it may be this one (fail closed)
            continue
        for tid in threads:
            try:
                stat = Path(f"/proc/self/task/{tid}/stat").read_text()
            except OSError:
                continue  # the context was destroyed and its thread ended
            total += int(stat[stat.rfind(")") + 2 :].split()[7]) * PAGE
    return total


def resident() -> int:
    """This process's resident size in bytes (0 where /proc cannot say)."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return 0


@dataclass(eq=False)
class Watched:
    """A run whose kernel's messages this process receives."""

    run: Run
    contexts: Callable[[], list[zmq.Context | None]]  # those of its sockets, now
    baseline: int = field(default_factory=resident)


class _Guard:
    def __init__(self) -> None:
        self.watched: list[Watched] = []
        self.lock = threading.Lock()
        self.wake = threading.Condition(self.lock)
        self.thread: threading.Thread | None = None

    def add(self, entry: Watched) -> None:
        with self.lock:
            self.watched.append(entry)
            if self.thread is None:
                self.thread = threading.Thread(target=self._loop, name="grader-host-memory", daemon=True)
                self.thread.start()

    def remove(self, entry: Watched) -> None:
        with self.lock:
            if entry in self.watched:
                self.watched.remove(entry)

    def _loop(self) -> None:
        while True:
            with self.lock:
                if not self.watched:
                    self.thread = None
                    return
                self.wake.wait(POLL_S)
                culprit = self._culprit()
            if culprit is not None:
                culprit.run.killed_for = "output_flood"
                culprit.run.kill()

    def _culprit(self) -> Watched | None:
        """The run to kill now (its memory over the ceiling), or None; with the lock held."""
        now = resident()
        if not any(now > w.baseline + MARGIN for w in self.watched):
            return None
        brought = {w: fault_bytes(w.contexts()) for w in self.watched}
        culprit = max(brought, key=brought.__getitem__)
        if brought[culprit] < MARGIN // 2:
            return None  # the grader grew, but not by what a kernel sent: nothing of a run's to stop
        self.watched.remove(culprit)
        for w in self.watched:  # what the culprit brought in may stay mapped: not the others' doing
            w.baseline = max(w.baseline, now)
        return culprit


_guard = _Guard()


def watch(run: Run, contexts: Callable[[], list[zmq.Context | None]]) -> Watched:
    """Guard this process's memory against the kernel of `run` until `unwatch`."""
    entry = Watched(run, contexts)
    _guard.add(entry)
    return entry


def unwatch(entry: Watched) -> None:
    """The run is over: its messages no longer arrive."""
    _guard.remove(entry)
